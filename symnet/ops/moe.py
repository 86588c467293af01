"""A mixture of experts: gate logits G = Wg·A, their softmax P per token (column), top-k routing (ties to the first
expert), each expert a dense layer on the tokens routed to it, outputs weighted by the gate (or not), an optional
capacity (overflow tokens pass through unchanged, in token order); backward through the chosen experts and the gate."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

import sympy as sp

from ..errors import SpecError
from ..reader import Reader, keys, shape_text
from . import Backward, Grad, Key, Kind, KindInfo, Mistake, Node, Op, activations
from .activations import Activated

if TYPE_CHECKING:
    from ..engine import Run
    from ..exercise import Exercise
    from ..record import Solution

M: TypeAlias = sp.ImmutableMatrix
EXPERT_KEYS = ("W", "b") + tuple(k.name for k in activations.KEYS if k.name not in ("temperature", "sample"))


@dataclass(frozen=True, kw_only=True)
class Expert(Activated):
    """One expert: a dense layer Z = W·A + b on its tokens, then its activation."""

    W: M  # (m×n)
    b: M  # (m×1)


@dataclass(frozen=True)
class Mixture:
    """A mixture-of-experts layer's parameters."""

    type: ClassVar[str] = "moe"
    Wg: M  # (E×n): one row of gate weights per expert
    experts: tuple[Expert, ...]
    top_k: int = 1
    weighted: bool = True
    capacity: int | None = None
    exp_base: sp.Expr = sp.E  # the gate softmax's base (3: the worksheets' e ≈ 3)
    route: M | None = None  # a given routing (top_k × N, 1-based), the sheet's own; else the gate's top-k

    @property
    def E(self) -> int:
        """How many experts."""
        return len(self.experts)


@dataclass(frozen=True)
class _Part(Reader):
    """A Reader for a table inside the layer's (one expert), its fields named from `path`."""

    path: str = ""

    @property
    def field(self) -> str:
        return self.path


def _parse(read: Reader) -> Mixture:
    read.keys(("Wg", "experts", "top_k", "weighted", "capacity", "exp_base", "route"), required=("Wg", "experts"))
    table, k = read.table, read.k
    n, N = read.below
    Wg = read.matrix("Wg")
    if Wg.cols != n:
        raise SpecError(f"Wg{k} is {shape_text(Wg)} but {read.prev} is {n}×{N}: Wg{k}·{read.prev} needs {n} columns",
                        field=read.at("Wg"))
    raw = table["experts"]
    if not isinstance(raw, list) or not raw:
        raise SpecError("expected a list of expert tables ({W, b, activation})", field=read.at("experts"))
    if len(raw) != Wg.rows:
        raise SpecError(f"{len(raw)} experts but Wg{k} has {Wg.rows} rows (one per expert)", field=read.at("experts"))
    experts = tuple(_expert(read, t, e, n) for e, t in enumerate(raw, 1))
    if len({x.W.rows for x in experts}) > 1:
        raise SpecError("every expert must give as many outputs (rows of W)", field=read.at("experts"))
    top_k = read.whole("top_k", 1)
    if not 1 <= top_k <= len(experts):
        raise SpecError(f"top_k must be from 1 to {len(experts)} (the experts), got {top_k}", field=read.at("top_k"))
    capacity = None
    if "capacity" in table:
        capacity = read.whole("capacity", 1)
        if capacity < 1:
            raise SpecError(f"capacity must be at least 1, got {capacity}", field=read.at("capacity"))
        if top_k != 1:
            raise SpecError("capacity goes with top_k = 1 (the switch transformer)", field=read.at("capacity"))
        if experts[0].W.rows != n:
            raise SpecError(f"with a capacity an overflow token passes through unchanged, so the experts need {n} "
                            f"outputs like {read.prev}", field=read.at("capacity"))
    base = sp.E
    if "exp_base" in table:
        base = read.scalar("exp_base")
        if base.is_number and not base.is_positive or base == 1:
            raise SpecError(f"exp_base must be a positive number other than 1, got {base}", field=read.at("exp_base"))
    route = None
    if "route" in table:
        route = read.matrix("route")
        if route.shape != (top_k, N):
            raise SpecError(f"route{k} is {shape_text(route)} but needs {top_k}×{N} (top_k rows, one column per token)",
                            field=read.at("route"))
        if any(not (v.is_Integer and 1 <= v <= len(experts)) for v in route) or any(
                len(set(route.col(j))) < top_k for j in range(N)):
            raise SpecError(f"route holds the experts 1 to {len(experts)}, each at most once per token",
                            field=read.at("route"))
    return Mixture(Wg, experts, top_k, read.boolean("weighted", True), capacity, base, route)


def _expert(read: Reader, raw: object, e: int, n: int) -> Expert:
    path = read.at(f"experts[{e}]")
    table = keys(raw, EXPERT_KEYS, path, required=("W",))
    sub = _Part(table, read.k, read.prev, read.below, read.shapes, read.bounds, path)
    W = sub.matrix("W")
    if W.cols != n:
        raise SpecError(f"W is {shape_text(W)} but {read.prev} has {n} rows: W needs {n} columns", field=sub.at("W"))
    b = sub.matrix("b", (W.rows, 1)) if "b" in table else sp.zeros(W.rows, 1).as_immutable()
    if b.shape != (W.rows, 1):
        raise SpecError(f"b is {shape_text(b)} but W is {shape_text(W)}: b needs {W.rows}×1", field=sub.at("b"))
    act = activations.parse(sub)
    if act["activation"] == "softmax":
        raise SpecError("an expert's activation is applied entry by entry: not softmax", field=sub.at("activation"))
    return Expert(W=W, b=b, **act)


def _mixtures(ex: "Exercise", test: Any) -> bool:
    return any(isinstance(l, Mixture) and test(l) for l in ex.layers)


# ---------------------------------------------------------------- routing (decided on numbers: no gradient)


def ranked(G: M, k: int, second: bool = False) -> list[list[int]]:
    """Per token (column of the gate logits G), its top-k experts (0-based), the largest logit first, ties to the
    first expert; `second`: the mistake of taking each rank one too low (the second-best for top-1)."""
    out = []
    for j in range(G.cols):
        order = sorted(range(G.rows), key=lambda e: (-_number(G[e, j]), e))
        out.append(order[1:k + 1] if second else order[:k])
    return out


def _number(v: sp.Expr) -> sp.Expr:
    return v if v.is_Rational else sp.N(v, 60)


def overflow(route: list[list[int]], capacity: int | None, E: int) -> list[bool]:
    """Per token, True when its expert is already full (`capacity` tokens, taken in column order): it passes through."""
    if capacity is None:
        return [False] * len(route)
    taken, out = [0] * E, []
    for experts in route:
        e = experts[0]
        out.append(taken[e] >= capacity)
        taken[e] += not out[-1]
    return out


def tokens(route: list[list[int]], past: list[bool], e: int) -> list[tuple[int, int]]:
    """The (token, rank) pairs routed to expert e (0-based) and kept, in token order."""
    return [(j, r) for j, experts in enumerate(route) for r, x in enumerate(experts) if x == e and not past[j]]


def pick(xp: Any, N: int, cols: list[int]) -> Any:
    """The N × t matrix S whose column i is the one-hot of token cols[i]: A·S takes those tokens' columns."""
    return xp.value(M(N, len(cols), lambda i, t: 1 if cols[t] == i else 0), keep=True)


def _generated(rng: Any, options: Any, switch: bool) -> Any:
    """A generated exercise: 2 ReLU experts, the gate's top-1 with 3 for e (its logits a token apart by 1 or 2, no
    tie); `switch`: weighted by the gate with a capacity of N/2 that one token overflows, else the sheet's unweighted
    Max. Each expert's layer, on its tokens, cuts one entry and passes one. Squared error, summed."""
    from ..generators import _inputs, _layer, _z_ok

    n, N, g = options.sizes[0], options.batch, options.max_given
    m = n if switch else options.sizes[-1]
    capacity = max(1, N // 2)
    for _ in range(200):
        rng.spend()
        X = _inputs(rng, n, N, g)
        Wg = [[rng.choice((-1, 0, 0, 1)) for _ in range(n)] for _ in range(2)]
        G = [[sum(w * x[j] for w, x in zip(row, X)) for j in range(N)] for row in Wg]
        gaps = [G[0][j] - G[1][j] for j in range(N)]
        route = [0 if d > 0 else 1 for d in gaps]
        counts = [route.count(0), route.count(1)]
        if any(abs(d) not in (1, 2) for d in gaps) or min(counts) == 0:
            continue
        if switch and max(counts) <= capacity:
            continue
        break
    else:
        return None
    past, taken = [], [0, 0]
    for e in route:
        past.append(switch and taken[e] >= capacity)
        taken[e] += not past[-1]
    experts = []
    for e in range(2):
        tokens = [[X[i][j] for j in range(N) if route[j] == e and not past[j]] for i in range(n)]
        drawn = _layer(rng, tokens, m, g, True, _z_ok("relu", hidden=False))
        if drawn is None:
            return None
        experts.append({"W": drawn[0], "b": drawn[1], "activation": "relu"})
    layer: dict = {"type": "moe", "Wg": Wg, "top_k": 1, "weighted": switch, "exp_base": 3, "experts": experts}
    if switch:
        layer["capacity"] = capacity
    Y = [[rng.randint(-g, g) for _ in range(N)] for _ in range(m)]
    what = (f"top-1 routing weighted by the gate, each expert taking at most {capacity} tokens" if switch
            else "the gate's largest logit picks one of two ReLU experts per token (unweighted)")
    spec = {"title": "A switch transformer's router by hand" if switch else "A mixture of experts by hand",
            "description": f"{N} tokens, {what}", "X": X, "layers": [layer],
            "loss": {"kind": "squared_error", "Y": Y, "reduction": "sum"}}
    return spec, ["Approximation: the gate's softmax uses exp_base = 3 (3 in place of e), as the AI by Hand sheets do."]


class MixtureOfExperts(Op):
    """G = Wg·A, P = softmax(G) per token, route = top-k of P; each token's output Σ p·f(W·a + b) over its experts."""

    name = "moe"
    layer = True
    summary = "a mixture of experts: a gate routes each token to its top-k experts, whose outputs it weighs"
    keys = (
        Key("Wg", "matrix (experts × inputs)", "the gate: G = Wg·A, one logit per expert and token", required=True),
        Key("experts", "list of tables {W, b, activation}", "the experts, each a dense layer (b: zeros when not given; "
            "activation: identity, relu, leaky_relu, sigmoid or tanh, with alpha or exp_base)", required=True),
        Key("top_k", "whole number", "how many experts each token goes to", "1"),
        Key("weighted", "true or false", "true: each expert's output times its gate probability; false: summed as it "
            "is (the sheet's Max), and the gate gets no gradient", "true"),
        Key("capacity", "whole number", "top_k = 1 only: each expert takes at most this many tokens, in token order; "
            "the others pass through unchanged (the switch transformer)"),
        Key("exp_base", "number", "the gate softmax's base in place of e (3 on the hand sheets), labelled ≈", "e"),
        Key("route", "matrix (top_k × tokens) of expert numbers", "a given routing, used in place of the gate's top-k "
            "(as a sheet may give it; needed when the gate holds symbols)"),
    )
    mistakes = (
        Mistake("second_best_expert", 1350, "Each token goes to the expert with the largest gate logit (the largest "
                "probability), not the second largest.",
                lambda ex: _mixtures(ex, lambda l: l.route is None and l.top_k < l.E)),
        Mistake("gate_weight_forgotten", 1351, "Each expert's output is multiplied by its gate probability before the "
                "outputs are added.", lambda ex: _mixtures(ex, lambda l: l.weighted)),
        Mistake("gate_weight_twice", 1352, "The gate probability multiplies each expert's output once, not twice.",
                lambda ex: _mixtures(ex, lambda l: l.weighted)),
    )

    # ------------------------------------------------------------ the spec

    def parse(self, table: Mapping, read: Reader) -> Mixture:
        return _parse(read)

    def out_rows(self, params: Mixture, rows: int) -> int:
        return params.experts[0].W.rows

    def trainable(self, params: Mixture) -> dict[str, Any]:
        out: dict[str, Any] = {"Wg": params.Wg}
        for e, x in enumerate(params.experts, 1):
            out[f"E{e}.W"], out[f"E{e}.b"] = x.W, x.b
        return out

    def with_trained(self, params: Mixture, new: Mapping[str, Any]) -> Mixture:
        experts = tuple(replace(x, W=new.get(f"E{e}.W", x.W), b=new.get(f"E{e}.b", x.b))
                        for e, x in enumerate(params.experts, 1))
        return replace(params, Wg=new.get("Wg", params.Wg), experts=experts)

    def count(self, params: Mixture) -> int:
        return sum(v.rows * v.cols for v in self.trainable(params).values())

    def approximates(self, params: Mixture) -> bool:
        return params.exp_base != sp.E or any(x.approximates_e for x in params.experts)

    # ------------------------------------------------------------ forward

    def forward(self, run: "Run", node: Node, params: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
        xp, k, mix = run.xp, node.k, node.params
        prev = node.inputs[0]
        A = inputs[prev]
        n, N = xp.shape(A)
        Wg = params["Wg"]
        G = run.record("gate", f"G{k}", xp.matmul(Wg, A), **{f"Wg{k}": Wg, prev: A})  # (E×n)·(n×N)
        run.check_powers(G, mix.exp_base, k)
        P = run.record("gate_softmax", f"P{k}", xp.softmax(G, mix.exp_base), **{f"G{k}": G})  # (E×N), per column
        route = self._route(run, mix, xp.sympy(G), k)
        R = run.record("route", f"route{k}", xp.value(M(mix.top_k, N, lambda r, j: route[j][r] + 1)), **{f"G{k}": G})
        out: dict[str, Any] = {f"G{k}": G, f"P{k}": P, f"route{k}": R}
        combine: dict[str, Any] = {f"P{k}": P, f"route{k}": R}
        passed: dict[str, Any] = {}  # with a capacity, the overflow: which tokens pass the experts by
        if mix.capacity is not None:
            past = overflow(_routes(xp, R, mix, k), mix.capacity, mix.E)
            O = run.record("overflow", f"overflow{k}", xp.value(M(1, N, [int(v) for v in past])), **{f"route{k}": R})
            out[f"overflow{k}"] = combine[f"overflow{k}"] = passed[f"overflow{k}"] = O
        total = xp.hadamard(A, xp.broadcast_row(out[f"overflow{k}"], n)) if mix.capacity is not None else None
        for e, expert in enumerate(mix.experts):
            got = self.tokens(xp, mix, out, k, e)
            if not got:
                continue
            S = pick(xp, N, [j for j, _ in got])
            W, b, name = params[f"E{e + 1}.W"], params[f"E{e + 1}.b"], f"E{e + 1}"
            Ae = run.record("expert_input", f"{name}.X{k}", xp.matmul(A, S),  # its tokens' columns  (n×t)
                            **{prev: A, f"route{k}": R, "tokens": _token_row(xp, got)}, **passed)
            Z = run.record("expert_linear", f"{name}.Z{k}", xp.linear(W, Ae, b),  # (m×n)·(n×t) + (m×1)·1ᵀ
                           **{f"{name}.W{k}": W, f"{name}.b{k}": b, f"{name}.X{k}": Ae})
            fn = expert.function
            if fn.uses_exp:
                run.check_powers(Z, expert.exp_base, k)
            Y = run.record("expert_activation", f"{name}.Y{k}", fn.value(xp, expert, Z), **{f"{name}.Z{k}": Z})
            out[f"{name}.X{k}"], out[f"{name}.Z{k}"], out[f"{name}.Y{k}"] = Ae, Z, Y
            part = xp.matmul(self._weighted(run, mix, Y, self._weights(xp, P, e, S)), xp.transpose(S))  # (m×t)·(t×N)
            total = part if total is None else xp.add(total, part)
            combine[f"{name}.Y{k}"] = Y
        if total is None:
            total = xp.zeros(self.out_rows(mix, n), N)
        out[f"A{k}"] = run.record("combine", f"A{k}", total, **combine, **{prev: A})
        return out

    def tokens(self, xp: Any, mix: Mixture, saved: Mapping[str, Any], k: int, e: int) -> list[tuple[int, int]]:
        """The (token, rank) pairs expert e (0-based) takes, from the recorded route and overflow."""
        past = [v == 1 for v in xp.entries(saved[f"overflow{k}"])] if mix.capacity is not None else None
        route = _routes(xp, saved[f"route{k}"], mix, k)
        return tokens(route, past or [False] * len(route), e)

    def _route(self, run: "Run", mix: Mixture, G: M, k: int) -> list[list[int]]:
        if mix.route is not None:
            return [[int(v) - 1 for v in mix.route.col(j)] for j in range(mix.route.cols)]
        if G.free_symbols:
            raise SpecError("the gate logits hold symbols, so the routing cannot be decided: give route (the experts "
                            "of each token)", source=run.source, field=f"layers[{k}].route")
        return ranked(G, mix.top_k, run.broken("second_best_expert"))

    def _weights(self, xp: Any, P: Any, e: int, S: Any) -> Any:
        """Expert e's gate probabilities for its tokens: row e of P·S  (1×t)."""
        E = xp.shape(P)[0]
        one = xp.value(M(1, E, lambda i, x: 1 if x == e else 0), keep=True)
        return xp.matmul(xp.matmul(one, P), S)  # (1×E)·(E×N)·(N×t)

    def _weighted(self, run: "Run", mix: Mixture, Y: Any, w: Any) -> Any:
        """Y scaled by the gate weight of each column: once (weighted), never, or twice (the mistakes)."""
        if not mix.weighted or run.broken("gate_weight_forgotten"):
            return Y
        Y = run.xp.scale_columns(Y, w)  # (m×t)·diag(w)
        return run.xp.scale_columns(Y, w) if run.broken("gate_weight_twice") else Y

    # ------------------------------------------------------------ backward

    def backward(self, run: "Run", node: Node, params: Mapping[str, Any], saved: Mapping[str, Any], grad: Grad,
                 need: frozenset[str]) -> Backward:
        xp, k, mix = run.xp, node.k, node.params
        prev = node.inputs[0]
        A, P = saved[prev], saved[f"P{k}"]
        n, N = xp.shape(A)
        E = mix.E
        dA = grad.value
        grads: dict[str, Any] = {}
        dX = xp.hadamard(dA, xp.broadcast_row(saved[f"overflow{k}"], n)) if mix.capacity is not None else None
        dP = None
        for e, expert in enumerate(mix.experts):
            name = f"E{e + 1}"
            got = self.tokens(xp, mix, saved, k, e)
            if not got:  # no token came to it: no gradient
                W = params[f"{name}.W"]
                grads[f"{name}.W"] = run.record("grad_idle", f"dL/d{name}.W{k}", xp.zeros(*xp.shape(W)))
                grads[f"{name}.b"] = run.record("grad_idle", f"dL/d{name}.b{k}", xp.zeros(xp.shape(W)[0], 1))
                continue
            S, Z, Y = pick(xp, N, [j for j, _ in got]), saved[f"{name}.Z{k}"], saved[f"{name}.Y{k}"]
            w = self._weights(xp, P, e, S)
            g = xp.matmul(dA, S)  # its tokens' columns of ∂L/∂A  (m×t)
            dY = run.record("grad_expert_out", f"dL/d{name}.Y{k}", self._weighted(run, mix, g, w),
                            **{f"dL/dA{k}": dA, f"P{k}": P})
            fn = expert.function
            D = fn.derivative(xp, expert, Z, Y)
            dZ = run.record("grad_expert_z", f"dL/d{name}.Z{k}", fn.backward(xp, expert, dY, D, Z, Y),
                            **{f"dL/d{name}.Y{k}": dY, f"{name}.Z{k}": Z, f"{name}.Y{k}": Y})
            Ae = saved[f"{name}.X{k}"]
            grads[f"{name}.W"] = run.record("grad_expert_w", f"dL/d{name}.W{k}", xp.matmul(dZ, xp.transpose(Ae)),
                                            **{f"dL/d{name}.Z{k}": dZ, f"{name}.X{k}": Ae})  # (m×t)·(t×n)
            grads[f"{name}.b"] = run.record("grad_expert_b", f"dL/d{name}.b{k}", xp.col_sums(dZ),
                                            **{f"dL/d{name}.Z{k}": dZ})
            if prev in need:
                part = xp.matmul(xp.matmul(xp.transpose(params[f"{name}.W"]), dZ), xp.transpose(S))  # (n×m)(m×t)(t×N)
                dX = part if dX is None else xp.add(dX, part)
            if mix.weighted and not run.broken("gate_weight_forgotten"):
                dw = xp.col_dots(g, Y)  # ∂L/∂p for each of its tokens: ∂L/∂a · y  (1×t)
                if run.broken("gate_weight_twice"):
                    dw = xp.hadamard(dw, xp.scale(xp.scalar(2), w))  # ∂(p²y)/∂p = 2p·y
                one = xp.value(M(E, 1, lambda x, _: 1 if x == e else 0), keep=True)
                row = xp.matmul(xp.matmul(one, dw), xp.transpose(S))  # into row e, at its tokens  (E×1)(1×t)(t×N)
                dP = row if dP is None else xp.add(dP, row)
        Wg = params["Wg"]
        if dP is None:  # unweighted: the output does not depend on the gate (the routing itself has no gradient)
            grads["Wg"] = run.record("grad_gate_none", f"dL/dWg{k}", xp.zeros(*xp.shape(Wg)), **{f"dL/dA{k}": dA})
        else:
            dP = run.record("grad_gate_weights", f"dL/dP{k}", dP, **{f"dL/dA{k}": dA, f"route{k}": saved[f"route{k}"]})
            dG = xp.hadamard(P, xp.sub(dP, xp.broadcast_row(xp.col_dots(P, dP), E)))  # softmax: p ⊙ (g − pᵀg)  (E×N)
            dG = run.record("grad_gate_logits", f"dL/dG{k}", dG, **{f"dL/dP{k}": dP, f"P{k}": P})
            grads["Wg"] = run.record("grad_gate_w", f"dL/dWg{k}", xp.matmul(dG, xp.transpose(A)),
                                     **{f"dL/dG{k}": dG, prev: A})  # (E×N)·(N×n)
            if prev in need:
                part = xp.matmul(xp.transpose(Wg), dG)  # (n×E)·(E×N)
                dX = part if dX is None else xp.add(dX, part)
        if prev not in need or dX is None:
            return Backward(grads)
        name = run.grad_name(prev, f"A{k}")
        return Backward(grads, ((prev, name, run.record("grad_a", name, dX, **{f"dL/dA{k}": dA})),))

    kinds = {"moe": Kind(KindInfo((3, 2), batch=2), lambda rng, o: _generated(rng, o, False)),
             "switch": Kind(KindInfo((2, 2), batch=4), lambda rng, o: _generated(rng, o, True))}

    def friendly(self, params: Mixture, solution: "Solution", k: int) -> list[str]:
        G = solution[f"G{k}"]
        out = []
        for j in range(G.cols):  # a clear winner per token: no tie at the top-k boundary
            col = sorted((G[e, j] for e in range(G.rows)), reverse=True)
            if params.top_k < len(col) and col[params.top_k - 1] == col[params.top_k]:
                out.append(f"token {j + 1} of layer {k} ties at the routing boundary")
        for e in range(1, params.E + 1):
            if f"E{e}.Z{k}" not in solution:
                out.append(f"expert {e} of layer {k} takes no token")
            else:
                Z = solution[f"E{e}.Z{k}"]
                out += activations.relu_friendly(params.experts[e - 1], Z, Z.rows, k)
        return out


def _routes(xp: Any, R: Any, mix: Mixture, k: int) -> list[list[int]]:
    """The recorded route (a student's, in the checker's re-runs) as 0-based experts per token; refused when it
    names no expert."""
    R = xp.sympy(R)
    if any(not (v.is_Integer and 1 <= v <= mix.E) for v in R):
        raise SpecError(f"route{k} holds a number that is not an expert (1 to {mix.E})", field=f"layers[{k}]")
    return [[int(v) - 1 for v in R.col(j)] for j in range(R.cols)]


def _token_row(xp: Any, got: list[tuple[int, int]]) -> Any:
    return xp.value(M(1, len(got), [j + 1 for j, _ in got]))


OP = MixtureOfExperts()
