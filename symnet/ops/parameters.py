"""The exercise's parameter count (`count_parameters = true`): every number its layers learn."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..held import Kept
from . import Key, Mistake, Op, op

if TYPE_CHECKING:
    from ..engine import Run
    from ..exercise import Exercise


def count(ex: "Exercise", biases: bool = True) -> int:
    """Σ over the layers of what each learns (a dense layer: neurons·(inputs + 1), or neurons·inputs without bias);
    with `biases` false, the biases left out (the mistake parameters_without_bias)."""
    return sum(op(l.type).count(Kept(l)) - (0 if biases else _biases(l)) for l in ex.layers)  # (shapes only)


def _biases(layer: object) -> int:
    b = getattr(Kept(layer), "b", None)
    return b.rows if b is not None and getattr(layer, "has_bias", False) else 0


class Parameters(Op):
    """parameters = Σ neurons·(inputs + 1)."""

    name = "parameters"
    summary = "count_parameters = true: the number of weights and biases"
    keys = (Key("count_parameters", "true or false", "also count the weights and biases the layers hold", "false"),)
    mistakes = (Mistake("parameters_without_bias", 95, "Only the weights were counted: every neuron also has a bias, "
                        "neurons·(inputs + 1) per layer.",
                        lambda ex: ex.count_parameters and any(_biases(l) for l in ex.layers)),)

    def run(self, run: "Run", ex: "Exercise") -> None:
        """Record the count."""
        run.record("parameters", "parameters", run.xp.scalar(count(ex, not run.broken("parameters_without_bias"))))


OP = Parameters()
