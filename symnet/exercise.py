"""The immutable description of an exercise: a network (or a matrix product) with its loss and training."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Union

import sympy as sp

from .bounds import DEFAULT, Bounds

if TYPE_CHECKING:
    from .record import Solution

Value = Union[sp.Expr, sp.ImmutableMatrix]

ACTIVATIONS = ("identity", "relu", "leaky_relu", "sigmoid", "tanh", "softmax")
LOSSES = ("cross_entropy", "squared_error", "mse", "bce")
REDUCTIONS = ("mean", "sum")


@dataclass(frozen=True)
class Layer:
    """A dense layer `Z = W·A + b` followed by its activation."""

    W: sp.ImmutableMatrix  # (neurons × inputs)
    b: sp.ImmutableMatrix  # (neurons × 1)
    activation: str = "identity"
    alpha: sp.Expr = sp.Rational(1, 10)  # leaky_relu slope at and below 0
    exp_base: sp.Expr = sp.E  # 3 for the worksheets' e ≈ 3
    has_bias: bool = True  # False when the spec gave no b (it is then zeros)

    @property
    def approximates_e(self) -> bool:
        """True when the layer replaces e by another base, a labelled approximation."""
        return self.activation in ("sigmoid", "tanh", "softmax") and self.exp_base != sp.E


@dataclass(frozen=True)
class Loss:
    """The loss that starts the backward pass, optionally from a worksheet's rounded predictions."""

    kind: str
    Y: sp.ImmutableMatrix  # (outputs × batch)
    reduction: str = "mean"
    predictions: sp.ImmutableMatrix | None = None  # a given, rounded Ŷ (outputs × batch)


@dataclass(frozen=True)
class Train:
    """Gradient descent: `steps` updates `W' = W − η·∂L/∂W` with η = learning_rate."""

    learning_rate: sp.Expr
    steps: int = 1
    round: int | None = None  # decimals: round the updated weights after each step (a labelled approximation)


@dataclass(frozen=True)
class Exercise:
    """One exercise, as read from a spec: either a network or (kind "matmul") a product A·B."""

    kind: str = "network"
    title: str = ""
    description: str = ""
    source: str = "<spec>"
    X: sp.ImmutableMatrix | None = None  # (features × batch)
    layers: tuple[Layer, ...] = ()
    loss: Loss | None = None
    train: Train | None = None
    count_parameters: bool = False
    A: sp.ImmutableMatrix | None = None  # matmul only
    B: sp.ImmutableMatrix | None = None  # matmul only
    bounds: Bounds = field(default=DEFAULT, compare=False, repr=False)  # the limits it was read with; solving keeps them

    @property
    def parameters(self) -> int:
        """Weights and biases in all layers: Σ neurons·(inputs + 1) (biases counted only where given)."""
        return sum(l.W.rows * l.W.cols + (l.b.rows if l.has_bias else 0) for l in self.layers)

    @property
    def symbolic(self) -> bool:
        """True when any given value holds a symbol."""
        values = [self.X, self.A, self.B] + [m for l in self.layers for m in (l.W, l.b)]
        if self.loss:
            values += [self.loss.Y, self.loss.predictions]
        return any(v is not None and v.free_symbols for v in values)

    def solve(self) -> "Solution":
        """Forward pass, loss, backward pass and updates, every step recorded exactly."""
        from .engine import solve

        return solve(self, bounds=self.bounds)

    def check(self, answers: Mapping[str, object]) -> object:
        """Verdicts on a hand calculation (see `symnet.check`)."""
        from .check import check

        return check(self, answers)
