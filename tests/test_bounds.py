"""The node count behind expression_nodes and quantity_nodes: SymPy's own tree walk is the oracle."""

from __future__ import annotations

import pytest
import sympy as sp

from symnet import engine, spec
from symnet.bounds import DEFAULT, check_nodes, tree_size
from symnet.errors import BoundError

from .nets import random_spec


def symbolic(seed: int) -> dict:
    """A random network whose first layer's weights are symbols (so every later value is an expression)."""
    data = random_spec(seed)
    W = data["layers"][0]["W"]
    data["layers"][0]["W"] = {"symbol": "w", "shape": [len(W), len(W[0])]}
    return data


@pytest.mark.parametrize("seed", range(8))
def test_tree_size_counts_what_preorder_traversal_walks(seed):
    roomy = DEFAULT.raised(["expression_nodes=100000", "quantity_nodes=10000000"])  # count big entries too
    sol = engine.solve(spec.from_data(symbolic(seed), "<test>", roomy))
    seen = 0
    for s in sol.steps:
        for e in (s.value if isinstance(s.value, sp.MatrixBase) else [s.value]):
            if isinstance(e, sp.Basic):
                assert tree_size(e, 10**9, {}) == sum(1 for _ in sp.preorder_traversal(e)), s.name
                seen += 1
    assert seen > 10


def test_a_count_past_the_cap_stops_and_is_refused_with_the_entrys_bound():
    x = sp.Symbol("x")
    e = sp.Add(*[sp.exp(k * x) for k in range(1, 40)])  # 1 + 39·(exp, Mul, k, x) nodes, more than 100
    assert tree_size(e, 100, {}) > 100
    with pytest.raises(BoundError, match=r"an entry grows beyond 100 nodes \(bound: expression_nodes\)"):
        check_nodes("Z1", sp.ImmutableMatrix([[e]]), DEFAULT.raised(["expression_nodes=100"]))
    with pytest.raises(BoundError, match=r"its entries grow beyond 300 nodes together \(bound: quantity_nodes\)"):
        check_nodes("Z1", sp.ImmutableMatrix([[e, e + 1, e + 2]]), DEFAULT.raised(["quantity_nodes=300"]))
