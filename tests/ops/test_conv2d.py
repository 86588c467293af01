"""conv2d: the im2col layout by hand, stride and padding, several maps, backward to the kernels, biases and input
(col2im) against PyTorch's F.conv2d, and one-line refusals."""

from __future__ import annotations

import random

import pytest
import sympy as sp

from symnet import spec

from .convnets import assert_matches_torch, diagnosed, frac, fracs

M = sp.ImmutableMatrix


def example(seed: int) -> dict:
    """A dense layer mixing C maps at each position (so the convolution's input gradient reaches its weights), then a
    convolution with stride, padding and several filters, then squared error."""
    rng = random.Random(f"conv2d:{seed}")
    while True:  # at most 12 outputs, so that sympy.diff of the symbolic loss stays quick
        H, W = rng.choice([(3, 3), (4, 4), (3, 4), (5, 4)])
        C, F = rng.choice([1, 2]), rng.choice([1, 2, 3])
        h, w = rng.choice([(2, 2), (3, 3), (2, 3), (1, 2)])
        stride, padding = rng.choice([1, 1, 2, [1, 2]]), rng.choice([0, 0, 1, [1, 0]])
        s, p = (stride, stride) if isinstance(stride, int) else stride, (padding, padding) if isinstance(padding, int) \
            else padding
        outs = F * ((H + 2 * p[0] - h) // s[0] + 1) * ((W + 2 * p[1] - w) // s[1] + 1)
        if 0 < outs <= 12 and h <= H + 2 * p[0] and w <= W + 2 * p[1]:
            break
    m = rng.choice([1, 2])
    kernels = [fracs(rng, h, w) if C == 1 else [fracs(rng, h, w) for _ in range(C)] for _ in range(F)]
    conv = {"type": "conv2d", "image": [H, W], "kernels": kernels, "b": [frac(rng) for _ in range(F)],
            "stride": stride, "padding": padding, "activation": rng.choice(["relu", "identity"])}
    data = {"X": fracs(rng, m, H * W),
            "layers": [{"W": fracs(rng, C, m), "b": [frac(rng) for _ in range(C)], "activation": "identity"}, conv]}
    shape = spec.from_data(data).solve()["Z2"].shape
    data["loss"] = {"kind": "squared_error", "Y": fracs(rng, *shape), "reduction": "sum"}
    data["train"] = {"learning_rate": "1/2"}
    return data


# ---------------------------------------------------------------- by hand

HAND = {"X": [[1, 2, 0], [0, 1, 3], [2, 1, 1]],
        "layers": [{"type": "conv2d", "kernels": [[[1, 0], [0, -1]], [[0, 1], [1, 0]]], "b": [0, -3],
                    "activation": "relu"}],
        "loss": {"kind": "squared_error", "Y": [[0, 0, 0, 0], [0, 0, 0, 0]], "reduction": "sum"}}


def test_the_im2col_layout_by_hand():
    """X = [1 2 0; 0 1 3; 2 1 1]; the four 2×2 windows, row-major, are the columns of Col1 over a row of 1s."""
    sol = spec.from_data(HAND).solve()
    assert sol["Col1"] == M([[1, 2, 0, 1],   # each window's top-left
                             [2, 0, 1, 3],   # top-right
                             [0, 1, 2, 1],   # bottom-left
                             [1, 3, 1, 1],   # bottom-right
                             [1, 1, 1, 1]])  # the bias trick's 1s
    # filter 1 [1 0; 0 −1], b = 0: 1 − 1 = 0, 2 − 3 = −1, 0 − 1 = −1, 1 − 1 = 0
    # filter 2 [0 1; 1 0], b = −3: 2 + 0 − 3 = −1, 0 + 1 − 3 = −2, 1 + 2 − 3 = 0, 3 + 1 − 3 = 1
    assert sol["Z1"] == M([[0, -1, -1, 0], [-1, -2, 0, 1]])
    assert sol["A1"] == M([[0, 0, 0, 0], [0, 0, 0, 1]])
    # ∂L/∂Z = A − Y masked by Z > 0: only z(2, 4) = 1 passes; ∂L/∂K2 = 1 · window 4 = [1, 3, 1, 1], ∂L/∂b2 = 1
    assert sol["dL/dZ1"] == M([[0, 0, 0, 0], [0, 0, 0, 1]])
    assert sol["dL/dK1"] == M([[0, 0, 0, 0], [1, 3, 1, 1]])
    assert sol["dL/db1"] == M([[0], [1]])


def test_padding_and_stride_by_hand():
    """X = [1 2; 3 4] padded by 1 to 4×4, a 2×2 kernel of 1s at stride 2: each window holds one entry of X."""
    data = {"X": [[1, 2], [3, 4]], "layers": [{"type": "conv2d", "kernels": [[[1, 1], [1, 1]]], "stride": 2,
                                               "padding": 1}]}
    sol = spec.from_data(data).solve()
    assert sol["Z1"] == M([[1, 2, 3, 4]])  # ⌊(2 + 2 − 2)/2⌋ + 1 = 2 positions a side
    assert sol["Col1"] == M([[0, 0, 0, 4], [0, 0, 3, 0], [0, 2, 0, 0], [1, 0, 0, 0], [1, 1, 1, 1]])


def test_two_input_maps_and_the_input_gradient_by_col2im():
    """Two 2×2 maps in rows (image = [2, 2]) after a dense layer; one 2×2 filter with a kernel per map: one output.
    ∂L/∂Col = Kᵀ·∂L/∂Z, folded back: each map's entry gets its kernel entry times ∂L/∂z."""
    data = {"X": [[1, 2, 3, 4]],
            "layers": [{"W": [[1], [-1]], "activation": "identity"},  # A1 = [1 2 3 4; −1 −2 −3 −4]
                       {"type": "conv2d", "image": [2, 2], "kernels": [[[[1, 0], [0, 1]], [[0, 2], [0, 0]]]]}],
            "loss": {"kind": "squared_error", "Y": [[0]], "reduction": "sum"}}
    sol = spec.from_data(data).solve()
    assert sol["Z2"] == M([[1 + 4 + 2 * -2]])  # map 1: 1 + 4; map 2: 2·(−2)
    assert sol["dL/dZ2"] == M([[1]])
    assert sol["dL/dA1"] == M([[1, 0, 0, 1], [0, 2, 0, 0]])  # the kernels themselves, times ∂L/∂z = 1
    assert sol["dL/dW1"] == M([[1 * 1 + 1 * 4], [2 * 2]])  # ∂L/∂Z1·Xᵀ: row 1 meets x1 and x4, row 2 x2


# ---------------------------------------------------------------- against PyTorch


@pytest.mark.parametrize("seed", range(50))
def test_against_torch_conv2d(seed):
    assert assert_matches_torch(example(seed)) >= 8


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize("layer, message", [
    ({"kernels": [[[1, 2, 3]] * 4]}, "layers[1]: a 4×3 kernel does not fit the 3×3 input (padding 0×0)"),
    ({"kernels": [[[1]], [[1, 2]]]}, "layers[1].kernels[2]: a kernel is 1×2 but the first is 1×1: every kernel of a "
                                     "layer has one shape"),
    ({"kernels": [[[1]]], "stride": 0}, "layers[1].stride: stride must be at least 1, got 0"),
    ({"kernels": [[[1]]], "padding": [1, 2, 3]}, "layers[1].padding: expected a whole number or [rows, columns], got a "
                                                 "list"),
    ({"kernels": [[[1]]], "b": [1, 2]}, "layers[1].b: b1 is 2×1 but there are 1 filters: b1 needs 1×1"),
    ({"kernels": []}, "layers[1].kernels: expected a list of kernels, one per filter (each an h×w matrix)"),
    ({"kernels": [[[[1]], [[2]]]]}, "layers[1].kernels[1]: filter 1 has 2 kernels but X has 1 maps: give one h×w "
                                    "kernel per map"),
    ({"kernels": [[[1]]], "image": [2, 2]},
     "layers[1].image: image [2, 2] holds 4 entries per map but X has 3 columns"),
])
def test_bad_layers_are_one_line(layer, message):
    data = {"X": [[1, 2, 3], [4, 5, 6], [7, 8, 9]], "layers": [{"type": "conv2d", **layer}]}
    with pytest.raises(Exception) as info:
        spec.from_data(data)
    assert str(info.value) == f"<dict>: {message}"


def test_a_convolution_needs_maps():
    data = {"X": [[1, 2], [3, 4]], "layers": [{"type": "flatten"}, {"type": "conv2d", "kernels": [[[1]]]}]}
    with pytest.raises(Exception) as info:
        spec.from_data(data)
    assert str(info.value) == ("<dict>: layers[2]: A1 is not maps: a convolution reads an image or the maps of a "
                               "convolution or pooling layer")


# ---------------------------------------------------------------- mistakes, planted by hand (tests/answers)


def test_a_flipped_kernel_is_diagnosed(cli):
    got = diagnosed(cli, "conv2d", "conv2d-kernel-flipped")
    assert got["Z1"][0] == "kernel_flipped" and set(got["Z1"][1]) == {"kernel_flipped"}


@pytest.mark.parametrize("exercise, answers, code", [
    ("conv2d", "conv2d-padding-ignored", "padding_ignored"),  # 2×4 where the padded image gives 2×9
    ("specs/conv-stride.toml", "conv-stride-ignored", "stride_ignored"),  # 1×4 where stride 2 gives 1×1
])
def test_an_output_of_the_wrong_size_is_diagnosed(cli, exercise, answers, code):
    assert diagnosed(cli, exercise, answers)["Z1"] == (code, ())  # the whole answer, of another shape


# ---------------------------------------------------------------- every layout renders (beyond the built-ins)


def layouts() -> dict[str, dict]:
    """Exercises whose layouts the built-ins do not reach: several input maps and kernels per filter, padded maps
    above a dense layer, 1-D with two rows, average pooling of maps, pooling after a convolution."""
    from . import test_avg_pool, test_conv1d, test_flatten, test_max_pool

    two_maps = {"X": [[1, 2, 3, 4], [0, 1, 0, 1]],
                "layers": [{"W": [[1, 0], [0, 1]], "activation": "identity"},
                           {"type": "conv2d", "image": [2, 2], "kernels": [[[[1, 0], [0, 1]], [[0, 2], [1, 0]]]],
                            "padding": 1, "stride": 2, "activation": "relu"},
                           {"type": "max_pool", "size": 1}, {"type": "flatten"}, {"W": [[1, -1, 1, 1]]}],
                "loss": {"kind": "squared_error", "Y": [[1]]}, "train": {"learning_rate": "1/2"}}
    return {"two-maps": two_maps, "conv2d-0": example(0), "conv2d-3": example(3), "conv1d": test_conv1d.example(1),
            "avg": test_avg_pool.example(2), "max": test_max_pool.example(4), "cnn": test_flatten.cnn(1)}


def test_every_layout_renders_in_markdown_through_katex():
    from symnet.render import render

    from ..test_render import katex_errors, maths_blocks

    blocks = []
    for name, data in layouts().items():
        sol = spec.from_data(data, name).solve()
        for worksheet in (False, True):
            blocks += maths_blocks(render(sol, "markdown", worksheet=worksheet))
    assert katex_errors(blocks) == []


def test_every_layout_compiles_with_pdflatex():
    from symnet.render import render_pdf

    from ..conftest import require_tool

    require_tool("pdflatex")
    for name, data in layouts().items():
        sol = spec.from_data(data, name).solve()
        assert render_pdf(sol).startswith(b"%PDF") and render_pdf(sol, worksheet=True).startswith(b"%PDF"), name


# ---------------------------------------------------------------- the family's generator kinds

FAMILY_KINDS = ("conv2d", "conv1d", "max-pool", "avg-pool", "cnn", "gan")


@pytest.mark.parametrize("kind", FAMILY_KINDS)
def test_the_generator_guarantees_over_60_seeds(kind):
    """The README's guarantees (given integers in [−3, 3], small exact answers, ReLUs that cut and pass), checked on the
    printed TOML's exact solution by test_generate's rules, not by the generator's own check; every key checks."""
    import symnet

    from ..test_generate import _key_answers, assert_friendly, made

    for seed in range(60):
        text, data, solution = made(kind, seed)
        assert f"kind = {kind}, seed = {seed}" in text
        assert_friendly(data, solution)
        if seed < 5:
            assert symnet.load(data).check(_key_answers(solution)).correct
