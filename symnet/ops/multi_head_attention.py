"""Multi-head attention (`type = "multi_head_attention"`): each head's attention side by side, their outputs stacked
(Concatk), then Ak = Wo·Concatk (+ a skip); backward through every head."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import sympy as sp

from ..errors import SpecError
from ..reader import Reader, shape_text
from . import Backward, Grad, Key, Kind, KindInfo, Node, Op
from .attention import (
    GRADS,
    OPTION_KEYS,
    Options,
    head_names,
    mix,
    parse_options,
    parse_skip,
    projection,
    scores,
    scores_backward,
)

if TYPE_CHECKING:
    from ..engine import Run


@dataclass(frozen=True, kw_only=True)
class MultiHead(Options):
    """The heads' projections stacked in head order (PyTorch's in_proj layout), and the output projection Wo."""

    type = "multi_head_attention"
    Wq: sp.ImmutableMatrix  # (Σ d_k × d): [Wq.1 ; Wq.2 ; …]
    Wk: sp.ImmutableMatrix  # (Σ d_k × d)
    Wv: sp.ImmutableMatrix  # (Σ d_v × d)
    Wo: sp.ImmutableMatrix  # (d_out × Σ d_v)
    sizes: tuple[tuple[int, int], ...]  # (d_k, d_v) of each head
    skip: str | None = None

    @property
    def P(self) -> None:
        """No given weights: every head computes its own."""
        return None

    @property
    def d_k(self) -> int:
        """The first head's d_k (the mistakes' test of a scale that matters)."""
        return self.sizes[0][0]

    def rows(self, h: int, which: int) -> tuple[int, int]:
        """The rows of head h (0-based) in the stacked Wq/Wk (which 0) or Wv (which 1)."""
        start = sum(s[which] for s in self.sizes[:h])
        return start, start + self.sizes[h][which]


def _parse(read: Reader) -> MultiHead:
    read.keys(("heads", "Wo", "skip") + OPTION_KEYS, required=("heads", "Wo"))
    k, (d, n) = read.k, read.below
    raw = read.table["heads"]
    if not isinstance(raw, list) or not raw or not all(isinstance(h, Mapping) for h in raw):
        raise SpecError("expected a list of head tables, each with Wq, Wk and Wv", field=read.at("heads"))
    if len(raw) > read.bounds.layers:
        raise SpecError(f"more than {read.bounds.layers} heads (bound: layers)", field=read.at("heads"))
    Wq, Wk, Wv, sizes = [], [], [], []
    for h, table in enumerate(raw, 1):
        sub = _Located(Reader(table, k, read.prev, read.below, read.shapes, read.bounds), f"heads[{h}]")
        sub.keys(("Wq", "Wk", "Wv"), required=("Wq", "Wk", "Wv"))
        q = projection(sub, "Wq", d)
        kk = projection(sub, "Wk", d, q.rows)
        if kk.rows != q.rows:
            raise SpecError(f"Wk is {shape_text(kk)} but Wq is {shape_text(q)}: Kᵀ·Q needs queries and keys of the "
                            "same length", field=sub.at("Wk"))
        v = projection(sub, "Wv", d)
        Wq.append(q)
        Wk.append(kk)
        Wv.append(v)
        sizes.append((q.rows, v.rows))
    width = sum(s[1] for s in sizes)
    Wo = read.matrix("Wo")
    if Wo.cols != width:
        raise SpecError(f"Wo{k} is {shape_text(Wo)} but the heads' outputs stack to {width} rows: Wo{k}·Concat{k} "
                        f"needs {width} columns", field=read.at("Wo"))
    stack = sp.ImmutableMatrix.vstack
    return MultiHead(Wq=stack(*Wq), Wk=stack(*Wk), Wv=stack(*Wv), Wo=Wo, sizes=tuple(sizes),
                     skip=parse_skip(read, (Wo.rows, n)), **parse_options(read))


class _Located:
    """A head table's reader: its fields are layers[k].heads[h].key."""

    def __init__(self, read: Reader, at: str) -> None:
        self._read, self._at = read, at
        self.k, self.prev, self.table = read.k, read.prev, read.table

    def at(self, key: str) -> str:
        return self._read.at(f"{self._at}.{key}")

    def keys(self, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> None:
        from ..reader import keys

        keys(self.table, allowed, self._read.at(self._at), required)

    def matrix(self, key: str, shape: tuple[int, int] | None = None) -> sp.ImmutableMatrix:
        from ..reader import matrix

        return matrix(self.table[key], self.at(key), self._read.bounds, shape=shape)


def _build(rng: Any, options: Any) -> tuple[dict, list[str]] | None:
    """Two heads of the worksheet's self-attention (⌊s/2⌋, 3^s, one decimal) over the same tokens, then Wo."""
    from .attention import HAND

    d, dk = options.sizes
    n, g = options.batch, options.max_given
    bits = lambda r, c: [[rng.choice([0, 0, 1]) for _ in range(c)] for _ in range(r)]  # noqa: E731
    heads = [{"Wq": bits(dk, d), "Wk": bits(dk, d), "Wv": bits(dk, d)} for _ in range(2)]
    if any(all(v == 0 for v in row) for head in heads for W in head.values() for row in W):
        return None
    Wo = [[rng.choice([-1, 0, 1, 1]) for _ in range(2 * dk)] for _ in range(d)]
    X = [[rng.randint(0, min(2, g)) for _ in range(n)] for _ in range(d)]
    layer = {"type": "multi_head_attention", "heads": heads, "Wo": Wo, "scale": "floor_half", "exp_base": 3, "round": 1}
    return {"title": "Multi-head attention by hand", "description": f"two heads over {n} tokens, stacked, then Wo",
            "X": X, "layers": [layer]}, HAND


class MultiHeadAttention(Op):
    """Every head: Q, K, V, S = Kᵀ·Q, P, Ah = V·P; Concat = [A.1 ; A.2 ; …]; A = Wo·Concat; backward."""

    name = "multi_head_attention"
    layer = True
    summary = "multi-head attention: each head's attention over the tokens, the outputs stacked (Concatk), " \
              "Ak = Wo·Concatk"
    keys = (
        Key("heads", "list of tables with Wq, Wk, Wv", "the heads, in order; head h's quantities are Qk.h, Kk.h, Vk.h, "
            "Sk.h, Pk.h, Ak.h, its weights trained stacked (dL/dWqk is [dL/dWqk.1 ; dL/dWqk.2 ; …])", required=True),
        Key("Wo", "matrix (outputs × Σ d_v)", "the output projection: Ak = Wo·Concatk", required=True),
        Key("scale", "\"sqrt\", \"floor_half\" or a number", "as for attention, in every head", "sqrt"),
        Key("exp_base", "number", "as for attention, in every head", "e"),
        Key("clip_negative", "true or false", "as for attention, in every head", "false"),
        Key("round", "whole number of decimals", "as for attention, in every head (Pk.h≈)"),
        Key("causal", "true or false", "as for attention, in every head", "false"),
        Key("skip", "a quantity name", "a residual: Ak = Wo·Concatk + that quantity"),
    )

    kinds = {"multi-head-attention": Kind(KindInfo((3, 1), batch=3, layers=(1, 1)), _build)}

    def parse(self, table: Mapping, read: Reader) -> MultiHead:
        return _parse(read)

    def out_rows(self, params: MultiHead, rows: int) -> int:
        return params.Wo.rows

    def inputs(self, k: int, params: MultiHead, prev: str) -> tuple[str, ...]:
        return (prev,) if params.skip is None else (prev, params.skip)

    def trainable(self, params: MultiHead) -> dict[str, Any]:
        return {"Wq": params.Wq, "Wk": params.Wk, "Wv": params.Wv, "Wo": params.Wo}

    def with_trained(self, params: MultiHead, new: Mapping[str, Any]) -> MultiHead:
        return replace(params, **new)

    def entries(self, params: MultiHead, rows: int, batch: int) -> int:
        heads = len(params.sizes)
        return heads * (12 * batch * batch + 8 * rows * batch) + 2 * self.count(params)

    def count(self, params: MultiHead) -> int:
        return sum(v.rows * v.cols for v in self.trainable(params).values())

    def approximates(self, params: MultiHead) -> bool:
        return any(params.approximate(dk) for dk, _ in params.sizes)

    def _head(self, xp: Any, params: Mapping[str, Any], p: MultiHead, h: int) -> dict[str, Any]:
        """Head h's Wq, Wk, Wv (0-based), cut from the stacked weights."""
        (q0, q1), (v0, v1) = p.rows(h, 0), p.rows(h, 1)
        return {"Wq": xp.row_block(params["Wq"], q0, q1), "Wk": xp.row_block(params["Wk"], q0, q1),
                "Wv": xp.row_block(params["Wv"], v0, v1)}

    def forward(self, run: "Run", node: Node, params: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
        xp, k, p = run.xp, node.k, node.params
        prev = node.inputs[0]
        X = inputs[prev]
        out: dict[str, Any] = {}
        heads = []
        for h in range(len(p.sizes)):  # each head on its own, side by side
            W, names, s = self._head(xp, params, p, h), head_names(k, f".{h + 1}"), f"{k}.{h + 1}"
            made = {}
            for q, w in (("Q", "Wq"), ("K", "Wk"), ("V", "Wv")):
                made[q] = out[names[q]] = run.record({"Q": "query", "K": "key", "V": "value"}[q], names[q],
                                                     xp.matmul(W[w], X), **{f"{w}{s}": W[w], prev: X})  # (d_k×d)·(d×n)
            _, _, P = scores(run, p, made["Q"], made["K"], names, k)
            weights = names["Pround"] if p.round is not None else names["P"]
            out[weights] = P
            out[names["A"]] = run.record("mix", names["A"], mix(run, made["V"], P),
                                         **{names["V"]: made["V"], weights: P})
            heads.append(out[names["A"]])
        concat = out[f"Concat{k}"] = run.record("concat", f"Concat{k}", xp.vstack(heads),
                                                **{head_names(k, f".{h + 1}")["A"]: a for h, a in enumerate(heads)})
        A = xp.matmul(params["Wo"], concat)  # (d_out×Σd_v)·(Σd_v×n)
        operands = {f"Wo{k}": params["Wo"], f"Concat{k}": concat}
        if p.skip is not None:
            A = xp.add(A, inputs[p.skip])
            operands[p.skip] = inputs[p.skip]
        out[f"A{k}"] = run.record("project", f"A{k}", A, **operands)
        return out

    def backward(self, run: "Run", node: Node, params: Mapping[str, Any], saved: Mapping[str, Any], grad: Grad,
                 need: frozenset[str]) -> Backward:
        xp, k, p = run.xp, node.k, node.params
        prev = node.inputs[0]
        X, dA, concat = saved[prev], grad.value, saved[f"Concat{k}"]
        Wo = params["Wo"]
        grads = {"Wo": run.record("grad_w", f"dL/dWo{k}", xp.matmul(dA, xp.transpose(concat)),  # (d_out×n)·(n×Σd_v)
                                  **{f"dL/dA{k}": dA, f"Concat{k}": concat})}
        dC = run.record("grad_concat", f"dL/dConcat{k}", xp.matmul(xp.transpose(Wo), dA),
                        **{f"Wo{k}": Wo, f"dL/dA{k}": dA})
        per: dict[str, list[Any]] = {"Wq": [], "Wk": [], "Wv": [], "Q": [], "K": [], "V": []}
        for h in range(len(p.sizes)):
            names, s = head_names(k, f".{h + 1}"), f"{k}.{h + 1}"
            v0, v1 = p.rows(h, 1)
            dAh = run.record("grad_head", f"dL/d{names['A']}", xp.row_block(dC, v0, v1), **{f"dL/dConcat{k}": dC})
            weights = names["Pround"] if p.round is not None else names["P"]
            P, V = saved[weights], saved[names["V"]]
            dV = run.record("grad_v", f"dL/d{names['V']}", xp.matmul(dAh, xp.transpose(P)),  # (d_v×n)·(n×n)
                            **{f"dL/d{names['A']}": dAh, weights: P})
            dP = run.record("grad_p", f"dL/d{names['P']}", xp.matmul(xp.transpose(V), dAh),  # (n×d_v)·(d_v×n)
                            **{names["V"]: V, f"dL/d{names['A']}": dAh})
            dQ, dK = scores_backward(run, p, dP, P, saved[names["Q"]], saved[names["K"]], names)
            for w, g in (("Wq", dQ), ("Wk", dK), ("Wv", dV)):
                per[w].append(run.record("grad_w", f"dL/d{w}{s}", xp.matmul(g, xp.transpose(X)),  # (d_k×n)·(n×d)
                                         **{f"dL/d{GRADS[w]}{s}": g, prev: X}))
                per[GRADS[w]].append(g)
        for w in ("Wq", "Wk", "Wv"):  # the heads' gradients, stacked as their weights are
            grads[w] = run.record("stack", f"dL/d{w}{k}", xp.vstack(per[w]),
                                  **{f"dL/d{w}{k}.{h + 1}": g for h, g in enumerate(per[w])})
        parts = []
        if prev in need:
            name = run.grad_name(prev, f"A{k}")
            terms = {}
            for w in ("Wq", "Wk", "Wv"):  # Wᵀ·[∂L/∂(each head's Q) ; …]: every head's part at once
                part = f"dL/d{prev} via {w}{k}"
                terms[part] = run.record("grad_a", part, xp.matmul(xp.transpose(params[w]), xp.vstack(per[GRADS[w]])),
                                         **{f"{w}{k}": params[w]} | {f"dL/d{GRADS[w]}{k}.{h + 1}": g
                                                                      for h, g in enumerate(per[GRADS[w]])})
            total = None
            for g in terms.values():
                total = g if total is None else xp.add(total, g)
            parts.append((prev, name, run.record("grad_sum", name, total, **terms)))
        if p.skip is not None and p.skip in need:
            parts.append((p.skip, f"dL/dA{k}", dA))
        return Backward(grads, tuple(parts))


OP = MultiHeadAttention()
