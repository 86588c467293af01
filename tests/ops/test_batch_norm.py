"""Batch normalisation: statistics per feature over the batch, worked by hand (exact, rounded, with ε), against
torch's BatchNorm1d (training mode, momentum=None) in float64, one-line refusals, and its mistakes diagnosed."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
import sympy as sp

from symnet import spec
from symnet.errors import SpecError

M = sp.ImmutableMatrix
R = sp.Rational


def frac(rng: random.Random, span: int = 2, den: int = 4) -> str:
    return str(Fraction(rng.randint(-span * den, span * den), rng.randint(1, den)))


def norm_example(seed: int, kind: str) -> dict:
    """A dense layer, then the norm (γ, β random; ε sometimes), then a dense output and squared error, one update.
    Even seeds normalise 2 values per statistic (σ = |a − b|/2: rational, flint); odd seeds 3 (√ irrational, SymPy)."""
    rng = random.Random(f"{kind}:{seed}")
    over = 2 if seed % 2 == 0 else 3
    n, N = (rng.randint(1, 3), over) if kind == "batch_norm" else (over, rng.randint(1, 3))
    while True:
        X = [[frac(rng) for _ in range(N)] for _ in range(2)]
        W = [[frac(rng) for _ in range(2)] for _ in range(n)]
        b = [frac(rng) for _ in range(n)]
        Z = [[sum(Fraction(W[i][t]) * Fraction(X[t][j]) for t in range(2)) + Fraction(b[i]) for j in range(N)]
             for i in range(n)]
        groups = Z if kind == "batch_norm" else [list(c) for c in zip(*Z)]
        if all(max(g) - min(g) >= 1 for g in groups):  # no statistic over (nearly) equal values: σ well away from 0
            break
    layer: dict = {"type": kind, "gamma": [frac(rng) for _ in range(n)], "beta": [frac(rng) for _ in range(n)]}
    if seed % 2 and rng.random() < 0.5:  # (an ε under √(d²/4) would leave the rationals on the even seeds)
        layer["epsilon"] = rng.choice(["1/10", "1/4", 1])
    return {"X": X, "layers": [{"W": W, "b": b, "activation": "identity"}, layer,
                               {"W": [[frac(rng) for _ in range(n)]], "b": [frac(rng)], "activation": "identity"}],
            "loss": {"kind": "squared_error", "Y": [[frac(rng) for _ in range(N)]]},
            "train": {"learning_rate": "1/2"}}


def example(seed: int) -> dict:
    """The registry's example: a batch norm between two dense layers."""
    return norm_example(seed, "batch_norm")


# ---------------------------------------------------------------- by hand


def solve(data: dict):
    return spec.from_data(data).solve()


def test_statistics_per_feature_over_the_batch_by_hand():
    """Row 1: [1, 3, 5, 7]: Σ = 16, μ = 16/4 = 4, Σ(x − μ)² = 9 + 1 + 1 + 9 = 20, σ² = 20/4 = 5, σ = √5; row 2:
    [2, 4, 2, 4]: Σ = 12, μ = 3, Σ(x − μ)² = 4, σ² = 1."""
    data = {"X": [[1, 3, 5, 7], [2, 4, 2, 4]], "layers": [{"type": "batch_norm", "gamma": [2, 1], "beta": [0, 1]}]}
    sol = solve(data)
    r5 = sp.sqrt(5)
    assert sol["sum1"] == M([[16], [12]]) and sol["squares1"] == M([[20], [4]])
    assert sol["mu1"] == M([[4], [3]]) and sol["var1"] == M([[5], [1]]) and sol["sigma1"] == M([[r5], [1]])
    assert sol["Xhat1"] == M([[-3 / r5, -1 / r5, 1 / r5, 3 / r5], [-1, 1, -1, 1]])
    assert sol["A1"] == M([[-6 / r5, -2 / r5, 2 / r5, 6 / r5], [0, 2, 0, 2]])  # 2·x̂ + 0; 1·x̂ + 1
    assert sol.backend == "sympy"  # √5 is not rational: SymPy keeps it exact


def test_backward_through_the_statistics_by_hand():
    """x = [7, 1, 1, −1]: μ = 2, x − μ = [5, −1, −1, −3], σ² = 36/4 = 9, σ = 3, x̂ = [5/3, −1/3, −1/3, −1]; γ = 3, β = 0:
    A = [5, −1, −1, −3]; squared error (sum) against Y = [4, 0, 0, −3]: ∂L/∂A = [1, −1, −1, 0].
    ∂L/∂γ = Σ ∂L/∂a·x̂ = 5/3 + 1/3 + 1/3 = 7/3; ∂L/∂β = −1; ∂L/∂x̂ = 3·∂L/∂A = [3, −3, −3, 0];
    ∂L/∂σ² = −½·Σ ∂L/∂x̂ (x − μ)/σ³ = −½·(15 + 3 + 3)/27 = −7/18; ∂L/∂μ = −Σ ∂L/∂x̂/σ + 0 = 3/3 = 1;
    ∂L/∂x = ∂L/∂x̂/σ + ∂L/∂σ²·2(x − μ)/4 + ∂L/∂μ/4: x1 = 1 − 35/36 + 1/4 = 5/18, x2 = x3 = −1 + 7/36 + 1/4 = −5/9,
    x4 = 0 + 21/36 + 1/4 = 5/6 (they sum to 0). The layer below (W = 1) passes X through, so ∂L/∂A1 is ∂L/∂x."""
    data = {"X": [[7, 1, 1, -1]], "layers": [{"W": [[1]], "bias": False},
                                             {"type": "batch_norm", "gamma": [3], "beta": [0]}],
            "loss": {"kind": "squared_error", "Y": [[4, 0, 0, -3]], "reduction": "sum"}}
    sol = solve(data)
    assert sol.backend == "flint"
    assert sol["sigma2"] == M([[3]]) and sol["Xhat2"] == M([[R(5, 3), R(-1, 3), R(-1, 3), -1]])
    assert sol["A2"] == M([[5, -1, -1, -3]])
    assert sol["dL/dgamma2"] == M([[R(7, 3)]]) and sol["dL/dbeta2"] == M([[-1]])
    assert sol["dL/dXhat2"] == M([[3, -3, -3, 0]])
    assert sol["dL/dvar2"] == M([[R(-7, 18)]]) and sol["dL/dmu2"] == M([[1]])
    assert sol["dL/dA1"] == M([[R(5, 18), R(-5, 9), R(-5, 9), R(5, 6)]])


def test_rounded_statistics_as_the_worksheet_rounds_them():
    """x = [1, 2, 4]: μ = 7/3 ≈ 2; x − μ = [−1, 0, 2], σ² = 5/3 ≈ 2; σ = √2 ≈ 1; x̂ = [−1, 0, 2].
    With 1 decimal: μ ≈ 2.3, squares (1.69 + 0.09 + 2.89) = 4.67, σ² = 467/300 ≈ 1.6, σ = √1.6 = 1.26… ≈ 1.3.
    A perfect square stays exact: [0, 2, 0, 2] has σ² = 1, σ = 1 (not a rounding)."""
    sol = solve({"X": [[1, 2, 4], [0, 2, 0]], "layers": [{"type": "batch_norm", "round": 0}]})
    assert sol["mu1"] == M([[2], [1]])  # 2/3 ≈ 1
    assert sol["var1"] == M([[2], [1]])  # [0, 2, 0] − 1 = [−1, 1, −1]: σ² = 1
    assert sol["sigma1"] == M([[1], [1]]) and sol["Xhat1"] == M([[-1, 0, 2], [-1, 1, -1]])
    assert sol.exercise.approximates and sol.backend == "flint"
    sol = solve({"X": [[1, 2, 4]], "layers": [{"type": "batch_norm", "round": 1}]})
    assert sol["mu1"] == M([[R(23, 10)]]) and sol["var1"] == M([[R(8, 5)]]) and sol["sigma1"] == M([[R(13, 10)]])
    assert sol.step("mu1").operand("exact") == M([[R(7, 3)]])
    assert sol.step("var1").operand("exact") == M([[R(467, 300)]])


def test_epsilon_under_the_square_root():
    """x = [0, 2]: σ² = 1; with ε = 3, σ = √(1 + 3) = 2 and x̂ = [−1/2, 1/2]."""
    sol = solve({"X": [[0, 2]], "layers": [{"type": "batch_norm", "epsilon": 3}]})
    assert sol["var1"] == M([[1]]) and sol["sigma1"] == M([[2]]) and sol["Xhat1"] == M([[R(-1, 2), R(1, 2)]])


def test_trained_gamma_and_beta_are_updated():
    data = {"X": [[7, 1, 1, -1]], "layers": [{"type": "batch_norm", "gamma": [3], "beta": [0]}],
            "loss": {"kind": "squared_error", "Y": [[4, 0, 0, -3]], "reduction": "sum"}, "train": {"learning_rate": "1/2"}}
    sol = solve(data)
    assert sol["gamma1'"] == M([[3 - R(7, 6)]]) and sol["beta1'"] == M([[R(1, 2)]])  # 3 − ½·7/3; 0 − ½·(−1)


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize("layer, message", [
    ({"gamma": [1]}, "layers[1].gamma: gamma1 is 1×1 but X has 2 features: gamma1 needs 2×1"),
    ({"epsilon": -1}, "layers[1].epsilon: epsilon must be a number ≥ 0, got -1"),
    ({"round": -1}, "layers[1].round: round must be from 0 to 40 decimals, got -1"),
    ({"round": 1.5}, "layers[1].round: expected a whole number, got a float"),
    ({"gama": [1, 1]}, "layers[1]: unknown key 'gama' (did you mean 'gamma'? allowed: type, gamma, beta, epsilon, round)"),
])
def test_bad_keys_are_one_line(layer, message):
    with pytest.raises(SpecError) as info:
        spec.from_data({"X": [[1, 2], [3, 4]], "layers": [{"type": "batch_norm", **layer}]})
    assert str(info.value) == f"<dict>: {message}"


def test_a_constant_feature_without_epsilon_is_refused(cli, tmp_path):
    path = tmp_path / "flat.toml"
    path.write_text('X = [[1, 1], [1, 2]]\n[[layers]]\ntype = "batch_norm"\n')
    run = cli("solve", path)
    assert run.code == 2
    assert run.err == (f"symnet: error: {path}: layers[1]: a feature has σ = 0 (all its values equal): x̂ = (x − μ)/σ "
                       "divides by 0; give epsilon > 0\n")


# ---------------------------------------------------------------- torch


def to_float(v: sp.Expr) -> float:
    return float(sp.N(v, 30))


def torch_case(data: dict, kind: str):
    """L and every gradient of the example network, by torch float64 autograd (batch norm: BatchNorm1d in training
    mode with momentum=None where ε > 0; torch refuses ε = 0 in training, so there its formula is written out in
    torch ops: (x − mean)/sqrt(population variance), then γ·x̂ + β)."""
    torch = pytest.importorskip("torch")
    t = lambda rows: torch.tensor([[float(Fraction(str(x))) for x in r] for r in rows], dtype=torch.float64)  # noqa: E731
    col = lambda v: t([[x] for x in v])  # noqa: E731
    d1, nl, d3 = data["layers"]
    X = t(data["X"])
    W1, b1, W3, b3 = (t(d1["W"]).requires_grad_(), col(d1["b"]).requires_grad_(), t(d3["W"]).requires_grad_(),
                      col(d3["b"]).requires_grad_())
    gamma, beta = col(nl["gamma"]).requires_grad_(), col(nl["beta"]).requires_grad_()
    eps = float(Fraction(str(nl.get("epsilon", 0))))
    Z1 = W1 @ X + b1  # (n×N): features × samples
    n = Z1.shape[0]
    if kind == "batch_norm" and eps > 0:
        bn = torch.nn.BatchNorm1d(n, eps=eps, momentum=None, dtype=torch.float64)
        bn.train()
        with torch.no_grad():
            bn.weight.copy_(gamma.detach().flatten())
            bn.bias.copy_(beta.detach().flatten())
        A2 = bn(Z1.T).T
        gamma_grad = lambda: bn.weight.grad.reshape(-1, 1)  # noqa: E731
        beta_grad = lambda: bn.bias.grad.reshape(-1, 1)  # noqa: E731
    elif kind == "layer_norm":
        ln = torch.nn.LayerNorm(n, eps=eps, dtype=torch.float64)
        with torch.no_grad():
            ln.weight.copy_(gamma.detach().flatten())
            ln.bias.copy_(beta.detach().flatten())
        A2 = ln(Z1.T).T
        gamma_grad = lambda: ln.weight.grad.reshape(-1, 1)  # noqa: E731
        beta_grad = lambda: ln.bias.grad.reshape(-1, 1)  # noqa: E731
    else:  # batch norm at ε = 0, torch's formula by hand
        mean = Z1.mean(dim=1, keepdim=True)
        var = ((Z1 - mean) ** 2).mean(dim=1, keepdim=True)
        A2 = gamma * (Z1 - mean) / torch.sqrt(var) + beta
        gamma_grad, beta_grad = (lambda: gamma.grad), (lambda: beta.grad)
    A3 = W3 @ A2 + b3
    Y = t(data["loss"]["Y"])
    L = ((A3 - Y) ** 2).sum() / 2 / X.shape[1]
    L.backward()
    return L.item(), {"dL/dW1": W1.grad, "dL/db1": b1.grad, "dL/dgamma2": gamma_grad(), "dL/dbeta2": beta_grad(),
                      "dL/dW3": W3.grad, "dL/db3": b3.grad}


def assert_torch(seed: int, kind: str) -> None:
    data = norm_example(seed, kind)
    sol = solve(data)
    L, grads = torch_case(data, kind)
    assert abs(to_float(sol["L"]) - L) < 1e-12 * max(1.0, abs(L))
    for name, want in grads.items():
        got = sol[name]
        assert got.shape == tuple(want.shape), name
        for i in range(got.rows):
            for j in range(got.cols):
                w = want[i, j].item()
                assert abs(to_float(got[i, j]) - w) < 1e-12 * max(1.0, abs(w)), (name, i, j)


@pytest.mark.parametrize("seed", range(50))
def test_against_torch_batchnorm1d(seed):
    assert_torch(seed, "batch_norm")


# ---------------------------------------------------------------- mistakes, planted in answers files written by hand

from .answers import diagnoses  # noqa: E402


@pytest.mark.parametrize("builtin, answers, wrong", [
    ("batch-norm", "batch-norm-sample-variance.toml", {"var2": {"sample_variance"}}),
    ("layer-norm", "layer-norm-sigma-squared.toml", {"Xhat2": {"sigma_squared"}}),
    ("layer-norm", "layer-norm-wrong-axis.toml", {"Xhat2": {"wrong_axis"}}),
    ("layer-norm", "layer-norm-missing-gamma.toml", {"A2": {"missing_gamma"}}),
    ("layer-norm", "layer-norm-missing-beta.toml", {"A2": {"missing_beta"}}),
    ("layer-norm", "layer-norm-statistics-held-constant.toml", {"dL/dA1": {"statistics_held_constant"}}),
])
def test_each_mistake_is_diagnosed(cli, builtin, answers, wrong):
    assert diagnoses(cli, builtin, answers) == wrong


# ---------------------------------------------------------------- the built-in and the generator kind


def test_the_builtin_key_shows_the_sheets_table_and_rounded_statistics():
    from symnet.render import render

    sol = spec.load("batch-norm").solve()
    assert sol["mu2"] == M([3, 2, 6]) and sol["var2"] == M([1, 2, 5]) and sol["sigma2"] == M([1, 1, 2])
    # row 3 [5, 3, 9, 5]: μ = 22/4 = 11/2 ≈ 6 (halves away from zero); σ² from it (1 + 9 + 9 + 1)/4 = 5, σ = √5 ≈ 2
    # the scratch sums are quantities too: Σ = [12, 8, 22]; Σ(x − μ)² from the rounded μ: 4, 8, (1 + 9 + 9 + 1) = 20
    assert sol["sum2"] == M([12, 8, 22]) and sol["squares2"] == M([4, 8, 20])
    key, sheet = render(sol, "markdown"), render(sol, "markdown", worksheet=True)
    assert r"{\Sigma} & {\mu} & {\Sigma (x - \mu)^2} & {\sigma^2} & {\sigma}" in key
    assert r"{22} & {\approx 6} & {20} & {5} & {\approx 2}" in key  # row 3 of the sheet's table, the roundings marked
    full = render(sol, "markdown", detail="full")  # every statistic worked out, the roundings marked
    assert r"= \frac{22}{4} \approx 6" in full and r"\sqrt{5} \approx 2" in full
    assert r"\approx 6" not in sheet and r"\approx 2" not in sheet  # the worksheet leaves the statistics to the student


def test_the_scratch_sums_are_in_the_json_and_graded(cli):
    """sum2 and squares2 are quantities of `solve --format json` (read back exactly) and `check` grades them: the
    batch-norm built-in with row 3's sum slipped to 21 (right: 5 + 3 + 9 + 5 = 22), its mean 21/4 ≈ 5 carried on."""
    doc = cli("solve", "batch-norm", "--format", "json").json()["quantities"]
    assert doc["sum2"] == [["12"], ["8"], ["22"]] and doc["squares2"] == [["4"], ["8"], ["20"]]
    assert list(doc).index("sum2") < list(doc).index("mu2") < list(doc).index("squares2") < list(doc).index("var2")
    assert diagnoses(cli, "batch-norm", "batch-norm-sum-slip.toml") == {"sum2": {None}, "mu2": {"carried_error"}}


@pytest.mark.parametrize("kind", ["batch-norm", "layer-norm"])
def test_generated_statistics_are_exact_and_friendly(kind):
    from symnet.friendly import problems
    from symnet.generate import generate, options

    for seed in range(20):
        g = generate(options(kind, seed=seed))
        sol = spec.from_data(g.spec).solve()
        assert not problems(sol, 3) and sol.backend == "flint"
        assert all(v.is_Integer for v in sol["sigma1"])  # each σ whole, by construction
