"""What makes a solved exercise friendly by hand: the generator's guarantees, checked on the engine's record."""

from __future__ import annotations

from typing import Any

import sympy as sp

from .exercise import Value
from .ops import registry
from .record import Solution

MAX_DENOMINATOR = 100
MAX_ABS = 100


def _entries(v: Value) -> list[sp.Expr]:
    return list(v) if isinstance(v, sp.MatrixBase) else [v]


def problems(solution: Solution, max_given: int) -> list[str]:
    """Every way the solved exercise breaks a guarantee (empty when it is friendly); see `symnet generate`."""
    ex = solution.exercise
    out = [f"given {name} is not an integer from -{max_given} to {max_given}"
           for name, v in _givens(solution) if not all(x.is_Integer and abs(x) <= max_given for x in _entries(v))]
    exempt = {"L"}  # the loss is a log with cross-entropy; checked only where it is rational
    if ex.loss is not None and ex.loss.predictions is not None:
        exempt.add(f"A{len(ex.layers)}")  # the exact softmax, replaced by the worksheet's rounded predictions
    for s in solution.steps:
        if s.kind in ("given", "approx", "parameters") or s.epoch != 1:
            continue
        for x in _entries(s.value):
            if not x.is_Rational:
                if s.qualified not in exempt and s.kind != "loss":
                    out.append(f"{s.qualified} holds {x}, not a rational number")
                break
            if x.q > MAX_DENOMINATOR or abs(x) > MAX_ABS:
                out.append(f"{s.qualified} holds {x}: beyond denominator {MAX_DENOMINATOR} or size {MAX_ABS}")
                break
    nets = [(p, sub) for p, sub in ex.parts if "." not in p] or [("", ex)]  # (G.D: G's step through D's layers)
    for part, net in nets:  # each network (a GAN's G and D), its quantities as its layers name them
        view: Any = _In(solution, part)  # (what an op's `friendly` reads of a solution: its quantities by name)
        for k, layer in enumerate(net.layers, 1):
            out += registry()[layer.type].friendly(layer, view, k)  # each op's own test (ReLU: cut one, pass one)
        if ex.loss is not None and "dL/dW1" in view and all(x == 0 for x in _entries(view["dL/dW1"])):
            out.append(f"no gradient reaches layer 1{' of ' + part if part else ''}")
    return out


class _In:
    """A part's quantities by the names its layers give them (Z1 for D.Z1)."""

    def __init__(self, solution: Solution, part: str) -> None:
        self.solution, self.part = solution, part

    def __getitem__(self, name: str) -> Value:
        return self.solution[self._name(name)]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._name(name) in self.solution

    def _name(self, name: str) -> str:
        return f"{self.part}.{name}" if self.part else name


def _givens(solution: Solution) -> list[tuple[str, Value]]:
    ex = solution.exercise
    if ex.kind == "matmul":
        return [("A", ex.A), ("B", ex.B)]
    given: list[tuple[str, Value]] = [("X", ex.X)]
    for k, l in enumerate(ex.layers, 1):
        given += [(f"{p}{k}", v) for p, v in registry()[l.type].trainable(l).items()]
    if ex.loss is not None:
        given.append(("Y", ex.loss.Y))
    return given
