"""Average pooling: each window's mean; the gradient is shared evenly among the window's cells."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import sympy as sp

from . import Backward, Grad, Kind, KindInfo, Mistake, Node
from .max_pool import MaxPool, Pool, _pools, blocks, parse_pool, pooling_kind, shaped, stride_of

if TYPE_CHECKING:
    from ..engine import Run
    from ..reader import Reader


@dataclass(frozen=True)
class AvgPool(Pool):
    """An average-pooling layer."""

    type: ClassVar[str] = "avg_pool"


class AvgPoolOp(MaxPool):
    """Ak = the mean of each window of each map; ∂L/∂A(k−1) gives each cell of a window 1/n of its ∂L/∂a."""

    name = "avg_pool"
    summary = "average pooling over each map: each window's mean"
    mistakes: ClassVar[tuple[Mistake, ...]] = (
        Mistake("avg_not_divided", 345, "An average's gradient is shared: each of the window's n cells gets ∂L/∂a "
                "divided by n.", lambda ex: _pools(ex, "avg_pool")),)
    kinds = {"avg-pool": Kind(KindInfo((4, 2), batch=None, layers=(1, 1)), pooling_kind("avg_pool"))}

    def parse(self, table: Mapping, read: "Reader") -> Pool:
        return parse_pool(read, AvgPool)

    def forward(self, run: "Run", node: Node, params: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
        xp, k, pool = run.xp, node.k, node.params
        prev = node.inputs[0]
        A = inputs[prev]
        mean = xp.value(blocks(pool.maps[0], pool.cells, sp.Rational(1, pool.cells)))
        out = xp.matmul(mean, self.columns(run, node, A))  # (C × C·n)·(C·n × P)
        out = run.record("pool", f"A{k}", out, **{prev: A})
        return {f"A{k}": out}

    def backward(self, run: "Run", node: Node, params: Mapping[str, Any], saved: Mapping[str, Any], grad: Grad,
                 need: frozenset[str]) -> Backward:
        xp, k, pool = run.xp, node.k, node.params
        prev = node.inputs[0]
        if prev not in need:
            return Backward()
        share = sp.S.One if run.broken("avg_not_divided") else sp.Rational(1, pool.cells)
        shares = xp.transpose(xp.value(blocks(pool.maps[0], pool.cells, share)))
        spread = xp.matmul(shares, grad.value)  # (C·n × C)·(C × P): each ∂ shared among its window's cells
        name = run.grad_name(prev, f"A{k}")
        dA = xp.col2im(spread, pool.maps, pool.size, stride_of(run, pool), (0, 0))  # C × H·W
        dA = run.record("unpool", name, shaped(xp, dA, saved[prev]), **{f"dL/dA{k}": grad.value})
        return Backward({}, ((prev, name, dA),))


OP = AvgPoolOp()
