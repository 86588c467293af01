"""Dropout with a given mask: inverted scaling 1/(1 − p) worked by hand, a given rounded scale as a labelled
approximation, the identity at inference, one-line refusals, and against torch (dropout as a fixed mask multiply)."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
import sympy as sp

from symnet import spec
from symnet.errors import SpecError

M = sp.ImmutableMatrix
R = sp.Rational


def frac(rng: random.Random) -> str:
    return str(Fraction(rng.randint(-8, 8), rng.choice([1, 2, 4])))


def example(seed: int) -> dict:
    """A dense ReLU layer, dropout (mask per entry or one column; p, sometimes a given scale, sometimes inference),
    an output layer, squared error, one update."""
    rng = random.Random(f"dropout:{seed}")
    n, N = rng.randint(2, 4), rng.randint(1, 3)
    X = [[frac(rng) for _ in range(N)] for _ in range(2)]
    layer: dict = {"type": "dropout", "p": rng.choice(["1/2", "1/3", "0.25", "0.2"])}
    cols = rng.choice([1, N])
    layer["mask"] = [[rng.choice([0, 1]) for _ in range(cols)] for _ in range(n)]
    if rng.random() < 0.25:
        layer["scale"] = rng.choice([2, "1.5"])
    if rng.random() < 0.2:
        layer["train"] = False
    return {"X": X, "layers": [{"W": [[frac(rng) for _ in range(2)] for _ in range(n)], "b": [frac(rng) for _ in range(n)],
                                "activation": rng.choice(["relu", "identity"])}, layer,
                               {"W": [[frac(rng) for _ in range(n)]], "b": [frac(rng)]}],
            "loss": {"kind": "squared_error", "Y": [[frac(rng) for _ in range(N)]]}, "train": {"learning_rate": "1/2"}}


def solve(data: dict):
    return spec.from_data(data).solve()


def test_inverted_dropout_by_hand():
    """x = [4, 2, 6], mask [1, 0, 1], p = 1/2: scale 1/(1 − 1/2) = 2, A = 2·[4, 0, 6] = [8, 0, 12]; squared error (sum)
    against Y = [7, 1, 12]: ∂L/∂A = [1, −1, 0]; ∂L/∂x = 2·[1, 0, 0] = [2, 0, 0] (the dropped unit gets nothing)."""
    data = {"X": [4, 2, 6], "layers": [{"W": [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "bias": False},
                                       {"type": "dropout", "p": "1/2", "mask": [1, 0, 1]}],
            "loss": {"kind": "squared_error", "Y": [7, 1, 12], "reduction": "sum"}}
    sol = solve(data)
    assert sol["A2"] == M([8, 0, 12]) and sol["dL/dA1"] == M([2, 0, 0])
    assert not sol.exercise.approximates


def test_one_mask_column_for_every_sample_and_a_rounded_scale():
    """p = 0.33, scale = 1.5 (1/(1 − 0.33) = 100/67 ≈ 1.49): an approximation; the mask [0, 1] for both samples:
    A = 1.5·[[0, 0], [2, 4]] = [[0, 0], [3, 6]]."""
    data = {"X": [[1, 3], [2, 4]], "layers": [{"type": "dropout", "p": 0.33, "scale": 1.5, "mask": [0, 1]}]}
    sol = solve(data)
    assert sol["A1"] == M([[0, 0], [3, 6]])
    assert sol.exercise.approximates and sol.exercise.layers[0].exact_scale == R(100, 67)


def test_inference_is_the_identity():
    data = {"X": [[1, 3], [2, 4]], "layers": [{"type": "dropout", "p": "1/2", "train": False}],
            "loss": {"kind": "squared_error", "Y": [[0, 0], [0, 0]], "reduction": "sum"}}
    sol = solve(data)
    assert sol["A1"] == M([[1, 3], [2, 4]])


@pytest.mark.parametrize("layer, message", [
    ({"p": 1, "mask": [1, 1]}, "layers[1].p: p must be a number in [0, 1), got 1"),
    ({"p": "1/2"}, "layers[1]: dropout in training needs a mask (or train = false)"),
    ({"p": "1/2", "mask": [1, 2]}, "layers[1].mask: a mask holds only 0 (drop) and 1 (keep)"),
    ({"p": "1/2", "mask": [[1, 0, 1]]}, "layers[1].mask: mask1 is 1×3 but X is 2×1: the mask is 2×1, or 2×1 for every "
                                        "sample alike"),
    ({"p": "1/2", "mask": [1, 0], "scale": 0}, "layers[1].scale: scale must be a positive number, got 0"),
    ({"mask": [1, 0]}, "layers[1]: missing key 'p'"),
])
def test_bad_keys_are_one_line(layer, message):
    with pytest.raises(SpecError) as info:
        spec.from_data({"X": [1, 2], "layers": [{"type": "dropout", **layer}]})
    assert str(info.value) == f"<dict>: {message}"


def to_float(v: sp.Expr) -> float:
    return float(sp.N(v, 30))


@pytest.mark.parametrize("seed", range(50))
def test_against_torch_a_fixed_mask_multiply(seed):
    """torch float64 autograd with dropout written as its fixed mask: scale · mask ⊙ a in training, a at inference."""
    torch = pytest.importorskip("torch")
    data = example(seed)
    sol = solve(data)
    t = lambda rows: torch.tensor([[float(Fraction(str(x))) for x in r] for r in rows], dtype=torch.float64)  # noqa: E731
    d1, dr, d3 = data["layers"]
    X = t(data["X"])
    W1, b1 = t(d1["W"]).requires_grad_(), t([[x] for x in d1["b"]]).requires_grad_()
    W3, b3 = t(d3["W"]).requires_grad_(), t([[x] for x in d3["b"]]).requires_grad_()
    Z1 = W1 @ X + b1
    A1 = torch.relu(Z1) if d1["activation"] == "relu" else Z1
    if dr.get("train", True):
        p = float(Fraction(str(dr["p"])))
        scale = float(Fraction(str(dr["scale"]))) if "scale" in dr else 1 / (1 - p)
        A2 = scale * t(dr["mask"]) * A1  # a mask column broadcasts over the samples
    else:
        A2 = A1
    L = ((W3 @ A2 + b3 - t(data["loss"]["Y"])) ** 2).sum() / 2 / X.shape[1]
    L.backward()
    assert abs(to_float(sol["L"]) - L.item()) < 1e-12 * max(1.0, abs(L.item()))
    for name, want in (("dL/dW1", W1.grad), ("dL/db1", b1.grad), ("dL/dW3", W3.grad), ("dL/db3", b3.grad)):
        got = sol[name]
        for i in range(got.rows):
            for j in range(got.cols):
                assert abs(to_float(got[i, j]) - want[i, j].item()) < 1e-12 * max(1.0, abs(want[i, j].item())), name


# ---------------------------------------------------------------- mistakes, the built-in, the generator kind

from .answers import ANSWERS, diagnoses  # noqa: E402


@pytest.mark.parametrize("spec_name, answers, wrong", [
    ("dropout", "dropout-unscaled.toml", {"A2": {"dropout_unscaled"}}),
    (str(ANSWERS / "specs" / "dropout-inference.toml"), "dropout-scaled-at-inference.toml",
     {"A1": {"dropout_scaled_at_inference"}}),
])
def test_each_mistake_is_diagnosed(cli, spec_name, answers, wrong):
    assert diagnoses(cli, spec_name, answers) == wrong


def test_the_builtin_draws_the_mask_as_a_diagonal_and_strikes_the_dropped_unit():
    """The built-in: A1 = [5, 0, 2, 1], mask [1, 1, 0, 1], scale 1.5 ≈ 1/(1 − 0.33) = 100/67: A2 = [15/2, 0, 0, 3/2]."""
    from symnet.render import render

    sol = spec.load("dropout").solve()
    assert sol["A2"] == M([R(15, 2), 0, 0, R(3, 2)])
    key = render(sol, "markdown", detail="full")  # the walk-through: the dropout's own hand layout
    assert r"{\cancel{2}}" in key and r"s = 1.5 \approx \frac{1}{1 - 0.33} = \frac{100}{67}" in key
    assert r"{1.5} & {0} & {0} & {0}" in key  # the diagonal s·diag(mask), its third entry 0
    sheet = render(sol, "markdown")  # the hand sheet: the diagonal is a band of the dense layers' cascade
    assert r"A_{2} = s \operatorname{diag}(m_{2}) A_{1}" in sheet and r"s = 1.5 \approx \frac{1}{1 - 0.33}" in sheet
    assert r"{1.5} & {0} & {0} & {0} & {" in sheet and r"{0} & {0} & {0} & {0} & {0}" in sheet  # unit 3 dropped


def test_generated_dropout_is_friendly():
    from symnet.friendly import problems
    from symnet.generate import generate, options

    for seed in range(20):
        sol = spec.from_data(generate(options("dropout", seed=seed)).spec).solve()
        assert not problems(sol, 3) and sol.exercise.layers[1].scale == 2
