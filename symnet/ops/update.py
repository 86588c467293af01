"""Gradient descent: P' = P − η·∂L/∂P for every trained parameter, optionally rounded (a labelled approximation)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sympy as sp

from ..bounds import Bounds
from ..errors import BoundError, SpecError
from ..held import Held, kept
from ..reader import held_scalar, keys, kind
from . import Key, Mistake, Node, Op

if TYPE_CHECKING:
    from ..engine import Run

TABLE_KEYS = ("learning_rate", "steps", "round", "round_activations")


@dataclass(frozen=True)
class Train:
    """Gradient descent: `steps` updates `W' = W − η·∂L/∂W` with η = learning_rate."""

    learning_rate: Held[sp.Expr] = Held()
    steps: int = 1
    round: int | None = None  # decimals: round the updated weights after each step (a labelled approximation)
    round_activations: int | None = None  # decimals: round every sigmoid, tanh and softmax value (Ak≈), carried on


def parse(raw: object, bounds: Bounds) -> Train:
    """The [train] table."""
    table = keys(raw, TABLE_KEYS, "train", required=("learning_rate",))
    eta = held_scalar(table["learning_rate"], "train.learning_rate", bounds)
    steps = table.get("steps", 1)
    if type(steps) is not int:
        raise SpecError(f"expected a whole number, got {kind(steps)}", field="train.steps")
    if steps < 1:
        raise SpecError(f"steps must be at least 1, got {steps}", field="train.steps")
    if steps > bounds.steps:
        raise BoundError(f"{steps} steps, more than {bounds.steps} (bound: steps)", field="train.steps")
    decimals = table.get("round")
    if decimals is not None:
        if type(decimals) is not int:
            raise SpecError(f"expected a whole number of decimals, got {kind(decimals)}", field="train.round")
        if not 0 <= decimals <= bounds.digits:
            raise SpecError(f"round must be from 0 to {bounds.digits} decimals, got {decimals}", field="train.round")
    places = None
    if "round_activations" in table:
        from .activations import decimals as whole_decimals

        places = whole_decimals(table["round_activations"], "train.round_activations", bounds.digits)
    return Train(learning_rate=eta, steps=steps, round=decimals, round_activations=places)


class Update(Op):
    """One gradient-descent step of one layer's parameters, and their rounding when the exercise asks for it."""

    name = "update"
    summary = "gradient descent: every trained parameter P' = P − η·∂L/∂P, optionally rounded"
    keys = (
        Key("learning_rate", "number", "η", required=True),
        Key("steps", "whole number", "gradient-descent steps; each after the first repeats the work with the updated "
            "parameters", "1"),
        Key("round", "whole number of decimals", "round the updated parameters after each step (halves away from "
            "zero), marked ≈; the next step starts from them"),
        Key("round_activations", "whole number of decimals", "round every sigmoid, tanh and softmax value to this "
            "many decimals (Ak≈, marked ≈), as a hand calculation does; what follows starts from the rounded values "
            "(a layer's own `round` overrides it)"),
    )
    mistakes = (
        Mistake("no_learning_rate", 60, "The learning rate is missing: W′ = W − η·∂L/∂W.",
                lambda ex: ex.train is not None and ex.train.learning_rate != 1),
        Mistake("wrong_update_direction", 70, "The update climbs the gradient: descent subtracts it, W′ = W − η·∂L/∂W.",
                lambda ex: ex.train is not None),
    )

    def step(self, run: "Run", node: Node, params: Mapping[str, Any], grads: Mapping[str, Any],
             train: Train) -> dict[str, Any]:
        """Record P' (and P'≈ when rounding) for each trained parameter of the layer; give the new values."""
        xp, k = run.xp, node.k
        eta = xp.scalar(kept(train, "learning_rate") if not run.broken("no_learning_rate") else 1)  # (kept: as read)
        step = xp.scale(eta, xp.scalar(-1 if run.broken("wrong_update_direction") else 1))
        new: dict[str, Any] = {}
        for p, P in params.items():
            G = grads[p]
            new[p] = run.record("update", f"{p}{k}'", xp.sub(P, xp.scale(step, G)),
                                **{f"{p}{k}": P, f"dL/d{p}{k}": G, "eta": eta})
        size = max(xp.bits(v) for v in new.values())
        if size > run.bounds.result_bits:
            raise BoundError(f"gradient-descent step {run.epoch}: an updated weight of layer {k} needs {size} bits, "
                             f"more than {run.bounds.result_bits} (bound: result_bits); use fewer steps or round the "
                             "weights ([train] round = 4)", source=run.source, field="train.steps")
        run.bit(size)
        if train.round is not None:  # a labelled approximation: the next step starts from the rounded values
            d = xp.scalar(train.round)
            for p, P in new.items():
                new[p] = run.record("round", f"{p}{k}'≈", xp.round(P, train.round), **{f"{p}{k}'": P, "decimals": d})
        return new


OP = Update()
