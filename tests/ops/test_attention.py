"""`type = "attention"`: self-attention worked by hand (exact √d_k and e; the sheets' ⌊s/2⌋, 3^s, clipped negatives and
one-decimal weights), against torch.softmax and autograd, its refusals."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest
import sympy as sp

from symnet import spec
from symnet.bounds import DEFAULT
from tests.numeric import approx

try:
    import torch
except ImportError:  # pragma: no cover - the reason is shown by the skip
    torch = None

M = sp.ImmutableMatrix
ROOMY = DEFAULT.raised(["expression_nodes=20000", "quantity_nodes=400000"])
FLINT_SHARE = 0.3  # with e the weights never stay rational; the examples with 3 for e and whole scores do


def _int(rng: random.Random) -> int:
    return rng.choice([-1, 0, 1, 1, 2])


def example(seed: int) -> dict:
    """A dense layer (whole numbers, no bias; two features, so queries and keys differ in direction), then attention
    over its two tokens (d_k = d_v = 1), then a squared error: half with 3 for e and a whole scale (rational, flint),
    half exact with e and 1/√d_k (SymPy); some causal. Small: the sympy.diff test makes every weight a symbol; torch
    and the hand tests take larger ones and the residual."""
    rng = random.Random(f"attention:{seed}")
    W = lambda r, c: [[_int(rng) for _ in range(c)] for _ in range(r)]  # noqa: E731
    layer = {"type": "attention", "Wq": W(1, 2), "Wk": W(1, 2), "Wv": W(1, 2)}
    if seed % 2:
        layer |= {"exp_base": 3, "scale": 1}
    if rng.random() < 0.3:
        layer["causal"] = True
    return {"X": [[rng.choice([-2, -1, 1, 2]) for _ in range(2)] for _ in range(2)],
            "layers": [{"W": W(2, 2), "bias": False}, layer],
            "loss": {"kind": "squared_error", "Y": [[str(Fraction(rng.randint(-3, 3), 2)) for _ in range(2)]],
                     "reduction": rng.choice(["sum", "mean"])}}


X3 = [[1, 0, 2], [0, 1, 1], [1, 1, 0]]
LAYER = {"type": "attention", "Wq": [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "Wk": [[1, 0, 1], [0, 1, 0], [1, 1, 0]],
         "Wv": [[1, 0, 0], [0, 1, 1]]}


def test_scores_keys_as_rows_queries_as_columns_exact():
    """Q = X; K = Wk·X = [2 1 2; 0 1 1; 1 1 3]; S = Kᵀ·Q: s_ij = k_i·q_j, e.g. s_1,3 = (2, 0, 1)·(2, 1, 0) = 4.
    d_k = 3: each score times 1/√3 = √3/3, kept exact; P's third column is e^(4√3/3), e^(√3), e^(5√3/3) over their sum."""
    sol = spec.from_data({"X": X3, "layers": [LAYER]}).solve()
    assert sol["S1"] == M([[3, 1, 4], [2, 2, 3], [5, 4, 5]])
    assert sol["Shat1"][0, 2] == 4 * sp.sqrt(3) / 3
    a, b, c = sp.exp(4 * sp.sqrt(3) / 3), sp.exp(sp.sqrt(3)), sp.exp(5 * sp.sqrt(3) / 3)
    assert sp.simplify(sol["P1"][0, 2] - a / (a + b + c)) == 0
    assert all(sp.simplify(sum(sol["P1"].col(j)) - 1) == 0 for j in range(3))  # each column over the keys
    # A = V·P: the first row of V is (1, 0, 2), so a_1,3 = (a + 2c)/(a + b + c)
    assert sp.simplify(sol["A1"][0, 2] - (a + 2 * c) / (a + b + c)) == 0
    assert not spec.from_data({"X": X3, "layers": [LAYER]}).approximates


def test_the_worksheet_version_by_hand():
    """⌊s/2⌋ (the stand-in for ÷√3): Shat = [1 0 2; 1 1 1; 2 2 2]. 3^s per column: [3, 3, 9]/15, [1, 3, 9]/13,
    [9, 3, 9]/21. One decimal: 1/13 ≈ 0.1, 3/13 ≈ 0.2, 9/13 ≈ 0.7; 3/7 ≈ 0.4, 1/7 ≈ 0.1, so the third column sums to
    0.9. A = V·P≈: a_1,1 = (1)(0.2) + (0)(0.2) + (2)(0.6) = 1.4, a_2,3 = (1)(0.4) + (2)(0.1) + (1)(0.4) = 1."""
    layer = {**LAYER, "scale": "floor_half", "exp_base": 3, "round": 1}
    ex = spec.from_data({"X": X3, "layers": [layer]})
    sol = ex.solve()
    assert sol.backend == "flint" and ex.approximates
    assert sol["Shat1"] == M([[1, 0, 2], [1, 1, 1], [2, 2, 2]])
    assert sol["P1"].col(1) == M([sp.Rational(1, 13), sp.Rational(3, 13), sp.Rational(9, 13)])
    assert sol["P1≈"] == M([[0.2, 0.1, 0.4], [0.2, 0.2, 0.1], [0.6, 0.7, 0.4]]).applyfunc(sp.nsimplify)
    assert sol["A1"] == M([[sp.Rational(7, 5), sp.Rational(3, 2), sp.Rational(6, 5)], [sp.Rational(6, 5), sp.Rational(6, 5), 1]])


def test_clip_negative_and_causal_by_hand():
    """Scores s = [[2, −1], [−2, 3]] (X = I, Wq = I, Wk = [[2, −2], [−1, 3]]: Kᵀ = K's columns as rows), scale 1,
    3 for e. Clipped: column 1 keeps only 3² → [1, 0]; column 2 keeps 3³ → [0, 1]. Causal on top: key 2 never
    reaches query 1 (already 0 here). Without clipping, column 1 is [9, 1/9]/(82/9) = [81/82, 1/82]."""
    base = {"type": "attention", "Wq": [[1, 0], [0, 1]], "Wk": [[2, -2], [-1, 3]], "Wv": [[1, 0], [0, 1]],
            "scale": 1, "exp_base": 3}
    X = [[1, 0], [0, 1]]
    plain = spec.from_data({"X": X, "layers": [base]}).solve()
    assert plain["S1"] == M([[2, -1], [-2, 3]])
    assert plain["P1"].col(0) == M([sp.Rational(81, 82), sp.Rational(1, 82)])
    clipped = spec.from_data({"X": X, "layers": [{**base, "clip_negative": True}]}).solve()
    assert clipped["P1"] == M([[1, 0], [0, 1]])
    causal = spec.from_data({"X": X, "layers": [{**base, "causal": True}]}).solve()
    assert causal["P1"][1, 0] == 0 and causal["P1"][0, 0] == 1  # query 1 sees key 1 only
    assert causal["P1"].col(1) == M([sp.Rational(1, 82), sp.Rational(81, 82)])  # 3^−1, 3^3 over 3^−1 + 3^3


def test_given_weights_and_the_residual():
    """P given (the transformer sheet): A = X·P + X; ∂L/∂X sums the path through P (∂L/∂A·Pᵀ) and the skip's ∂L/∂A."""
    data = {"X": [[1, 2], [0, 1]], "layers": [{"type": "attention", "P": [[0.5, 0], [0.5, 1]], "skip": "X"}],
            "loss": {"kind": "squared_error", "Y": [[0, 0], [0, 0]], "reduction": "sum"}}
    sol = spec.from_data(data).solve()
    # X·P = [1·½ + 2·½, 2; 0 + ½, 1] = [3/2, 2; 1/2, 1]; + X = [5/2, 4; 1/2, 2]
    assert sol["A1"] == M([[sp.Rational(5, 2), 4], [sp.Rational(1, 2), 2]])
    # ∂L/∂A = A; via P: ∂L/∂A·Pᵀ = [5/4, 5/4 + 4; 1/4, 1/4 + 2]; plus the skip's ∂L/∂A
    assert sol["dL/dX via A1"] == M([[sp.Rational(5, 4), sp.Rational(21, 4)], [sp.Rational(1, 4), sp.Rational(9, 4)]])
    assert sol["dL/dX"] == sol["dL/dX via A1"] + sol["A1"]


# ---------------------------------------------------------------- torch autograd at 1e-12


def _torch_attention(X, Wq, Wk, Wv, scale, base3: bool, floor: bool, causal: bool, clip: bool):
    """The sheet's attention in torch; 3 for e and ⌊s/2⌋ keep the usual derivatives (the contract's convention)."""
    Q, K, V = Wq @ X, Wk @ X, Wv @ X
    S = K.T @ Q  # keys as rows, queries as columns
    if floor:
        Shat = S / 2 + (torch.floor(S / 2) - S / 2).detach()  # the value ⌊s/2⌋, the derivative of s/2
    else:
        Shat = S * scale
    z = Shat + (Shat * (math.log(3) - 1)).detach() if base3 else Shat  # 3^s = e^(s·log 3), derivative as for e
    n = S.shape[0]
    drop = torch.zeros(n, n, dtype=torch.bool)
    if causal:
        drop |= torch.triu(torch.ones(n, n, dtype=torch.bool), 1).T  # key i after query j
    if clip:
        drop |= (Shat < 0).detach()
    P = torch.softmax(z.masked_fill(drop, float("-inf")), dim=0)
    return V @ P


def _torch_cases() -> list[int]:
    return list(range(50))


@pytest.mark.skipif(torch is None, reason="torch not installed (.ci/run: pip install torch==2.13.0)")
@pytest.mark.parametrize("seed", _torch_cases())
def test_matches_torch_autograd(seed: int) -> None:
    """A, ∂L/∂Wq, ∂L/∂Wk, ∂L/∂Wv and ∂L/∂X (through a dense layer below) against torch.softmax and autograd:
    exact e with 1/√d_k, or 3 for e with a whole scale or ⌊s/2⌋; causal and clipped negatives in turn."""
    rng = random.Random(f"attention-torch:{seed}")
    exact = seed % 3 == 0
    d, n, dk = rng.choice([2, 3]), (2 if exact else rng.choice([2, 3, 4])), (rng.choice([1, 2, 3]) if exact else 2)
    ints = lambda r, c, g=2: [[rng.randint(-g, g) for _ in range(c)] for _ in range(r)]  # noqa: E731
    X, W1, Wq, Wk, Wv = ints(2, n), ints(d, 2), ints(dk, d, 1), ints(dk, d, 1), ints(d, d)
    Y = [[Fraction(rng.randint(-3, 3), 2) for _ in range(n)] for _ in range(d)]
    layer = {"type": "attention", "Wq": Wq, "Wk": Wk, "Wv": Wv}
    floor, causal, clip = (not exact and seed % 3 == 1), rng.random() < 0.3, (not exact and rng.random() < 0.3)
    scale = 1 / math.sqrt(dk)
    if not exact:
        scale = 1
        layer |= {"exp_base": 3, "scale": "floor_half" if floor else 1}
    layer |= {"causal": causal, "clip_negative": clip}
    data = {"X": X, "layers": [{"W": W1, "activation": "identity"}, layer],
            "loss": {"kind": "squared_error", "Y": [[str(v) for v in r] for r in Y], "reduction": "sum"}}
    try:
        sol = spec.from_data(data, "<torch>", ROOMY).solve()
    except Exception as e:  # a query whose every score is clipped has no weights: refused, one line
        assert "clip_negative leaves no weight" in str(e)
        return
    t = lambda m, g=False: torch.tensor([[float(v) for v in r] for r in m], dtype=torch.float64, requires_grad=g)  # noqa: E731
    w1, wq, wk, wv = t(W1, True), t(Wq, True), t(Wk, True), t(Wv, True)
    A = _torch_attention(w1 @ t(X), wq, wk, wv, scale, not exact, floor, causal, clip)
    L = 0.5 * ((A - t(Y)) ** 2).sum()
    L.backward()
    for name, want in {"A2": A.detach(), "dL/dWq2": wq.grad, "dL/dWk2": wk.grad, "dL/dWv2": wv.grad,
                       "dL/dW1": w1.grad}.items():
        got = sol[name]
        ours = torch.tensor([[float(approx(v)) for v in got.row(i)] for i in range(got.rows)], dtype=torch.float64)
        assert torch.allclose(ours, want, rtol=1e-12, atol=1e-12 * max(1.0, float(want.abs().max()))), (name, ours, want)


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize("change, message", [
    ({"Wq": [[1, 0]]}, "layers[1].Wq: Wq1 is 1×2 but X has 3 features per token: Wq1·X needs 3 columns"),
    ({"Wk": [[1, 0, 0]]}, "layers[1].Wk: Wk1 is 1×3 but Wq1 is 3×3: Kᵀ·Q needs queries and keys of the same length"),
    ({"scale": "half"}, 'layers[1].scale: scale must be "sqrt", "floor_half" or a positive number, got half'),
    ({"scale": -1}, 'layers[1].scale: scale must be "sqrt", "floor_half" or a positive number, got -1'),
    ({"round": 9}, "layers[1].round: round must be from 0 to 6 decimals, got 9"),
    ({"skip": "Q1"}, "layers[1].skip: 'Q1' is not a quantity computed before layer 1 (known: X)"),
    ({"skip": "X"}, "layers[1].skip: X is 3×3 but A1 is 2×3: a skip adds a quantity of A1's shape"),
    ({"P": [[1, 0], [0, 1]]}, "layers[1].Wq: Wq goes only with computed weights, not with a given P"),
])
def test_bad_keys_are_one_line(change, message):
    with pytest.raises(Exception) as info:
        spec.from_data({"X": X3, "layers": [{**LAYER, **change}]})
    assert str(info.value) == f"<dict>: {message}"


def test_a_query_with_every_score_clipped_is_refused():
    data = {"X": [[1, 1], [0, 1]], "layers": [{"type": "attention", "Wq": [[1, 0]], "Wk": [[-1, 0]], "Wv": [[1, 1]],
                                               "scale": 1, "exp_base": 3, "clip_negative": True}]}
    with pytest.raises(Exception) as info:
        spec.from_data(data).solve()
    assert str(info.value) == ("<dict>: layers[1].clip_negative: every scaled score of query 1 is negative: "
                               "clip_negative leaves no weight")


# ---------------------------------------------------------------- mistakes, planted in answers files written by hand

from .answers import diagnoses  # noqa: E402


@pytest.mark.parametrize("builtin, answers, wrong", [
    ("self-attention-by-hand", "attention-unscaled.toml", {"Shat1": {"unscaled_scores"}}),
    ("self-attention-by-hand", "attention-wrong-axis.toml", {"P1": {"softmax_wrong_axis"}}),
    ("self-attention-by-hand", "attention-weights-transposed.toml", {"A1": {"weights_transposed"}}),
    ("self-attention", "attention-scaled-by-dk.toml", {"Shat1": {"scaled_by_dk"}}),
])
def test_each_mistake_is_diagnosed(cli, builtin, answers, wrong):
    assert diagnoses(cli, builtin, answers) == wrong


def test_the_exact_key_keeps_the_root_and_e():
    """Σ1 = e^√3 + e^(2√3/3) + e^(5√3/3); a1,1 = (1·e^√3 + 0·e^(2√3/3) + 2·e^(5√3/3))/Σ1, one fraction."""
    from symnet.render import render

    sol = spec.load("self-attention").solve()
    sheet = render(sol, "markdown")  # the hand sheet: each column's sum once, the outputs at their crossings
    assert r"\Sigma_{1} = e^{\sqrt{3}} + e^{\frac{2 \sqrt{3}}{3}} + e^{\frac{5 \sqrt{3}}{3}}" in sheet
    key = render(sol, "markdown", detail="full")  # the walk-through: every weight and output written out
    assert r"\Sigma_{1} &= e^{\sqrt{3}} + e^{\frac{2 \sqrt{3}}{3}} + e^{\frac{5 \sqrt{3}}{3}}" in key
    assert (r"a_{1,1} &= \frac{\left( \textcolor{#0B3D91}{1} \right) e^{\sqrt{3}} + \left( \textcolor{#2E7D32}{0} \right) "
            r"e^{\frac{2 \sqrt{3}}{3}} + \left( \textcolor{#E07000}{2} \right) e^{\frac{5 \sqrt{3}}{3}}}{\Sigma_{1}}") in key


def test_the_hand_key_notes_the_column_that_no_longer_sums_to_1():
    from symnet.render import render

    sol = spec.load("self-attention-by-hand").solve()
    assert "The rounded column 3 (0.9) no longer sums to 1." in render(sol, "markdown")
    key = render(sol, "markdown", detail="full")
    assert "The rounded column 3 (0.9) no longer sums to 1." in key
    assert r"p_{2,2} &= \frac{3^{1}}{\Sigma_{2}} = " in key


def test_the_transformer_block_solves_exactly_on_flint():
    """X·P + X, layer norm with whole-number statistics, the 4 → 3 → 4 ReLU network with its residual, layer norm:
    query 1's weights are (½, ½, 0), so a1,1 = (1)(½) + (2)(½) + (0)(0) + 1 = 5/2: the first feature of token 1, half
    its own and half token 2's, plus itself (the residual)."""
    sol = spec.load("transformer").solve()
    assert sol.backend == "flint" and sol["A1"][0, 0] == sp.Rational(5, 2)
    assert sol["A5"].shape == (4, 3)


def test_generated_attention_is_friendly_and_pinned():
    import hashlib

    from symnet.friendly import problems
    from symnet.generate import generate, options

    digest = hashlib.sha256()
    for seed in range(50):
        g = generate(options("self-attention", seed=seed))
        sol = spec.from_data(g.spec).solve()
        assert not problems(sol, 3) and sol.backend == "flint"
        digest.update(g.toml().encode())
    assert digest.hexdigest() == "178cf2d51570ac202e26f2fff8339eb4d3ba68b3971fce470d9d70db859c3687"
