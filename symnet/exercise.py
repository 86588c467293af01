"""The immutable description of an exercise: a graph of layers (or a matrix product) with its loss and training."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeAlias

import sympy as sp

from .bounds import DEFAULT, Bounds
from .held import Held, values

if TYPE_CHECKING:
    from .ops import Node
    from .ops.loss import Loss
    from .ops.update import Train
    from .record import Solution

Value: TypeAlias = "sp.Expr | sp.ImmutableMatrix"  # (a string: read by type checkers, no SymPy at import)


@dataclass(frozen=True)
class Exercise:
    """One exercise, as read from a spec: either a network of layers or (kind "matmul") a product A·B.

    Each layer is its op's parameters (a `symnet.ops.dense.Layer` for a dense layer); `nodes` is the graph they make:
    layer k reads the layer below's output (X for the first) and any quantity it names (a skip)."""

    kind: str = "network"
    title: str = ""
    description: str = ""
    source: str = "<spec>"
    X: Held[sp.ImmutableMatrix | None] = Held(None)  # (features × batch)
    layers: tuple[Any, ...] = ()
    loss: "Loss | None" = None
    train: "Train | None" = None
    count_parameters: bool = False
    A: Held[sp.ImmutableMatrix | None] = Held(None)  # matmul only
    B: Held[sp.ImmutableMatrix | None] = Held(None)  # matmul only
    parts: tuple[tuple[str, "Exercise"], ...] = ()  # kind "gan": its named sub-networks, whose quantities are part.name
    # the limits it was read with; solving keeps them
    bounds: Bounds = field(default=DEFAULT, compare=False, repr=False)

    @cached_property
    def nodes(self) -> tuple["Node", ...]:
        """The layers as the graph's nodes, in order, each with the quantities it reads."""
        from .ops import Node, op

        out, prev = [], "X"
        for k, layer in enumerate(self.layers, 1):
            out.append(Node(k, layer.type, layer, op(layer.type).inputs(k, layer, prev)))
            prev = f"A{k}"
        return tuple(out)

    def part(self, name: str) -> "Exercise":
        """The sub-network recorded as `name` (a GAN's "G", "D", or "G.D": the generator's step through D)."""
        return dict(self.parts)[name]

    @property
    def batch(self) -> int:
        """The samples: X's columns, or one when a layer reads its input as maps (an image, sequences in rows)."""
        from .ops import op

        if self.kind != "network" or self.X is None or any(op(l.type).image for l in self.layers):
            return 1
        return self.X.cols

    @property
    def parameters(self) -> int:
        """The numbers the layers learn: Σ neurons·(inputs + 1) for dense layers (neurons·inputs without bias)."""
        from .ops.parameters import count

        return count(self)

    @property
    def approximates(self) -> bool:
        """True when a layer makes a labelled approximation (3 for e, a rounding) or Ŷ is given rounded."""
        from .ops import op

        return (any(op(l.type).approximates(l) or getattr(l, "round", None) is not None for l in self.layers)
                or (self.loss is not None and self.loss.predictions is not None)
                or (self.train is not None and self.train.round_activations is not None
                    and any(getattr(l, "activation", None) in ("sigmoid", "tanh", "softmax") for l in self.layers)))

    @property
    def symbolic(self) -> bool:
        """True when any given value holds a symbol."""
        given = [self.X, self.A, self.B] + [v for l in self.layers for v in values(l)]
        if self.loss:
            given += [self.loss.Y, self.loss.predictions]
        return any(isinstance(v, sp.Basic) and v.free_symbols for v in given)

    def solve(self) -> "Solution":
        """Forward pass, loss, backward pass and updates, every step recorded exactly."""
        from .engine import solve

        return solve(self, bounds=self.bounds)

    def check(self, answers: Mapping[str, object]) -> object:
        """Verdicts on a hand calculation (see `symnet.check`)."""
        from .check import check

        return check(self, answers)


def __getattr__(name: str) -> Any:
    """The op parameter types, where they were before the ops had files of their own: Layer, Loss, Train."""
    if name == "Layer":
        from .ops.dense import Layer

        return Layer
    if name == "Loss":
        from .ops.loss import Loss

        return Loss
    if name == "Train":
        from .ops.update import Train

        return Train
    if name in ("ACTIVATIONS", "LOSSES", "REDUCTIONS"):
        from .ops import activations, loss

        return {"ACTIVATIONS": activations.NAMES, "LOSSES": loss.KINDS, "REDUCTIONS": loss.REDUCTIONS}[name]
    raise AttributeError(name)
