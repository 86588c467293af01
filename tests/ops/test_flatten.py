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
