"""The exercise's parameter count (`count_parameters = true`): every number its layers learn."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp

from . import Key, Mistake, Op, registry

if TYPE_CHECKING:
    from ..engine import Run
    from ..exercise import Exercise


def count(ex: "Exercise") -> int:
    """Σ over the layers of what each learns (a dense layer: neurons·(inputs + 1), or neurons·inputs without bias)."""
    return sum(registry()[l.type].count(l) for l in ex.layers)


class Parameters(Op):
    """parameters = Σ neurons·(inputs + 1)."""

    name = "parameters"
    summary = "count_parameters = true: the number of weights and biases"
    keys = (Key("count_parameters", "true or false", "also count the weights and biases the layers hold", "false"),)

    def run(self, run: "Run", ex: "Exercise") -> None:
        """Record the count."""
        run.record("parameters", "parameters", sp.Integer(count(ex)))


OP = Parameters()
