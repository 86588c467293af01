"""The exercise's given input X, recorded at the start of every gradient-descent step."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import Op

if TYPE_CHECKING:
    from ..engine import Run


class Given(Op):
    """X, features × batch: one sample per column."""

    name = "given"
    summary = "the input X (features × batch, one sample per column)"

    def start(self, run: "Run", X: Any) -> Any:
        """Record X; give it."""
        return run.record("given", "X", X)


OP = Given()
