"""`type = "rnn"`: an Elman RNN over the time steps, worked by hand, against torch.nn.RNN, its mistakes, its refusals."""

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


def _frac(rng: random.Random) -> str:
    return str(Fraction(rng.randint(-6, 6), rng.choice([1, 2, 4])))


def example(seed: int) -> dict:
    """A dense layer, then an rnn over its output's columns (2–3 steps), then a loss: ReLU, identity and leaky ReLU
    stay rational (flint); tanh with e is exact on SymPy (two steps, one hidden unit, so it stays small). Drawn again
    while a ReLU input is exactly 0 (sympy.diff takes ReLU′(0) as ½, the contract as 0)."""
    rng = random.Random(f"rnn:{seed}")
    while True:
        act = rng.choice(["relu", "relu", "identity", "leaky_relu", "tanh"])
        T = 2 if act == "tanh" else rng.choice([2, 3])
        h = 1 if act == "tanh" else 2
        at = rng.choice(["every", "last"])
        W = lambda r, c: [[_frac(rng) for _ in range(c)] for _ in range(r)]  # noqa: E731
        layer = {"type": "rnn", "Wx": W(h, 2), "Wh": W(h, h), "bh": [_frac(rng) for _ in range(h)], "Wy": W(1, h),
                 "by": [_frac(rng)], "activation": act, "output_at": at}
        if rng.random() < 0.3:
            layer["h0"] = [_frac(rng) for _ in range(h)]
        cols = T if at == "every" else 1
        data = {"X": W(2, T), "layers": [{"W": W(2, 2), "b": [_frac(rng), _frac(rng)]}, layer],
                "loss": {"kind": "squared_error", "Y": [[_frac(rng) for _ in range(cols)]],
                         "reduction": rng.choice(["sum", "mean"])}}
        if act not in ("relu", "leaky_relu") or all(v != 0 for v in spec.from_data(data).solve()["F2"]):
            return data


HAND = {"X": [[1, 2, -1]],
        "layers": [{"type": "rnn", "Wx": [[1], [-1]], "Wh": [[1, 0], [1, 1]], "bh": [0, 1], "Wy": [[1, -1]],
                    "activation": "relu"}],
        "loss": {"kind": "squared_error", "Y": [[1, 0, 2]], "reduction": "sum"}}


def test_three_relu_steps_by_hand():
    """h0 = 0. t1: f = [1; −1 + 1] = [1; 0], h = [1; 0]. t2: f = [2; −2 + 1] + Wh·[1; 0] = [2; −1] + [1; 1] = [3; 0].
    t3: f = [−1; 1 + 1] + Wh·[3; 0] = [−1; 2] + [3; 3] = [2; 5]. O = h1 − h2 = [1, 3, −3]; L = ½(0 + 9 + 25) = 17."""
    sol = spec.from_data(HAND).solve()
    assert sol.backend == "flint"
    assert sol["F1"] == M([[1, 3, 2], [0, 0, 5]]) and sol["H1"] == sol["F1"]
    assert sol["O1"] == M([[1, 3, -3]]) and sol["L"] == 17
    # ∂L/∂O = O − Y = [0, 3, −5]; ∂L/∂Wy = [0·1 + 3·3 − 5·2, −5·5] = [−1, −25]
    assert sol["dL/dO1"] == M([[0, 3, -5]]) and sol["dL/dWy1"] == M([[-1, -25]]) and sol["dL/dby1"] == M([[-2]])
    # back through time: t3 ∂L/∂h = Wyᵀ·(−5) = [−5; 5], ∂L/∂f = [−5; 5] (both fired);
    # t2 ∂L/∂h = Wyᵀ·3 + Whᵀ·[−5; 5] = [3; −3] + [0; 5] = [3; 2], ∂L/∂f = [3; 0] (f2 = 0 is cut);
    # t1 ∂L/∂h = 0 + Whᵀ·[3; 0] = [3; 0], ∂L/∂f = [3; 0]
    assert sol["dL/dH1"] == M([[3, 3, -5], [0, 2, 5]]) and sol["dL/dF1"] == M([[3, 3, -5], [0, 0, 5]])
    # the shared weights sum over the steps: ∂L/∂Wx = Σ ∂L/∂f·x = [3 + 6 + 5; −5]; ∂L/∂Wh = Σ ∂L/∂f·h(t−1)ᵀ with
    # h(t−1) = [0; 0], [1; 0], [3; 0]: [3·1 − 5·3, 0; 5·3, 0]
    assert sol["dL/dWx1"] == M([[14], [-5]]) and sol["dL/dWh1"] == M([[-12, 0], [15, 0]])
    assert sol["dL/dbh1"] == M([[1], [5]])


def test_the_loss_on_the_last_step_only():
    """output_at = "last": O and A are one column (the last step's), so Y is one column; the earlier steps get their
    gradient through time only. O3 = −3, Y = 2: ∂L/∂O = −5; t3 ∂L/∂h = [−5; 5]; t2 ∂L/∂h = Whᵀ·[−5; 5] = [0; 5],
    ∂L/∂f = [0; 0] (f2,2 = 0 is cut); t1 ∂L/∂h = 0."""
    data = {**HAND, "layers": [{**HAND["layers"][0], "output_at": "last"}], "loss": {"kind": "squared_error", "Y": [2]}}
    sol = spec.from_data(data).solve()
    assert sol["O1"] == M([[-3]]) and sol["A1"] == M([[-3]]) and sol["L"] == sp.Rational(25, 2)
    assert sol["dL/dH1"] == M([[0, 0, -5], [0, 5, 5]]) and sol["dL/dF1"] == M([[0, 0, -5], [0, 0, 5]])
    assert sol["dL/dWy1"] == M([[-10, -25]])  # −5·[2, 5]


def test_tanh_is_exact():
    """One unit, Wx = 1, Wh = 1, no bias, X = [1, 1]: h1 = tanh(1), h2 = tanh(1 + tanh(1))."""
    data = {"X": [[1, 1]], "layers": [{"type": "rnn", "Wx": [[1]], "Wh": [[1]], "Wy": [[1]]}]}
    sol = spec.from_data(data).solve()
    assert sol["H1"] == M([[sp.tanh(1), sp.tanh(1 + sp.tanh(1))]])


# ---------------------------------------------------------------- torch.nn.RNN at 1e-12


def _cases() -> list[tuple[int, str]]:
    return [(i, "relu" if i % 5 else "tanh") for i in range(50)]


@pytest.mark.skipif(torch is None, reason="torch not installed (.ci/run: pip install torch==2.13.0)")
@pytest.mark.parametrize("seed,act", _cases())
def test_matches_torch_rnn(seed: int, act: str) -> None:
    """torch.nn.RNN (weight_ih = Wx, weight_hh = Wh, bias_ih = bh, bias_hh = 0) and a Linear output, float64 autograd:
    the loss on every step or the last, mean or sum; every parameter's gradient and ∂L/∂X at 1e-12."""
    rng = random.Random(f"rnn-torch:{seed}")
    n, h = rng.randint(1, 3), (rng.randint(1, 3) if act == "relu" else rng.randint(1, 2))
    T, o = (rng.randint(2, 4) if act == "relu" else 2), rng.randint(1, 2)
    frac = lambda: Fraction(rng.randint(-6, 6), rng.choice([1, 2, 4]))  # noqa: E731
    mat = lambda r, c: [[frac() for _ in range(c)] for _ in range(r)]  # noqa: E731
    Wx, Wh, bh, Wy, by, X = mat(h, n), mat(h, h), mat(h, 1), mat(o, h), mat(o, 1), mat(n, T)
    at, red = rng.choice(["every", "last"]), rng.choice(["mean", "sum"])
    Y = mat(o, T if at == "every" else 1)
    s = lambda m: [[str(v) for v in r] for r in m]  # noqa: E731
    data = {"X": s(X), "layers": [{"type": "rnn", "Wx": s(Wx), "Wh": s(Wh), "bh": s(bh), "Wy": s(Wy), "by": s(by),
                                   "activation": act, "output_at": at}],
            "loss": {"kind": "squared_error", "Y": s(Y), "reduction": red}}
    sol = spec.from_data(data, "<torch>", ROOMY).solve()

    t = lambda m, g=False: torch.tensor([[float(v) for v in r] for r in m], dtype=torch.float64, requires_grad=g)  # noqa: E731
    rnn = torch.nn.RNN(n, h, nonlinearity=act, dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(t(Wx)), rnn.weight_hh_l0.copy_(t(Wh))
        rnn.bias_ih_l0.copy_(t(bh)[:, 0]), rnn.bias_hh_l0.zero_()
    x = t(X).T.unsqueeze(1).clone().requires_grad_()  # (T, batch 1, n)
    wy, b_y = t(Wy, True), t(by, True)
    H = rnn(x)[0][:, 0, :].T  # (h, T)
    O = wy @ (H if at == "every" else H[:, -1:]) + b_y
    per = 0.5 * ((O - t(Y)) ** 2).sum(dim=0)
    L = per.mean() if red == "mean" else per.sum()
    L.backward()
    bias = rnn.bias_ih_l0.grad[:, None]
    for name, want in {"L": L.detach().reshape(1, 1), "H1": H.detach(), "dL/dWx1": rnn.weight_ih_l0.grad,
                       "dL/dWh1": rnn.weight_hh_l0.grad, "dL/dbh1": bias, "dL/dWy1": wy.grad,
                       "dL/dby1": b_y.grad}.items():
        got = sol[name] if isinstance(sol[name], sp.MatrixBase) else M([[sol[name]]])
        ours = torch.tensor([[float(approx(v)) for v in got.row(i)] for i in range(got.rows)], dtype=torch.float64)
        assert torch.allclose(ours, want, rtol=1e-12, atol=1e-12 * max(1.0, float(want.abs().max()))), (name, ours, want)


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize("change, message", [
    ({"Wx": [[1, 2]]}, "layers[1].Wx: Wx1 is 1×2 but X is 1×3: Wx1·x_t needs Wx1 to have 1 columns"),
    ({"Wh": [[1]]}, "layers[1].Wh: Wh1 is 1×1 but the hidden state has 2 entries (the rows of Wx1): Wh1 needs 2×2"),
    ({"Wy": [[1, 2, 3]]}, "layers[1].Wy: Wy1 is 1×3 but the hidden state has 2 entries: Wy1·h_t needs Wy1 to have 2 "
                          "columns"),
    ({"h0": [1]}, "layers[1].h0: h0 is 1×1 but the hidden state has 2 entries: h0 needs 2×1"),
    ({"output_at": "first"}, "layers[1].output_at: unknown value 'first' (allowed: every, last)"),
    ({"exp_base": 3}, "layers[1].exp_base: exp_base goes only with a sigmoid, tanh or softmax in the layer"),
    ({"activation": "softmax"}, "layers[1].activation: unknown value 'softmax' (allowed: tanh, relu, leaky_relu, "
                                "identity, sigmoid)"),
])
def test_bad_keys_are_one_line(change, message):
    layer = {**HAND["layers"][0], **change}
    with pytest.raises(Exception) as info:
        spec.from_data({**HAND, "layers": [layer]})
    assert str(info.value) == f"<dict>: {message}"


def test_a_last_step_loss_needs_one_column():
    data = {**HAND, "layers": [{**HAND["layers"][0], "output_at": "last"}]}
    with pytest.raises(Exception) as info:
        spec.from_data(data)
    assert str(info.value) == "<dict>: loss.Y: Y is 1×3 but the output is 1×1"


# ---------------------------------------------------------------- mistakes, planted in answers files written by hand

from .answers import ANSWERS, diagnoses  # noqa: E402


@pytest.mark.parametrize("spec_name, answers, wrong", [
    ("rnn", "rnn-missing-recurrence.toml", {"F1": {"missing_recurrence"}}),
    ("rnn", "rnn-missing-bias.toml", {"F1": {"missing_bias"}}),
    (str(ANSWERS / "specs" / "rnn-identity.toml"), "rnn-bptt-truncated.toml",
     {"dL/dH1": {"bptt_truncated"}, "dL/dWx1": {"carried_error"}}),
])
def test_each_mistake_is_diagnosed(cli, spec_name, answers, wrong):
    assert diagnoses(cli, spec_name, answers) == wrong


# ---------------------------------------------------------------- the built-in and the generator kind


def test_the_builtin_key_lays_the_steps_side_by_side():
    """[Wx | Wh | bh] on the left of [X ; H(t−1) ; 1], h0 = 0 on top of the first step and each H under the next
    step's input; f1,2 = (−1)(1) + (−1)(0) + (1)(2) + 1 = 2 uses h1 = (0, 2); BPTT from the last step."""
    from symnet.render import render

    sol = spec.load("rnn").solve()
    key = render(sol, "markdown", detail="full")  # the walk-through: every f and each step back written out
    sheet = render(sol, "markdown", worksheet=True, scaffold="formulas")
    f12 = r"f_{1,2} &= \left( -1 \right)\left( \textcolor{#2E7D32}{1} \right) + \left( -1 \right)\left( \textcolor{#0B3D91}{0} \right) + \left( 1 \right)\left( \textcolor{#0B3D91}{2} \right) + 1 = \textcolor{#2E7D32}{2}"
    assert f12 in key and f12 not in sheet
    assert r"\frac{\partial L}{\partial h_{3}} = W_{y}^{\mathsf{T}} \frac{\partial L}{\partial o_{3}} + W_{h}^{\mathsf{T}} \frac{\partial L}{\partial f_{4}}" in key
    assert sol["dL/dWh1"] == M([[0, -10], [2, 12]])  # the shared weights' gradient, summed over the four steps
    hand = render(sol, "markdown")  # the hand sheet: F with H where it stands, then the output; back in two bands
    assert r"F_{1} \quad H_{1} = \operatorname{ReLU}(F_{1})" in hand and "[W_{x} \\mid W_{h} \\mid b_{h}]" in hand
    assert f12 not in hand


def test_generated_rnns_are_friendly_and_pinned():
    """50 seeds: friendly by the generator's rules, the key checks right; the bytes pinned (a deliberate change of
    the kind changes the digest: update it then, and say so in the commit)."""
    import hashlib

    from symnet.friendly import problems
    from symnet.generate import generate, options

    digest = hashlib.sha256()
    for seed in range(50):
        g = generate(options("rnn", seed=seed))
        sol = spec.from_data(g.spec).solve()
        assert not problems(sol, 3) and sol.backend == "flint"
        assert any(v != 0 for v in sol["dL/dWh1"])  # the gradient reaches the recurrent weights
        digest.update(g.toml().encode())
    assert digest.hexdigest() == "c61ca7e27186f98ecf3ea482a9afab6ac38f53fb3ab8955d219e79030ee14e66"
