"""Layer normalisation: statistics per sample over its features, worked by hand, and against torch's LayerNorm in
float64 (ε = 0 and ε > 0 alike: LayerNorm takes ε = 0)."""

from __future__ import annotations

import pytest
import sympy as sp

from symnet import spec

from .test_batch_norm import assert_torch, norm_example

M = sp.ImmutableMatrix
R = sp.Rational


def example(seed: int) -> dict:
    """The registry's example: a layer norm between two dense layers."""
    return norm_example(seed, "layer_norm")


def test_statistics_per_sample_over_the_features_by_hand():
    """Column 1: [1, 3, 5, 7]ᵀ: Σ = 16, μ = 4, Σ(x − μ)² = 9 + 1 + 1 + 9 = 20, σ² = 5, σ = √5; column 2: [3, 1, 3, 1]ᵀ:
    Σ = 8, μ = 2, Σ(x − μ)² = 4, σ² = 1, x̂ = [1, −1, 1, −1]; γ = [1, 2, 1, 2], β = [0, 0, 1, 1] act per feature (row):
    column 2 of A = [1, −2, 2, −1]."""
    data = {"X": [[1, 3], [3, 1], [5, 3], [7, 1]],
            "layers": [{"type": "layer_norm", "gamma": [1, 2, 1, 2], "beta": [0, 0, 1, 1]}]}
    sol = spec.from_data(data).solve()
    r5 = sp.sqrt(5)
    assert sol["sum1"] == M([[16, 8]]) and sol["squares1"] == M([[20, 4]])
    assert sol["mu1"] == M([[4, 2]]) and sol["var1"] == M([[5, 1]]) and sol["sigma1"] == M([[r5, 1]])
    assert sol["Xhat1"][:, 1] == M([1, -1, 1, -1]) and sol["A1"][:, 1] == M([1, -2, 2, -1])
    assert sol["A1"][0, 0] == -3 / r5


def test_backward_by_hand_is_the_batch_norm_of_the_transpose():
    """The batch-norm hand case (x = [7, 1, 1, −1], γ = 3) as one sample of 4 features: the same gradient, ∂L/∂x =
    [5/18, −5/9, −5/9, 5/6]; γ and β are per feature here, so ∂L/∂γ = ∂L/∂a ⊙ x̂ = [5/3, 1/3, 1/3, 0]."""
    data = {"X": [[7], [1], [1], [-1]], "layers": [{"W": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
                                                    "bias": False},
                                                   {"type": "layer_norm", "gamma": [3, 3, 3, 3]}],
            "loss": {"kind": "squared_error", "Y": [[4], [0], [0], [-3]], "reduction": "sum"}}
    sol = spec.from_data(data).solve()
    assert sol["dL/dA1"] == M([R(5, 18), R(-5, 9), R(-5, 9), R(5, 6)])
    assert sol["dL/dgamma2"] == M([R(5, 3), R(1, 3), R(1, 3), 0]) and sol["dL/dbeta2"] == M([1, -1, -1, 0])


def test_a_constant_sample_is_refused():
    with pytest.raises(Exception) as info:
        spec.from_data({"X": [[1], [1]], "layers": [{"type": "layer_norm"}]}).solve()
    assert str(info.value) == ("<dict>: layers[1]: a sample has σ = 0 (all its values equal): x̂ = (x − μ)/σ divides "
                               "by 0; give epsilon > 0")


@pytest.mark.parametrize("seed", range(50))
def test_against_torch_layernorm(seed):
    assert_torch(seed, "layer_norm")
