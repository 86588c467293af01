"""max_pool: each window's maximum and its position (ties: the first in row-major order), the gradient routed there
only, by hand and against PyTorch's max_pool2d with return_indices (ties included); one-line refusals."""

from __future__ import annotations

import random

import pytest
import sympy as sp

from symnet import spec

from .convnets import assert_matches_torch, diagnosed, distinct, frac, fracs

M = sp.ImmutableMatrix


def pooled(seed: int, name: str, values) -> dict:
    """A dense layer giving C maps (so the pooling's gradient reaches its weights), then pooling, then squared
    error; `values(rng, rows, cols)` draws X."""
    rng = random.Random(f"{name}:{seed}")
    while True:
        H, W = rng.choice([(3, 3), (4, 4), (2, 4), (4, 3), (1, 5)])
        size = rng.choice([2, [2, 2], [1, 2], [2, 1], 3]) if H > 1 else rng.choice([2, 3])
        stride = rng.choice([None, 1, 2, [1, 2]])
        h, w = (size, size) if isinstance(size, int) else size
        if H == 1:
            h = 1
        s = (h, w) if stride is None else (stride, stride) if isinstance(stride, int) else stride
        if h <= H and w <= W and ((H - h) // s[0] + 1) * ((W - w) // s[1] + 1) <= 6:
            break
    C = rng.choice([1, 2])
    pool = {"type": name, "size": size, "image": [H, W]}
    if stride is not None:
        pool["stride"] = stride
    data = {"X": values(rng, 1, H * W),
            "layers": [{"W": [[1]] if C == 1 else [[1], [-1]], "b": [frac(rng) for _ in range(C)],
                        "activation": "identity"}, pool]}
    shape = spec.from_data(data).solve()["A2"].shape
    data["loss"] = {"kind": "squared_error", "Y": fracs(rng, *shape), "reduction": "sum"}
    data["train"] = {"learning_rate": "1/2"}
    return data


def example(seed: int) -> dict:
    """Distinct values in every window (sympy.diff of a maximum is defined only away from ties)."""
    return pooled(seed, "max_pool", distinct)


def tied(seed: int) -> dict:
    """Small integers: many windows hold their maximum twice."""
    return pooled(seed, "max_pool", lambda rng, r, c: [[rng.randint(0, 2) for _ in range(c)] for _ in range(r)])


def test_the_maxima_their_positions_and_the_routed_gradient_by_hand():
    """A 3×3 map, 2×2 windows at stride 1. Windows (row-major): [1 3; 0 2] → 3 at 2; [3 1; 2 3] → 3 at 2 (first of
    two 3s); [0 2; 4 1] → 4 at 7; [2 3; 1 0] → 3 at 6. Position 2 is the maximum of two windows: it gets both
    gradients, 1 + 2."""
    data = {"X": [[1, 3, 1], [0, 2, 3], [4, 1, 0]], "layers": [{"type": "max_pool", "size": 2, "stride": 1}],
            "loss": {"kind": "squared_error", "Y": [[2, 1, 4, 3]], "reduction": "sum"}}
    assert spec.from_data(data).solve()["A1"] == M([[3, 3, 4, 3]])
    identity = {"W": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}  # a layer below, so that ∂L/∂A1 (its input's) is computed
    sol = spec.from_data({**data, "layers": [identity] + data["layers"]}).solve()
    assert sol["A2"] == M([[3, 3, 4, 3]])
    assert sol["argmax2"] == M([[2, 2, 7, 6]])
    # ∂L/∂A2 = A2 − Y = [1, 2, 0, 0]: position 2 gets 1 + 2 = 3, positions 7 and 6 get 0
    assert sol["dL/dA1"] == M([[0, 3, 0], [0, 0, 0], [0, 0, 0]])


def test_stride_defaults_to_the_size():
    data = {"X": [[1, 2, 5, 0], [3, 4, 1, 1]], "layers": [{"type": "max_pool", "size": 2}]}
    sol = spec.from_data(data).solve()
    assert sol["A1"] == M([[4, 5]]) and sol["argmax1"] == M([[6, 3]])


@pytest.mark.parametrize("seed", range(50))
def test_against_torch_max_pool2d_with_ties(seed):
    assert assert_matches_torch(tied(seed)) >= 5  # argmax against return_indices, the gradient against autograd


@pytest.mark.parametrize("seed", range(10))
def test_against_torch_max_pool2d_distinct(seed):
    assert assert_matches_torch(example(seed)) >= 5


@pytest.mark.parametrize("layer, message", [
    ({}, "layers[1]: missing key 'size'"),
    ({"size": 4}, "layers[1]: a 4×4 window does not fit the 3×3 input (padding 0×0)"),
    ({"size": 2, "stride": 0}, "layers[1].stride: stride must be at least 1, got 0"),
    ({"size": "2"}, "layers[1].size: expected a whole number or [rows, columns], got a string"),
    ({"size": 2, "padding": 1}, "layers[1]: unknown key 'padding' (allowed: type, size, stride, image)"),
])
def test_bad_layers_are_one_line(layer, message):
    data = {"X": [[1, 2, 3], [4, 5, 6], [7, 8, 9]], "layers": [{"type": "max_pool", **layer}]}
    with pytest.raises(Exception) as info:
        spec.from_data(data)
    assert str(info.value) == f"<dict>: {message}"


# ---------------------------------------------------------------- mistakes, planted by hand (tests/answers)


def test_the_gradient_spread_over_the_window_is_diagnosed(cli):
    got = diagnosed(cli, "max-pool", "max-pool-spread")
    assert got["dL/dA1"][0] == "pool_gradient_spread"


def test_ties_sent_to_the_last_maximum_are_diagnosed(cli):
    got = diagnosed(cli, "max-pool", "max-pool-last-tie")
    assert got["argmax2"][0] == "pool_last_tie"
    assert got["dL/dA1"][0] == "carried_error"  # routed consistently from the student's own argmax
    assert diagnosed(cli, "max-pool", "max-pool-last-tie-gradient")["dL/dA1"][0] == "pool_last_tie"
