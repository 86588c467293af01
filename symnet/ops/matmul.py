"""A matrix product C = A·B (`kind = "matmul"`): each entry a row of A times a column of B."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import Key, Op

if TYPE_CHECKING:
    from ..engine import Run


class MatMul(Op):
    """C = A·B, (n×m)·(m×p) → (n×p)."""

    name = "matmul"
    summary = "kind = \"matmul\": the product C = A·B and nothing else"
    keys = (Key("A", "matrix (n × m)", "the left factor", required=True),
            Key("B", "matrix (m × p)", "the right factor", required=True))

    def run(self, run: "Run", A: Any, B: Any) -> None:
        """Record A, B and C."""
        A, B = run.record("given", "A", A), run.record("given", "B", B)
        run.record("matmul", "C", run.xp.matmul(A, B), A=A, B=B)  # (n×m)·(m×p) → (n×p)


OP = MatMul()
