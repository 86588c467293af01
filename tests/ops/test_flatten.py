"""flatten: the maps as one column, map by map, each row by row; backward folds the gradient back into the maps."""

from __future__ import annotations

import random

import pytest
import sympy as sp

from symnet import spec

from .convnets import assert_matches_torch, diagnosed, frac, fracs

M = sp.ImmutableMatrix


def example(seed: int) -> dict:
    """A convolution (so the maps have rows and columns), flatten, then a dense layer to a few outputs."""
    rng = random.Random(f"flatten:{seed}")
    H, W = rng.choice([(3, 3), (3, 4), (4, 3)])
    F = 1 if H * W > 9 else rng.choice([1, 2])  # at most 8 entries in the column: sympy.diff stays quick
    conv = {"type": "conv2d", "kernels": [fracs(rng, 2, 2) for _ in range(F)], "b": [frac(rng) for _ in range(F)],
            "activation": "identity"}
    n = F * (H - 1) * (W - 1)
    out = rng.choice([1, 2]) if n <= 6 else 1
    return {"X": fracs(rng, H, W),
            "layers": [conv, {"type": "flatten"}, {"W": fracs(rng, out, n), "b": [frac(rng) for _ in range(out)],
                                                  "activation": rng.choice(["identity", "relu"])}],
            "loss": {"kind": "squared_error", "Y": fracs(rng, out, 1), "reduction": "sum"},
            "train": {"learning_rate": "1/2"}}


def test_row_major_map_by_map_by_hand():
    """Two 2×2 maps [1 2; 3 4] and [5 6; 7 8] (rows of A1) become [1, 2, 3, 4, 5, 6, 7, 8]; the gradient folds back."""
    data = {"X": [[1, 2, 3, 4]],
            "layers": [{"W": [[1], [2]], "b": [0, -2]}, {"type": "flatten", "image": [2, 2]},
                       {"W": [[1, 0, 0, 0, 0, 0, 0, -1]]}],
            "loss": {"kind": "squared_error", "Y": [[0]], "reduction": "sum"}}
    sol = spec.from_data(data).solve()
    assert sol["A1"] == M([[1, 2, 3, 4], [0, 2, 4, 6]])
    assert sol["A2"] == M([[1, 2, 3, 4, 0, 2, 4, 6]]).T
    assert sol["dL/dA2"] == M([[-5, 0, 0, 0, 0, 0, 0, 5]]).T  # z3 = 1 − 6 = −5: ∂L/∂A2 = W3ᵀ·(−5)
    assert sol["dL/dA1"] == M([[-5, 0, 0, 0], [0, 0, 0, 5]])


def test_an_image_flattens_row_by_row():
    sol = spec.from_data({"X": [[1, 2], [3, 4]], "layers": [{"type": "flatten"}]}).solve()
    assert sol["A1"] == M([1, 2, 3, 4])


@pytest.mark.parametrize("seed", range(50))
def test_a_cnn_through_flatten_against_torch(seed):
    assert assert_matches_torch(example(seed)) >= 8


def test_column_major_flattening_is_diagnosed(cli):
    got = diagnosed(cli, "cnn", "cnn-flatten-column-major")
    assert got["A3"][0] == "flatten_column_major" and got["Z4"][0] == "carried_error"


def cnn(seed: int) -> dict:
    """The whole CNN sheet, random: an image, two filters, ReLU, max pooling, flatten, a dense layer to 3 classes,
    softmax with e and cross-entropy."""
    rng = random.Random(f"cnn:{seed}")
    H, k = rng.choice([(4, 2), (5, 2), (5, 3), (4, 3)])
    size, stride = rng.choice([(2, 1), (2, 2), (2, 1)])
    m = H - k + 1
    n = 2 * ((m - size) // stride + 1) ** 2
    return {"X": [[rng.randint(0, 3) for _ in range(H)] for _ in range(H)],  # small integers: pooling ties happen
            "layers": [{"type": "conv2d", "kernels": [fracs(rng, k, k) for _ in range(2)],
                        "b": [frac(rng), frac(rng)], "activation": "relu"},
                       {"type": "max_pool", "size": size, "stride": stride}, {"type": "flatten"},
                       {"W": fracs(rng, 3, n, top=2), "b": [frac(rng, top=2) for _ in range(3)],
                        "activation": "softmax"}],
            "loss": {"kind": "cross_entropy", "Y": [int(i == seed % 3) for i in range(3)]}}


@pytest.mark.parametrize("seed", range(50))
def test_the_whole_cnn_against_torch(seed):
    assert assert_matches_torch(cnn(seed)) >= 12  # every value and gradient, e kept exact, down to the filters


def test_the_cnn_builtin_keeps_e_and_can_start_from_rounded_probabilities():
    """Z4 = [0, 1, 2]: softmax [1, e, e²]/(1 + e + e²); rounded to one decimal [0.1, 0.2, 0.7] (0.090, 0.245, 0.665)."""
    data = spec.parse_text(spec.builtin_text("cnn"), "cnn")
    exact = spec.from_data(data).solve()
    D = 1 + sp.E + sp.exp(2)
    assert exact["Z4"] == M([0, 1, 2]) and sp.simplify(exact["A4"][2] - sp.exp(2) / D) == 0
    data["loss"]["predictions"] = ["0.1", "0.2", "0.7"]
    rounded = spec.from_data(data).solve()
    assert rounded["dL/dZ4"] == M([sp.Rational(1, 10), sp.Rational(1, 5), sp.Rational(-3, 10)])  # Ŷ − Y
    # back through W4ᵀ: a1 ← 1/10, a2 ← −1/5, a3 ← −1/10, a5 ← 1/5, a6 ← 3/10, a7 ← −3/10; then the pooled maxima
    assert rounded["dL/dA3"] == M([sp.Rational(v, 10) for v in (1, -2, -1, 0, 2, 3, -3, 0)])
    assert rounded.backend == "flint" and all(x.is_Rational for x in rounded["dL/dK1"])
