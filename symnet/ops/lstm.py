"""An LSTM layer (`type = "lstm"`): each gate's [W | U | b] acts on [xt ; h(t−1) ; 1]; f, i, o sigmoid, the candidate
tanh; Ct = Ft ⊙ C(t−1) + It ⊙ C̃t, Ht = Ot ⊙ tanh(Ct); and backpropagation through time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

import sympy as sp

from ..errors import SpecError
from ..reader import shape_text
from . import Backward, Grad, Key, Kind, KindInfo, Mistake, Node, Op
from .activations import FUNCTIONS, Activated
from .rnn import OUTPUT_AT, parse_exp_base, parse_state, shifted

if TYPE_CHECKING:
    from ..engine import Run
    from ..exercise import Exercise
    from ..reader import Reader

GATES = ("f", "i", "c", "o")  # forget, input, candidate, output: the order of the sheets (and of the stacked layout)
GATE_NAMES = {"f": "F", "i": "I", "c": "Ctilde", "o": "O"}


@dataclass(frozen=True, kw_only=True)
class LSTM:
    """An LSTM over the columns of its input (the time steps)."""

    type = "lstm"
    has_bias: ClassVar[bool] = True  # (the dense layer's missing_bias mistake reads has_bias and b)
    Wf: sp.ImmutableMatrix  # (hidden × (inputs + hidden + 1)): [W | U | b] of the forget gate
    Wi: sp.ImmutableMatrix
    Wc: sp.ImmutableMatrix
    Wo: sp.ImmutableMatrix
    h0: sp.ImmutableMatrix  # (hidden × 1)
    c0: sp.ImmutableMatrix  # (hidden × 1)
    exp_base: sp.Expr = sp.E
    round: int | None = None  # every gate and state rounded to this many decimals at each step (≈)
    output_at: str = "every"

    @property
    def hidden(self) -> int:
        """The size of the hidden state and the cell."""
        return self.Wf.rows

    @property
    def b(self) -> sp.ImmutableMatrix:
        """Every gate's bias (the last column of its [W | U | b]), stacked."""
        return sp.ImmutableMatrix.vstack(*(getattr(self, f"W{g}")[:, -1] for g in GATES))

    def squash(self, name: str) -> Activated:
        """The sigmoid or tanh of the layer (with its exp_base)."""
        return Activated(activation=name, exp_base=self.exp_base)


def _parse(read: "Reader") -> LSTM:
    read.keys(("Wf", "Wi", "Wc", "Wo", "h0", "c0", "exp_base", "round", "output_at"), required=("Wf", "Wi", "Wc", "Wo"))
    k, (n, _), prev = read.k, read.below, read.prev
    Wf = read.matrix("Wf")
    h = Wf.cols - n - 1
    if h < 1 or Wf.rows != h:
        raise SpecError(f"Wf{k} is {shape_text(Wf)} but {prev} has {n} features: each gate's [W | U | b] acts on "
                        f"[x_t ; h(t−1) ; 1] and needs hidden × ({n} + hidden + 1) entries (2×{n + 3}, 3×{n + 4}, …)",
                        field=read.at("Wf"))
    gates = {"Wf": Wf}
    for g in GATES[1:]:
        W = gates[f"W{g}"] = read.matrix(f"W{g}", (h, n + h + 1))
        if W.shape != Wf.shape:
            raise SpecError(f"W{g}{k} is {shape_text(W)} but Wf{k} is {shape_text(Wf)}: every gate needs "
                            f"{h}×{n + h + 1}", field=read.at(f"W{g}"))
    places = None
    if "round" in read.table:
        places = read.whole("round", 0)
        if not 0 <= places <= 6:
            raise SpecError(f"round must be from 0 to 6 decimals, got {places}", field=read.at("round"))
    return LSTM(**gates, h0=parse_state(read, "h0", h), c0=parse_state(read, "c0", h),
                exp_base=parse_exp_base(read, True), round=places,
                output_at=read.choice("output_at", OUTPUT_AT, "every"))


def _has_lstm(ex: "Exercise") -> bool:
    return any(getattr(l, "type", "") == "lstm" for l in ex.layers)


def _remembers(ex: "Exercise") -> bool:
    return ex.X is not None and ex.X.cols > 1 and _has_lstm(ex)


def _build(rng: Any, options: Any) -> tuple[dict, list[str]] | None:
    """The worksheet's LSTM: a sequence of whole numbers, small whole weights, 3 for e and every value to one decimal
    (the only way an LSTM's numbers stay fractions: tanh of a cell between whole numbers is not one); forward only."""
    from .rnn import pool

    n, h = options.sizes
    T, g = options.batch, options.max_given
    w = pool(min(g, 2))  # |z| ≤ a few: σ and tanh stay away from 0 and 1, so the gates read as gates
    gates = {f"W{q}": [[rng.choice(w) for _ in range(n + h + 1)] for _ in range(h)] for q in GATES}
    X = [[rng.choice([v for v in range(-min(g, 2), min(g, 2) + 1) if v]) for _ in range(T)] for _ in range(n)]
    if len({v for row in X for v in row}) < 2:
        return None  # a constant sequence
    spec = {"title": "An LSTM by hand", "description": f"{T} steps through an LSTM of {h} units, gate by gate",
            "X": X, "layers": [{"type": "lstm", **gates, "exp_base": 3, "round": 1}]}
    return spec, ["Approximation: 3 in place of e in every sigmoid and tanh, and every gate, cell and state rounded to",
                  "one decimal at each step, as the AI by Hand sheets do; every value is then rational."]


class LSTMOp(Op):
    """Zg = Wg·[xt ; h(t−1) ; 1] for each gate g; F, I, O = σ(Z), C̃ = tanh(Zc); C = F ⊙ C(t−1) + I ⊙ C̃;
    H = O ⊙ tanh(C); backward through time."""

    name = "lstm"
    layer = True
    summary = "an LSTM over the time steps: gates σ([W | U | b]·[xt ; h(t−1) ; 1]), Ct = Ft ⊙ C(t−1) + It ⊙ C̃t, " \
              "Ht = Ot ⊙ tanh(Ct)"
    keys = (
        *(Key(f"W{g}", "matrix (hidden × (inputs + hidden + 1))", f"the {what} gate's [W | U | b], acting on "
              "[x_t ; h(t−1) ; 1]", required=True)
          for g, what in zip(GATES, ("forget", "input", "candidate (tanh)", "output"))),
        Key("h0", "column (one entry per hidden unit)", "the hidden state before the first step", "zeros"),
        Key("c0", "column (one entry per hidden unit)", "the cell before the first step", "zeros"),
        Key("exp_base", "number", "3 in place of e in every sigmoid and tanh (≈)", "e"),
        Key("round", "whole number of decimals", "every gate, cell and state rounded to this many decimals at each "
            "step, as the worksheets do (≈); the next step starts from them"),
        Key("output_at", "every or last", "every: Ak = Hk, a column per step; last: Ak is the last step's H only "
            "(many-to-one)", "every"),
    )
    mistakes = (
        Mistake("forget_on_hidden", 1407, "The forget gate was applied to the hidden state: Ct = Ft ⊙ C(t−1) + It ⊙ C̃t "
                "forgets part of the previous cell, not of h(t−1).", _remembers),
        Mistake("missing_cell_tanh", 1408, "tanh(C) was left out of the hidden state: Ht = Ot ⊙ tanh(Ct).", _has_lstm),
    )
    kinds: ClassVar[dict[str, Kind]] = {"lstm": Kind(KindInfo((1, 2), batch=3), _build)}

    def parse(self, table: Mapping, read: "Reader") -> LSTM:
        return _parse(read)

    def out_rows(self, params: LSTM, rows: int) -> int:
        return params.hidden

    def out_shape(self, params: LSTM, shape: tuple[int, int]) -> tuple[int, int]:
        return params.hidden, (1 if params.output_at == "last" else shape[1])

    def outputs(self, k: int) -> tuple[str, ...]:
        return (f"A{k}",)

    def trainable(self, params: LSTM) -> dict[str, Any]:
        return {f"W{g}": getattr(params, f"W{g}") for g in GATES}

    def with_trained(self, params: LSTM, new: Mapping[str, Any]) -> LSTM:
        return replace(params, **new)

    def entries(self, params: LSTM, rows: int, batch: int) -> int:
        return 30 * params.hidden * batch + 2 * sum(v.rows * v.cols for v in self.trainable(params).values())

    def count(self, params: LSTM) -> int:
        return sum(v.rows * v.cols for v in self.trainable(params).values())

    def approximates(self, params: LSTM) -> bool:
        return params.exp_base != sp.E or params.round is not None

    # ------------------------------------------------------------ forward

    def forward(self, run: "Run", node: Node, params: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
        xp, k, p = run.xp, node.k, node.params
        prev = node.inputs[0]
        X = inputs[prev]
        W = {g: params[f"W{g}"] for g in GATES}
        h0, c0 = xp.value(p.h0, keep=True), xp.value(p.c0, keep=True)
        T, hsize = xp.shape(X)[1], p.hidden
        h, c = h0, c0
        cols: dict[str, list[Any]] = {q: [] for q in ("z", "F", "I", "Ctilde", "O", "C", "H")}
        for t in range(T):  # one step at a time, each from the state the last one left
            u = self._stacked(run, xp.column(X, t), h, hsize)  # [x_t ; h(t−1) ; 1]
            z = {g: xp.matmul(W[g], u) for g in GATES}  # (h×(n+h+1))·((n+h+1)×1)
            gate = self._gates(run, p, z, k)
            c_new = self._cell(run, p, gate, c, h)
            h = self._state(run, p, gate["O"], self._tanh(run, p, c_new, k))
            c = c_new
            for q, v in (("C", c), ("H", h), *gate.items()):
                cols[q].append(v)
            cols["z"].append(xp.vstack([z[g] for g in GATES]))
        Z = xp.hstack(cols["z"])
        given = {f"W{g}{k}": W[g] for g in GATES} | {prev: X, "h0": h0}
        out: dict[str, Any] = {}
        for i, g in enumerate(GATES):  # Zg = Wg·[X ; H(t−1) ; 1], the four gates' inputs
            out[f"Z{g}{k}"] = run.record("gate_in", f"Z{g}{k}", xp.row_block(Z, i * hsize, (i + 1) * hsize), **given)
        gate = self._gates(run, p, {g: out[f"Z{g}{k}"] for g in GATES}, k)
        for g in GATES:
            q = GATE_NAMES[g]
            gate[q] = out[f"{q}{k}"] = run.record("gate", f"{q}{k}", gate[q], **{f"Z{g}{k}": out[f"Z{g}{k}"]})
        Cprev, Hprev = shifted(xp, c0, xp.hstack(cols["C"])), shifted(xp, h0, xp.hstack(cols["H"]))
        C = out[f"C{k}"] = run.record("cell", f"C{k}", self._cell(run, p, gate, Cprev, Hprev),
                                      **{f"F{k}": gate["F"], "c0": c0, f"I{k}": gate["I"],
                                         f"Ctilde{k}": gate["Ctilde"]})
        tC = out[f"tanhC{k}"] = run.record("cell_tanh", f"tanhC{k}", self._tanh(run, p, C, k), **{f"C{k}": C})
        H = out[f"H{k}"] = run.record("state", f"H{k}", self._state(run, p, gate["O"], tC),
                                      **{f"O{k}": gate["O"], f"tanhC{k}": tC})
        A = xp.column(H, T - 1) if p.output_at == "last" else H
        out[f"A{k}"] = run.record("output", f"A{k}", A, **{f"H{k}": H})
        return out

    def _stacked(self, run: "Run", x: Any, h: Any, hsize: int) -> Any:
        """[x ; h ; 1] (h left out by the missing_recurrence mistake, the 1 by missing_bias)."""
        xp = run.xp
        h = xp.zeros(hsize, 1) if run.broken("missing_recurrence") else h
        one = xp.zeros(1, 1) if run.broken("missing_bias") else xp.ones(1, 1)
        return xp.vstack([x, h, one])

    def _gates(self, run: "Run", p: LSTM, z: Mapping[str, Any], k: int) -> dict[str, Any]:
        """F, I, O = σ(Z), C̃ = tanh(Zc), each rounded when the exercise rounds."""
        out = {}
        for g in GATES:
            name = "tanh" if g == "c" else "sigmoid"
            out[GATE_NAMES[g]] = self._squash(run, p, name, z[g], k)
        return out

    def _squash(self, run: "Run", p: LSTM, name: str, Z: Any, k: int) -> Any:
        run.check_powers(Z, p.exp_base, k)
        return self._round(run, p, FUNCTIONS[name].value(run.xp, p.squash(name), Z))

    def _tanh(self, run: "Run", p: LSTM, C: Any, k: int) -> Any:
        """tanh(C) (C itself when the checker's re-run forgets it)."""
        return C if run.broken("missing_cell_tanh") else self._squash(run, p, "tanh", C, k)

    def _cell(self, run: "Run", p: LSTM, gate: Mapping[str, Any], c: Any, h: Any) -> Any:
        """C = F ⊙ C(t−1) + I ⊙ C̃ (F ⊙ h(t−1) when the re-run applies the forget gate to the hidden state)."""
        xp = run.xp
        kept = xp.hadamard(gate["F"], h if run.broken("forget_on_hidden") else c)
        return self._round(run, p, xp.add(kept, xp.hadamard(gate["I"], gate["Ctilde"])))

    def _state(self, run: "Run", p: LSTM, O: Any, tC: Any) -> Any:
        """H = O ⊙ tanh(C)."""
        return self._round(run, p, run.xp.hadamard(O, tC))

    def _round(self, run: "Run", p: LSTM, v: Any) -> Any:
        return v if p.round is None else run.xp.round(v, p.round)

    # ------------------------------------------------------------ backward

    def backward(self, run: "Run", node: Node, params: Mapping[str, Any], saved: Mapping[str, Any], grad: Grad,
                 need: frozenset[str]) -> Backward:
        xp, k, p = run.xp, node.k, node.params
        prev = node.inputs[0]
        X = saved[prev]
        n, T, hsize = xp.shape(X)[0], xp.shape(X)[1], p.hidden
        W = {g: params[f"W{g}"] for g in GATES}
        F, I, Ct, O, C, tC, H = (saved[f"{q}{k}"] for q in ("F", "I", "Ctilde", "O", "C", "tanhC", "H"))
        Cprev = shifted(xp, xp.value(p.c0, keep=True), C)
        U = xp.vstack([X, shifted(xp, xp.value(p.h0, keep=True), H), xp.ones(1, T)])  # [X ; H(t−1) ; 1]
        dA = grad.value
        direct = xp.hstack([xp.zeros(hsize, 1)] * (T - 1) + [dA]) if p.output_at == "last" else dA
        one = xp.ones(hsize, 1)
        cut = run.broken("bptt_truncated")
        col = lambda m, t: xp.column(m, t)  # noqa: E731
        dH_cols, dC_cols = [None] * T, [None] * T
        dh_next = dc_next = None
        for t in reversed(range(T)):  # back through time, from the last step
            dh = col(direct, t)
            if dh_next is not None and not cut:
                dh = xp.add(dh, dh_next)  # + the h(t) rows of Σg Wgᵀ·∂L/∂Zg(t+1)
            o, tc = col(O, t), col(tC, t)
            dc = xp.hadamard(xp.hadamard(dh, o), xp.sub(one, xp.square(tc)))  # ∂L/∂h ⊙ o ⊙ (1 − tanh² c)
            if dc_next is not None and not cut:
                dc = xp.add(dc, xp.hadamard(dc_next, col(F, t + 1)))  # + ∂L/∂C(t+1) ⊙ F(t+1)
            dH_cols[t], dC_cols[t] = dh, dc
            dz = self._gate_grads(xp, {"F": col(F, t), "I": col(I, t), "Ctilde": col(Ct, t), "O": o}, dh, dc,
                                  col(Cprev, t), tc, one)
            du = None
            for g in GATES:  # Σg Wgᵀ·∂L/∂Zg: ((n+h+1)×h)·(h×1)
                part = xp.matmul(xp.transpose(W[g]), dz[g])
                du = part if du is None else xp.add(du, part)
            dh_next, dc_next = xp.row_block(du, n, n + hsize), dc
        dH = run.record("grad_state", f"dL/dH{k}", xp.hstack(dH_cols),
                        **{f"dL/dA{k}": dA} | {f"W{g}{k}": W[g] for g in GATES})
        dC = run.record("grad_cell", f"dL/dC{k}", xp.hstack(dC_cols), **{f"dL/dH{k}": dH, f"O{k}": O,
                                                                           f"tanhC{k}": tC, f"F{k}": F})
        ones = xp.ones(hsize, T)
        dO = run.record("grad_gate", f"dL/dO{k}", xp.hadamard(dH, tC), **{f"dL/dH{k}": dH, f"tanhC{k}": tC})
        dF = run.record("grad_gate", f"dL/dF{k}", xp.hadamard(dC, Cprev),
                        **{f"dL/dC{k}": dC, f"C{k}": C, "c0": xp.value(p.c0, keep=True)})
        dI = run.record("grad_gate", f"dL/dI{k}", xp.hadamard(dC, Ct), **{f"dL/dC{k}": dC, f"Ctilde{k}": Ct})
        dCt = run.record("grad_gate", f"dL/dCtilde{k}", xp.hadamard(dC, I), **{f"dL/dC{k}": dC, f"I{k}": I})
        dZ = {}
        for g, d, v in (("f", dF, F), ("i", dI, I), ("c", dCt, Ct), ("o", dO, O)):
            q = GATE_NAMES[g]
            local = xp.sub(ones, xp.square(v)) if g == "c" else xp.hadamard(v, xp.sub(ones, v))  # 1 − C̃², σ(1 − σ)
            dZ[g] = run.record("grad_gate_in", f"dL/dZ{g}{k}", xp.hadamard(d, local),
                               **{f"dL/d{q}{k}": d, f"{q}{k}": v})
        grads = {}
        for g in GATES:  # ∂L/∂[W | U | b] = ∂L/∂Zg · [X ; H(t−1) ; 1]ᵀ: summed over the steps
            # (h×T)·(T×(n+h+1))
            grads[f"W{g}"] = run.record("grad_w", f"dL/dW{g}{k}", xp.matmul(dZ[g], xp.transpose(U)),
                                        **{f"dL/dZ{g}{k}": dZ[g], prev: X, f"H{k}": H})
        parts = []
        if prev in need:
            name = run.grad_name(prev, f"A{k}")
            dX = None
            for g in GATES:  # the x rows of Σg Wgᵀ·∂L/∂Zg
                part = xp.matmul(xp.transpose(xp.hstack([xp.column(W[g], j) for j in range(n)])), dZ[g])
                dX = part if dX is None else xp.add(dX, part)
            dX = run.record("grad_a", name, dX,
                            **{f"W{g}{k}": W[g] for g in GATES} | {f"dL/dZ{g}{k}": dZ[g] for g in GATES})
            parts.append((prev, name, dX))
        return Backward(grads, tuple(parts))

    def _gate_grads(self, xp: Any, gate: Mapping[str, Any], dh: Any, dc: Any, c_prev: Any, tc: Any, one: Any
                    ) -> dict[str, Any]:
        """∂L/∂Zg of one step from ∂L/∂h and ∂L/∂c (all columns)."""
        F, I, Ct, O = gate["F"], gate["I"], gate["Ctilde"], gate["O"]
        return {"f": xp.hadamard(xp.hadamard(dc, c_prev), xp.hadamard(F, xp.sub(one, F))),
                "i": xp.hadamard(xp.hadamard(dc, Ct), xp.hadamard(I, xp.sub(one, I))),
                "c": xp.hadamard(xp.hadamard(dc, I), xp.sub(one, xp.square(Ct))),
                "o": xp.hadamard(xp.hadamard(dh, tc), xp.hadamard(O, xp.sub(one, O)))}


OP = LSTMOp()
