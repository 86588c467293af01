"""The document a solution becomes: sections of cells, dot products and hand layouts, results blanked on a worksheet."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import sympy as sp

from ..exercise import Exercise, Layer, Value
from ..record import Solution, Step


@dataclass(frozen=True)
class Cell:
    """One printed number: its exact value, whether the reader sees it, its sample colour, muted (the bias trick's 1),
    and whether the exercise gives it (a result is blank on a worksheet: the page is planned for either)."""

    value: sp.Expr
    shown: bool = True
    colour: int | None = None
    muted: bool = False
    given: bool = True


@dataclass(frozen=True)
class Mat:
    """A matrix as printed: rows of cells."""

    rows: tuple[tuple[Cell, ...], ...]

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return len(self.rows), len(self.rows[0]) if self.rows else 0

    @property
    def cells(self) -> Iterator[Cell]:
        """Every cell, row by row."""
        return (c for r in self.rows for c in r)

    def at(self, i: int, j: int) -> Cell:
        """The cell at row i, column j (0-based)."""
        return self.rows[i][j]

    @property
    def T(self) -> "Mat":
        """The transpose."""
        return Mat(tuple(zip(*self.rows)))

    def beside(self, other: "Mat") -> "Mat":
        """[self | other]."""
        return Mat(tuple(a + b for a, b in zip(self.rows, other.rows)))

    def above(self, other: "Mat") -> "Mat":
        """[self ; other]."""
        return Mat(self.rows + other.rows)

    def part(self, block: "Block") -> "Mat":
        """The block's rows and columns."""
        return Mat(tuple(r[block.c0:block.c1] for r in self.rows[block.r0:block.r1]))


@dataclass(frozen=True)
class Block:
    """Rows r0 … r1−1 and columns c0 … c1−1 (0-based) of a matrix of `shape`, printed on their own."""

    r0: int
    r1: int
    c0: int
    c1: int
    shape: tuple[int, int]

    @property
    def whole(self) -> bool:
        """True when the block is the whole matrix."""
        return (self.r0, self.c0, (self.r1, self.c1)) == (0, 0, self.shape)

    @property
    def label(self) -> str:
        """Which part this is, as a reader counts (1-based): "rows 1–16 of 32, columns 5–8 of 8"."""
        parts = []
        if (self.r0, self.r1) != (0, self.shape[0]):
            parts.append(f"rows {self.r0 + 1}–{self.r1} of {self.shape[0]}")
        if (self.c0, self.c1) != (0, self.shape[1]):
            parts.append(f"columns {self.c0 + 1}–{self.c1} of {self.shape[1]}")
        return ", ".join(parts)

    def split(self, before: int | None) -> int | None:
        """A rule before column `before` of the whole matrix, as a column of this block (None when outside it)."""
        return before - self.c0 if before is not None and self.c0 < before < self.c1 else None


def mat(value: Value, shown: bool, colour_axis: int | None = None, muted: bool = False, given: bool = True) -> Mat:
    """A value (matrix or scalar) as cells; colour_axis 1 colours by column, 0 by row (samples of a batch)."""
    m = value if isinstance(value, sp.MatrixBase) else sp.ImmutableMatrix([[value]])
    return Mat(tuple(tuple(Cell(m[i, j], shown, (i, j)[colour_axis] if colour_axis is not None else None, muted, given)
                           for j in range(m.cols)) for i in range(m.rows)))


def ones(rows: int, cols: int, colour_axis: int | None = None) -> Mat:
    """The bias trick's ones, always shown."""
    return mat(sp.ones(rows, cols), True, colour_axis, muted=True)


@dataclass(frozen=True)
class Dot:
    """One entry written out: Σ (left)(right) in written order, then the bias, = result (i, j are 1-based)."""

    i: int
    j: int
    terms: tuple[tuple[Cell, Cell], ...]
    bias: Cell | None
    result: Cell


@dataclass(frozen=True)
class Grid:
    """The AI by Hand layout: `top` across the top, `left` down the left, each result at their crossing."""

    left: Mat
    top: Mat
    result: Mat
    left_split: int | None = None  # a rule before this column of `left`: [W | b]
    top_split: int | None = None  # a rule before this row of `top`: [A ; 1]
    result_split: int | None = None  # a rule before this column of the result: [∂W | ∂b]

    @property
    def columns(self) -> int:
        """Columns of the whole layout: the left block's, then the result's."""
        return self.left.shape[1] + self.result.shape[1]

    @property
    def top_cols(self) -> int:
        """Columns of `top` (equal to the result's)."""
        return self.top.shape[1]

    def part(self, block: Block) -> "Grid":
        """The layout of the result's block: its rows of `left`, its columns of `top`, the whole of the rest."""
        rows, cols = Block(block.r0, block.r1, 0, self.left.shape[1], self.left.shape), \
            Block(0, self.top.shape[0], block.c0, block.c1, self.top.shape)
        return Grid(self.left.part(rows), self.top.part(cols), self.result.part(block), self.left_split, self.top_split,
                    block.split(self.result_split))


def dots(left: Mat, right: Mat, result: Mat, bias: Mat | None = None) -> tuple[Dot, ...]:
    """Every entry of left·right (+ bias), term by term in written order."""
    n, m = left.shape
    N = right.shape[1]
    return tuple(Dot(i + 1, j + 1, tuple((left.at(i, t), right.at(t, j)) for t in range(m)),
                     bias.at(i, 0) if bias is not None else None, result.at(i, j))
                 for i in range(n) for j in range(N))


@dataclass(frozen=True)
class Section:
    """One part of the worked solution: a kind, the layer and gradient-descent step, and what it prints."""

    kind: str  # given | matmul | layer | approx | loss | grad_output | grad_fused | grad_act | grad_softmax | grad_wb |
    #            grad_a | update | round | parameters
    layer: int | None
    epoch: int
    mats: dict[str, Mat] = field(default_factory=dict)
    dots: tuple[Dot, ...] = ()
    grid: Grid | None = None
    extra: tuple[Dot, ...] = ()  # a second set of dot products (the bias gradients)
    info: Layer | None = None
    entries: tuple[tuple[Cell, Cell], ...] = ()  # (z, f(z)) or (z, f'(z)) per entry, row by row


@dataclass(frozen=True)
class Document:
    """Everything a template needs: the exercise, its sections, and how to print them."""

    exercise: Exercise
    sections: tuple[Section, ...]
    worksheet: bool
    decimals: int | None
    batch: int
    approximated: bool  # any exp_base or given predictions


def build(solution: Solution, worksheet: bool = False, decimals: int | None = None) -> Document:
    """The document of a solution; on a worksheet only the exercise's given numbers are shown."""
    ex = solution.exercise
    b = _Builder(ex, list(solution.steps), worksheet)
    sections = []
    while b.pos < len(b.steps):
        s = b.steps[b.pos]
        b.pos += 1
        if s.kind not in _Builder.KINDS:
            continue  # a step kind this renderer does not know yet (the rest of the document still reads)
        made = getattr(b, s.kind)(s, s.layer, s.epoch, ex.layers[s.layer - 1] if s.layer and ex.kind == "network" else None)
        if made is not None:
            sections.append(made)
    approximated = any(l.approximates_e for l in ex.layers) or (ex.loss is not None and ex.loss.predictions is not None)
    return Document(ex, tuple(sections), worksheet, decimals, b.batch, approximated)


class _Builder:
    """Turns the recorded steps, in order, into sections; one method per step kind (pairs of steps read together)."""

    KINDS = frozenset({"given", "matmul", "linear", "approx", "loss", "grad_output", "grad_fused", "derivative",
                       "grad_z", "grad_w", "grad_a", "update", "round", "parameters"})

    def __init__(self, ex: Exercise, steps: list[Step], worksheet: bool) -> None:
        self.ex, self.steps, self.worksheet, self.pos = ex, steps, worksheet, 0
        self.batch = ex.X.cols if ex.kind == "network" else 1
        self.axis = 1 if self.batch > 1 else None  # colour by sample column when there are several

    def shown(self, given: bool) -> bool:
        """A given number is always printed; a result only in the key."""
        return given or not self.worksheet

    def cells(self, value: Value, given: bool, colour_axis: int | None = None) -> Mat:
        """A value that is given by the exercise (always printed) or computed (blank on a worksheet)."""
        return mat(value, self.shown(given), colour_axis, given=given)

    def result(self, value: Value, by_sample: bool = True) -> Mat:
        """A computed value: blank on a worksheet."""
        return self.cells(value, False, self.axis if by_sample else None)

    def take(self, kind: str, layer: int | None) -> Step | None:
        """The next step, when it is of this kind and layer (the second of a pair)."""
        if self.pos < len(self.steps) and self.steps[self.pos].kind == kind and self.steps[self.pos].layer == layer:
            self.pos += 1
            return self.steps[self.pos - 1]
        return None

    def given(self, s: Step, k: None, e: int, info: None) -> Section | None:
        if s.name == "X" and e == 1:
            return Section("given", None, e, {"X": mat(s.value, True, self.axis)})
        return None  # Y is shown with the loss; X again in later steps

    def matmul(self, s: Step, k: None, e: int, info: None) -> Section:
        A, B, C = mat(s.operand("A"), True), mat(s.operand("B"), True), self.result(s.value, False)
        return Section("matmul", None, e, {"A": A, "B": B, "C": C}, dots(A, B, C), Grid(A, B, C))

    def linear(self, s: Step, k: int, e: int, info: Layer) -> Section:
        act = self.take("activation", k)
        W, b = self.cells(s.operand("W"), e == 1), self.cells(s.operand("b"), e == 1)
        A, Z, Aout = self.cells(s.operand("A"), k == 1, self.axis), self.result(s.value), self.result(act.value)
        if info.has_bias:  # [W | b] · [A ; 1]
            grid = Grid(W.beside(b), A.above(ones(1, self.batch, self.axis)), Z, W.shape[1], A.shape[0])
        else:
            grid = Grid(W, A, Z)
        return Section("layer", k, e, {"W": W, "b": b, "A": A, "Z": Z, "Aout": Aout},
                       dots(W, A, Z, b if info.has_bias else None), grid, info=info, entries=tuple(zip(Z.cells, Aout.cells)))

    def approx(self, s: Step, k: int, e: int, info: Layer) -> Section:
        return Section("approx", k, e, {"Yhat": mat(s.value, True, self.axis), "A": self.result(s.operand(f"A{k}"))}, info=info)

    def _output(self, s: Step, e: int) -> dict[str, Mat]:
        """Ŷ (given when the exercise rounds it, in its first step) and Y."""
        rounded = self.ex.loss.predictions is not None and e == 1
        return {"Yhat": self.cells(s.operand("Yhat"), rounded, self.axis), "Y": mat(s.operand("Y"), True, self.axis)}

    def loss(self, s: Step, k: int, e: int, info: Layer) -> Section:
        return Section("loss", k, e, {"L": self.result(s.value, False)} | self._output(s, e), info=info)

    def grad_output(self, s: Step, k: int, e: int, info: Layer) -> Section:
        return Section(s.kind, k, e, {"G": self.result(s.value)} | self._output(s, e), info=info)

    grad_fused = grad_output

    def derivative(self, s: Step, k: int, e: int, info: Layer) -> Section:
        gz = self.take("grad_z", k)
        Z, D = self.result(s.operand(f"Z{k}")), self.result(s.value)
        return Section("grad_act", k, e, {"dA": self.result(gz.operand(f"dL/dA{k}")), "D": D, "Z": Z, "dZ": self.result(gz.value)},
                       info=info, entries=tuple(zip(Z.cells, D.cells)))

    def grad_z(self, s: Step, k: int, e: int, info: Layer) -> Section:  # softmax inside the network: no mask step
        return Section("grad_softmax", k, e, {"dA": self.result(s.operand(f"dL/dA{k}")), "A": self.result(s.operand(f"A{k}")),
                                              "dZ": self.result(s.value)}, info=info)

    def grad_w(self, s: Step, k: int, e: int, info: Layer) -> Section:
        gb = self.take("grad_b", k)
        dZ, Ain = self.result(s.operand(f"dL/dZ{k}")), self.cells(s.operand(f"A{k - 1}"), k == 1, self.axis)
        dW, db = self.result(s.value, False), self.result(gb.value, False)
        by_row = 0 if self.axis else None  # the ones column of [A ; 1]ᵀ: one row per sample
        if info.has_bias:  # ∂L/∂Z · [A ; 1]ᵀ = [∂W | ∂b]
            grid = Grid(dZ, Ain.T.beside(ones(self.batch, 1, by_row)), dW.beside(db), result_split=dW.shape[1])
            bias_dots = dots(dZ, ones(self.batch, 1, by_row), db)
        else:
            grid, bias_dots = Grid(dZ, Ain.T, dW), ()
        return Section("grad_wb", k, e, {"dZ": dZ, "A": Ain, "dW": dW, "db": db}, dots(dZ, Ain.T, dW), grid, bias_dots, info=info)

    def grad_a(self, s: Step, k: int, e: int, info: Layer) -> Section:
        W, dZ, dA = self.cells(s.operand(f"W{k}"), e == 1), self.result(s.operand(f"dL/dZ{k}")), self.result(s.value)
        return Section("grad_a", k, e, {"W": W, "dZ": dZ, "dA": dA}, dots(W.T, dZ, dA), Grid(W.T, dZ, dA), info=info)

    def update(self, s: Step, k: int, e: int, info: Layer) -> Section:
        ub = self.take("update", k)
        mats = {"W": self.cells(s.operand(f"W{k}"), e == 1), "dW": self.result(s.operand(f"dL/dW{k}"), False),
                "Wn": self.result(s.value, False), "eta": mat(s.operand("eta"), True)}
        if ub is not None:
            mats |= {"b": self.cells(ub.operand(f"b{k}"), e == 1), "db": self.result(ub.operand(f"dL/db{k}"), False),
                     "bn": self.result(ub.value, False)}
        return Section("update", k, e, mats, info=info)

    def round(self, s: Step, k: int, e: int, info: Layer) -> Section:
        rb = self.take("round", k)
        mats = {"W": self.result(s.operand(f"W{k}'"), False), "Wr": self.result(s.value, False),
                "decimals": mat(s.operand("decimals"), True)}
        if rb is not None:
            mats |= {"b": self.result(rb.operand(f"b{k}'"), False), "br": self.result(rb.value, False)}
        return Section("round", k, e, mats, info=info)

    def parameters(self, s: Step, k: None, e: int, info: None) -> Section:
        return Section("parameters", None, e, {"count": self.result(s.value, False)})
