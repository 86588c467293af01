"""A mixture of experts: gate, softmax, top-k routing (ties to the first expert), weighted or not, a capacity with
pass-through, worked by hand; against torch float64 autograd (routing by torch.topk, capacity in token order);
one-line refusals."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest
import sympy as sp

from symnet import spec
from symnet.errors import SpecError

M = sp.ImmutableMatrix
R = sp.Rational
FLINT_SHARE = 0.2  # a softmax with e, or 3 to a fractional logit, leaves the rationals: only the integer cases stay


def frac(rng: random.Random) -> str:
    return str(Fraction(rng.randint(-6, 6), rng.choice([1, 2, 4])))


def moe_case(seed: int, route: bool = True, small: bool = True) -> dict:
    """A dense layer, a mixture (2–3 experts, top-1 or top-2, weighted or not, a capacity sometimes, 3 for e or e),
    an output layer, squared error, one update. `route`: give the routing (the registry's symbolic gate needs it),
    worked out here from the numbers; the draws have no tie at the routing boundary. `small`: 2 inputs, 2 tokens and
    2 experts (made symbols, larger ones grow beyond the node bounds)."""
    rng = random.Random(f"moe:{seed}")
    integer = seed % 3 == 0  # whole numbers, unweighted, 3 for e: every value rational (flint)
    num = (lambda: rng.randint(-2, 2)) if integer else (lambda: frac(rng))  # noqa: E731
    n, N, E = (2, 2, 2) if small else (rng.randint(2, 3), rng.randint(2, 3), rng.randint(2, 3))
    top_k = 1 if rng.random() < 0.6 else 2
    capacity = rng.choice([None, 1, 2]) if top_k == 1 else None
    m = n if capacity else rng.randint(1, 3)
    while True:
        X = [[num() for _ in range(N)] for _ in range(2)]
        W1 = [[num() for _ in range(2)] for _ in range(n)]
        b1 = [num() for _ in range(n)]
        Wg = [[num() for _ in range(n)] for _ in range(E)]
        A1 = [[sum(Fraction(W1[i][t]) * Fraction(X[t][j]) for t in range(2)) + Fraction(b1[i]) for j in range(N)]
              for i in range(n)]
        G = [[sum(Fraction(Wg[e][i]) * A1[i][j] for i in range(n)) for j in range(N)] for e in range(E)]
        ranks = [sorted(range(E), key=lambda e: (-G[e][j], e)) for j in range(N)]
        clear = all(G[r[top_k - 1]][j] != G[r[top_k]][j] for j, r in enumerate(ranks)) if top_k < E else True
        if clear and all(abs(g) <= 8 for row in G for g in row):  # (float64 keeps e^8 against 1: torch's p < 1)
            break
    experts = [{"W": [[num() for _ in range(n)] for _ in range(m)], "b": [num() for _ in range(m)],
                "activation": rng.choice(["relu", "identity", "leaky_relu"])} for _ in range(E)]
    layer: dict = {"type": "moe", "Wg": Wg, "experts": experts, "top_k": top_k,
                   "weighted": not integer and rng.random() < 0.75}
    if not layer["weighted"]:  # (3 for e in a weighted gate: the convention's derivative is not sympy.diff's ln 3 one)
        layer["exp_base"] = 3
    if capacity:
        layer["capacity"] = capacity
    if route:
        layer["route"] = [[ranks[j][r] + 1 for j in range(N)] for r in range(top_k)]
    return {"X": X, "layers": [{"W": W1, "b": b1, "activation": "identity"}, layer,
                               {"W": [[num() for _ in range(m)]], "b": [num()]}],
            "loss": {"kind": "squared_error", "Y": [[num() for _ in range(N)]]}, "train": {"learning_rate": "1/2"}}


def example(seed: int) -> dict:
    """The registry's example (its routing given: the symbolic gate of the sympy.diff test cannot decide one)."""
    return moe_case(seed)


def solve(data: dict):
    return spec.from_data(data).solve()


SHEET = {  # two tokens, two experts, the gate's Max picks one expert per token, outputs unweighted (the MoE sheet)
    "X": [[2, 3], [1, 1], [3, 2]],
    "layers": [{"type": "moe", "weighted": False, "exp_base": 3,
                "Wg": [[1, 1, 0], [0, 1, 1]],
                "experts": [{"W": [[1, 0, 1], [1, -1, 0]], "b": [0, 1], "activation": "relu"},
                            {"W": [[0, 1, 1], [1, 0, -1]], "activation": "relu"}]}],
    "loss": {"kind": "squared_error", "Y": [[4, 3], [2, 1]], "reduction": "sum"},
}


def test_top1_unweighted_routing_by_hand():
    """G = Wg·X: token 1 [2+1, 1+3] = [3, 4] → expert 2; token 2 [3+1, 1+2] = [4, 3] → expert 1.
    P (3 for e) token 1: [3³, 3⁴]/(27 + 81) = [1/4, 3/4]. Expert 2 on token 1: [0+1+3, 2+0−3] = [4, −1] → ReLU [4, 0];
    expert 1 on token 2: [3+0+2+0, 3−1+0+1] = [5, 3]. A = [[4, 5], [0, 3]]; ∂L/∂A = A − Y = [[0, 2], [−2, 2]].
    Expert 1: ∂L/∂Z = [2, 2] (both pass), ∂L/∂W = [2, 2]ᵀ·[3, 1, 2] = [[6, 2, 4], [6, 2, 4]], ∂L/∂b = [2, 2].
    Expert 2: ∂L/∂Z = [0, −2]⊙[1, 0] = [0, 0]. Unweighted: the gate gets no gradient."""
    sol = solve(SHEET)
    assert sol["G1"] == M([[3, 4], [4, 3]]) and sol["route1"] == M([[2, 1]])
    assert sol["P1"][:, 0] == M([R(1, 4), R(3, 4)])
    assert sol["E1.X1"] == M([3, 1, 2]) and sol["E2.X1"] == M([2, 1, 3])  # each expert's tokens: its input
    assert sol["E2.Z1"] == M([4, -1]) and sol["E1.Y1"] == M([5, 3]) and sol["A1"] == M([[4, 5], [0, 3]])
    assert sol["dL/dE1.W1"] == M([[6, 2, 4], [6, 2, 4]]) and sol["dL/dE1.b1"] == M([2, 2])
    assert sol["dL/dE2.W1"] == M.zeros(2, 3) and sol["dL/dWg1"] == M.zeros(2, 3)
    assert sol.backend == "flint"


def test_weighted_top1_with_the_gate_gradient_by_hand():
    """The sheet weighted: token 1 gets p = 3/4 of expert 2's [4, 0] = [3, 0]; token 2 gets 3/4 of [5, 3] = [15/4, 9/4].
    With Y = 0 (sum): ∂L/∂A = A; ∂L/∂p for token 1 = ∂L/∂a·y = 3·4 = 12, for token 2 = 15/4·5 + 9/4·3 = 102/4 = 51/2;
    through softmax (p = [1/4, 3/4] and [3/4, 1/4]): ∂L/∂G = p ⊙ (g − pᵀg): token 1, g = [0, 12], pᵀg = 9:
    [1/4·(−9), 3/4·3] = [−9/4, 9/4]; token 2, g = [51/2, 0], pᵀg = 153/8: [3/4·51/8, 1/4·(−153/8)] = [153/32, −153/32].
    Expert 1 (token 2): ∂L/∂y = p·∂L/∂a = 3/4·[15/4, 9/4] = [45/16, 27/16]."""
    data = {**SHEET, "layers": [{**SHEET["layers"][0], "weighted": True}],
            "loss": {"kind": "squared_error", "Y": [[0, 0], [0, 0]], "reduction": "sum"}}
    sol = solve(data)
    assert sol["A1"] == M([[3, R(15, 4)], [0, R(9, 4)]])
    assert sol["dL/dP1"] == M([[0, R(51, 2)], [12, 0]]) and sol["dL/dE1.Y1"] == M([R(45, 16), R(27, 16)])
    assert sol["dL/dG1"] == M([[R(-9, 4), R(153, 32)], [R(9, 4), R(-153, 32)]])
    # ∂L/∂Wg = ∂L/∂G·Xᵀ: row 1 = −9/4·[2, 1, 3] + 153/32·[3, 1, 2] = [315/32, 81/32, 45/16]
    assert sol["dL/dWg1"][0, :] == M([[R(315, 32), R(81, 32), R(45, 16)]])


def test_ties_go_to_the_first_expert_and_top2():
    """G column [2, 2, 1]: top-1 is expert 1 (the tie goes to the first); top-2 is experts 1 and 2."""
    data = {"X": [1, 1], "layers": [{"type": "moe", "Wg": [[1, 1], [2, 0], [1, 0]],
                                     "experts": [{"W": [[1, 0]]}, {"W": [[0, 1]]}, {"W": [[1, 1]]}]}]}
    assert solve(data)["route1"] == M([[1]])
    data["layers"][0]["top_k"] = 2
    assert solve(data)["route1"] == M([[1], [2]])


def test_capacity_lets_overflow_tokens_pass_through_in_token_order():
    """Gate [1, 0] sends every token to expert 1; capacity 2 keeps tokens 1 and 2, token 3 passes through unchanged."""
    data = {"X": [[1, 2, 3]], "layers": [{"type": "moe", "Wg": [[1], [0]], "capacity": 2, "weighted": False,
                                          "experts": [{"W": [[10]]}, {"W": [[-1]]}]}]}
    sol = solve(data)
    assert sol["route1"] == M([[1, 1, 1]]) and sol["overflow1"] == M([[0, 0, 1]])
    assert sol["E1.X1"] == M([[1, 2]]) and sol["E1.Z1"] == M([[10, 20]]) and sol["A1"] == M([[10, 20, 3]])
    assert "E2.Z1" not in sol


@pytest.mark.parametrize("change, message", [
    ({"experts": [{"W": [[1, 0]]}]}, "layers[1].experts: 1 experts but Wg1 has 2 rows (one per expert)"),
    ({"top_k": 3}, "layers[1].top_k: top_k must be from 1 to 2 (the experts), got 3"),
    ({"capacity": 1, "top_k": 2}, "layers[1].capacity: capacity goes with top_k = 1 (the switch transformer)"),
    ({"route": [[1, 3]]}, "layers[1].route: route holds the experts 1 to 2, each at most once per token"),
    ({"experts": [{"W": [[1, 0, 0]]}, {"W": [[1, 0]]}]},
     "layers[1].experts[1].W: W is 1×3 but X has 2 rows: W needs 2 columns"),
    ({"experts": [{"W": [[1, 0]], "activation": "softmax"}, {"W": [[1, 0]]}]},
     "layers[1].experts[1].activation: an expert's activation is applied entry by entry: not softmax"),
    ({"experts": [{"W": [[1, 0]], "bias": 1}, {"W": [[1, 0]]}]},
     "layers[1].experts[1]: unknown key 'bias' (allowed: W, b, activation, alpha, exp_base, round)"),
])
def test_bad_keys_are_one_line(change, message):
    layer = {"type": "moe", "Wg": [[1, 0], [0, 1]], "experts": [{"W": [[1, 0]]}, {"W": [[0, 1]]}], **change}
    with pytest.raises(SpecError) as info:
        spec.from_data({"X": [[1, 2], [3, 4]], "layers": [layer]})
    assert str(info.value) == f"<dict>: {message}"


def test_a_symbolic_gate_needs_a_given_route():
    data = {"X": [1, 2], "layers": [{"type": "moe", "Wg": {"symbol": "g", "shape": [2, 2]},
                                     "experts": [{"W": [[1, 0]]}, {"W": [[0, 1]]}]}]}
    with pytest.raises(SpecError) as info:
        solve(data)
    assert str(info.value) == ("<dict>: layers[1].route: the gate logits hold symbols, so the routing cannot be "
                               "decided: give route (the experts of each token)")
    data["layers"][0]["route"] = [2]
    sol = solve(data)
    assert sol["route1"] == M([[2]]) and sol["A1"] == M([[2 * sol["P1"][1, 0]]])  # expert 2 (y = x2 = 2), weighted


# ---------------------------------------------------------------- torch


def to_float(v: sp.Expr) -> float:
    return float(sp.N(v, 30))


@pytest.mark.parametrize("seed", range(50))
def test_against_torch_autograd(seed):
    """The engine routes by itself (no route given); torch routes by torch.topk on the gate logits (no ties drawn),
    applies the capacity in token order, and differentiates through the chosen experts and the gate. With 3 for e the
    gate softmax is 3^g over its sum with softmax's usual derivative, as the contract has it (not ln 3 times it)."""
    torch = pytest.importorskip("torch")
    data = moe_case(seed, route=False, small=False)
    sol = solve(data)
    t = lambda rows: torch.tensor([[float(Fraction(str(x))) for x in r] for r in rows], dtype=torch.float64)  # noqa: E731
    col = lambda v: t([[x] for x in v])  # noqa: E731
    d1, mx, d3 = data["layers"]
    X = t(data["X"])
    W1, b1, W3, b3 = (t(d1["W"]).requires_grad_(), col(d1["b"]).requires_grad_(), t(d3["W"]).requires_grad_(),
                      col(d3["b"]).requires_grad_())
    Wg = t(mx["Wg"]).requires_grad_()
    Ws = [t(x["W"]).requires_grad_() for x in mx["experts"]]
    bs = [col(x["b"]).requires_grad_() for x in mx["experts"]]
    acts = {"relu": torch.relu, "identity": lambda z: z, "leaky_relu": lambda z: torch.where(z > 0, z, z / 10)}
    A1 = W1 @ X + b1
    G = Wg @ A1
    c = math.log(float(mx.get("exp_base", math.e)))  # 3 for e: 3^g in the values, softmax's usual s(δ − s) in the
    P = torch.softmax(G + (G * (c - 1)).detach(), dim=0)  # derivative (the contract's convention): value at c·G, slope 1
    top = torch.topk(G, mx["top_k"], dim=0).indices
    taken, cols = [0] * len(Ws), []
    for j in range(X.shape[1]):
        out = 0
        for r in range(mx["top_k"]):
            e = int(top[r, j])
            if "capacity" in mx and taken[e] >= mx["capacity"]:
                out = A1[:, j:j + 1]
                continue
            taken[e] += 1
            y = acts[mx["experts"][e]["activation"]](Ws[e] @ A1[:, j:j + 1] + bs[e])
            out = out + (P[e, j] * y if mx["weighted"] else y)
        cols.append(out)
    A2 = torch.cat(cols, dim=1)
    L = ((W3 @ A2 + b3 - t(data["loss"]["Y"])) ** 2).sum() / 2 / X.shape[1]
    L.backward()
    assert abs(to_float(sol["L"]) - L.item()) < 1e-12 * max(1.0, abs(L.item()))
    wants = {"dL/dW1": W1.grad, "dL/db1": b1.grad, "dL/dWg2": Wg.grad, "dL/dW3": W3.grad, "dL/db3": b3.grad}
    for e, (W, b) in enumerate(zip(Ws, bs), 1):
        wants[f"dL/dE{e}.W2"], wants[f"dL/dE{e}.b2"] = W.grad, b.grad
    for name, want in wants.items():
        got = sol[name]
        for i in range(got.rows):
            for j in range(got.cols):
                w = 0.0 if want is None else want[i, j].item()
                assert abs(to_float(got[i, j]) - w) < 1e-12 * max(1.0, abs(w)), (name, i, j)


# ---------------------------------------------------------------- mistakes, the built-ins, the generator kinds

from .answers import diagnoses  # noqa: E402


@pytest.mark.parametrize("builtin, answers, wrong", [
    ("moe", "moe-second-best.toml", {"route1": {"second_best_expert"}, "A1": {"carried_error"}}),
    ("switch", "switch-gate-forgotten.toml", {"A1": {"gate_weight_forgotten"}}),
    ("switch", "switch-gate-twice.toml", {"A1": {"gate_weight_twice"}}),
    ("moe", "moe-expert-input-second-best.toml", {"E1.X1": {"second_best_expert"}, "E2.X1": {"second_best_expert"}}),
])
def test_each_mistake_is_diagnosed(cli, builtin, answers, wrong):
    assert diagnoses(cli, builtin, answers) == wrong


def test_the_switch_builtin_by_hand():
    """G = X (Wg = I): token 4's logits tie [1, 1] → expert 1, already full (tokens 1, 2; capacity 2): it passes
    through. P (3 for e): tokens 1, 2: 3/4 for expert 1; token 3: 3²/(1 + 3²) = 9/10 for expert 2."""
    from symnet.render import render

    sol = spec.load("switch").solve()
    assert sol["route1"] == M([[1, 1, 2, 1]]) and sol["overflow1"] == M([[0, 0, 0, 1]])
    assert sol["A1"] == M([[R(3, 4), R(9, 4), R(9, 5), 1], [R(3, 4), R(3, 2), R(9, 5), 1]])
    key = render(sol, "markdown")
    assert "The choice is discrete: it has no gradient." in key
    assert "a token that overflowed is its input, unchanged" in key
    assert r"x_{\cdot,4} \text{ (passes through)}" in render(sol, "markdown", detail="full")  # each token written out


def test_the_moe_builtin_says_the_gate_gets_no_gradient():
    from symnet.render import render

    key = render(spec.load("moe").solve(), "markdown")
    assert "which experts a token goes to is a discrete choice with no gradient: the gate gets none" in key


@pytest.mark.parametrize("kind", ["moe", "switch"])
def test_generated_mixtures_are_friendly(kind):
    from symnet.friendly import problems
    from symnet.generate import generate, options

    for seed in range(20):
        sol = spec.from_data(generate(options(kind, seed=seed)).spec).solve()
        assert not problems(sol, 3) and sol.backend == "flint"
        if kind == "switch":
            assert 1 in list(sol["overflow1"])  # a token passes through


def test_each_experts_input_is_in_the_json(cli):
    """Ee.Xk, an expert's tokens (the columns of its input routed to it), is a quantity of `solve --format json`: the
    switch built-in's expert 1 takes tokens 1 and 2 ([1, 0], [2, 1]), expert 2 token 3 ([0, 2]); token 4 overflows."""
    doc = cli("solve", "switch", "--format", "json").json()["quantities"]
    assert doc["E1.X1"] == [["1", "2"], ["0", "1"]] and doc["E2.X1"] == [["0"], ["2"]]
    assert doc["overflow1"] == [["0", "0", "0", "1"]]
