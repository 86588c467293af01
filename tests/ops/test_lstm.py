"""`type = "lstm"`: an LSTM over the time steps, worked by hand (3 for e, one decimal), against torch.nn.LSTM, its
refusals."""

from __future__ import annotations

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
FLINT_SHARE = 0.0  # tanh(C) never stays rational (3^C for a C between whole numbers), so every run is SymPy's


def _frac(rng: random.Random) -> str:
    return str(Fraction(rng.randint(-4, 4), rng.choice([1, 2])))


def example(seed: int) -> dict:
    """A dense layer (one weight), then an LSTM of one unit over two steps with e, then a squared error. Tiny: the
    sympy.diff test makes all 13 weights symbols, and every step nests the one before (3 for e nests powers that
    SymPy does not fold: tested by hand above instead)."""
    rng = random.Random(f"lstm:{seed}")
    gates = {f"W{g}": [[_frac(rng) for _ in range(3)]] for g in "fico"}
    layer = {"type": "lstm", **gates, "output_at": rng.choice(["every", "last"])}
    cols = 2 if layer["output_at"] == "every" else 1
    return {"X": [[rng.choice([-1, 1, 2]) for _ in range(2)]], "layers": [{"W": [[_frac(rng)]], "bias": False}, layer],
            "loss": {"kind": "squared_error", "Y": [[_frac(rng) for _ in range(cols)]], "reduction": "sum"}}


HAND = {"X": [[1, 2]],
        "layers": [{"type": "lstm", "Wf": [[0, 0, 1]], "Wi": [[1, 0, 0]], "Wc": [[1, 0, -1]], "Wo": [[0, 1, 0]],
                    "exp_base": 3}]}


def test_two_steps_with_3_for_e_by_hand():
    """One unit, 3 for e, h0 = c0 = 0. Step 1, [x; h; 1] = [1; 0; 1]: zf = 1, zi = 1, zc = 0, zo = 0;
    f = 1/(1 + 3⁻¹) = 3/4, i = 3/4, c̃ = tanh(0) = 0, o = 1/2; c = (3/4)(0) + (3/4)(0) = 0; h = (1/2)·tanh(0) = 0.
    Step 2, [2; 0; 1]: zf = 1, zi = 2, zc = 1, zo = 0; f = 3/4, i = 1/(1 + 3⁻²) = 9/10, c̃ = (3 − 3⁻¹)/(3 + 3⁻¹) = 4/5,
    o = 1/2; c = (3/4)(0) + (9/10)(4/5) = 18/25; h = (1/2)·tanh₃(18/25) = (1/2)(3^(36/25) − 1)/(3^(36/25) + 1)."""
    sol = spec.from_data(HAND).solve()
    half = sp.Rational(1, 2)
    assert sol["Zf1"] == M([[1, 1]]) and sol["Zi1"] == M([[1, 2]]) and sol["Zc1"] == M([[0, 1]])
    assert sol["F1"] == M([[sp.Rational(3, 4)] * 2]) and sol["I1"] == M([[sp.Rational(3, 4), sp.Rational(9, 10)]])
    assert sol["Ctilde1"] == M([[0, sp.Rational(4, 5)]]) and sol["O1"] == M([[half, half]])
    assert sol["C1"] == M([[0, sp.Rational(18, 25)]])
    p = sp.Integer(3) ** sp.Rational(36, 25)
    assert abs(approx(sol["H1"][0, 1] - half * (p - 1) / (p + 1), 40)) < 1e-60 and sol["A1"] == sol["H1"]


def test_rounded_to_one_decimal_as_the_worksheets_do():
    """round = 1: every gate to one decimal, f = i = σ₃(1) = 0.75 → 0.8 (halves away from zero), σ₃(2) = 0.9,
    c̃ = tanh₃(1) = 0.8; step 2's c = 0.8·0 + 0.9·0.8 = 0.72 → 0.7; tanh₃(0.7) = (3^1.4 − 1)/(3^1.4 + 1) ≈ 0.646 → 0.6;
    h = 0.5·0.6 = 0.3."""
    data = {**HAND, "layers": [{**HAND["layers"][0], "round": 1}]}
    ex = spec.from_data(data)
    sol = ex.solve()
    assert ex.approximates
    assert sol["F1"] == M([[sp.Rational(8, 10)] * 2]) and sol["I1"] == M([[sp.Rational(8, 10), sp.Rational(9, 10)]])
    assert sol["C1"] == M([[0, sp.Rational(7, 10)]]) and sol["tanhC1"] == M([[0, sp.Rational(6, 10)]])
    assert sol["H1"] == M([[0, sp.Rational(3, 10)]])


# ---------------------------------------------------------------- torch.nn.LSTM at 1e-12


@pytest.mark.skipif(torch is None, reason="torch not installed (.ci/run: pip install torch==2.13.0)")
@pytest.mark.parametrize("seed", range(50))
def test_matches_torch_lstm(seed: int) -> None:
    """torch.nn.LSTM, its gates (i, f, g, o) mapped to ours (f, i, c, o), [W | U | b] cut into weight_ih, weight_hh
    and bias_ih (bias_hh = 0), after a dense layer W1 (so ∂L/∂X reaches torch as ∂L/∂W1); a squared error on every step or
    the last: every gate's gradient and ∂L/∂W1 at 1e-12.
    Exact with e: one unit, two steps (each step nests the one before; more grow beyond the node bounds)."""
    rng = random.Random(f"lstm-torch:{seed}")
    n, h, T = rng.randint(1, 2), 1, 2
    frac = lambda: Fraction(rng.randint(-4, 4), rng.choice([1, 2]))  # noqa: E731
    mat = lambda r, c: [[frac() for _ in range(c)] for _ in range(r)]  # noqa: E731
    G = {g: mat(h, n + h + 1) for g in "fico"}
    X, W1 = mat(n, T), mat(n, n)
    at = rng.choice(["every", "last"])
    Y = mat(h, T if at == "every" else 1)
    s = lambda m: [[str(v) for v in r] for r in m]  # noqa: E731
    data = {"X": s(X), "layers": [{"W": s(W1), "bias": False},
                                  {"type": "lstm", **{f"W{g}": s(G[g]) for g in "fico"}, "output_at": at}],
            "loss": {"kind": "squared_error", "Y": s(Y), "reduction": "sum"}}
    sol = spec.from_data(data, "<torch>", ROOMY).solve()

    t = lambda m: torch.tensor([[float(v) for v in r] for r in m], dtype=torch.float64)  # noqa: E731
    lstm = torch.nn.LSTM(n, h, dtype=torch.float64)
    order = "ifco"  # torch's gate order (its g is our candidate c)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.cat([t(G[g])[:, :n] for g in order]))
        lstm.weight_hh_l0.copy_(torch.cat([t(G[g])[:, n:n + h] for g in order]))
        lstm.bias_ih_l0.copy_(torch.cat([t(G[g])[:, -1] for g in order])), lstm.bias_hh_l0.zero_()
    w1 = t(W1).requires_grad_()
    H = lstm((w1 @ t(X)).T.unsqueeze(1))[0][:, 0, :].T
    L = 0.5 * (((H if at == "every" else H[:, -1:]) - t(Y)) ** 2).sum()
    L.backward()
    gi, gh, gb = lstm.weight_ih_l0.grad, lstm.weight_hh_l0.grad, lstm.bias_ih_l0.grad
    want = {"H2": H.detach(), "dL/dW1": w1.grad}
    for j, g in enumerate(order):
        rows = slice(j * h, (j + 1) * h)
        want[f"dL/dW{g}2"] = torch.cat([gi[rows], gh[rows], gb[rows, None]], 1)
    for name, w in want.items():
        got = sol[name]
        ours = torch.tensor([[float(approx(v)) for v in got.row(i)] for i in range(got.rows)], dtype=torch.float64)
        assert torch.allclose(ours, w, rtol=1e-12, atol=1e-12 * max(1.0, float(w.abs().max()))), (name, ours, w)


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize("change, message", [
    ({"Wf": [[1, 0]]}, "layers[1].Wf: Wf1 is 1×2 but X has 1 features: each gate's [W | U | b] acts on "
                       "[x_t ; h(t−1) ; 1] and needs hidden × (1 + hidden + 1) entries (2×4, 3×5, …)"),
    ({"Wo": [[1, 0, 0, 0]]}, "layers[1].Wo: Wo1 is 1×4 but Wf1 is 1×3: every gate needs 1×3"),
    ({"c0": [1, 2]}, "layers[1].c0: c0 is 2×1 but the hidden state has 1 entries: c0 needs 1×1"),
    ({"round": -1}, "layers[1].round: round must be from 0 to 6 decimals, got -1"),
    ({"exp_base": 1}, "layers[1].exp_base: exp_base must be a positive number other than 1, got 1"),
])
def test_bad_keys_are_one_line(change, message):
    with pytest.raises(Exception) as info:
        spec.from_data({**HAND, "layers": [{**HAND["layers"][0], **change}]})
    assert str(info.value) == f"<dict>: {message}"


# ---------------------------------------------------------------- mistakes, planted in answers files written by hand

from .answers import ANSWERS, diagnoses  # noqa: E402


@pytest.mark.parametrize("answers, wrong", [
    ("lstm-forget-on-hidden.toml", {"C1": {"forget_on_hidden"}}),
    ("lstm-missing-cell-tanh.toml", {"H1": {"missing_cell_tanh"}}),
])
def test_each_mistake_is_diagnosed(cli, answers, wrong):
    assert diagnoses(cli, str(ANSWERS / "specs" / "lstm-one-unit.toml"), answers) == wrong


def test_the_builtin_key_stacks_the_gates():
    """The four gates' [W | U | b] stacked on the left, one column per step; the cell step by step, rounded:
    c2 = f2 ⊙ c1 + i2 ⊙ c̃2 = [0.7·0.8 + 0.5·1; 0.3·(−0.5) + 0.7·(−0.9)] = [1.06; −0.78] ≈ [1.1; −0.8]."""
    from symnet.render import render

    sol = spec.load("lstm").solve()
    assert sol["C1"].col(1) == M([sp.Rational(11, 10), sp.Rational(-4, 5)])
    key = render(sol, "markdown", detail="full")  # the walk-through: the cell step by step
    assert r"c_{2} = f_{2} \odot c_{1} + i_{2} \odot \tilde c_{2} = " in key and r"\approx" in key
    sheet = render(sol, "markdown")  # the hand sheet: the gates' bands, then the cell's, every value rounded (≈)
    assert r"Z_{f} \to F_{1} = \sigma(Z_{f})" in sheet and r"C_{1} = F \odot C_{t-1} + I \odot \tilde C" in sheet
    assert r"\approx \textcolor{#0B3D91}{0.8}" in sheet


def test_generated_lstms_are_friendly_and_pinned():
    import hashlib

    from symnet.friendly import problems
    from symnet.generate import generate, options

    digest = hashlib.sha256()
    for seed in range(20):
        g = generate(options("lstm", seed=seed))
        sol = spec.from_data(g.spec).solve()
        assert not problems(sol, 3)
        assert all(v.q in (1, 2, 5, 10) for v in sol["H1"])  # tenths: every value rounded to one decimal
        digest.update(g.toml().encode())
    assert digest.hexdigest() == "f6b2d015c6d60256af4575009cd6051ad8749f9480db1e27dd2a0c5def8b5f7e"
