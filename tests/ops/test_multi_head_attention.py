"""`type = "multi_head_attention"`: heads side by side, stacked, Wo; by hand, against torch.nn.MultiheadAttention."""

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
FLINT_SHARE = 0.3  # the examples with 3 for e and whole scores stay rational


def example(seed: int) -> dict:
    """Two heads of d_k = d_v = 1 over two tokens of two features, Wo, a squared error; e or 3 for e. No dense layer
    below: with it every weight a symbol grows beyond the node bounds in the sympy.diff test (torch checks ∂L/∂X
    through one)."""
    rng = random.Random(f"mha:{seed}")
    w = lambda r, c: [[rng.choice([-1, 0, 1, 1, 2]) for _ in range(c)] for _ in range(r)]  # noqa: E731
    layer = {"type": "multi_head_attention", "heads": [{"Wq": w(1, 2), "Wk": w(1, 2), "Wv": w(1, 2)} for _ in range(2)],
             "Wo": w(2, 2)}
    if seed % 2:
        layer |= {"exp_base": 3, "scale": 1}
    return {"X": [[rng.choice([-2, -1, 1, 2]) for _ in range(2)] for _ in range(2)], "layers": [layer],
            "loss": {"kind": "squared_error", "Y": [[str(Fraction(rng.randint(-3, 3), 2)) for _ in range(2)]
                                                    for _ in range(2)], "reduction": "sum"}}


HAND = {"X": [[1, 0], [0, 1]],
        "layers": [{"type": "multi_head_attention", "exp_base": 3, "scale": 1,
                    "heads": [{"Wq": [[1, 0]], "Wk": [[1, 0]], "Wv": [[1, 1]]},
                              {"Wq": [[0, 1]], "Wk": [[1, 1]], "Wv": [[1, -1]]}],
                    "Wo": [[1, 0], [1, 1]]}]}


def test_two_heads_by_hand():
    """X = I. Head 1: q = (1, 0), k = (1, 0): S = kᵀq = [1 0; 0 0]; 3^s per column: [3, 1]/4 and [1, 1]/2;
    v = (1, 1): A.1 = (3/4 + 1/4, 1/2 + 1/2) = (1, 1). Head 2: q = (0, 1), k = (1, 1): S = [0 1; 0 1]; columns
    [1, 1]/2 and [3, 3]/6 = [1/2, 1/2]; v = (1, −1): A.2 = (1/2 − 1/2, 1/2 − 1/2) = (0, 0).
    Concat = [1 1; 0 0]; A = Wo·Concat = [1 1; 1 1]."""
    sol = spec.from_data(HAND).solve()
    assert sol.backend == "flint"
    assert sol["S1.1"] == M([[1, 0], [0, 0]]) and sol["P1.1"] == M([[sp.Rational(3, 4), sp.Rational(1, 2)],
                                                                      [sp.Rational(1, 4), sp.Rational(1, 2)]])
    assert sol["A1.1"] == M([[1, 1]]) and sol["A1.2"] == M([[0, 0]])
    assert sol["Concat1"] == M([[1, 1], [0, 0]]) and sol["A1"] == M([[1, 1], [1, 1]])


def test_the_heads_weights_train_stacked():
    """∂L/∂Wq1 is [∂L/∂Wq1.1 ; ∂L/∂Wq1.2], as the weights are stacked (PyTorch's in_proj layout)."""
    data = {**HAND, "loss": {"kind": "squared_error", "Y": [[0, 1], [1, 0]], "reduction": "sum"}}
    sol = spec.from_data(data).solve()
    for w in ("Wq", "Wk", "Wv"):
        assert sol[f"dL/d{w}1"] == M.vstack(sol[f"dL/d{w}1.1"], sol[f"dL/d{w}1.2"])
    # ∂L/∂A = A − Y = [1 0; 0 1]; ∂L/∂Wo = ∂L/∂A·Concatᵀ = [1 0; 0 1]·[1 0; 1 0] = [1 0; 1 0]
    assert sol["dL/dWo1"] == M([[1, 0], [1, 0]])
    # ∂L/∂Concat = Woᵀ·∂L/∂A = [1 1; 0 1]: head 1's row, then head 2's
    assert sol["dL/dA1.1"] == M([[1, 1]]) and sol["dL/dA1.2"] == M([[0, 1]])


@pytest.mark.skipif(torch is None, reason="torch not installed (.ci/run: pip install torch==2.13.0)")
@pytest.mark.parametrize("seed", range(50))
def test_matches_torch_multihead_attention(seed: int) -> None:
    """torch.nn.MultiheadAttention(E, heads, bias=False) with in_proj = [Wq ; Wk ; Wv] (each head's rows in turn) and
    out_proj = Wo, tokens as its sequence, after a dense layer W1 (∂L/∂X reaches torch as ∂L/∂W1): A, every projection's
    gradient and ∂L/∂W1 at 1e-12 (exact e, 1/√(E/heads))."""
    rng = random.Random(f"mha-torch:{seed}")
    heads, per, n = rng.choice([(1, 2), (2, 1), (2, 1), (3, 1)]) + (rng.choice([2, 3]),)
    E = heads * per
    frac = lambda: Fraction(rng.randint(-2, 2), 2)  # noqa: E731
    mat = lambda r, c: [[frac() for _ in range(c)] for _ in range(r)]  # noqa: E731
    X, W1, Wq, Wk, Wv, Wo, Y = mat(E, n), mat(E, E), mat(E, E), mat(E, E), mat(E, E), mat(E, E), mat(E, n)
    s = lambda m: [[str(v) for v in r] for r in m]  # noqa: E731
    cut = lambda W, h: s(W[h * per:(h + 1) * per])  # noqa: E731
    data = {"X": s(X), "layers": [{"W": s(W1), "bias": False}, {"type": "multi_head_attention", "Wo": s(Wo),
                                   "heads": [{"Wq": cut(Wq, h), "Wk": cut(Wk, h), "Wv": cut(Wv, h)} for h in range(heads)]}],
            "loss": {"kind": "squared_error", "Y": s(Y), "reduction": "sum"}}
    sol = spec.from_data(data, "<torch>", ROOMY).solve()

    t = lambda m: torch.tensor([[float(v) for v in r] for r in m], dtype=torch.float64)  # noqa: E731
    mha = torch.nn.MultiheadAttention(E, heads, bias=False, dtype=torch.float64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([t(Wq), t(Wk), t(Wv)])), mha.out_proj.weight.copy_(t(Wo))
    w1 = t(W1).requires_grad_()
    x = (w1 @ t(X)).T.unsqueeze(1)  # (tokens, batch 1, E)
    A = mha(x, x, x, need_weights=False)[0][:, 0, :].T
    L = 0.5 * ((A - t(Y)) ** 2).sum()
    L.backward()
    g = mha.in_proj_weight.grad
    want = {"A2": A.detach(), "dL/dWq2": g[:E], "dL/dWk2": g[E:2 * E], "dL/dWv2": g[2 * E:],
            "dL/dWo2": mha.out_proj.weight.grad, "dL/dW1": w1.grad}
    for name, w in want.items():
        got = sol[name]
        ours = torch.tensor([[float(approx(v)) for v in got.row(i)] for i in range(got.rows)], dtype=torch.float64)
        assert torch.allclose(ours, w, rtol=1e-12, atol=1e-12 * max(1.0, float(w.abs().max()))), (name, ours, w)


@pytest.mark.parametrize("change, message", [
    ({"heads": []}, "layers[1].heads: expected a list of head tables, each with Wq, Wk and Wv"),
    ({"heads": [{"Wq": [[1, 0]], "Wk": [[1, 0]]}]}, "layers[1].heads[1]: missing key 'Wv'"),
    ({"heads": [{"Wq": [[1, 0]], "Wk": [[1, 0]], "Wv": [[1, 0, 1]]}]},
     "layers[1].heads[1].Wv: Wv1 is 1×3 but X has 2 features per token: Wv1·X needs 2 columns"),
    ({"Wo": [[1, 0, 1]]}, "layers[1].Wo: Wo1 is 1×3 but the heads' outputs stack to 2 rows: Wo1·Concat1 needs 2 "
                          "columns"),
])
def test_bad_keys_are_one_line(change, message):
    with pytest.raises(Exception) as info:
        spec.from_data({**HAND, "layers": [{**HAND["layers"][0], **change}]})
    assert str(info.value) == f"<dict>: {message}"


def test_generated_heads_are_friendly_and_pinned():
    import hashlib

    from symnet.friendly import problems
    from symnet.generate import generate, options

    digest = hashlib.sha256()
    for seed in range(30):
        g = generate(options("multi-head-attention", seed=seed))
        sol = spec.from_data(g.spec).solve()
        assert not problems(sol, 3) and sol.backend == "flint"
        digest.update(g.toml().encode())
    assert digest.hexdigest() == "02c17e9f9704a7b07e1e300726c3cb1091cc9fd6d7f3dfe9f9b10262befa1a3a"


def test_the_builtin_key_stacks_the_heads():
    from symnet.render import render

    sol = spec.load("multi-head-attention").solve()
    key = render(sol, "markdown", detail="full")  # the walk-through: a head at a time, then the stacked outputs
    assert r"A_{1}^{\mathrm{concat}} = \left[A_{1}^{( 1 )} ; A_{1}^{( 2 )}\right] = " in key
    assert "### Head 2" in key
    sheet = render(sol, "markdown")  # the hand sheet: one cascade, the heads' outputs stacked above Wo
    assert r"A_{1} = W_{1}^{o} \left[A_{1}^{( 1 )} ; A_{1}^{( 2 )}\right]" in sheet
    assert "### Head 2" not in sheet and "Head 2. The same for its weights:" in sheet
