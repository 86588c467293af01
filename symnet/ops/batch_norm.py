"""Batch normalisation: each feature (row) normalised over the batch, x̂ = (x − μ)/σ, then γ ⊙ x̂ + β; backward through
the statistics (the full Jacobian). `layer_norm.py` is the same op over the other axis."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

import sympy as sp

from ..errors import SpecError
from ..reader import shape_text
from . import Backward, Grad, Key, Kind, KindInfo, Mistake, Node, Op

if TYPE_CHECKING:
    from ..engine import Run
    from ..exercise import Exercise
    from ..reader import Reader


@dataclass(frozen=True)
class Norm:
    """A normalisation layer's parameters: γ and β (one per feature), ε, and the decimals its statistics are
    rounded to (None: exact)."""

    type: ClassVar[str] = "batch_norm"
    axis: ClassVar[int] = 1  # the statistics run over the columns (the batch): one μ, σ², σ per row (feature)
    gamma: sp.ImmutableMatrix  # (n×1)
    beta: sp.ImmutableMatrix  # (n×1)
    epsilon: sp.Expr = sp.S.Zero
    round: int | None = None

    @property
    def over(self) -> str:
        """What one statistic runs over, in words."""
        return "the batch" if self.axis == 1 else "the features"


KEYS = (
    Key("gamma", "column (one entry per feature)", "the scale γ, trained", "ones"),
    Key("beta", "column (one entry per feature)", "the shift β, trained", "zeros"),
    Key("epsilon", "number ≥ 0", "added to σ² under the square root: σ = √(σ² + ε)", "0"),
    Key("round", "whole number of decimals", "round μ and σ² to this many decimals, and σ too where it is not exact "
        "(√ of a perfect square stays exact), marked ≈: round = 0 is the worksheets' integer statistics"),
)


def parse(read: "Reader", make: type[Norm]) -> Norm:
    """The parameters of a normalisation layer's table."""
    read.keys(tuple(k.name for k in KEYS))
    table, k = read.table, read.k
    n = read.below[0]
    out: dict[str, Any] = {}
    for key, fill in (("gamma", sp.ones), ("beta", sp.zeros)):
        v = read.matrix(key, (n, 1)) if key in table else fill(n, 1).as_immutable()
        if v.shape != (n, 1):
            raise SpecError(f"{key}{k} is {shape_text(v)} but {read.prev} has {n} features: {key}{k} needs {n}×1",
                            field=read.at(key))
        out[key] = v
    if "epsilon" in table:
        eps = read.scalar("epsilon")
        if not (eps.is_Rational and eps >= 0):
            raise SpecError(f"epsilon must be a number ≥ 0, got {eps}", field=read.at("epsilon"))
        out["epsilon"] = eps
    if "round" in table:
        places = read.whole("round", 0)
        if not 0 <= places <= read.bounds.digits:
            raise SpecError(f"round must be from 0 to {read.bounds.digits} decimals, got {places}",
                            field=read.at("round"))
        out["round"] = places
    return make(**out)


# ---------------------------------------------------------------- the statistics along an axis


def total(xp: Any, a: Any, axis: int) -> Any:
    """The sums along `axis`: each row's (a column, n×1) for axis 1, each column's (a row, 1×N) for axis 0."""
    return xp.col_sums(a) if axis == 1 else xp.col_totals(a)


def spread(xp: Any, s: Any, axis: int, shape: tuple[int, int]) -> Any:
    """A statistic copied back along `axis` to `shape`: s·1ᵀ (n×1 → n×N), or 1·s (1×N → n×N)."""
    n, N = shape
    return xp.matmul(s, xp.ones(1, N)) if axis == 1 else xp.broadcast_row(s, n)


def _rounded(xp: Any, v: Any, places: int | None) -> Any:
    return v if places is None else xp.round(v, places)


class BatchNorm(Op):
    """μ, σ² (population), σ per feature over the batch; x̂ = (x − μ)/σ; Ak = γ ⊙ x̂ + β = [diag(γ) | β]·[x̂ ; 1]."""

    name = "batch_norm"
    layer = True
    params_type: ClassVar[type[Norm]] = Norm
    summary = "batch normalisation: each feature normalised over the batch, then scaled by γ and shifted by β"
    keys = KEYS
    mistakes: ClassVar[tuple[Mistake, ...]] = (
        Mistake("sample_variance", 1310, "σ² is the population variance: divide the squared deviations by the number "
                "of values, not by one less.", lambda ex: _norms(ex, lambda l, n, N: (N, n)[1 - l.axis] > 1)),
        Mistake("sigma_squared", 1311, "x̂ divides by σ, the square root of σ² (+ ε), not by σ² itself.",
                lambda ex: _norms(ex)),
        Mistake("wrong_axis", 1312, "The statistics run over the wrong axis: batch norm takes each feature (row) over "
                "the batch, layer norm each sample (column) over its features.",
                lambda ex: _norms(ex, lambda l, n, N: n > 1 and N > 1)),
        Mistake("missing_gamma", 1313, "The scale γ is missing: A = γ ⊙ x̂ + β.",
                lambda ex: _norms(ex, lambda l, n, N: any(g != 1 for g in l.gamma))),
        Mistake("missing_beta", 1314, "The shift β is missing: A = γ ⊙ x̂ + β.",
                lambda ex: _norms(ex, lambda l, n, N: any(b != 0 for b in l.beta))),
        Mistake("statistics_held_constant", 1315, "The gradient also flows through μ and σ²: ∂L/∂X = ∂L/∂X̂/σ plus the "
                "paths through ∂L/∂σ² and ∂L/∂μ.", lambda ex: ex.loss is not None and _norms(ex)),
    )

    # ------------------------------------------------------------ the spec

    def parse(self, table: Mapping, read: "Reader") -> Norm:
        return parse(read, self.params_type)

    def outputs(self, k: int) -> tuple[str, ...]:
        return (f"Xhat{k}", f"A{k}")  # those of the input's shape (Σ, μ, σ², σ are one per feature, or per sample)

    def trainable(self, params: Norm) -> dict[str, Any]:
        return {"gamma": params.gamma, "beta": params.beta}

    def with_trained(self, params: Norm, new: Mapping[str, Any]) -> Norm:
        return replace(params, **new)

    def count(self, params: Norm) -> int:
        return 2 * params.gamma.rows

    def approximates(self, params: Norm) -> bool:
        return params.round is not None

    # ------------------------------------------------------------ forward

    def forward(self, run: "Run", node: Node, params: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
        xp, k, p = run.xp, node.k, node.params
        prev = node.inputs[0]
        A = inputs[prev]
        shape = xp.shape(A)
        axis = p.axis if not run.broken("wrong_axis") else 1 - p.axis
        m = shape[axis]  # how many values each statistic is over
        S = run.record("sum", f"sum{k}", total(xp, A, axis), **{prev: A})  # Σ x  (n×1) or (1×N)
        mu = xp.scale(xp.scalar(sp.Rational(1, m)), S)
        extra = {"exact": mu} if p.round is not None else {}
        mu = run.record("mean", f"mu{k}", _rounded(xp, mu, p.round), **{f"sum{k}": S}, **extra)
        D = xp.sub(A, spread(xp, mu, axis, shape))  # x − μ  (n×N)
        squares = run.record("squares", f"squares{k}", total(xp, xp.square(D), axis),  # Σ (x − μ)²
                             **{prev: A, f"mu{k}": mu})
        over = m - 1 if run.broken("sample_variance") else m
        var = xp.scale(xp.scalar(sp.Rational(1, over)), squares)
        extra = {"exact": var} if p.round is not None else {}
        var = run.record("variance", f"var{k}", _rounded(xp, var, p.round), **{f"squares{k}": squares}, **extra)
        radicand = var if p.epsilon == 0 else xp.add(var, xp.scale(xp.scalar(p.epsilon), xp.ones(*xp.shape(var))))
        sigma = xp.sqrt(radicand) if p.round is None else xp.sqrt_rounded(radicand, p.round)
        sigma = run.record("deviation", f"sigma{k}", sigma, **{f"var{k}": var, "radicand": radicand})
        self._refuse_zero(run, xp.entries(sigma), k, p.round)
        by = radicand if run.broken("sigma_squared") else sigma
        Xhat = xp.divide(D, spread(xp, by, axis, shape))  # (x − μ)/σ  (n×N)
        Xhat = run.record("normalise", f"Xhat{k}", Xhat, **{prev: A, f"mu{k}": mu, f"sigma{k}": sigma})
        gamma, beta = params["gamma"], params["beta"]
        G = xp.diag(gamma if not run.broken("missing_gamma") else xp.ones(*xp.shape(gamma)))  # (n×n)
        out = xp.linear(G, Xhat, beta if not run.broken("missing_beta") else None)  # (n×n)·(n×N) + (n×1)·1ᵀ
        out = run.record("scale_shift", f"A{k}", out, **{f"gamma{k}": gamma, f"Xhat{k}": Xhat, f"beta{k}": beta,
                                                         "diag": G})
        return {f"sum{k}": S, f"mu{k}": mu, f"squares{k}": squares, f"var{k}": var, f"sigma{k}": sigma,
                f"Xhat{k}": Xhat, f"A{k}": out}

    def _refuse_zero(self, run: "Run", sigma: list[sp.Expr], k: int, places: int | None) -> None:
        if any(s == 0 for s in sigma):
            what = "a feature" if self.params_type.axis == 1 else "a sample"
            why = "all its values equal" if places is None else f"rounded to {places} decimals"
            raise SpecError(f"{what} has σ = 0 ({why}): x̂ = (x − μ)/σ divides by 0; give epsilon > 0",
                            source=run.source, field=f"layers[{k}]")

    # ------------------------------------------------------------ backward

    def backward(self, run: "Run", node: Node, params: Mapping[str, Any], saved: Mapping[str, Any], grad: Grad,
                 need: frozenset[str]) -> Backward:
        xp, k, p = run.xp, node.k, node.params
        prev = node.inputs[0]
        A, Xhat, mu, sigma = saved[prev], saved[f"Xhat{k}"], saved[f"mu{k}"], saved[f"sigma{k}"]
        dA = grad.value
        dgamma = run.record("grad_gamma", f"dL/dgamma{k}", xp.col_sums(xp.hadamard(dA, Xhat)),  # Σ_j ∂L/∂a ⊙ x̂  (n×1)
                            **{f"dL/dA{k}": dA, f"Xhat{k}": Xhat})
        dbeta = run.record("grad_beta", f"dL/dbeta{k}", xp.col_sums(dA), **{f"dL/dA{k}": dA})  # Σ_j ∂L/∂a  (n×1)
        grads = {"gamma": dgamma, "beta": dbeta}
        if prev not in need:
            return Backward(grads)
        gamma = params["gamma"]
        shape = xp.shape(A)
        axis = p.axis if not run.broken("wrong_axis") else 1 - p.axis
        m = shape[axis]
        dXhat = run.record("grad_xhat", f"dL/dXhat{k}", xp.matmul(xp.diag(gamma), dA),  # diag(γ)·∂L/∂A  (n×N)
                           **{f"gamma{k}": gamma, f"dL/dA{k}": dA})
        s = spread(xp, sigma, axis, shape)
        name = run.grad_name(prev, f"Xhat{k}")
        if run.broken("statistics_held_constant"):
            dX = run.record("grad_x", name, xp.divide(dXhat, s), **{f"dL/dXhat{k}": dXhat, f"sigma{k}": sigma})
            return Backward(grads, ((prev, name, dX),))
        D = xp.sub(A, spread(xp, mu, axis, shape))  # x − μ  (n×N)
        c = sp.Rational(1, m - 1 if run.broken("sample_variance") else m)
        cube = xp.hadamard(sigma, xp.square(sigma))  # σ³
        dvar = xp.scale(xp.scalar(sp.Rational(-1, 2)), xp.divide(total(xp, xp.hadamard(dXhat, D), axis), cube))
        dvar = run.record("grad_var", f"dL/dvar{k}", dvar,  # −½ Σ ∂L/∂x̂ (x − μ) / σ³
                          **{f"dL/dXhat{k}": dXhat, prev: A, f"mu{k}": mu, f"sigma{k}": sigma})
        through_var = xp.scale(xp.scalar(-2 * c), xp.hadamard(dvar, total(xp, D, axis)))  # ∂L/∂σ²·(−2/m)Σ(x − μ)
        dmu = xp.sub(through_var, xp.divide(total(xp, dXhat, axis), sigma))  # − Σ ∂L/∂x̂ / σ
        dmu = run.record("grad_mu", f"dL/dmu{k}", dmu, **{f"dL/dXhat{k}": dXhat, f"sigma{k}": sigma,
                                                          f"dL/dvar{k}": dvar, prev: A, f"mu{k}": mu})
        direct = xp.divide(dXhat, s)  # ∂L/∂x̂ / σ  (n×N)
        via_var = xp.scale(xp.scalar(2 * c), xp.hadamard(spread(xp, dvar, axis, shape), D))  # ∂L/∂σ²·2(x − μ)/m
        via_mu = xp.scale(xp.scalar(c), spread(xp, dmu, axis, shape))  # ∂L/∂μ / m
        dX = xp.add(xp.add(direct, via_var), via_mu)
        dX = run.record("grad_x", name, dX, **{f"dL/dXhat{k}": dXhat, f"sigma{k}": sigma, f"dL/dvar{k}": dvar,
                                                prev: A, f"mu{k}": mu, f"dL/dmu{k}": dmu})
        return Backward(grads, ((prev, name, dX),))


def _norms(ex: "Exercise", test: Any = lambda layer, n, N: True) -> bool:
    """True when some normalisation layer of the exercise passes test(layer, features, batch)."""
    if ex.X is None:
        return False
    return any(isinstance(l, Norm) and test(l, l.gamma.rows, ex.X.cols) for l in ex.layers)


# ---------------------------------------------------------------- the generator kinds

# Deviations from the mean, summing to 0, whose mean square is a perfect square: σ exact by hand.
DEVIATIONS = {2: ((1, -1), (2, -2), (3, -3)), 4: ((1, 1, -1, -1), (2, 2, -2, -2), (5, -1, -1, -3), (3, -1, 1, -3))}


def exact_rows(rng: Any, count: int, width: int, g: int) -> list[list[int]]:
    """`count` rows of `width` integers, each a small mean plus shuffled deviations with a whole σ (entries within
    −g … g once the mean is drawn; the caller checks)."""
    if width not in DEVIATIONS:
        from ..errors import UsageError

        raise UsageError(f"normalisation exercises with exact σ take {' or '.join(map(str, DEVIATIONS))} values per "
                         f"statistic, got {width}", field="--sizes" if width != 0 else "--batch")
    pool = [d for d in DEVIATIONS[width] if max(d) - min(d) <= 2 * g]
    rows = []
    for _ in range(count):
        d = list(rng.choice(pool))
        rng.shuffle(d)
        mean = rng.randint(-1, 3)
        rows.append([mean + x for x in d])
    return rows


def build(rng: Any, options: Any, layer: bool = False) -> Any:
    """A generated exercise: a batch (or, for layer norm, samples) with whole σ, small γ and β, squared error."""
    n, N = options.sizes[0], options.batch
    if layer:
        cols = exact_rows(rng, N, n, options.max_given)
        X = [[cols[j][i] for j in range(N)] for i in range(n)]
    else:
        X = exact_rows(rng, n, N, options.max_given)
    if any(abs(x) > options.max_given for row in X for x in row):
        return None
    gamma = [rng.choice([1, 1, 2, 2, 3]) for _ in range(n)]
    beta = [rng.choice([-1, 0, 0, 1, 2]) for _ in range(n)]
    Y = [[rng.randint(-2, 2) for _ in range(N)] for _ in range(n)]
    kind, what = (("layer_norm", "each sample over its features") if layer
                  else ("batch_norm", "each feature over the batch"))
    spec = {"title": "Layer normalisation by hand" if layer else "Batch normalisation by hand",
            "description": f"normalise {what}, then scale by gamma and shift by beta; the gradient through the "
                           "statistics",
            "X": X, "layers": [{"type": kind, "gamma": gamma, "beta": beta}],
            "loss": {"kind": "squared_error", "Y": Y, "reduction": "sum"}}
    return spec, ["Approximations: none; every statistic is exact (each σ is whole)."]


BatchNorm.kinds = {"batch-norm": Kind(KindInfo((3, 3), batch=4), build)}

OP = BatchNorm()
