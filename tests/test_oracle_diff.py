"""symnet's chain-rule gradients equal SymPy's `diff` of the symbolic loss, on random symbolic networks."""

from __future__ import annotations

import random

import pytest
import sympy as sp

import symnet
from symnet.bounds import Bounds
from tests.nets import ACTS, HIDDEN, frac, matrix
from tests.numeric import approx

NAMES = ["u", "v", "w"]


def symbolic_spec(seed: int, act_out: str, loss: str) -> dict:
    """1–2 layers whose W and b are matrices of symbols; X, Y rational."""
    rng = random.Random(f"sym:{seed}")
    depth = rng.randint(1, 2)
    widths = [rng.randint(1, 3) for _ in range(depth + 1)]
    if act_out == "softmax":
        widths[-1] = max(widths[-1], 2)
    batch = rng.randint(1, 2)
    layers = []
    for k in range(depth):
        act = act_out if k == depth - 1 else rng.choice(HIDDEN)
        layers.append({"W": {"symbol": NAMES[k], "shape": [widths[k + 1], widths[k]]},
                       "b": {"symbol": f"b{NAMES[k]}"}, "activation": act})
    n = widths[-1]
    Y = ([[rng.choice(["0", "1"]) for _ in range(batch)] for _ in range(n)] if loss in ("cross_entropy", "bce")
         else matrix(rng, n, batch))
    return {"X": matrix(rng, widths[0], batch), "layers": layers,
            "loss": {"kind": loss, "Y": Y, "reduction": rng.choice(["mean", "sum"])}}


def _cases() -> list[tuple[int, str, str]]:
    valid = {"cross_entropy": ["softmax", "sigmoid"], "bce": ["sigmoid"], "squared_error": ACTS, "mse": ACTS}
    combos = [(act, loss) for loss, acts in valid.items() for act in acts] + [(act, "mse") for act in ACTS]
    return [(seed, act, loss) for seed, (act, loss) in enumerate(combos)]


@pytest.mark.parametrize("seed,act,loss", _cases())
def test_chain_rule_equals_sympy_diff(seed: int, act: str, loss: str) -> None:
    ex = symnet.load(symbolic_spec(seed, act, loss), bounds=Bounds(expression_nodes=10**5))
    solution = ex.solve()
    L = solution["L"]
    symbols = sorted(L.free_symbols, key=str)
    rng = random.Random(seed)
    point = {s: sp.Rational(frac(rng)) + sp.Rational(1, 7) for s in symbols}  # +1/7 keeps ReLU inputs off 0
    for k, layer in enumerate(ex.layers, 1):
        for name, params in ((f"dL/dW{k}", layer.W), (f"dL/db{k}", layer.b)):
            ours = solution[name]
            assert ours.shape == params.shape
            for i in range(params.rows):
                for j in range(params.cols):
                    p = params[i, j]
                    oracle, mine = sp.diff(L, p), ours[i, j]
                    a, b = approx(mine, at=point), approx(oracle, at=point)
                    assert abs(a - b) <= 1e-25 * max(1, abs(b)), (name, i, j, a, b)


def test_relu_gradient_is_zero_at_zero_by_convention() -> None:
    spec = {"X": [[0]], "layers": [{"W": [["w"]], "activation": "relu"}],
            "loss": {"kind": "squared_error", "Y": [[1]]}}
    grad = symnet.load(spec).solve()["dL/dW1"][0, 0]
    assert grad.subs(sp.Symbol("w"), 2) == 0  # x = 0: z = 0 for every w
    spec["X"] = [[1]]
    d = symnet.load(spec).solve()["dA1/dZ1"][0, 0]
    assert d.subs(sp.Symbol("w"), 0) == 0 and d.subs(sp.Symbol("w"), 1) == 1


def test_symbolic_relu_value_reads_as_contract_example() -> None:
    spec = {"X": ["x1"], "layers": [{"W": [["w11"]], "b": ["b1"], "activation": "relu"}]}
    assert str(symnet.load(spec).solve()["A1"][0, 0]) == "Max(0, b1 + w11*x1)"


def test_transcendental_values_stay_compact() -> None:
    spec = {"X": [["5/2"]], "layers": [{"W": [[1]], "activation": "tanh"}]}
    assert symnet.load(spec).solve()["A1"][0, 0] == sp.tanh(sp.Rational(5, 2))
    spec["layers"][0]["activation"] = "sigmoid"
    assert str(symnet.load(spec).solve()["A1"][0, 0]) == "1/(exp(-5/2) + 1)"
