"""The engine: an exercise's graph forward in order, its loss, the reverse walk and the updates, each value through one
algebra (flint while everything stays rational, else SymPy: the same op code either way), each quantity a step."""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Mapping
from typing import Any

import sympy as sp

from .algebra import Algebra, Fallback
from .algebra.flint import FlintAlgebra
from .bounds import DEFAULT, Bounds, check_entries
from .exercise import Exercise, Value
from .held import Deferred, Kept, kept
from .ops import Backward, Grad, Node, fork, given, loss, matmul, op, parameters, update
from .record import Solution, Step


class Run:
    """One solve in progress: its algebra, the steps recorded so far, the mistake being made, the bounds."""

    def __init__(self, xp: Algebra, exercise: Exercise, broken: frozenset[str], given: Mapping[str, Value],
                 bounds: Bounds) -> None:
        self.xp, self.exercise, self.mistakes, self.given, self.bounds = xp, exercise, broken, given, bounds
        self.source = exercise.source
        self.steps: list[Step] = []
        self.epoch = 1
        self.bits: list[int] = []  # per gradient-descent step, the largest updated weight's bits
        self.top = 0
        self.where: tuple[int | None, str, str] = (None, "given", "forward")  # (node, op, phase) recording now
        self.fanout: Counter[str] = Counter()  # how many parts each quantity's gradient sums
        self.part = ""  # the sub-network recording now (a GAN's "G", "D"): names are recorded as part.name
        self.parts = frozenset(p for p, _ in exercise.parts)  # every part's name: "G.A1" is G's A1
        self.reading: dict[str, str] = {}  # in a part: inputs that are another part's quantities (Z1 → "D.Z1")
        self.unrecorded: frozenset[str] = frozenset()  # names computed but not recorded (a frozen layer's gradients)
        self._deferred: dict[int, Deferred] = {}
        self._keep: list[Any] = []  # keeps the ids of the map above stable

    def broken(self, code: str) -> bool:
        """True when this run makes the mistake `code` (the checker's re-runs)."""
        return code in self.mistakes

    def at(self, node: int | None, op_name: str, phase: str) -> None:
        """Record what follows for this node, op and phase."""
        self.where = (node, op_name, phase)

    def record(self, kind: str, name: str, value: Any, **inputs: Any) -> Any:
        """Record one quantity; give it (or, in the first step, the value given for it: a student's, carried on).

        In a part (a GAN's sub-network) the names are the op's own, and the solution knows them as part.name; an input
        named with a part's prefix is that part's quantity ("G.A2"), as is one the part reads (`reading`)."""
        qualified = f"{self.part}.{name}" if self.part else name
        if qualified in self.unrecorded:
            return value
        self.xp.check_nodes(qualified, value, self.bounds, self.source)
        node, op_name, phase = self.where
        step_inputs = tuple((k, self._stored(v)) for k, v in inputs.items())
        refs = tuple(self.qualify(k) for k in inputs) if self.part else ()
        self.steps.append(Step(op_name, phase, kind, name, self._stored(value), node, self.epoch, step_inputs,
                               self.part, refs))
        if self.epoch == 1 and qualified in self.given:
            return self._given(self.given[qualified], value)
        return value

    def qualify(self, name: str) -> str:
        """An input's name in the solution: as named (another part's, "G.A2"), as this part reads it, or part.name."""
        if not self.part or name.split(".", 1)[0] in self.parts:
            return name
        return self.reading.get(name, f"{self.part}.{name}")

    def _stored(self, v: Any) -> Any:
        if not self.xp.holds(v):  # a SymPy value (any, on the SymPy algebra), an int
            return v
        d = self._deferred.get(id(v))
        if d is None:
            d = self._deferred[id(v)] = Deferred(self.xp.sympy, v)
            self._keep.append(v)
        return d

    def _given(self, v: Value, computed: Any) -> Any:
        if self.xp.name == "sympy" or not isinstance(v, sp.MatrixBase):
            return v  # a scalar (L) is never read downstream
        out = self.xp.value(v)
        if self.xp.shape(out) != self.xp.shape(computed):
            raise Fallback("a quantity given with another shape")
        return out

    def grad_name(self, q: str, via: str) -> str:
        """The name of the step holding a part of ∂L/∂q: the whole ∂L/∂q when q feeds one path, else "… via W2"."""
        return f"dL/d{q}" if self.fanout[q] <= 1 else f"dL/d{q} via {via}"

    def check_powers(self, Z: Any, base: sp.Expr, k: int) -> None:
        """Refuse base^Z (an e-based activation's input) when it would run away."""
        self.xp.check_powers(Z, base, self.bounds, self.source, f"layers[{k}]")

    def bit(self, size: int) -> None:
        """Note the bits of a layer's updated weights in this gradient-descent step."""
        self.top = max(self.top, size)


_FLINT: dict[int, tuple[weakref.ref, FlintAlgebra]] = {}


def _flint(ex: Exercise) -> FlintAlgebra:
    """The fast algebra of an exercise, made once per exercise object (the checker solves one exercise many times)."""
    hit = _FLINT.get(id(ex))
    if hit is not None and hit[0]() is ex:
        return hit[1]
    xp = FlintAlgebra()
    key = id(ex)
    _FLINT[key] = (weakref.ref(ex, lambda _: _FLINT.pop(key, None)), xp)
    return xp


def solve(exercise: Exercise, broken: frozenset[str] = frozenset(), given: Mapping[str, Value] | None = None,
          bounds: Bounds = DEFAULT, backend: str = "auto") -> Solution:
    """Every quantity of the exercise, exactly, as a `Solution` over the recorded steps.

    broken: mistakes to make (codes the ops declare; the checker's re-runs). backend "auto" takes the fast flint
    algebra while every value stays rational (else SymPy); "sympy" forces SymPy. Without `bounds`, the exercise's own
    (those it was read with) apply."""
    bounds = exercise.bounds if bounds is DEFAULT else bounds
    check_entries(exercise, bounds)
    if backend != "sympy":
        xp = _flint(exercise)
        xp.begin(bounds)
        try:
            return _solve(exercise, xp, broken, given or {}, bounds)
        except Fallback:
            pass  # a value left the rationals: the same steps on SymPy
    from .algebra.sympy import SYMPY

    return _solve(exercise, SYMPY, broken, given or {}, bounds)


def _solve(ex: Exercise, xp: Algebra, broken: frozenset[str], given: Mapping[str, Value], bounds: Bounds) -> Solution:
    run = Run(xp, ex, broken, given, bounds)
    if ex.kind == "matmul":
        run.at(None, "matmul", "forward")
        matmul.OP.run(run, xp.value(kept(ex, "A"), keep=True), xp.value(kept(ex, "B"), keep=True))
        return Solution(ex, tuple(run.steps), backend=xp.name)
    if ex.kind == "gan":
        from .ops import gan

        state, step = gan.OP.state(run, ex), gan.OP.epoch
    else:
        nodes = ex.nodes
        state = {"": parameters_of(run, nodes)}
        X = xp.value(kept(ex, "X"), keep=True)
        Y = xp.value(kept(ex.loss, "Y"), keep=True) if ex.loss is not None else None

        def step(run: Run, ex: Exercise, state: dict[str, Any]) -> dict[str, Any]:
            return {"": _epoch(run, ex, nodes, state[""], X, Y)}
    try:
        for epoch in range(1, (ex.train.steps if ex.train else 1) + 1):
            run.epoch = epoch
            state = step(run, ex, state)
    except ValueError:  # shapes that no longer fit: only a mistake's re-run (padding ignored) may end here
        if not broken:
            raise
        if xp.name != "sympy":
            raise Fallback("a mistake changed a shape") from None
        return Solution(ex, tuple(run.steps), backend=xp.name, bits=tuple(run.bits))  # the steps it could make
    if ex.count_parameters:
        run.epoch = 1
        run.at(None, "parameters", "forward")
        parameters.OP.run(run, ex)
    return Solution(ex, tuple(run.steps), backend=xp.name, bits=tuple(run.bits))


def parameters_of(run: Run, nodes: tuple[Node, ...]) -> dict[int, dict[str, Any]]:
    """Each layer's trained parameters in the run's algebra, by layer number and name (read as kept: plain numbers go
    to the fast algebra as they were read)."""
    return {n.k: {p: run.xp.value(v, keep=True) for p, v in op(n.op).trainable(Kept(n.params)).items()}
            for n in nodes}


def _epoch(run: Run, ex: Exercise, nodes: tuple[Node, ...], state: dict[int, dict[str, Any]], X: Any,
           Y: Any) -> dict[int, dict[str, Any]]:
    """One forward pass, and with a loss one backward pass and one update; gives the updated parameters."""
    run.fanout = Counter(q for n in nodes for q in n.inputs)
    run.at(None, "given", "forward")
    values, saved = forward(run, nodes, state, {"X": given.OP.start(run, X)})
    if ex.loss is None:
        return state
    last = nodes[-1]
    run.at(last.k, "loss", "loss")
    grad = loss.OP.start(run, ex.loss, last.k, values[f"A{last.k}"], Y, op(last.op).activation(last.params))
    grads, _ = backward(run, nodes, state, saved, grad, run.fanout["X"] > 1)
    if ex.train is None:
        return state
    run.top = 0
    new = updated(run, nodes, state, grads, ex.train)
    run.bits.append(run.top)
    return new


def forward(run: Run, nodes: tuple[Node, ...], state: dict[int, dict[str, Any]],
            values: dict[str, Any]) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    """The forward pass of the layers, in order, from `values` (X); every quantity, and what each layer saw."""
    saved: dict[int, dict[str, Any]] = {}
    for n in nodes:
        run.at(n.k, n.op, "forward")
        ins = {q: values[q] for q in n.inputs}
        outs = op(n.op).forward(run, n, state[n.k], ins)
        values.update(outs)
        saved[n.k] = {**ins, **outs}
    return values, saved


def backward(run: Run, nodes: tuple[Node, ...], state: dict[int, dict[str, Any]], saved: dict[int, dict[str, Any]],
             grad: Grad, need_x: bool) -> tuple[dict[int, dict[str, Any]], Any]:
    """The reverse walk from the last layer's `grad`: each layer once every path above it has given its part. Gives
    each layer's parameter gradients and, when `need_x`, ∂L/∂X (summed over the paths X feeds)."""
    parts: dict[str, list[tuple[str, Any]]] = {}
    grads: dict[int, dict[str, Any]] = {}
    last = nodes[-1]
    for n in reversed(nodes):
        out = f"A{n.k}"
        g = grad if n is last else Grad(_joined(run, n.k, out, parts.get(out, [])))
        run.at(n.k, n.op, "backward")
        need = frozenset(q for q in n.inputs if q != "X" or need_x)
        b: Backward = op(n.op).backward(run, n, state[n.k], saved[n.k], g, need)
        grads[n.k] = b.params
        for q, name, v in b.inputs:
            parts.setdefault(q, []).append((name, v))
    return grads, _joined(run, None, "X", parts.get("X", [])) if need_x else None


def updated(run: Run, nodes: tuple[Node, ...], state: dict[int, dict[str, Any]], grads: dict[int, dict[str, Any]],
            train: Any) -> dict[int, dict[str, Any]]:
    """One gradient-descent step of every layer's parameters, recorded; the new parameters."""
    new = {}
    for n in nodes:
        run.at(n.k, "update", "update")
        new[n.k] = update.OP.step(run, n, state[n.k], grads[n.k], train) if state[n.k] else {}
    return new


def _joined(run: Run, k: int | None, q: str, parts: list[tuple[str, Any]]) -> Any:
    """∂L/∂q from its parts: the one part, or their sum recorded at the fork."""
    if len(parts) == 1 and parts[0][0] == f"dL/d{q}":
        return parts[0][1]
    if not parts:
        raise ValueError(f"no gradient reaches {q}")
    run.at(k, "fork", "backward")
    return fork.OP.join(run, q, parts[::-1])  # in the order of the forward pass: the path through q's layer first
