"""The document a solution becomes: sections of cells, dot products and hand layouts, results blanked on a worksheet."""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any

import sympy as sp

from ..exercise import Exercise, Value
from ..record import Solution, Step


@dataclass(frozen=True)
class Cell:
    """One printed number: its exact value, whether the reader sees it, its sample colour, muted (grey: the bias trick's
    1 and a bias), whether the exercise gives it (a result is an answer box on a worksheet, and the same box in the
    key: the page is planned for either), and whether it is a trainable parameter (boxed in a hand layout)."""

    value: sp.Expr
    shown: bool = True
    colour: int | None = None
    muted: bool = False
    given: bool = True
    param: bool = False
    places: int | None = None  # a rounded value: printed as a decimal with this many places


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
        """Which part this is, as a reader counts (1-based): "rows 1–16 of 32, columns 5–8 of 8", "column 3 of 3"."""
        parts = []
        for what, a, b, n in (("row", self.r0, self.r1, self.shape[0]), ("column", self.c0, self.c1, self.shape[1])):
            if (a, b) != (0, n):
                parts.append(f"{what} {b} of {n}" if b - a == 1 else f"{what}s {a + 1}–{b} of {n}")
        return ", ".join(parts)

    def split(self, before: int | None) -> int | None:
        """A rule before column `before` of the whole matrix, as a column of this block (None when outside it)."""
        return before - self.c0 if before is not None and self.c0 < before < self.c1 else None


def mat(value: Value, shown: bool, colour_axis: int | None = None, muted: bool = False, given: bool = True,
        param: bool = False) -> Mat:
    """A value (matrix or scalar) as cells; colour_axis 1 colours by column, 0 by row (samples of a batch)."""
    m = value if isinstance(value, sp.MatrixBase) else sp.ImmutableMatrix([[value]])
    cells = Mat(tuple(tuple(Cell(m[i, j], shown, (i, j)[colour_axis] if colour_axis is not None else None, muted,
                                 given, param) for j in range(m.cols)) for i in range(m.rows)))
    namer = _NAMER.get()
    return cells if namer is None else namer(value, cells)


CellNamer = Callable[[Value, Mat], Mat]  # (the value made into cells, its cells) → the cells, some told their entry
_NAMER: ContextVar[CellNamer | None] = ContextVar("symnet_cell_namer", default=None)


@contextlib.contextmanager
def naming_cells(namer: CellNamer) -> Iterator[None]:
    """Within the block (in this thread or task only), every value made into cells passes through `namer`: how
    symnet serve's page learns which entry each printed number and each answer box is (serve/boxes.py)."""
    token = _NAMER.set(namer)
    try:
        yield
    finally:
        _NAMER.reset(token)


def decimal_cells(m: Mat, places: Mat | int) -> Mat:
    """The cells of rounded values (to `places` decimals, or the number a 1×1 `places` holds): printed as decimals
    ("0.5")."""
    k = places if isinstance(places, int) else int(places.at(0, 0).value)
    return Mat(tuple(tuple(replace(c, places=k) for c in r) for r in m.rows))


def grey(m: Mat) -> Mat:
    """The cells muted (grey): a bias column and its gradient."""
    return Mat(tuple(tuple(replace(c, muted=True) for c in r) for r in m.rows))


def ones(rows: int, cols: int, colour_axis: int | None = None) -> Mat:
    """The bias trick's ones, always shown, always grey (never a sample's colour: `colour_axis` is not used)."""
    return mat(sp.ones(rows, cols), True, None, muted=True)


@dataclass(frozen=True)
class Dot:
    """One entry written out: Σ (left)(right) in written order, then the bias, = result (i, j are 1-based)."""

    i: int
    j: int
    terms: tuple[tuple[Cell, Cell], ...]
    bias: Cell | None
    result: Cell
    skip: Cell | None = None  # a residual's entry, added after the bias


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


def dots(left: Mat, right: Mat, result: Mat, bias: Mat | None = None, skip: Mat | None = None) -> tuple[Dot, ...]:
    """Every entry of left·right (+ bias, + a skip's entry), term by term in written order."""
    n, m = left.shape
    N = right.shape[1]
    return tuple(Dot(i + 1, j + 1, tuple((left.at(i, t), right.at(t, j)) for t in range(m)),
                     bias.at(i, 0) if bias is not None else None, result.at(i, j),
                     skip.at(i, j) if skip is not None else None)
                 for i in range(n) for j in range(N))


@dataclass(frozen=True)
class Section:
    """One part of the worked solution: a kind, the layer and gradient-descent step, and what it prints."""

    kind: str  # given | matmul | layer | approx | loss | grad_output | grad_fused | grad_act | grad_softmax | grad_wb |
    #            grad_a | update | round | parameters | step (an op's step without a layout of its own)
    layer: int | None
    epoch: int
    mats: dict[str, Mat] = field(default_factory=dict)
    dots: tuple[Dot, ...] = ()
    grid: Grid | None = None
    extra: tuple[Dot, ...] = ()  # a second set of dot products (the bias gradients)
    info: Any = None  # the layer's parameters
    entries: tuple[tuple[Cell, Cell], ...] = ()  # (z, f(z)) or (z, f'(z)) per entry, row by row
    step: Step | None = None  # the step it shows, for a generic section


@dataclass(frozen=True)
class Group:
    """The steps one op recorded for one layer in one phase of one gradient-descent step, and their sections; in the
    sheet layout, its `plan` (sheet.Part: what its template draws there, None for the walk-through)."""

    op: str
    node: int | None
    phase: str
    epoch: int
    steps: tuple[Step, ...]
    sections: tuple[Section, ...]
    part: str = ""  # the sub-network (a GAN's "G", "D", "G.D"), or ""
    batch: int = 1  # the samples of its network (N in the templates)
    plan: Any = None  # in the sheet layout, what its template draws there (sheet.Part); None: the walk-through

    @property
    def template(self) -> list[str]:
        """The templates that may draw it: the op's own, else the generic one."""
        return [f"ops/{self.op}.j2", "ops/generic.j2"]


DETAILS = ("sheet", "steps", "full")  # the key: the hand grid alone; with one worked entry of each kind; every entry
SCAFFOLDS = ("grid", "formulas", "blank")  # the worksheet: the grid; every entry's formula; only the given numbers


@dataclass(frozen=True)
class Options:
    """How a document is laid out and printed: the key's `detail`, the worksheet's `scaffold`, terminating fractions
    as decimals (`decimals_shown`), black and white (`mono`), the `paper`, and a student's name for the name line."""

    detail: str = "sheet"
    scaffold: str = "grid"
    decimals_shown: bool = False
    mono: bool = False
    paper: str = "a4"
    student: str = ""

    def __post_init__(self) -> None:
        from ..errors import RenderError
        from .layout import PAPERS

        for name, value, allowed in (("--detail", self.detail, DETAILS), ("--scaffold", self.scaffold, SCAFFOLDS),
                                     ("--paper", self.paper, tuple(PAPERS))):
            if value not in allowed:
                raise RenderError(f"unknown value {value!r} (choose {', '.join(allowed)})", field=name)

    def mode(self, worksheet: bool) -> str:
        """The layout: sheet (the hand grid), steps (and one worked entry of each kind), full (every entry written
        out: the key's --detail full, the worksheet's --scaffold formulas) or blank (the given numbers only)."""
        if worksheet and self.scaffold == "formulas":
            return "full"
        if worksheet and self.scaffold == "blank":
            return "blank"
        return self.detail


@dataclass(frozen=True)
class Document:
    """Everything a template needs: the exercise, its groups of sections, and how to print them."""

    exercise: Exercise
    groups: tuple[Group, ...]
    worksheet: bool
    decimals: int | None
    batch: int
    approximated: bool  # any exp_base or given predictions
    kit: "Kit | None" = None  # what an op template lays its own grids out with
    options: Options = Options()
    mode: str = "full"  # sheet, steps, full or blank (Options.mode)
    givens: tuple[tuple[str, "Mat", int | None], ...] = ()  # the blank scaffold's (name as maths, cells, rule before)
    printer: Any = None  # printer.Printer: how its values print (and how the page measures them)

    @property
    def sections(self) -> tuple[Section, ...]:
        """Every section, in order."""
        return tuple(s for g in self.groups for s in g.sections)

    @property
    def sheet(self) -> bool:
        """True in the sheet layout (the hand grid is the solution)."""
        return self.mode in ("sheet", "steps")


GIVEN_TEX = {"mask": "M"}  # a given's name on paper, where it is not its key's (dropout's mask is M, as drawn)
SCALARS = {"p": 0, "epsilon": 0, "temperature": 1}  # scalar keys a blank scaffold gives, unless at this default


def given_name(key: str, k: int) -> str:
    """A layer's given as maths, by its spec key: W_{3}, \\gamma_{2}, W_{q}^{[1]} (Wq: W with q below), h_{0}^{[1]}."""
    from .printer import GREEK, symbol_tex

    tex = GIVEN_TEX.get(key)
    if tex is None:
        two = re.fullmatch(r"([A-Za-z])([a-z])", key)
        tex = f"{two[1]}_{{{two[2]}}}" if two and key not in GREEK else symbol_tex(key)
    return f"{tex}^{{[{k}]}}" if "_" in tex else f"{tex}_{{{k}}}"


def other_givens(params: Any, trained: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The values a layer's spec gives beside its trained parameters: its matrices (attention's P, dropout's mask,
    h0), and dropout's p, a normalisation's epsilon, a softmax's temperature where they are not their default."""
    if not dataclasses.is_dataclass(params):
        return []
    out: list[tuple[str, Any]] = []
    for f in dataclasses.fields(params):
        v = getattr(params, f.name)
        if f.name in trained or v is None or (f.name == "b" and getattr(params, "has_bias", True) is False):
            continue  # (a dense layer without a bias holds a zero b it never uses)
        if isinstance(v, sp.MatrixBase) or (f.name in SCALARS and isinstance(v, sp.Expr) and v != SCALARS[f.name]):
            out.append((f.name, v))
    return out


def groups(steps: tuple[Step, ...]) -> list[tuple[tuple[int, int | None, str, str], list[Step]]]:
    """The steps grouped by (epoch, node, op, phase) (and part, in a GAN), in the order each group first appears."""
    return [((e, node, op, phase), found) for (e, _, node, op, phase), found in _groups(steps)]


def _groups(steps: tuple[Step, ...]) -> list[tuple[tuple[int, str, int | None, str, str], list[Step]]]:
    found: dict[tuple[int, str, int | None, str, str], list[Step]] = {}
    for s in steps:
        found.setdefault((s.epoch, s.part, s.node, s.op, s.phase), []).append(s)
    return list(found.items())


def build(solution: Solution, worksheet: bool = False, decimals: int | None = None, options: Options | None = None, *,
          detail: str | None = None, scaffold: str | None = None, decimals_shown: bool | None = None,
          mono: bool | None = None, paper: str | None = None, student: str | None = None) -> Document:
    """The document of a solution; on a worksheet only the exercise's given numbers are shown. Its layout: `options`,
    or the keywords (render's); its printer (`Document.printer`, printer.for_exercise) sizes the sheet's boxes and
    prints the values (render its templates with that printer in use: printer.use)."""
    from . import printer

    if options is None:
        shown = printer.rounds(solution.exercise) if decimals_shown is None else decimals_shown
        options = Options(detail or "sheet", scaffold or "grid", shown, bool(mono), paper or "a4", student or "")
    doc_printer = printer.for_exercise(solution.exercise, options.decimals_shown)
    from .layout import boxes_for

    boxes_for("dense")  # the sheet plans its grids for 1 cm boxes (base.j2 sets the size per group as it draws)
    with printer.use(doc_printer):
        return _build(solution, worksheet, decimals, options, doc_printer)


def _build(solution: Solution, worksheet: bool, decimals: int | None, options: Options, doc_printer: Any) -> Document:
    """The document itself, with its printer in use."""
    from . import sheet
    from .layout import PAGES

    mode = options.mode(worksheet)
    ex = solution.exercise
    builders = {part: _Builder(sub, worksheet, solution.steps, part, ex) for part, sub in (("", ex),) + ex.parts}
    out = []
    for (epoch, part, node, op, phase), steps in _groups(solution.steps):
        b = builders[part]
        info = b.ex.layers[node - 1] if node and b.ex.kind == "network" else None
        make = getattr(b, f"{op}_{phase}", None)
        sections = make(steps, node, epoch, info) if make is not None else b.generic(steps, node, epoch, info)
        out.append(Group(op, node, phase, epoch, tuple(steps), tuple(sections), part, b.batch))
    plans = sheet.plan(out, PAGES[options.paper], mode, decimals)
    out = [replace(g, plan=p) for g, p in zip(out, plans)]
    b = builders[""]
    return Document(ex, tuple(out), worksheet, decimals, b.batch, ex.approximates, Kit(b), options, mode,
                    b.given_numbers() if mode == "blank" else (), doc_printer)


def _kind(steps: list[Step], kind: str) -> list[Step]:
    return [s for s in steps if s.kind == kind]


def _one(steps: list[Step], kind: str) -> Step | None:
    found = _kind(steps, kind)
    return found[0] if found else None


def _the(steps: list[Step], kind: str) -> Step:
    """The step of `kind` that every group of this op and phase records."""
    return _kind(steps, kind)[0]


class _Builder:
    """Turns each op's group of steps into sections: one method per (op, phase), steps found by their kind."""

    def __init__(self, ex: Exercise, worksheet: bool, steps: tuple[Step, ...] = (), part: str = "",
                 whole: Exercise | None = None) -> None:
        self.ex, self.worksheet = ex, worksheet
        self.parts = frozenset(p for p, _ in (whole or ex).parts)  # the exercise's sub-networks (a GAN's G, D, G.D)
        self.names = frozenset(s.name for s in steps if s.part == part)  # recorded here: results
        self.givens = frozenset(s.name for s in steps if s.part == part and s.kind == "given")  # X, Y
        self.batch = ex.batch
        self.axis = 1 if self.batch > 1 else None  # colour by sample column when there are several

    def shown(self, given: bool) -> bool:
        """A given number is always printed; a result only in the key."""
        return given or not self.worksheet

    def cells(self, value: Value, given: bool, colour_axis: int | None = None) -> Mat:
        """A value that is given by the exercise (always printed) or computed (blank on a worksheet)."""
        return mat(value, self.shown(given), colour_axis, given=given)

    def param(self, value: Value, given: bool, bias: bool = False) -> Mat:
        """A trainable parameter: given in the first gradient-descent step (boxed), a result after; a bias grey."""
        return mat(value, self.shown(given), None, muted=bias, given=given, param=given)

    def given_numbers(self) -> tuple[tuple[str, Mat, int | None], ...]:
        """The numbers the exercise gives, as the blank scaffold prints them: X (A and B), each layer's parameters
        ([Wk | bk] for a dense layer), the targets Y, given predictions Ŷ, the learning rate."""
        from ..ops import op

        ex = self.ex
        if ex.kind == "matmul":
            return (("A", mat(ex.A, True), None), ("B", mat(ex.B, True), None))
        out: list[tuple[str, Mat, int | None]] = [("X", mat(ex.X, True, self.axis), None)]
        for n in ex.nodes:
            params = op(n.op).trainable(n.params)
            if n.op == "dense" and "b" in params:
                out.append((f"[W_{{{n.k}}} \\mid b_{{{n.k}}}]", mat(params["W"], True, param=True).beside(
                    mat(params["b"], True, muted=True, param=True)), params["W"].cols))
                continue
            for name, v in params.items():
                out.append((given_name(name, n.k), mat(v, True, param=True), None))
            for name, v in other_givens(n.params, params):  # what the layer reads but does not train (P, a mask, h0)
                out.append((given_name(name, n.k), mat(v, True), None))
        if ex.loss is not None:
            out.append(("Y", mat(ex.loss.Y, True, self.axis), None))
            if ex.loss.predictions is not None:
                out.append(("\\hat{Y}", mat(ex.loss.predictions, True, self.axis), None))
        if ex.train is not None:
            out.append(("\\eta", mat(ex.train.learning_rate, True), None))
        return tuple(out)


    def result(self, value: Value, by_sample: bool = True) -> Mat:
        """A computed value: blank on a worksheet."""
        return self.cells(value, False, self.axis if by_sample else None)

    def prev(self, k: int) -> str:
        """The quantity layer k reads from below: X or A(k−1)."""
        return self.ex.nodes[k - 1].inputs[0]

    def generic(self, steps: list[Step], k: int | None, e: int, info: Any) -> list[Section]:
        """A section per step, for an op whose layout is all in its template: the section's kind is the step's, its
        mats `value` (a result, blank on a worksheet, unless the step records a given: attention's P) and each input
        by name (given, or a result)."""
        return [Section(s.kind, k, e, {"value": self.cells(s.value, self.given(s.name, e),
                                                           self.axis if self.by_sample(s.value) else None)}
                        | {n: self.cells(v, self.given(n, e), self.axis if self.by_sample(v) else None)
                           for n, v in s.inputs},
                        info=info, step=s) for s in steps]

    def given(self, name: str, e: int) -> bool:
        """True for an input the exercise gives: X, and in the first gradient-descent step a parameter (a name no
        step records: W1, gamma2)."""
        if name.split(".", 1)[0] in self.parts:
            return False  # another part's quantity (a GAN's G.A1 in D.X): computed there
        return name in self.givens or (e == 1 and name not in self.names)

    def by_sample(self, value: Value) -> bool:
        """True when a value has one column per sample of a batch (coloured by sample)."""
        return self.batch > 1 and isinstance(value, sp.MatrixBase) and value.cols == self.batch

    def given_forward(self, steps: list[Step], k: None, e: int, info: None) -> list[Section]:
        s = steps[0]
        return [Section("given", None, e, {"X": mat(s.value, True, self.axis)})] if e == 1 else []

    def matmul_forward(self, steps: list[Step], k: None, e: int, info: None) -> list[Section]:
        s = _the(steps, "matmul")
        A, B, C = mat(s.operand("A"), True), mat(s.operand("B"), True), self.result(s.value, False)
        return [Section("matmul", None, e, {"A": A, "B": B, "C": C}, dots(A, B, C), Grid(A, B, C))]

    def dense_forward(self, steps: list[Step], k: int, e: int, info: Any) -> list[Section]:
        s, act, rounded = _the(steps, "linear"), _the(steps, "activation"), _one(steps, "round")
        prev = self.prev(k)
        W, A = self.param(s.operand(f"W{k}"), e == 1), self.cells(s.operand(prev), self.given(prev, e), self.axis)
        Z, Aout = self.result(s.value), self.result(act.value)
        mats = {"W": W, "A": A, "Z": Z, "Aout": Aout}
        if rounded is not None:  # Ak≈: the activation's values rounded, what the layer above reads
            mats["decimals"] = mat(rounded.operand("decimals"), True)
            mats["Around"] = decimal_cells(self.result(rounded.value), mats["decimals"])
        if info.has_bias:  # [W | b] · [A ; 1]
            b = mats["b"] = self.param(s.operand(f"b{k}"), e == 1, bias=True)
            grid = Grid(W.beside(b), A.above(ones(1, A.shape[1], self.axis)), Z, W.shape[1], A.shape[0])
        else:
            b, grid = None, Grid(W, A, Z)
        skip = None
        if info.skip is not None:  # + the residual, after the bias
            skip = mats["skip"] = self.cells(s.operand(info.skip), info.skip == "X", self.axis)
        return [Section("layer", k, e, mats, dots(W, A, Z, b, skip), grid, info=info,
                        entries=tuple(zip(Z.cells, Aout.cells)))]

    def loss_loss(self, steps: list[Step], k: int, e: int, info: Any) -> list[Section]:
        out = []
        for s in steps:
            if s.kind == "approx":
                out.append(Section("approx", k, e, {"Yhat": mat(s.value, True, self.axis),
                                                    "A": self.result(s.operand(f"A{k}"))}, info=info))
            elif s.kind == "loss":
                out.append(Section("loss", k, e, {"L": self.result(s.value, False)} | self._output(s, k, e), info=info))
            elif s.kind in ("grad_output", "grad_fused"):
                out.append(Section(s.kind, k, e, {"G": self.result(s.value)} | self._output(s, k, e), info=info))
        return out

    def _output(self, s: Step, k: int, e: int) -> dict[str, Mat]:
        """Ŷ (given when the exercise rounds it, in its first step) and Y."""
        loss = self.ex.loss
        assert loss is not None  # (a loss step's exercise has a loss)
        rounded = loss.predictions is not None and e == 1
        yhat = "Yhat" if "Yhat" in dict(s.inputs) else f"A{k}"
        return {"Yhat": self.cells(s.operand(yhat), rounded, self.axis), "Y": mat(s.operand("Y"), True, self.axis)}

    def dense_backward(self, steps: list[Step], k: int, e: int, info: Any) -> list[Section]:
        out = []
        d, gz = _one(steps, "derivative"), _one(steps, "grad_z")
        if d is not None:
            assert gz is not None  # (∂L/∂Z is recorded with the activation's derivative)
            Z, D = self.result(d.operand(f"Z{k}")), self.result(d.value)
            out.append(Section("grad_act", k, e, {"dA": self.result(gz.operand(f"dL/dA{k}")), "D": D, "Z": Z,
                                                  "dZ": self.result(gz.value)}, info=info,
                               entries=tuple(zip(Z.cells, D.cells))))
        elif gz is not None:  # softmax inside the network: no mask step
            out.append(Section("grad_softmax", k, e, {"dA": self.result(gz.operand(f"dL/dA{k}")),
                                                      "A": self.result(gz.operand(f"A{k}")),
                                                      "dZ": self.result(gz.value)},
                               info=info))
        gw, gb = _one(steps, "grad_w"), _one(steps, "grad_b")
        if gw is not None:  # (a frozen layer, a GAN's D in the generator's step, has no weight gradient)
            prev = self.prev(k)
            dZ, Ain = self.result(gw.operand(f"dL/dZ{k}")), self.cells(gw.operand(prev), self.given(prev, e), self.axis)
            dW = self.result(gw.value, False)
            by_row = 0 if self.axis else None  # the ones column of [A ; 1]ᵀ: one row per sample
            mats = {"dZ": dZ, "A": Ain, "dW": dW}
            if gb is not None:  # ∂L/∂Z · [A ; 1]ᵀ = [∂W | ∂b]
                db = mats["db"] = grey(self.result(gb.value, False))
                grid = Grid(dZ, Ain.T.beside(ones(Ain.shape[1], 1, by_row)), dW.beside(db), result_split=dW.shape[1])
                bias_dots = dots(dZ, ones(Ain.shape[1], 1, by_row), db)
            else:
                grid, bias_dots = Grid(dZ, Ain.T, dW), ()
            out.append(Section("grad_wb", k, e, mats, dots(dZ, Ain.T, dW), grid, bias_dots, info=info))
        for ga in _kind(steps, "grad_a"):
            W = self.param(ga.operand(f"W{k}"), e == 1)
            dZ, dA = self.result(ga.operand(f"dL/dZ{k}")), self.result(ga.value)
            out.append(Section("grad_a", k, e, {"W": W, "dZ": dZ, "dA": dA}, dots(W.T, dZ, dA), Grid(W.T, dZ, dA),
                               info=info, step=ga))
        return out

    def update_update(self, steps: list[Step], k: int, e: int, info: Any) -> list[Section]:
        out = []
        for kind, section in (("update", self._update), ("round", self._round)):
            found = {s.name: s for s in _kind(steps, kind)}
            mark = "'" if kind == "update" else "'≈"
            if f"W{k}{mark}" in found:  # a dense layer's [W | b]
                out.append(section(found, k, e, info))
            dense = (f"W{k}{mark}", f"b{k}{mark}") if f"W{k}{mark}" in found else ()
            out += [self._param(s, kind, k, e, info) for n, s in found.items() if n not in dense]
        return out

    def _param(self, s: Step, kind: str, k: int, e: int, info: Any) -> Section:
        """Any other parameter P's update P' = P − η·∂L/∂P (kind update_param) or its rounding (round_param)."""
        if kind == "update":
            p = s.name[:-len(f"{k}'")]
            mats = {"P": self.cells(s.operand(f"{p}{k}"), e == 1), "dP": self.result(s.operand(f"dL/d{p}{k}"), False),
                    "Pn": self.result(s.value, False), "eta": mat(s.operand("eta"), True)}
        else:
            p = s.name[:-len(f"{k}'≈")]
            d = mat(s.operand("decimals"), True)
            mats = {"P": self.result(s.operand(f"{p}{k}'"), False), "Pr": decimal_cells(self.result(s.value, False), d),
                    "decimals": d}
        return Section(f"{kind}_param", k, e, mats, info=info, step=s)

    def _update(self, found: dict[str, Step], k: int, e: int, info: Any) -> Section:
        s, ub = found[f"W{k}'"], found.get(f"b{k}'")
        mats = {"W": self.param(s.operand(f"W{k}"), e == 1), "dW": self.result(s.operand(f"dL/dW{k}"), False),
                "Wn": self.result(s.value, False), "eta": mat(s.operand("eta"), True)}
        if ub is not None:
            mats |= {"b": self.param(ub.operand(f"b{k}"), e == 1, bias=True),
                     "db": grey(self.result(ub.operand(f"dL/db{k}"), False)),
                     "bn": grey(self.result(ub.value, False))}
        return Section("update", k, e, mats, info=info)

    def _round(self, found: dict[str, Step], k: int, e: int, info: Any) -> Section:
        s, rb = found[f"W{k}'≈"], found.get(f"b{k}'≈")
        d = mat(s.operand("decimals"), True)
        mats = {"W": self.result(s.operand(f"W{k}'"), False), "Wr": decimal_cells(self.result(s.value, False), d),
                "decimals": d}
        if rb is not None:
            mats |= {"b": grey(self.result(rb.operand(f"b{k}'"), False)),
                     "br": grey(decimal_cells(self.result(rb.value, False), d))}
        return Section("round", k, e, mats, info=info)

    def parameters_forward(self, steps: list[Step], k: None, e: int, info: None) -> list[Section]:
        return [Section("parameters", None, e, {"count": self.result(steps[0].value, False)})]


class Kit:
    """What an op's template builds its own layouts with: cells of a value (given or a result, blank on a worksheet),
    the hand layout (`grid`), written-out dot products (`dots`) and the bias trick's ones."""

    def __init__(self, builder: _Builder) -> None:
        self._b = builder

    def cells(self, value: Value, given: bool = False, by_sample: bool = False) -> Mat:
        """A value as cells: given (always printed) or a result (blank on a worksheet); coloured per sample."""
        return self._b.cells(value, given, self._b.axis if by_sample else None)

    def grid(self, left: Mat, top: Mat, result: Mat, left_split: int | None = None, top_split: int | None = None,
             result_split: int | None = None) -> Grid:
        """`top` across the top, `left` down the left, `result` at their crossing; rules before the splits."""
        return Grid(left, top, result, left_split, top_split, result_split)

    def dots(self, left: Mat, right: Mat, result: Mat, bias: Mat | None = None) -> tuple[Dot, ...]:
        """Every entry of left·right (+ bias), term by term."""
        return dots(left, right, result, bias)

    def step(self, left: Mat | None, result: Mat, act: str = "identity", values: Mat | None = None, label: str = "",
             rounded: bool = False, ones: bool = False) -> Any:
        """One product of a cascade (sheet.Step): `left` times the rows above gives `result`, the activation applied
        where each entry stands (its value from `values`), `label` said at its right; `ones`: a row of 1s above it."""
        from .sheet import Step

        return Step(left, result, act, values, label, rounded, ones)

    def cascade(self, top: Mat, steps: tuple[Any, ...], top_label: str = "", places: int | None = None) -> Any:
        """The hand sheet of products chained down the page (sheet.cascade, printed by m.sheet): `top` across the
        top, each step's band under it."""
        from .sheet import cascade

        return cascade(top, tuple(steps), top_label, places)

    def pieces(self, sheet: Any, page: Any) -> list[Any]:
        """A sheet cut between its bands into parts no taller than most of a page (on paper; whole on a screen), each
        part printed as a display of its own (sheet.split)."""
        from .sheet import split

        room = 0.85 * page.text_height
        return split(sheet, room, room) if page.paper else [sheet]

    def band(self, dA: Mat, grad: Mat | None = None, top: Mat | None = None, dZ: Mat | None = None,
             Z: Mat | None = None, act: str = "identity", left: Mat | None = None, label: str = "",
             top_label: str = "") -> Any:
        """A band of a backward sheet (sheet.Band): ∂L/∂A through the activation to ∂L/∂Z where it stands, and on
        its right, under the copied `top`, the gradient ∂L/∂Z·top."""
        from .sheet import Band

        return Band(dA, grad, top, dZ, Z, act, left, label, top_label)

    def through(self, bands: tuple[Any, ...], places: int | None = None) -> Any:
        """A backward pass as one sheet (sheet.through, printed by m.sheet): its bands one under the other."""
        from .sheet import through

        return through(tuple(bands), places)

    def ones(self, rows: int, cols: int, by_sample: bool = False) -> Mat:
        """The bias trick's ones (grey, never a sample's colour: `by_sample` is kept for the templates that pass it)."""
        return ones(rows, cols, self._b.axis if by_sample else None)

    def param(self, value: Value, given: bool = True, bias: bool = False) -> Mat:
        """A trainable parameter's cells: boxed while the exercise gives it (the first gradient-descent step), a
        result after; a bias grey."""
        return self._b.param(value, given, bias)

    def decimals(self, m: Mat, places: int) -> Mat:
        """The cells of values the exercise rounds to `places` decimals, printed as decimals ("0.5")."""
        return decimal_cells(m, int(places))

    def grey(self, m: Mat) -> Mat:
        """The cells muted (grey): a bias's gradient."""
        return grey(m)

    # Cells rearranged, each kept as it is (a box on a worksheet, a given, a named entry on symnet serve's page):

    def block(self, m: Mat, r0: int, r1: int, c0: int, c1: int) -> Mat:
        """Rows r0 … r1 − 1 and columns c0 … c1 − 1 (0-based) of m."""
        return m.part(Block(r0, r1, c0, c1, m.shape))

    def reshape(self, m: Mat, rows: int, cols: int) -> Mat:
        """m's cells, row by row, in another shape (a map folded back from its row)."""
        cells = list(m.cells)
        return Mat(tuple(tuple(cells[i * cols:(i + 1) * cols]) for i in range(rows)))

    def pad(self, m: Mat, rows: int, cols: int) -> Mat:
        """m inside `rows` rows and `cols` columns of zeros (a zero padding, always printed)."""
        zero = Cell(sp.S.Zero)
        edge = (zero,) * (m.shape[1] + 2 * cols)
        return Mat((edge,) * rows + tuple((zero,) * cols + r + (zero,) * cols for r in m.rows) + (edge,) * rows)

    def gather(self, m: Mat, positions: list[int]) -> Mat:
        """One row: m's cells at these row-major positions (a window's entries)."""
        cells = list(m.cells)
        return Mat((tuple(cells[t] for t in positions),))
