"""avg_pool: each window's mean, the gradient shared evenly among its cells, by hand and against PyTorch's
avg_pool2d."""

from __future__ import annotations

import pytest
import sympy as sp

from symnet import spec

from .convnets import assert_matches_torch, diagnosed, fracs
from .test_max_pool import pooled

M = sp.ImmutableMatrix


def example(seed: int) -> dict:
    return pooled(seed, "avg_pool", fracs)


def test_means_and_the_shared_gradient_by_hand():
    """[1 3 1; 0 2 3; 4 1 0], 2×2 windows at stride 1: means (1+3+0+2)/4 = 3/2, (3+1+2+3)/4 = 9/4, 7/4, 3/2. With
    ∂L/∂A = [1, 0, 0, 0] (Y = A − that), the first window's four cells each get 1/4."""
    data = {"X": [[1, 3, 1], [0, 2, 3], [4, 1, 0]],
            "layers": [{"W": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}, {"type": "avg_pool", "size": 2, "stride": 1}],
            "loss": {"kind": "squared_error", "Y": [["1/2", "9/4", "7/4", "3/2"]], "reduction": "sum"}}
    sol = spec.from_data(data).solve()
    assert sol["A2"] == M([[sp.Rational(3, 2), sp.Rational(9, 4), sp.Rational(7, 4), sp.Rational(3, 2)]])
    q = sp.Rational(1, 4)
    assert sol["dL/dA1"] == M([[q, q, 0], [q, q, 0], [0, 0, 0]])


@pytest.mark.parametrize("seed", range(50))
def test_against_torch_avg_pool2d(seed):
    assert assert_matches_torch(example(seed)) >= 5


def test_a_share_not_divided_is_diagnosed(cli):
    assert diagnosed(cli, "specs/avg-pool.toml", "avg-pool-not-divided")["dL/dA1"][0] == "avg_not_divided"
