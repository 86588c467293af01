"""The record of a solution: ordered, immutable steps, and the `Solution` that maps names to values."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

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
#   round        Wk'≈, bk'≈: the updated weights rounded to [train] round decimals (an approximation, ≈)
#   parameters   the number of weights and biases


class Deferred:
    """A value held by the fast backend, made into its SymPy form only when first read."""

    __slots__ = ("convert", "raw", "value")

    def __init__(self, convert: Callable[[Any], Value], raw: Any) -> None:
        self.convert: Callable[[Any], Value] | None = convert
        self.raw = raw
        self.value: Value | None = None

    def resolve(self) -> Value:
        """The SymPy value, converted once and shared by every step that holds this value."""
        if self.convert is not None:
            self.value, self.convert = self.convert(self.raw), None
        return self.value


class _Resolved:
    """A dataclass field whose `Deferred` value (or operand values) become SymPy on first read."""

    def __init__(self, default: Any = None, pairs: bool = False) -> None:
        self.default, self.pairs = default, pairs

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            if self.default is None:
                raise AttributeError(self.slot)  # the field has no default
            return self.default
        v = obj.__dict__[self.slot]  # kept as stored, so that `Step.raw` still sees the backend's value
        if self.pairs and any(isinstance(x, Deferred) for _, x in v):
            read = obj.__dict__.get(self.slot + "_read")
            if read is None:
                read = obj.__dict__[self.slot + "_read"] = tuple((k, _sympy(x)) for k, x in v)
            return read
        return _sympy(v)

    def __set__(self, obj: Any, v: Any) -> None:
        obj.__dict__[self.slot] = v


def _sympy(v: Any) -> Any:
    return v.resolve() if isinstance(v, Deferred) else v


@dataclass(frozen=True)
class Step:
    """One computed quantity: what kind of step made it, its name, value, layer and operands.

    `value` and `operands` are always SymPy when read; the fast backend stores them as `Deferred`."""

    kind: str
    name: str
    value: Value = _Resolved()  # type: ignore[assignment]
    layer: int | None = None
    epoch: int = 1  # the gradient-descent step it belongs to (1 for the forward pass of the exercise)
    operands: tuple[tuple[str, Value], ...] = _Resolved((), pairs=True)  # type: ignore[assignment]

    @property
    def raw(self) -> Any:
        """The value as the backend that computed it holds it (a SymPy value on the SymPy path)."""
        v = self.__dict__["_value"]
        return v.raw if isinstance(v, Deferred) else v

    def operand(self, name: str) -> Value:
        """The value of one named operand of this step."""
        return dict(self.operands)[name]


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
                self._first.setdefault(s.name, s)

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
