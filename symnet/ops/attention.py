"""Self-attention (`type = "attention"`): Q = Wq·X, K = Wk·X, V = Wv·X (tokens as columns), S = Kᵀ·Q (keys as rows,
queries as columns), P = a softmax down each column of the scaled scores, A = V·P (+ a skip); and its backward."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

import sympy as sp

from ..errors import SpecError
from ..reader import shape_text
from . import Backward, Grad, Key, Kind, KindInfo, Mistake, Node, Op

if TYPE_CHECKING:
    from ..engine import Run
    from ..exercise import Exercise
    from ..reader import Reader
    from ..record import Solution

SCALES = ("sqrt", "floor_half")
GRADS = {"Wq": "Q", "Wk": "K", "Wv": "V"}  # what each projection makes


@dataclass(frozen=True, kw_only=True)
class Options:
    """How the scores become weights: the scale, the base of the softmax, and the hand approximations."""

    scale: str | sp.Expr = "sqrt"  # "sqrt": 1/√d_k exactly; "floor_half": ⌊s/2⌋ (≈); a number c: c·s (≈ unless exact)
    exp_base: sp.Expr = sp.E
    clip_negative: bool = False  # base^s taken as 0 where the scaled score is negative (≈)
    round: int | None = None  # the weights rounded to this many decimals before A = V·P (≈)
    causal: bool = False  # query j attends to keys 1 … j only

    def approximate(self, d_k: int) -> bool:
        """True when any option is a hand approximation (labelled ≈): a scale other than 1/√d_k, a base other than e,
        the clipped negatives, rounded weights."""
        exact_scale = self.scale == "sqrt" or self.scale == 1 / sp.sqrt(d_k)
        return not exact_scale or self.exp_base != sp.E or self.clip_negative or self.round is not None


@dataclass(frozen=True, kw_only=True)
class Attention(Options):
    """One attention head over the tokens (the columns of its input)."""

    type = "attention"
    Wq: sp.ImmutableMatrix | None  # (d_k × d); None when the weights P are given
    Wk: sp.ImmutableMatrix | None  # (d_k × d)
    Wv: sp.ImmutableMatrix | None  # (d_v × d); None: V is the input itself
    P: sp.ImmutableMatrix | None = None  # given attention weights (tokens × tokens): no Q, K or S
    skip: str | None = None  # a residual: A = V·P + that quantity

    @property
    def d_k(self) -> int:
        """The rows of Q and K."""
        return self.Wq.rows if self.Wq is not None else 0


# ---------------------------------------------------------------- reading


OPTION_KEYS = ("scale", "exp_base", "clip_negative", "round", "causal")


def parse_options(read: "Reader") -> dict[str, Any]:
    """The keys shared by attention and multi-head attention (scale, exp_base, clip_negative, round, causal)."""
    out: dict[str, Any] = {}
    if "scale" in read.table:
        raw = read.table["scale"]
        if isinstance(raw, str) and raw in SCALES:
            out["scale"] = raw
        else:
            c = read.scalar("scale")
            if not (c.is_number and c.is_positive):
                raise SpecError(f"scale must be \"sqrt\", \"floor_half\" or a positive number, got {c}",
                                field=read.at("scale"))
            out["scale"] = c
    if "exp_base" in read.table:
        base = read.scalar("exp_base")
        if base.is_number and not base.is_positive or base == 1:
            raise SpecError(f"exp_base must be a positive number other than 1, got {base}", field=read.at("exp_base"))
        out["exp_base"] = base
    out["clip_negative"] = read.boolean("clip_negative", False)
    out["causal"] = read.boolean("causal", False)
    if "round" in read.table:
        d = read.whole("round", 0)
        if not 0 <= d <= 6:
            raise SpecError(f"round must be from 0 to 6 decimals, got {d}", field=read.at("round"))
        out["round"] = d
    return out


def parse_skip(read: "Reader", shape: tuple[int, int]) -> str | None:
    """A skip quantity of the output's shape, or None."""
    if "skip" not in read.table:
        return None
    skip = read.quantity("skip")
    if read.shapes[skip] != shape:
        rows, cols = read.shapes[skip]
        raise SpecError(f"{skip} is {rows}×{cols} but A{read.k} is {shape[0]}×{shape[1]}: a skip adds a quantity of "
                        f"A{read.k}'s shape", field=read.at("skip"))
    return skip


class MatrixReader(Protocol):
    """What `projection` reads a matrix with: a layer's `Reader`, or a multi-head layer's reader of one head."""

    @property
    def k(self) -> int: ...

    @property
    def prev(self) -> str: ...

    def at(self, key: str) -> str: ...

    def matrix(self, key: str, shape: tuple[int, int] | None = None) -> sp.ImmutableMatrix: ...


def projection(read: MatrixReader, key: str, d: int, rows: int | None = None) -> sp.ImmutableMatrix:
    """A projection W (rows × d) acting on the d features of each token."""
    W = read.matrix(key, (rows, d) if rows is not None else None)
    if W.cols != d:
        raise SpecError(f"{key}{read.k} is {shape_text(W)} but {read.prev} has {d} features per token: {key}{read.k}·"
                        f"{read.prev} needs {d} columns", field=read.at(key))
    return W


def _parse(read: "Reader") -> Attention:
    read.keys(("Wq", "Wk", "Wv", "P", "skip") + OPTION_KEYS)
    k, (d, n) = read.k, read.below
    Wv = projection(read, "Wv", d) if "Wv" in read.table else None
    out_rows = Wv.rows if Wv is not None else d
    if "P" in read.table:
        for key in ("Wq", "Wk") + OPTION_KEYS:
            if key in read.table:
                raise SpecError(f"{key} goes only with computed weights, not with a given P", field=read.at(key))
        P = read.matrix("P", (n, n))
        if P.shape != (n, n):
            raise SpecError(f"P{k} is {shape_text(P)} but there are {n} tokens: P{k} needs {n}×{n} (keys as rows, "
                            "queries as columns)", field=read.at("P"))
        return Attention(Wq=None, Wk=None, Wv=Wv, P=P, skip=parse_skip(read, (out_rows, n)))
    for key in ("Wq", "Wk", "Wv"):
        if key not in read.table:
            raise SpecError(f"missing key {key!r} (or give the weights P)", field=read.field)
    Wq = projection(read, "Wq", d)
    Wk = projection(read, "Wk", d, Wq.rows)
    if Wk.rows != Wq.rows:
        raise SpecError(f"Wk{k} is {shape_text(Wk)} but Wq{k} is {shape_text(Wq)}: Kᵀ·Q needs queries and keys of the "
                        "same length", field=read.at("Wk"))
    return Attention(Wq=Wq, Wk=Wk, Wv=Wv, skip=parse_skip(read, (out_rows, n)), **parse_options(read))


# ---------------------------------------------------------------- the maths, shared with multi-head attention


def scores(run: "Run", o: Options, Q: Any, K: Any, names: dict[str, str], k: int) -> tuple[Any, Any, Any]:
    """S = Kᵀ·Q, its scaled form and the weights P (and P≈ when rounded), each recorded under `names` (S, Shat, P,
    Pround, Q, K); gives (S, Shat, the weights A = V·P uses)."""
    xp = run.xp
    q, kk = names["Q"], names["K"]
    if run.broken("softmax_wrong_axis"):  # queries as rows: Qᵀ·K
        S = xp.matmul(xp.transpose(Q), K)
    else:
        S = xp.matmul(xp.transpose(K), Q)  # (n×d_k)·(d_k×n): keys as rows, queries as columns
    S = run.record("scores", names["S"], S, **{kk: K, q: Q})
    Shat = run.record("scaled", names["Shat"], scaled(xp, o, S, xp.shape(Q)[0], run), **{names["S"]: S})
    drop = dropped(run, o, Shat, k)
    run.check_powers(Shat, o.exp_base, k)
    P = xp.masked_softmax(Shat, o.exp_base, drop) if drop else xp.softmax(Shat, o.exp_base)  # each column over keys
    P = run.record("weights", names["P"], P, **{names["Shat"]: Shat})
    if o.round is not None:
        P = run.record("round", names["Pround"], xp.round(P, o.round),
                       **{names["P"]: P, "decimals": sp.Integer(o.round)})
    return S, Shat, P


def scale_of(o: Options, d_k: int, broken: Any) -> sp.Expr | None:
    """The factor the scores are multiplied by (None for ⌊s/2⌋): 1/√d_k, a given number, or a mistake's."""
    if broken("unscaled_scores"):
        return sp.S.One
    if o.scale == "sqrt":
        return sp.S.One / (d_k if broken("scaled_by_dk") else sp.sqrt(d_k))
    if o.scale == "floor_half":
        return None
    return o.scale


def scaled(xp: Any, o: Options, S: Any, d_k: int, run: "Run") -> Any:
    """The scaled scores: c·S, or ⌊S/2⌋ (the worksheets' stand-in for ÷√3)."""
    c = scale_of(o, d_k, run.broken)
    if c is None:
        return xp.floor(xp.scale(xp.scalar(sp.Rational(1, 2)), S))
    return S if c == 1 else xp.scale(xp.scalar(c), S)


def dropped(run: "Run", o: Options, Shat: Any, k: int) -> frozenset[tuple[int, int]]:
    """The (key, query) entries the softmax leaves out: later keys (causal), negative scores (clip_negative)."""
    n = run.xp.shape(Shat)[0]
    out = {(i, j) for i in range(n) for j in range(n) if i > j} if o.causal else set()
    if o.clip_negative:
        values = run.xp.entries(Shat)
        for i in range(n):
            for j in range(n):
                v = values[i * n + j]
                if v.is_negative is None:
                    raise SpecError("clip_negative needs numeric scores (the scores hold a symbol)", source=run.source,
                                    field=f"layers[{k}].clip_negative")
                if v.is_negative:
                    out.add((i, j))
    for j in range(n):
        if all((i, j) in out for i in range(n)):
            raise SpecError(f"every scaled score of query {j + 1} is negative: clip_negative leaves no weight",
                            source=run.source, field=f"layers[{k}].clip_negative")
    return frozenset(out)


def mix(run: "Run", V: Any, P: Any) -> Any:
    """V·P, each entry over one denominator (V·Pᵀ in the checker's re-run of that mistake)."""
    xp = run.xp
    return xp.combine(xp.matmul(V, xp.transpose(P) if run.broken("weights_transposed") else P))  # (d_v×n)·(n×n)


def scores_backward(run: "Run", o: Options, dP: Any, P: Any, Q: Any, K: Any, names: dict[str, str]) -> tuple[Any, Any]:
    """∂L/∂Shat through each column's softmax, ∂L/∂S through the scale, then ∂L/∂Q and ∂L/∂K; gives (dQ, dK)."""
    xp = run.xp
    n = xp.shape(P)[0]
    dShat = xp.hadamard(P, xp.sub(dP, xp.broadcast_row(xp.col_dots(P, dP), n)))  # p ⊙ (g − pᵀg), column by column
    dShat = run.record("grad_softmax", f"dL/d{names['Shat']}", dShat, **{f"dL/d{names['P']}": dP, names["P"]: P})
    c = scale_of(o, xp.shape(Q)[0], run.broken)
    c = sp.Rational(1, 2) if c is None else c  # ⌊s/2⌋ is taken as s/2 on the way back (≈)
    dS = dShat if c == 1 else xp.scale(xp.scalar(c), dShat)
    dS = run.record("grad_scores", f"dL/d{names['S']}", dS, **{f"dL/d{names['Shat']}": dShat})
    dQ = run.record("grad_q", f"dL/d{names['Q']}", xp.matmul(K, dS), **{names["K"]: K, f"dL/d{names['S']}": dS})
    dK = run.record("grad_k", f"dL/d{names['K']}", xp.matmul(Q, xp.transpose(dS)),  # (d_k×n)·(n×n)
                    **{names["Q"]: Q, f"dL/d{names['S']}": dS})
    return dQ, dK


def head_names(k: int, suffix: str = "") -> dict[str, str]:
    """The quantity names of one head of layer k (suffix ".h" for head h of a multi-head layer)."""
    return {q: f"{q}{k}{suffix}" for q in ("Q", "K", "V", "S", "Shat", "P", "A")} | {"Pround": f"P{k}{suffix}≈"}


# ---------------------------------------------------------------- mistakes


def _attends(ex: "Exercise") -> bool:
    return any(getattr(l, "type", "") in ("attention", "multi_head_attention") and getattr(l, "P", None) is None
               for l in ex.layers)


def _scaled(ex: "Exercise") -> bool:
    return any(_attends_layer(l) and l.scale != 1 for l in ex.layers)


def _root_scaled(ex: "Exercise") -> bool:
    return any(_attends_layer(l) and l.scale == "sqrt" and l.d_k > 1 for l in ex.layers)


def _attends_layer(l: Any) -> bool:
    return getattr(l, "type", "") in ("attention", "multi_head_attention") and getattr(l, "P", None) is None


def _mixes(ex: "Exercise") -> bool:
    return any(getattr(l, "type", "") in ("attention", "multi_head_attention") for l in ex.layers)


MISTAKES_HERE = (
    Mistake("softmax_wrong_axis", 1403, "The scores were taken with the queries as rows (Q·Kᵀ on the sheet's rows, "
            "Qᵀ·K here), so the softmax ran over the queries: S = Kᵀ·Q has a row per key and a column per query, and "
            "each column is normalised over the keys.", _attends),
    Mistake("unscaled_scores", 1404, "The scores were not scaled: divide them by √d_k (or apply the sheet's hand "
            "scale) before the softmax.", _scaled),
    Mistake("scaled_by_dk", 1405, "The scores were divided by d_k: the scale is 1/√d_k.", _root_scaled),
    Mistake("weights_transposed", 1406, "The output was taken as V·Pᵀ: each query's output is V times its own "
            "column of weights, A = V·P.", _mixes),
)


# ---------------------------------------------------------------- a generated exercise

HAND = ["Approximation: the worksheet's hand scale floor(s/2) in place of dividing by the square root of d_k, 3 in",
        "place of e, and the weights rounded to one decimal, as the AI by Hand sheets do; every value is rational."]


def _build(rng: Any, options: Any) -> tuple[dict, list[str]] | None:
    """The worksheet's self-attention: whole tokens and 0/1 projections, ⌊s/2⌋, 3^s, the weights to one decimal."""
    d, dk = options.sizes
    n, g = options.batch, options.max_given
    bits = lambda r, c: [[rng.choice([0, 0, 1]) for _ in range(c)] for _ in range(r)]  # noqa: E731
    Wq, Wk = bits(dk, d), bits(dk, d)
    Wv = [[rng.choice([-1, 0, 1, 1]) for _ in range(d)] for _ in range(d)]
    if any(all(v == 0 for v in row) for W in (Wq, Wk, Wv) for row in W):
        return None  # a row of zeros: a query, key or value that is 0 for every token
    X = [[rng.randint(0, min(2, g)) for _ in range(n)] for _ in range(d)]
    layer = {"type": "attention", "Wq": Wq, "Wk": Wk, "Wv": Wv, "scale": "floor_half", "exp_base": 3, "round": 1}
    return {"title": "Self-attention by hand", "description": f"{n} tokens attend to each other, the worksheet's way",
            "X": X, "layers": [layer]}, HAND


# ---------------------------------------------------------------- the op


class AttentionOp(Op):
    """Q, K, V, the scores Kᵀ·Q, their scaled softmax P down each column, A = V·P; backward to Wq, Wk, Wv and X."""

    name = "attention"
    layer = True
    summary = "self-attention over the tokens (the columns): S = Kᵀ·Q, P = softmax of each column of the scaled " \
              "scores, A = V·P"
    keys = (
        Key("Wq", "matrix (d_k × features)", "the query weights: Q = Wq·X (no bias)"),
        Key("Wk", "matrix (d_k × features)", "the key weights: K = Wk·X"),
        Key("Wv", "matrix (d_v × features)", "the value weights: V = Wv·X (without Wv and with P given: V = X)"),
        Key("P", "matrix (tokens × tokens)", "given attention weights (keys as rows, queries as columns), in place of "
            "Wq, Wk and the softmax: A = V·P"),
        Key("scale", "\"sqrt\", \"floor_half\" or a number", "how the scores are scaled before the softmax: 1/√d_k "
            "exactly; ⌊s/2⌋, the worksheets' stand-in for ÷√3 (≈; taken as s/2 on the way back); or that number (≈)",
            "sqrt"),
        Key("exp_base", "number", "3 in place of e in the softmax (≈)", "e"),
        Key("clip_negative", "true or false", "the hand sheets' 3^s taken as 0 where the scaled score s < 0 (≈)",
            "false"),
        Key("round", "whole number of decimals", "the weights rounded to this many decimals before A = V·P, recorded "
            "as Pk≈ (the key notes a column that no longer sums to 1)"),
        Key("causal", "true or false", "query j attends only to keys 1 … j (the later ones weigh 0)", "false"),
        Key("skip", "a quantity name (X, A2, …)", "a residual connection: Ak = V·P + that quantity (the transformer "
            "block's); its gradient flows into both paths and is summed where they meet"),
    )
    mistakes = MISTAKES_HERE
    kinds = {"self-attention": Kind(KindInfo((3, 2), batch=3, layers=(1, 1)), _build)}

    def parse(self, table: Mapping, read: "Reader") -> Attention:
        return _parse(read)

    def out_rows(self, params: Attention, rows: int) -> int:
        return params.Wv.rows if params.Wv is not None else rows

    def inputs(self, k: int, params: Attention, prev: str) -> tuple[str, ...]:
        return (prev,) if params.skip is None else (prev, params.skip)

    def trainable(self, params: Attention) -> dict[str, Any]:
        return {p: getattr(params, p) for p in ("Wq", "Wk", "Wv") if getattr(params, p) is not None}

    def with_trained(self, params: Attention, new: Mapping[str, Any]) -> Attention:
        return replace(params, **new)

    def entries(self, params: Attention, rows: int, batch: int) -> int:
        return 12 * batch * batch + 8 * rows * batch + 2 * sum(v.rows * v.cols for v in self.trainable(params).values())

    def count(self, params: Attention) -> int:
        return sum(v.rows * v.cols for v in self.trainable(params).values())

    def approximates(self, params: Attention) -> bool:
        return params.P is None and params.approximate(params.d_k)

    def forward(self, run: "Run", node: Node, params: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
        xp, k, p = run.xp, node.k, node.params
        prev = node.inputs[0]
        X = inputs[prev]
        names = head_names(k)
        out: dict[str, Any] = {}
        if "Wv" in params:
            V = out[f"V{k}"] = run.record("value", f"V{k}", xp.matmul(params["Wv"], X),
                                          **{f"Wv{k}": params["Wv"], prev: X})
        else:
            V = X
        if p.P is not None:  # the weights given
            P = run.record("given", f"P{k}", xp.value(p.P, keep=True))
        else:
            Q = out[f"Q{k}"] = run.record("query", f"Q{k}", xp.matmul(params["Wq"], X),
                                          **{f"Wq{k}": params["Wq"], prev: X})
            K = out[f"K{k}"] = run.record("key", f"K{k}", xp.matmul(params["Wk"], X),
                                          **{f"Wk{k}": params["Wk"], prev: X})
            _, _, P = scores(run, p, Q, K, names, k)
        v = f"V{k}" if "Wv" in params else prev
        A = mix(run, V, P)  # (d_v×n)·(n×n)
        weights = names["Pround"] if p.round is not None and p.P is None else f"P{k}"
        operands = {v: V, weights: P}
        if p.skip is not None:
            A = xp.combine(xp.add(A, inputs[p.skip]))  # + the residual
            operands[p.skip] = inputs[p.skip]
        out[f"A{k}"] = run.record("mix", f"A{k}", A, **operands)
        out[weights] = P
        return out

    def backward(self, run: "Run", node: Node, params: Mapping[str, Any], saved: Mapping[str, Any], grad: Grad,
                 need: frozenset[str]) -> Backward:
        xp, k, p = run.xp, node.k, node.params
        prev = node.inputs[0]
        X, dA = saved[prev], grad.value
        names = head_names(k)
        weights = names["Pround"] if p.round is not None and p.P is None else f"P{k}"
        P = saved[weights]
        V = saved.get(f"V{k}", X)
        v = f"V{k}" if "Wv" in params else prev
        grads: dict[str, Any] = {}
        paths: list[tuple[str, Any]] = []  # (weights, the gradient of what they made): the paths back to X
        dV = xp.matmul(dA, xp.transpose(P))  # (d_v×n)·(n×n)
        if "Wv" in params:
            dV = run.record("grad_v", f"dL/dV{k}", dV, **{f"dL/dA{k}": dA, weights: P})
            grads["Wv"] = run.record("grad_w", f"dL/dWv{k}", xp.matmul(dV, xp.transpose(X)),
                                     **{f"dL/dV{k}": dV, prev: X})
            paths.append(("Wv", dV))
        elif prev in need:  # V = X
            dV = run.record("grad_v", run.grad_name(prev, f"A{k}"), dV, **{f"dL/dA{k}": dA, weights: P})
        if p.P is None:
            dP = run.record("grad_p", f"dL/dP{k}", xp.matmul(xp.transpose(V), dA),  # (n×d_v)·(d_v×n)
                            **{v: V, f"dL/dA{k}": dA})
            dQ, dK = scores_backward(run, p, dP, P, saved[f"Q{k}"], saved[f"K{k}"], names)
            grads["Wq"] = run.record("grad_w", f"dL/dWq{k}", xp.matmul(dQ, xp.transpose(X)),
                                     **{f"dL/dQ{k}": dQ, prev: X})
            grads["Wk"] = run.record("grad_w", f"dL/dWk{k}", xp.matmul(dK, xp.transpose(X)),
                                     **{f"dL/dK{k}": dK, prev: X})
            paths = [("Wq", dQ), ("Wk", dK)] + paths
        parts = []
        if prev in need:
            name = run.grad_name(prev, f"A{k}")
            if "Wq" not in params and "Wv" not in params:  # A = X·P: ∂L/∂X = ∂L/∂A·Pᵀ, recorded above
                parts.append((prev, name, dV))
            else:
                terms = {}
                for w, g in paths:  # Wqᵀ·∂L/∂Q + Wkᵀ·∂L/∂K + Wvᵀ·∂L/∂V
                    part = name if len(paths) == 1 else f"dL/d{prev} via {w}{k}"
                    terms[part] = run.record("grad_a", part, xp.matmul(xp.transpose(params[w]), g),  # (d×d_k)·(d_k×n)
                                             **{f"{w}{k}": params[w], f"dL/d{GRADS[w]}{k}": g})
                total = None
                for g in terms.values():
                    total = g if total is None else xp.add(total, g)
                parts.append((prev, name, run.record("grad_sum", name, total, **terms) if len(terms) > 1 else total))
        if p.skip is not None and p.skip in need:
            parts.append((p.skip, f"dL/dA{k}", dA))  # the skip passes ∂L/∂A on unchanged
        return Backward(grads, tuple(parts))

    def friendly(self, params: Attention, solution: "Solution", k: int) -> list[str]:
        return []


OP = AttentionOp()
