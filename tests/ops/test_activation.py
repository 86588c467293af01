"""`type = "activation"`: an activation alone on the layer below's output; softmax with temperature and sampling."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
import sympy as sp

from symnet import spec
from symnet.render import render


def example(seed: int) -> dict:
    """A dense layer, then an activation alone (any of them; rational: 3 for e and whole exponents), then a loss."""
    rng = random.Random(f"activation:{seed}")
    act = rng.choice(["relu", "leaky_relu", "identity", "sigmoid", "tanh", "softmax"])
    n = 3

    def w() -> int:
        return rng.randint(-2, 2)

    layer: dict = {"type": "activation", "activation": act}
    if act in ("sigmoid", "tanh", "softmax"):
        layer["exp_base"] = 3
    if act == "softmax" and rng.random() < 0.5:
        layer["temperature"] = rng.choice([1, 2])
    X = [[w() for _ in range(2)] for _ in range(2)]
    dense = {"W": [[w() * (2 if layer.get("temperature") == 2 else 1) for _ in range(2)] for _ in range(n)],
             "b": [2 * w() for _ in range(n)]}
    if act == "softmax" and rng.random() < 0.5:
        loss = {"kind": "cross_entropy", "Y": [[1, 0], [0, 1], [0, 0]]}
    else:
        loss = {"kind": "squared_error", "Y": [[str(Fraction(rng.randint(-3, 3), 2)) for _ in range(2)] for _ in range(n)]}
    return {"X": X, "layers": [dense, layer], "loss": loss, "train": {"learning_rate": "1/2"}}


def test_a_softmax_with_temperature_by_hand():
    """z = [2, 0], T = 2, base 3: softmax(z/2) = [3, 1]/4; the gradient through it carries 1/T."""
    data = {"X": [2, 0], "layers": [{"type": "activation", "activation": "softmax", "exp_base": 3, "temperature": 2}],
            "loss": {"kind": "squared_error", "Y": [1, 0]}}
    sol = spec.from_data(data).solve()
    assert sol["A1"] == sp.ImmutableMatrix([[sp.Rational(3, 4)], [sp.Rational(1, 4)]])
    # ∂L/∂A = Ŷ − Y = [−1/4, 1/4]; sᵀg = −3/16 + 1/16 = −1/8; s ⊙ (g − sᵀg)/T = [3/4·(−1/8), 1/4·(3/8)]/2
    assert sol["dL/dX"] == sp.ImmutableMatrix([[sp.Rational(-3, 64)], [sp.Rational(3, 64)]])


def test_softmax_cross_entropy_fuses_with_the_temperature():
    data = {"X": [4, 0], "layers": [{"type": "activation", "activation": "softmax", "exp_base": 3, "temperature": 2}],
            "loss": {"kind": "cross_entropy", "Y": [0, 1], "reduction": "sum"}}
    sol = spec.from_data(data).solve()
    assert sol["A1"] == sp.ImmutableMatrix([[sp.Rational(9, 10)], [sp.Rational(1, 10)]])
    assert sol.step("dL/dX").kind == "grad_fused"
    assert sol["dL/dX"] == sp.ImmutableMatrix([[sp.Rational(9, 20)], [sp.Rational(-9, 20)]])  # (Ŷ − Y)/T


@pytest.mark.parametrize("r, row", [(0, 2), ("0.69", 2), ("0.7", 1), ("0.92", 1), ("0.93", 3), ("0.99", 3)])
def test_sample_walks_the_sorted_probabilities(r, row):
    """3^z over 13 for z = [1, 2, 0]: p = [3/13, 9/13, 1/13]; sorted 9/13 (row 2), 3/13 (row 1), 1/13 (row 3);
    cumulative ranges [0, 9/13 ≈ 0.692), [9/13, 12/13 ≈ 0.923), [12/13, 1)."""
    data = {"X": [1, 2, 0], "layers": [{"type": "activation", "activation": "softmax", "exp_base": 3, "sample": r}]}
    sol = spec.from_data(data).solve()
    assert sol["A1"] == sp.ImmutableMatrix([[sp.Rational(3, 13)], [sp.Rational(9, 13)], [sp.Rational(1, 13)]])
    assert sol["token1"] == row


def test_sample_with_e_is_exact_and_picks_by_value():
    data = {"X": [1, 0], "layers": [{"type": "activation", "activation": "softmax", "sample": "0.5"}]}
    sol = spec.from_data(data).solve()
    assert sol["A1"][0] == sp.E / (1 + sp.E) and sol["token1"] == 1  # e/(1+e) ≈ 0.73 > 0.5


@pytest.mark.parametrize("bad, message", [
    ({"sample": 1}, "layers[1].sample: sample must be a number in [0, 1), got 1"),
    ({"temperature": 0}, "layers[1].temperature: temperature must be a positive number, got 0"),
    ({"activation": "relu", "temperature": 2}, 'layers[1].temperature: temperature goes only with activation = "softmax"'),
])
def test_bad_keys_are_one_line(bad, message):
    data = {"X": [1, 0], "layers": [{"type": "activation", "activation": "softmax", **bad}]}
    with pytest.raises(Exception) as info:
        spec.from_data(data)
    assert str(info.value) == f"<dict>: {message}"


def test_relu_alone_and_its_template():
    data = {"X": [[1, -2]], "layers": [{"type": "activation", "activation": "relu"}],
            "loss": {"kind": "squared_error", "Y": [[0, 0]]}}
    sol = spec.from_data(data).solve()
    assert sol["A1"] == sp.ImmutableMatrix([[1, 0]]) and sol["dL/dX"] == sp.ImmutableMatrix([[sp.Rational(1, 2), 0]])
    text = render(sol, "markdown")
    assert "relu of X" in text and "fill in" not in text
    assert "relu of X" in render(sol, "markdown", worksheet=True)


def torch_case(seed: int) -> dict:
    """A dense layer then an activation alone, with e (exact), a loss fitting the activation."""
    rng = random.Random(f"activation-torch:{seed}")
    act = ["relu", "leaky_relu", "identity", "sigmoid", "tanh", "softmax"][seed % 6]

    def q() -> str:
        return str(Fraction(rng.randint(-6, 6), rng.choice([2, 3, 4])))

    layer: dict = {"type": "activation", "activation": act}
    if act == "softmax":
        layer["temperature"] = rng.choice([1, 2, "1/2"])
    loss = {"kind": "cross_entropy", "Y": [[1, 0], [0, 1], [0, 0]]} if act == "softmax" else \
        {"kind": "squared_error", "Y": [[q(), q()] for _ in range(3)]}
    return {"X": [[q(), q()], [q(), q()]], "layers": [{"W": [[q(), q()] for _ in range(3)], "b": [q(), q(), q()]}, layer],
            "loss": loss}


@pytest.mark.parametrize("seed", range(50))
def test_against_torch_autograd(seed):
    torch = pytest.importorskip("torch")
    data = torch_case(seed)
    sol = spec.from_data(data).solve()
    t = lambda rows: torch.tensor([[float(Fraction(str(x))) for x in r] for r in rows], dtype=torch.float64)  # noqa: E731
    X, W = t(data["X"]), t(data["layers"][0]["W"]).requires_grad_(True)
    b = t([[x] for x in data["layers"][0]["b"]]).requires_grad_(True)
    layer = data["layers"][1]
    Z = W @ X + b
    T = float(Fraction(str(layer.get("temperature", 1))))
    A = {"relu": torch.relu, "identity": lambda z: z, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
         "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.1),
         "softmax": lambda z: torch.softmax(z / T, dim=0)}[layer["activation"]](Z)
    Y = t(data["loss"]["Y"])
    N = X.shape[1]
    L = -(Y * torch.log(A)).sum() / N if data["loss"]["kind"] == "cross_entropy" else ((A - Y) ** 2).sum() / 2 / N
    L.backward()
    assert abs(float(sol["L"]) - L.item()) < 1e-12 * max(1.0, abs(L.item()))
    for got, want in ((sol["dL/dW1"], W.grad), (sol["dL/db1"], b.grad)):
        for i in range(got.rows):
            for j in range(got.cols):
                assert abs(float(got[i, j]) - want[i, j].item()) < 1e-12, (i, j)


def test_the_temperature_builtin_by_hand():
    """z = [4, 2, 0, −2], T = 2, 3 for e: 3^[2, 1, 0, −1] = [9, 3, 1, 1/3], sum 40/3: p = [27, 9, 3, 1]/40; sorted
    27/40 = 0.675, then 9/40 (cumulative 0.9): r = 0.8 falls in [0.675, 0.9), token 2."""
    sol = spec.load("temperature").solve()
    assert sol["A1"] == sp.ImmutableMatrix([sp.Rational(27, 40), sp.Rational(9, 40), sp.Rational(3, 40),
                                            sp.Rational(1, 40)])
    assert sol["token1"] == 2 and sol.exercise.approximates
