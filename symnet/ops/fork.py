"""A gradient fork: a quantity read by several layers (a skip) has the sum of their gradients."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import Op

if TYPE_CHECKING:
    from ..engine import Run


class Fork(Op):
    """∂L/∂q = Σ over the paths q feeds of each path's part (the skip passes ∂L/∂Z on unchanged)."""

    name = "fork"
    summary = "where a quantity feeds several layers, its gradient is the sum over the paths"

    def join(self, run: "Run", q: str, parts: list[tuple[str, Any]]) -> Any:
        """Record ∂L/∂q as the sum of its parts (name, value); give it."""
        total = parts[0][1]
        for _, v in parts[1:]:
            total = run.xp.add(total, v)
        return run.record("grad_sum", f"dL/d{q}", total, **dict(parts))


OP = Fork()
