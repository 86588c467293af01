"""The document a solution becomes: sections of cells, dot products and hand layouts, results blanked on a worksheet."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import sympy as sp

from ..exercise import Exercise, Layer, Value
from ..record import Solution, Step


@dataclass(frozen=True)
class Cell:
    """One printed number: its exact value, whether the reader sees it, its sample colour, muted (the bias trick's 1)."""

    value: sp.Expr
    shown: bool = True
    colour: int | None = None
    muted: bool = False


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


def mat(value: Value, shown: bool, colour_axis: int | None = None, muted: bool = False) -> Mat:
    """A value (matrix or scalar) as cells; colour_axis 1 colours by column, 0 by row (samples of a batch)."""
    m = value if isinstance(value, sp.MatrixBase) else sp.ImmutableMatrix([[value]])
    return Mat(tuple(tuple(Cell(m[i, j], shown, (i, j)[colour_axis] if colour_axis is not None else None, muted)
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
    shown = (lambda given: given or not worksheet)
    batch = ex.X.cols if ex.kind == "network" else 1
    axis = 1 if batch > 1 else None
    sections: list[Section] = []
    steps = list(solution.steps)
    pos = 0

    def take(kind: str, layer: int | None) -> Step | None:
        nonlocal pos
        if pos < len(steps) and steps[pos].kind == kind and steps[pos].layer == layer:
            pos += 1
            return steps[pos - 1]
        return None

    while pos < len(steps):
        s = steps[pos]
        pos += 1
        k, e = s.layer, s.epoch
        first = e == 1
        info = ex.layers[k - 1] if k and ex.kind == "network" else None
        if s.kind == "given":
            if s.name == "X" and first:
                sections.append(Section("given", None, e, {"X": mat(s.value, True, axis)}))
        elif s.kind == "matmul":
            A, B, C = mat(s.operand("A"), True), mat(s.operand("B"), True), mat(s.value, shown(False))
            sections.append(Section("matmul", None, e, {"A": A, "B": B, "C": C}, dots(A, B, C), Grid(A, B, C)))
        elif s.kind == "linear":
            act = take("activation", k)
            W, b = mat(s.operand("W"), shown(first)), mat(s.operand("b"), shown(first))
            A, Z = mat(s.operand("A"), shown(k == 1), axis), mat(s.value, shown(False), axis)
            Aout = mat(act.value, shown(False), axis)
            left, top = (W.beside(b), A.above(ones(1, batch, axis))) if info.has_bias else (W, A)
            grid = Grid(left, top, Z, W.shape[1] if info.has_bias else None, A.shape[0] if info.has_bias else None)
            sections.append(Section("layer", k, e, {"W": W, "b": b, "A": A, "Z": Z, "Aout": Aout},
                                    dots(W, A, Z, b if info.has_bias else None), grid, info=info, entries=tuple(zip(Z.cells, Aout.cells))))
        elif s.kind == "approx":
            sections.append(Section("approx", k, e, {"Yhat": mat(s.value, True, axis),
                                                     "A": mat(s.operand(f"A{k}"), shown(False), axis)}, info=info))
        elif s.kind == "loss":
            sections.append(Section("loss", k, e, {"L": mat(s.value, shown(False)),
                                                   "Yhat": mat(s.operand("Yhat"), shown(ex.loss.predictions is not None and first), axis),
                                                   "Y": mat(s.operand("Y"), True, axis)}, info=info))
        elif s.kind in ("grad_output", "grad_fused"):
            sections.append(Section(s.kind, k, e, {"G": mat(s.value, shown(False), axis),
                                                   "Yhat": mat(s.operand("Yhat"), shown(ex.loss.predictions is not None and first), axis),
                                                   "Y": mat(s.operand("Y"), True, axis)}, info=info))
        elif s.kind == "derivative":
            gz = take("grad_z", k)
            Zc = mat(s.operand(f"Z{k}"), shown(False), axis)
            D = mat(s.value, shown(False), axis)
            sections.append(Section("grad_act", k, e, {"dA": mat(gz.operand(f"dL/dA{k}"), shown(False), axis), "D": D,
                                                       "Z": Zc, "dZ": mat(gz.value, shown(False), axis)}, info=info,
                                    entries=tuple(zip(Zc.cells, D.cells))))
        elif s.kind == "grad_z":
            sections.append(Section("grad_softmax", k, e, {"dA": mat(s.operand(f"dL/dA{k}"), shown(False), axis),
                                                           "A": mat(s.operand(f"A{k}"), shown(False), axis),
                                                           "dZ": mat(s.value, shown(False), axis)}, info=info))
        elif s.kind == "grad_w":
            gb = take("grad_b", k)
            dZ = mat(s.operand(f"dL/dZ{k}"), shown(False), axis)
            Ain = mat(s.operand(f"A{k - 1}"), shown(k == 1), axis)
            dW, db = mat(s.value, shown(False)), mat(gb.value, shown(False))
            AinT = Ain.T
            top, result = (AinT.beside(ones(batch, 1, 0 if axis else None)), dW.beside(db)) if info.has_bias else (AinT, dW)
            grid = Grid(dZ, top, result, None, None, dW.shape[1] if info.has_bias else None)
            bias_dots = dots(dZ, ones(batch, 1, 0 if axis else None), db) if info.has_bias else ()
            sections.append(Section("grad_wb", k, e, {"dZ": dZ, "A": Ain, "dW": dW, "db": db},
                                    dots(dZ, AinT, dW), grid, bias_dots, info=info))
        elif s.kind == "grad_a":
            W = mat(s.operand(f"W{k}"), shown(first))
            dZ = mat(s.operand(f"dL/dZ{k}"), shown(False), axis)
            dA = mat(s.value, shown(False), axis)
            sections.append(Section("grad_a", k, e, {"W": W, "dZ": dZ, "dA": dA}, dots(W.T, dZ, dA), Grid(W.T, dZ, dA), info=info))
        elif s.kind == "update":
            ub = take("update", k)
            mats = {"W": mat(s.operand(f"W{k}"), shown(first)), "dW": mat(s.operand(f"dL/dW{k}"), shown(False)),
                    "Wn": mat(s.value, shown(False)), "eta": mat(s.operand("eta"), True)}
            if ub is not None:
                mats |= {"b": mat(ub.operand(f"b{k}"), shown(first)), "db": mat(ub.operand(f"dL/db{k}"), shown(False)),
                         "bn": mat(ub.value, shown(False))}
            sections.append(Section("update", k, e, mats, info=info))
        elif s.kind == "round":
            rb = take("round", k)
            mats = {"W": mat(s.operand(f"W{k}'"), shown(False)), "Wr": mat(s.value, shown(False)),
                    "decimals": mat(s.operand("decimals"), True)}
            if rb is not None:
                mats |= {"b": mat(rb.operand(f"b{k}'"), shown(False)), "br": mat(rb.value, shown(False))}
            sections.append(Section("round", k, e, mats, info=info))
        elif s.kind == "parameters":
            sections.append(Section("parameters", None, e, {"count": mat(s.value, shown(False))}))
    approximated = any(l.approximates_e for l in ex.layers) or (ex.loss is not None and ex.loss.predictions is not None)
    return Document(ex, tuple(sections), worksheet, decimals, batch, approximated)

