"""The dense layer: Z = W·A + b (+ skip), its activation, backward; residuals against torch; bias = false."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
import sympy as sp

from symnet import engine, spec

from ..nets import random_spec


def example(seed: int) -> dict:
    """A random rational network of dense layers (the registry's tests); every third one has a residual."""
    rng = random.Random(f"dense:{seed}")
    if seed % 3 == 2:
        return residual(seed)
    data = random_spec(seed, loss=rng.choice(["squared_error", "mse"]))
    for layer in data["layers"]:
        if layer["activation"] in ("sigmoid", "tanh", "softmax"):
            layer["activation"] = rng.choice(["relu", "identity", "leaky_relu"])
    data["train"] = {"learning_rate": "1/2"}
    return data


def frac(rng: random.Random) -> str:
    return str(Fraction(rng.randint(-8, 8), rng.choice([1, 2, 4])))


def residual(seed: int, out: str = "sigmoid") -> dict:
    """The ResNet sheet's shape: 4 → 3 → 4 with X added before the second ReLU, then an output layer."""
    rng = random.Random(f"resnet:{seed}")

    def m(r, c):
        return [[frac(rng) for _ in range(c)] for _ in range(r)]

    return {"X": m(4, 2),
            "layers": [{"W": m(3, 4), "b": [frac(rng) for _ in range(3)], "activation": "relu"},
                       {"W": m(4, 3), "b": [frac(rng) for _ in range(4)], "activation": "relu", "skip": "X"},
                       {"W": m(2, 4), "b": [frac(rng) for _ in range(2)], "activation": "identity"}],
            "loss": {"kind": "squared_error", "Y": m(2, 2)}, "train": {"learning_rate": "1/4"}}


def test_skip_adds_before_the_activation_and_sums_the_gradient_at_the_fork():
    """By hand: X = [1; 2], layer 1 (1 neuron) z = x1 + x2 = 3, layer 2 (2 neurons) Z2 = W2·A1 + X."""
    data = {"X": [1, 2], "layers": [{"W": [[1, 1]], "activation": "relu"},
                                    {"W": [[1], [-1]], "activation": "identity", "skip": "X"}],
            "loss": {"kind": "squared_error", "Y": [0, 0], "reduction": "sum"}}
    sol = spec.from_data(data).solve()
    assert sol["Z2"] == sp.ImmutableMatrix([[4], [-1]])  # [3; −3] + [1; 2]
    assert sol["dL/dZ2"] == sp.ImmutableMatrix([[4], [-1]])  # Ŷ − Y
    assert sol["dL/dA1"] == sp.ImmutableMatrix([[5]])  # W2ᵀ·dZ2 = 4 + 1
    assert sol["dL/dX via W1"] == sp.ImmutableMatrix([[5], [5]])  # W1ᵀ·dZ1, dZ1 = 5 (ReLU passes 3)
    assert sol["dL/dX"] == sp.ImmutableMatrix([[9], [4]])  # both paths: [5; 5] + dZ2
    step = sol.step("dL/dX")
    assert step.op == "fork" and [n for n, _ in step.inputs] == ["dL/dX via W1", "dL/dZ2"]


def torch_grads(data: dict):
    torch = pytest.importorskip("torch")
    t = lambda rows: torch.tensor([[float(Fraction(x)) for x in r] for r in rows], dtype=torch.float64)  # noqa: E731
    X = t(data["X"]).requires_grad_(True)
    Ws = [t(l["W"]).requires_grad_(True) for l in data["layers"]]
    bs = [t([[x] for x in l["b"]]).requires_grad_(True) for l in data["layers"]]
    acts = {"relu": torch.relu, "identity": lambda z: z, "sigmoid": torch.sigmoid}
    values = {"X": X}
    A = X
    for k, (l, W, b) in enumerate(zip(data["layers"], Ws, bs), 1):
        Z = W @ A + b
        if "skip" in l:
            Z = Z + values[l["skip"]]
        A = acts[l["activation"]](Z)
        values[f"A{k}"] = A
    L = ((A - t(data["loss"]["Y"])) ** 2).sum() / 2 / X.shape[1]
    L.backward()
    return L, X.grad, Ws, bs


@pytest.mark.parametrize("seed", range(20))
def test_residual_against_torch_autograd(seed):
    data = residual(seed)
    sol = spec.from_data(data).solve()
    L, dX, Ws, bs = torch_grads(data)
    assert abs(float(sol["L"]) - L.item()) < 1e-12 * max(1, abs(L.item()))
    for k, (W, b) in enumerate(zip(Ws, bs), 1):
        for got, want in ((sol[f"dL/dW{k}"], W.grad), (sol[f"dL/db{k}"], b.grad)):
            for i in range(got.rows):
                for j in range(got.cols):
                    assert abs(float(got[i, j]) - want[i, j].item()) < 1e-12, (k, i, j)
    got = sol["dL/dX"]  # the skip's gradient sums both paths
    for i in range(got.rows):
        for j in range(got.cols):
            assert abs(float(got[i, j]) - dX[i, j].item()) < 1e-12


def test_a_skip_of_another_shape_is_refused():
    data = {"X": [1, 2, 3], "layers": [{"W": [[1, 1, 1]], "skip": "X"}]}
    with pytest.raises(Exception) as info:
        spec.from_data(data)
    assert str(info.value) == "<dict>: layers[1].skip: X is 3×1 but Z1 is 1×1: a skip adds a quantity of Z1's shape"


def test_a_skip_must_name_an_earlier_quantity():
    data = {"X": [1], "layers": [{"W": [[1]], "skip": "A2"}, {"W": [[1]]}]}
    with pytest.raises(Exception) as info:
        spec.from_data(data)
    assert str(info.value) == "<dict>: layers[1].skip: 'A2' is not a quantity computed before layer 1 (known: X)"


def test_residual_renders_its_fork():
    from symnet.render import render

    sol = spec.from_data(residual(0)).solve()
    text = render(sol, "markdown")
    assert "dL/dX" in sol and "X" in text


def test_bias_false_has_no_bias_anywhere():
    data = {"X": [1, 2], "layers": [{"W": [[1, 1]], "bias": False}], "loss": {"kind": "squared_error", "Y": [0]},
            "train": {"learning_rate": "1/2"}}
    sol = engine.solve(spec.from_data(data))
    assert {"dL/db1", "b1'"}.isdisjoint(sol) and sol["Z1"] == sp.ImmutableMatrix([[3]])


# ---------------------------------------------------------------- residual mistakes; the resnet and autoencoder built-ins


def test_residual_mistakes_are_diagnosed(cli):
    from .test_batch_norm import diagnoses

    assert diagnoses(cli, "resnet", "resnet-after-activation.toml") == {"Z2": {"residual_after_activation"},
                                                                         "A2": {"residual_after_activation"}}
    assert diagnoses(cli, "resnet", "resnet-gradient-not-summed.toml") == {"dL/dX": {"residual_gradient_not_summed"}}


def test_the_resnet_builtin_by_hand():
    """X = [3, 1, 0, 3]; Z1 = [7, 5, −5] → A1 = [7, 5, 0]; Z2 = W2·A1 + b2 + X = [−1, −6, −5, 1] + [3, 1, 0, 3] =
    [2, −5, −5, 4] → A2 = [2, 0, 0, 4]; Z3 = 2 − 4 = −2, sigmoid with 3: 1/(1 + 9) = 1/10; bce with y = 1 fused:
    ∂L/∂Z3 = −9/10; ∂L/∂X = W1ᵀ·∂L/∂Z1 + ∂L/∂Z2 = [0, 9/10, 9/10, 0] + [−9/10, 0, 0, 9/10]."""
    from symnet.render import render

    sol = spec.load("resnet").solve()
    assert sol["Z2"] == sp.ImmutableMatrix([2, -5, -5, 4]) and sol["A3"] == sp.ImmutableMatrix([[sp.Rational(1, 10)]])
    assert sol["dL/dX"] == sp.ImmutableMatrix([sp.Rational(-9, 10)] + [sp.Rational(9, 10)] * 3)
    key = render(sol, "markdown", detail="full")  # the walk-through: the fork's own display
    assert "X feeds 2 paths: its gradient is their sum" in key and "X reaches the loss through W1 and the residual" in key
    assert r"\frac{\partial L}{\partial X} = W_{1}^{\mathsf{T}} \cdot \frac{\partial L}{\partial Z_{1}} + \frac{\partial L}{\partial Z_{2}}" in key
    sheet = render(sol, "markdown")  # the sheet: the backward grid's last band sums both paths
    assert "The paths are added: X reaches the loss through W1 and through the residual into Z2" in sheet
    assert (r"W_{1}^{\mathsf{T}} \dfrac{\partial L}{\partial Z_{1}} + \dfrac{\partial L}{\partial Z_{2}} = "
            r"\dfrac{\partial L}{\partial X}") in sheet


def test_the_autoencoder_builtin_targets_its_input():
    from symnet.render import render

    sol = spec.load("autoencoder").solve()
    assert sol.exercise.loss.target == "X" and sol.step("Y").value == sol.exercise.X
    assert [l.W.shape for l in sol.exercise.layers] == [(3, 4), (2, 3), (3, 2), (4, 3)]
    assert r"\quad Y = X = \begin{bmatrix}" in render(sol, "markdown")  # the loss panel: Y is X itself


@pytest.mark.parametrize("kind", ["resnet", "autoencoder"])
def test_generated_networks_are_friendly(kind):
    from symnet.friendly import problems
    from symnet.generate import generate, options

    for seed in range(20):
        g = generate(options(kind, seed=seed))
        sol = spec.from_data(g.spec).solve()
        assert not problems(sol, 3)
        if kind == "resnet":
            assert g.spec["layers"][1]["skip"] == "X" and "dL/dX" in sol
        else:
            assert g.spec["loss"]["Y"] == "X"


@pytest.mark.parametrize("kind, sizes, message", [
    ("resnet", "4,3,2,1", "--sizes: the residual adds X back, so the third size must equal the first (4), got 2"),
    ("autoencoder", "4,3,2", "--sizes: an autoencoder gives back its input: the last size must equal the first (4), "
                             "got 2"),
])
def test_generated_network_sizes_are_refused_in_one_line(cli, kind, sizes, message):
    run = cli("generate", kind, "--sizes", sizes)
    assert run.code == 2 and run.err == f"symnet: error: {message}\n"
