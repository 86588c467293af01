"""conv1d: windows of each row as a sequence, by hand; stride and padding; several input rows and filters; backward
to the kernels, biases and input against PyTorch's F.conv1d; one-line refusals."""

from __future__ import annotations

import random

import pytest
import sympy as sp

from symnet import spec

from .convnets import assert_matches_torch, frac, fracs

M = sp.ImmutableMatrix


def example(seed: int) -> dict:
    """A dense layer (C rows of T positions), then a 1-D convolution with stride and padding, then squared error."""
    rng = random.Random(f"conv1d:{seed}")
    while True:
        T, C, F, w = rng.randint(3, 7), rng.choice([1, 2]), rng.choice([1, 2, 3]), rng.choice([1, 2, 3])
        stride, padding = rng.choice([1, 1, 2, 3]), rng.choice([0, 0, 1, 2])
        outs = F * ((T + 2 * padding - w) // stride + 1)
        if w <= T + 2 * padding and 0 < outs <= 12:
            break
    m = rng.choice([1, 2])
    kernels = [[frac(rng) for _ in range(w)] if C == 1 and rng.random() < 0.5 else fracs(rng, C, w) for _ in range(F)]
    conv = {"type": "conv1d", "kernels": kernels, "b": [frac(rng) for _ in range(F)], "stride": stride,
            "padding": padding, "activation": rng.choice(["relu", "identity"])}
    data = {"X": fracs(rng, m, T),
            "layers": [{"W": fracs(rng, C, m), "b": [frac(rng) for _ in range(C)], "activation": "identity"}, conv]}
    shape = spec.from_data(data).solve()["Z2"].shape
    data["loss"] = {"kind": "squared_error", "Y": fracs(rng, *shape), "reduction": "sum"}
    data["train"] = {"learning_rate": "1/2"}
    return data


def test_a_sequence_by_hand():
    """x = [1, 2, 0, −1, 3], kernel [1, 0, −1], b = 1: z_t = x_t − x_(t+2) + 1 = [2, 4, −2]."""
    data = {"X": [[1, 2, 0, -1, 3]], "layers": [{"type": "conv1d", "kernel": [1, 0, -1], "b": [1]}]}
    sol = spec.from_data(data).solve()
    assert sol["Col1"] == M([[1, 2, 0], [2, 0, -1], [0, -1, 3], [1, 1, 1]])
    assert sol["Z1"] == M([[2, 4, -2]])


def test_padding_stride_and_two_rows_by_hand():
    """Two input rows, padding 1, stride 2: the padded rows are [0 1 2 3 0] and [0 −1 1 0 0]; the kernel has one row
    per input row, [1 1; 1 −1]: z_1 = (0 + 1) + (0 + 1) = 2, z_2 = (2 + 3) + (1 − 0) = 6."""
    data = {"X": [[1, 2, 3], [-1, 1, 0]],
            "layers": [{"type": "conv1d", "kernel": [[1, 1], [1, -1]], "padding": 1, "stride": 2}],
            "loss": {"kind": "squared_error", "Y": [[0, 0]], "reduction": "sum"}}
    sol = spec.from_data(data).solve()
    assert sol["Z1"] == M([[2, 6]])
    assert sol["dL/dK1"] == M([[0 * 2 + 2 * 6, 1 * 2 + 3 * 6, 0 * 2 + 1 * 6, -1 * 2 + 0 * 6]])  # Σ_t z_t · window_t


@pytest.mark.parametrize("seed", range(50))
def test_against_torch_conv1d(seed):
    assert assert_matches_torch(example(seed)) >= 8


@pytest.mark.parametrize("layer, message", [
    ({"kernel": [1, 2], "kernels": [[1, 2]]},
     "layers[1]: give kernel (one filter) or kernels (a list of them), not both"),
    ({}, "layers[1]: missing key 'kernel' (or 'kernels')"),
    ({"kernel": [[1, 2]]}, "layers[1].kernel: the kernel has 1 row but X has 2: one kernel row per input row"),
    ({"kernels": [[[1, 2], [3, 4]], [[1], [2]]]},
     "layers[1].kernels: every kernel of a layer has one length; the first has 2"),
    ({"kernel": [[1, 2], [3, 4]], "stride": [1, 2]}, "layers[1].stride: expected a whole number, got a list"),
    ({"kernel": [[1] * 6, [1] * 6]}, "layers[1]: a 1×6 kernel does not fit the 1×3 input (padding 0×0)"),
])
def test_bad_layers_are_one_line(layer, message):
    data = {"X": [[1, 2, 3], [4, 5, 6]], "layers": [{"type": "conv1d", **layer}]}
    with pytest.raises(Exception) as info:
        spec.from_data(data)
    assert str(info.value) == f"<dict>: {message}"
