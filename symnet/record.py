"""The record of a solution: ordered, immutable steps, and the `Solution` that maps names to values."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from .exercise import Exercise, Value

# Step kinds, in the order a solution meets them:
#   given        a value from the exercise (X, Y, A, B)
#   matmul       C = A·B
#   linear       Zk = Wk·A(k−1) + bk
#   activation   Ak = f(Zk)
#   approx       Ŷ ≈ the given, rounded predictions
#   loss         L
#   grad_output  ∂L/∂A_L = ∂L/∂Ŷ
#   derivative   ∂Ak/∂Zk entry by entry (the ReLU mask)
#   grad_z       ∂L/∂Zk = ∂L/∂Ak ⊙ ∂Ak/∂Zk (or through softmax's Jacobian)
#   grad_fused   ∂L/∂Z_L = Ŷ − Y (softmax + cross-entropy, sigmoid + bce)
#   grad_w       ∂L/∂Wk = ∂L/∂Zk · A(k−1)ᵀ
#   grad_b       ∂L/∂bk = ∂L/∂Zk · 1
#   grad_a       ∂L/∂A(k−1) = Wkᵀ · ∂L/∂Zk
#   update       Wk' = Wk − η·∂L/∂Wk, bk' = bk − η·∂L/∂bk
#   parameters   the number of weights and biases


@dataclass(frozen=True)
class Step:
    """One computed quantity: what kind of step made it, its name, value, layer and operands."""

    kind: str
    name: str
    value: Value
    layer: int | None = None
    epoch: int = 1  # the gradient-descent step it belongs to (1 for the forward pass of the exercise)
    operands: tuple[tuple[str, Value], ...] = ()

    def operand(self, name: str) -> Value:
        """The value of one named operand of this step."""
        return dict(self.operands)[name]


class Solution(Mapping[str, Value]):
    """The worked solution of an exercise: quantity names (of step 1) → exact SymPy values."""

    def __init__(self, exercise: Exercise, steps: tuple[Step, ...]) -> None:
        self.exercise = exercise
        self.steps = steps
        self._first = {}
        for s in steps:
            if s.epoch == 1:
                self._first.setdefault(s.name, s.value)

    def __getitem__(self, name: str) -> Value:
        return self._first[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._first)

    def __len__(self) -> int:
        return len(self._first)

    @property
    def epochs(self) -> int:
        """How many gradient-descent steps the record holds (1 without training)."""
        return max((s.epoch for s in self.steps), default=1)

    def epoch(self, k: int) -> dict[str, Value]:
        """The quantities of gradient-descent step k (1-based)."""
        out: dict[str, Value] = {}
        for s in self.steps:
            if s.epoch == k:
                out.setdefault(s.name, s.value)
        return out

    def step(self, name: str, epoch: int = 1) -> Step:
        """The step that computed `name` in the given epoch."""
        return next(s for s in self.steps if s.name == name and s.epoch == epoch)

    def __repr__(self) -> str:
        return f"<Solution of {self.exercise.source}: {', '.join(self)}>"

    def _repr_markdown_(self) -> str:
        from .render import render

        return render(self, "markdown")

    def _repr_latex_(self) -> str:
        from .render import render_jupyter

        return render_jupyter(self)
