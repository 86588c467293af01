"""The record of a solution: ordered, immutable steps, and the `Solution` that maps names to values."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .exercise import Exercise, Value
from .held import Held, raw, unwrapped

# A step is recorded by an op (`op`: dense, loss, update, …) in a phase of the computation (forward, loss,
# backward, update), for a layer (`node`, its number k; None for what belongs to the whole exercise). Its `kind`
# says which of the op's quantities it is; the renderer groups steps by (epoch, node, op, phase).
# The kinds, in the order a dense network's solution meets them:
#   given        a value from the exercise (X, Y, A, B)
#   matmul       C = A·B
#   linear       Zk = Wk·A(k−1) + bk
#   activation   Ak = f(Zk)
#   sample       tokenk: the row a softmax's probabilities pick for r
#   approx       Ŷ ≈ the given, rounded predictions
#   loss         L
#   grad_output  ∂L/∂A_L = ∂L/∂Ŷ
#   derivative   ∂Ak/∂Zk entry by entry (the ReLU mask)
#   grad_z       ∂L/∂Zk = ∂L/∂Ak ⊙ ∂Ak/∂Zk (or through softmax's Jacobian)
#   grad_fused   ∂L/∂Z_L = Ŷ − Y (softmax + cross-entropy, sigmoid + bce)
#   grad_w       ∂L/∂Wk = ∂L/∂Zk · A(k−1)ᵀ
#   grad_b       ∂L/∂bk = ∂L/∂Zk · 1
#   grad_a       ∂L/∂A(k−1) = Wkᵀ · ∂L/∂Zk (or one path's part of it)
#   grad_sum     ∂L/∂q summed over the paths q feeds (a skip)
#   update       Wk' = Wk − η·∂L/∂Wk, bk' = bk − η·∂L/∂bk
#   round        Wk'≈, bk'≈: the updated weights rounded to [train] round decimals; Ak≈: a sigmoid, tanh or
#                softmax value rounded ([train] round_activations, a layer's round); approximations, marked ≈
#   parameters   the number of weights and biases


@dataclass(frozen=True)
class Step:
    """One computed quantity: the op and phase that recorded it, its kind, name, value, layer and inputs (by name).

    `value` and `inputs` are always SymPy when read; the fast algebra stores them as `Deferred`."""

    op: str
    phase: str
    kind: str
    name: str
    value: Held[Value] = Held()
    node: int | None = None  # the layer k it belongs to, or None
    epoch: int = 1  # the gradient-descent step it belongs to (1 for the forward pass of the exercise)
    inputs: Held[tuple[tuple[str, Value], ...]] = Held((), pairs=True)
    part: str = ""  # the sub-network it belongs to (a GAN's "G", "D"), or "": its name in the solution is part.name
    refs: tuple[str, ...] = ()  # in a part: the inputs' names in the solution (another part's, or this part's)

    @property
    def qualified(self) -> str:
        """The name in the solution: part.name ("D.Z1") in a sub-network, else the name itself."""
        return f"{self.part}.{self.name}" if self.part else self.name

    @property
    def sources(self) -> tuple[str, ...]:
        """The inputs' names in the solution (the names `inputs` holds are the op's, local to the part)."""
        return self.refs or tuple(n for n, _ in self.__dict__["_inputs"])

    @property
    def layer(self) -> int | None:
        """The layer k the step belongs to (its node), or None."""
        return self.node

    @property
    def operands(self) -> tuple[tuple[str, Value], ...]:
        """The inputs, by quantity name."""
        return self.inputs

    @property
    def raw(self) -> Any:
        """The value as the backend that computed it holds it (a SymPy value on the SymPy path)."""
        return raw(self, "value")

    def operand(self, name: str) -> Value:
        """The value of one named input of this step."""
        return dict(self.inputs)[name]

    def raw_operand(self, name: str) -> Any:
        """One named input as the backend that computed it holds it (no input made SymPy)."""
        return unwrapped(dict(self.__dict__["_inputs"])[name])


class Solution(Mapping[str, Value]):
    """The worked solution of an exercise: quantity names (of step 1) → exact SymPy values."""

    def __init__(self, exercise: Exercise, steps: tuple[Step, ...], backend: str = "sympy",
                 bits: tuple[int, ...] = ()) -> None:
        self.exercise = exercise
        self.steps = steps
        self.backend = backend  # "flint" (the fast exact path) or "sympy"
        self.bits = bits  # per gradient-descent step: bits of the largest updated weight (numerator or denominator)
        self._first: dict[str, Step] = {}
        for s in steps:
            if s.epoch == 1:
                self._first.setdefault(s.qualified, s)

    def __getitem__(self, name: str) -> Value:
        return self._first[name].value

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
                out.setdefault(s.qualified, s.value)
        return out

    def step(self, name: str, epoch: int = 1) -> Step:
        """The step that computed `name` in the given epoch."""
        return next(s for s in self.steps if s.qualified == name and s.epoch == epoch)

    def __repr__(self) -> str:
        return f"<Solution of {self.exercise.source}: {', '.join(self)}>"

    def _repr_markdown_(self) -> str:
        from .render import render

        return render(self, "markdown")

    def _repr_html_(self) -> str:
        from .jupyter import solution_html

        return solution_html(self)

    def _repr_latex_(self) -> str:
        from .render import render_jupyter

        return render_jupyter(self)
