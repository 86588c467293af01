"""The sheet layout: the hand grid as the whole solution. Consecutive dense layers cascade down one array (inputs on
top, [W | b] on the left, each result at its crossing, the activation applied there), the backward pass cascades the
same way (Wᵀ on the left, ∂L/∂A and its mask in the middle, ∂L/∂[W | b] on the right under [A ; 1]ᵀ), and the
updates of every layer make one display. `plan` decides, per group of steps, what the op templates draw."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sympy as sp

from . import layout
from .document import Cell, Dot, Mat, Section, mat, ones

if TYPE_CHECKING:
    from .document import Group

HEAD = 14.5  # em above the first grid on page 1: the title, name line, description and introduction, heading, words
COLSEP = 3 / 11  # \\arraycolsep of a sheet's array (3 pt; KaTeX keeps its own 5 pt, on a screen with no page)
HEADED = ("batch_norm", "layer_norm", "moe")  # ops whose backward template starts from ∂L/∂A = the loss's gradient
#                                               (its formula and its values: the loss panel says neither)
CUT = ("relu", "leaky_relu")  # activations applied by striking an entry (and writing its value beside it)
BESIDE = ("sigmoid", "tanh", "softmax")  # activations whose every value is written beside z, in its own box


@dataclass(frozen=True)
class Entry:
    """One place of a sheet: a number (given, a parameter, a 1 of the bias trick, or a result in its box), and beside
    a result the activation's value: in a box of its own (`act`, sigmoid), or, for an entry ReLU cuts (`cut`: struck
    through), its value in red in the room kept beside every entry of the column (`room`)."""

    cell: Cell
    act: Cell | None = None
    room: bool = False
    cut: bool = False
    approx: bool = False  # the value beside is a rounded one (≈)
    plus: bool = False  # an addend written after z, with its + (a skip's entry, added to z)


@dataclass(frozen=True)
class Label:
    """What a band of rows holds, for the template to say: kind input, forward, loss (the top of the backward pass),
    grad (a layer's ∂L/∂A, masked to ∂L/∂Z, and ∂L/∂[W | b]), copy ([A ; 1]ᵀ copied above ∂L/∂[W | b]), pass (the
    last layer's Wᵀ·∂L/∂Z: the gradient it passes down to `quantity`), dropout (A_k = s·diag(m)·`quantity`), dropped
    (a dropout's ∂L/∂A_k, which its diagonal passes down), sum, or text (an op template's own words)."""

    kind: str
    k: int | None = None
    act: str = ""
    bias: bool = True
    quantity: str = "X"  # the input's name (kind input, copy)
    fused: bool = False  # kind loss: ∂L/∂Z straight from the loss
    rounded: bool = False  # kind forward: the activation's values are rounded (≈)
    right: bool = True  # kind loss, grad: the band's ∂L/∂[W | b] is on its right (else in grids of its own)
    skip: str = ""  # kind forward, skip (the band's second row): the quantity added to Zk, on the right; kind sum:
    #                 the layer whose ∂L/∂Z the skip passes on to `quantity`
    text: str = ""  # kind text: the maths an op template writes there (its own sheet: `product`, `through`)


@dataclass(frozen=True)
class Row:
    """One row of a sheet: its left part (right-aligned to the rule), middle and right parts, a label, a rule above."""

    left: tuple[Entry | None, ...]
    mid: tuple[Entry | None, ...]
    right: tuple[Entry | None, ...] = ()
    label: Label | None = None
    rule: bool = False


@dataclass(frozen=True)
class Sheet:
    """One array of rows, with the box width of each column (left, middle, right), the box width of the values written
    beside each middle column (sigmoid's), the room kept beside the entries of each row for a cut entry's value, and
    the box height of each row (0: no box in it)."""

    rows: tuple[Row, ...]
    nl: int
    nm: int
    nr: int
    widths: tuple[float, ...] = ()
    acts: tuple[float, ...] = ()
    rooms: tuple[float, ...] = ()
    heights: tuple[float, ...] = ()

    @property
    def labels(self) -> bool:
        """True when some row has a label (the array then has a label column)."""
        return any(r.label is not None for r in self.rows)

    def width(self, page: layout.Page) -> float:
        """The estimated width of the array, in em."""
        out = 0.0
        room = max(self.rooms, default=0.0)
        for c in range(self.nl + self.nm + self.nr):
            entries = [e for r in self.rows for e in self._column(r, c) if e is not None]
            given = [layout.value_width(e.cell.value) + (0.9 if e.cell.param else 0.0) for e in entries if e.cell.given]
            w = max([self.widths[c]] + given) + (1.2 if any(e.plus for e in entries) else 0.0)
            if self.nl <= c < self.nl + self.nm:
                w += 0.3 + max(self.acts[c - self.nl], room)
            out += w + 2 * COLSEP
        label = max((layout.tex_width(_label_stand_in(r.label)) for r in self.rows if r.label), default=0.0)
        return out + label + 0.2

    def height(self) -> float:
        """The estimated height of the array, in em."""
        return sum(_row_height(h) for h in self.heights)

    def _column(self, r: Row, c: int) -> list[Entry | None]:
        row = r.left + r.mid + r.right
        return [row[c]] if c < len(row) else []

    def part(self, a: int, b: int) -> "Sheet":
        """Rows a … b−1 as a sheet of their own, with the same columns (so that the parts line up down the pages)."""
        return Sheet(self.rows[a:b], self.nl, self.nm, self.nr, self.widths, self.acts, self.rooms[a:b],
                     self.heights[a:b])


def _row_height(h: float) -> float:
    """A row's height in em: its boxes' and a little, or a line of numbers (\\arraystretch 1.25)."""
    return max(h + 0.22, 1.25 * 13.6 / 11)


def _label_stand_in(label: Label) -> str:
    """LaTeX about as wide as the template's words for a label (for the width estimate)."""
    if label.kind == "text":
        return r"\quad " + label.text
    return {"input": r"\quad X", "forward": r"\quad A_{1} = \operatorname{softmax}(Z_{1})",
            "loss": r"\quad \dfrac{\partial L}{\partial Z_{3}} \quad \dfrac{\partial L}{\partial [W_{3} | b_{3}]}",
            "copy": r"\quad [A_{1} ; 1]^{T}",
            "pass": r"\quad W_{1}^{T} \dfrac{\partial L}{\partial Z_{1}} = \dfrac{\partial L}{\partial A_{1}}",
            "dropout": r"\quad A_{2} = s \operatorname{diag}(m_{2}) A_{1}",
            "dropped": r"\quad \dfrac{\partial L}{\partial A_{2}}",
            "skip": r"\quad Z_{2} = W_{2} A_{1} + b_{2} + A_{1}",
            "sum": r"\quad W_{1}^{T} \dfrac{\partial L}{\partial Z_{1}} + \dfrac{\partial L}{\partial Z_{2}} = "
                   r"\dfrac{\partial L}{\partial A_{1}}",
            "grad": r"\quad \dfrac{\partial L}{\partial A_{2}} \to \dfrac{\partial L}{\partial Z_{2}} \quad "
                    r"\dfrac{\partial L}{\partial [W_{2} | b_{2}]}"}[label.kind]


def sized(rows: list[Row], nl: int, nm: int, nr: int, places: int | None = None) -> Sheet:
    """The sheet of these rows with its boxes sized from their answers: each column as wide as its widest answer,
    each row as high as its highest (at least 1 cm by 1 cm, layout.box); beside the entries of a layer (a band of
    rows under one rule), room as wide as its widest cut value."""
    widths, acts = [0.0] * (nl + nm + nr), [0.0] * nm
    heights, rooms = [], []
    for r in rows:
        h, room = 0.0, 0.0
        for c, e in enumerate(r.left + r.mid + r.right):
            if e is None:
                continue
            if not e.cell.given:
                w, hh = layout.slot(e.cell)
                widths[c], h = max(widths[c], w), max(h, hh)
            if e.act is not None:
                extra = 0.9 if e.approx else 0.0  # "≈ " before a rounded value; " ≈ 0.4955" after an inexact one
                if places is not None and not (e.act.value.is_Rational or e.act.value.free_symbols):
                    extra += layout.tex_width(r"\approx " + "0" * (places + 2))
                if e.room:  # the value is written only where the entry is cut (ReLU: always 0)
                    room = max(room, 0.8, layout.value_width(e.act.value) + 0.3 if e.cut else 0.0)
                else:
                    w, hh = layout.slot(e.act, extra)
                    j = c - nl
                    acts[j], h = max(acts[j], w), max(h, hh)
        heights.append(h)
        rooms.append(room)
    bands = [i for i, r in enumerate(rows) if r.rule] + [len(rows)]
    for a, b in zip([0] + bands, bands):
        widest = max(rooms[a:b], default=0.0)
        rooms[a:b] = [widest] * (b - a)
    return Sheet(tuple(rows), nl, nm, nr, tuple(widths), tuple(acts), tuple(round(x, 2) for x in rooms),
                 tuple(heights))


def right_aligned(cells: tuple[Entry, ...], n: int) -> tuple[Entry | None, ...]:
    """A row's left part: its entries against the rule, empty places before them."""
    return (None,) * (n - len(cells)) + cells


def left_aligned(cells: tuple[Entry, ...], n: int) -> tuple[Entry | None, ...]:
    """A row's right part: its entries after the rule, empty places after them."""
    return cells + (None,) * (n - len(cells))


def _plain(m: Mat) -> list[tuple[Entry, ...]]:
    return [tuple(Entry(c) for c in row) for row in m.rows]


def _activated(Z: Mat, A: Mat, act: str, rounded: Mat | None = None) -> list[tuple[Entry, ...]]:
    """Z's entries with the activation applied where they stand: struck with its value beside (ReLU: 0, leaky ReLU:
    α·z) where cut; every value beside in a box of its own for sigmoid, tanh and softmax (the rounded one when
    rounded); nothing for the identity."""
    out = []
    for i, row in enumerate(Z.rows):
        entries = []
        for j, z in enumerate(row):
            a = (rounded or A).at(i, j)
            if act in CUT:  # a z of exactly 0 stays as it is: f(0) = 0
                entries.append(Entry(z, a, room=True, cut=bool(z.value.is_negative)))
            elif act in BESIDE:
                entries.append(Entry(z, a, approx=rounded is not None))
            else:
                entries.append(Entry(z))
        out.append(tuple(entries))
    return out


def _masked(dA: Mat, dZ: Mat, Z: Mat | None, act: str) -> list[tuple[Entry, ...]]:
    """∂L/∂A with the activation's derivative applied where each entry stands: struck, with ∂L/∂Z beside it, where
    ReLU's mask (read off Z) cuts; ∂L/∂Z beside every entry (in its box) for sigmoid, tanh and softmax."""
    out = []
    for i, row in enumerate(dA.rows):
        entries = []
        for j, g in enumerate(row):
            if act in CUT and Z is not None:
                entries.append(Entry(g, dZ.at(i, j), room=True, cut=bool(Z.at(i, j).value.is_nonpositive)))
            elif act in BESIDE:
                entries.append(Entry(g, dZ.at(i, j)))
            else:
                entries.append(Entry(g))
        out.append(tuple(entries))
    return out


# ---------------------------------------------------------------- the forward cascade


@dataclass(frozen=True)
class Part:
    """What a group's template draws in the sheet layout: kind forward, backward, update, matmul or loss (drawn
    here: `sheets`, the `examples` of --detail steps, the `sections` it gathers), covered (drawn by an earlier
    group's part), or headed (another op's backward pass under the loss panel: it starts from ∂L/∂A itself)."""

    kind: str
    sheets: tuple[Sheet, ...] = ()
    sections: tuple[Section, ...] = ()
    examples: tuple[tuple[str, Any], ...] = ()  # (what, a Dot or a (section, index) pair)
    layers: tuple[int, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


def forward(sections: list[Section], top: Mat, top_label: Label, places: int | None = None) -> Sheet:
    """The cascade of consecutive dense layers: `top` (X, or the layer below's output) across the top, then each
    layer's [W | b] on the left and its Z (activated) in the middle; the 1s of the bias trick under each input."""
    N = top.shape[1]
    dense = [s for s in sections if s.kind == "layer"]
    nl = max([s.mats["W"].shape[1] + (1 if s.info.has_bias else 0) for s in dense]
             + [s.mats["mask"].shape[0] for s in sections if s.kind == "dropout"])
    nr = N if any(s.info.skip is not None for s in dense) else 0  # a skip's entries, right of the rule
    empty = (None,) * nr
    rows: list[Row] = []
    for i, r in enumerate(_plain(top)):
        rows.append(Row((None,) * nl, r, empty, label=top_label if i == 0 else None))
    for s in sections:
        k, info = s.layer, s.info
        if s.kind == "dropout":  # A_k = s·diag(m)·A(k−1): the mask, scaled, on the left of the input
            for i, r in enumerate(_plain(s.mats["value"])):
                rows.append(Row(right_aligned(tuple(Entry(c) for c in dropout_diagonal(s).rows[i]), nl), r, empty,
                                Label("dropout", k, quantity=_prev(s)) if i == 0 else None, rule=i == 0))
            continue
        if info.has_bias:
            rows.append(Row((None,) * nl, tuple(Entry(c) for c in ones(1, N).rows[0]), empty))
        W = s.mats["W"]
        left = W.beside(s.mats["b"]) if info.has_bias else W
        act_rows = _activated(s.mats["Z"], s.mats["Aout"], info.activation, s.mats.get("Around"))
        skip = s.mats.get("skip")
        for i in range(W.shape[0]):
            label = None
            if i == 0 or (i == 1 and skip is not None):
                label = Label("forward" if i == 0 else "skip", k, info.activation, info.has_bias,
                              quantity=_prev(s), rounded="Around" in s.mats,
                              skip=info.skip if skip is not None and (i == 1 or W.shape[0] == 1) else "")
            right = tuple(Entry(c, plus=True) for c in skip.rows[i]) if skip is not None else empty
            rows.append(Row(right_aligned(tuple(Entry(c) for c in left.rows[i]), nl), act_rows[i], right, label,
                            rule=i == 0))
    return sized(rows, nl, N, nr, places)


def backward(bands: list[dict[str, Any]], N: int, places: int | None = None, right: bool = True) -> Sheet:
    """The backward cascade, from the loss down: per layer k, [A(k−1) ; 1]ᵀ copied on the right, then a band whose
    middle holds ∂L/∂Ak with the activation's derivative applied (∂L/∂Zk), whose left holds W(k+1)ᵀ (the product that
    made ∂L/∂Ak from the band above), and whose right holds ∂L/∂[Wk | bk] (∂L/∂Zk times the row above)."""
    nl = max((b["WT"].shape[1] for b in bands if b.get("WT") is not None), default=0)
    nr = max((b["dW"].shape[1] + (1 if b["db"] is not None else 0) for b in bands if "dW" in b), default=0) \
        if right else 0
    rows: list[Row] = []
    for b in bands:
        k, info = b["k"], b["info"]
        if b.get("sum") is not None:  # a skip's source (one sample): W(k)ᵀ·∂L/∂Z(k), the sum on the right
            for i, (g, t) in enumerate(zip(b["via"].cells, b["sum"].cells)):
                via, sums = ((Entry(g),), left_aligned((Entry(t),), nr)) if nr else ((Entry(g, t),), ())
                rows.append(Row(right_aligned(tuple(Entry(c) for c in b["WT"].rows[i]), nl), via, sums,
                                Label("sum", k, quantity=b["q"], skip=b["added"]) if i == 0 else None, rule=i == 0))
            continue
        if b.get("passed") is not None:  # the last layer's W(k)ᵀ·∂L/∂Z(k): the gradient it passes down
            for i, r in enumerate(_plain(b["passed"])):
                rows.append(Row(right_aligned(tuple(Entry(c) for c in b["WT"].rows[i]), nl), r, (None,) * nr,
                                Label("pass", k, quantity=b["q"]) if i == 0 else None, rule=i == 0))
            continue
        trained = right and "dW" in b  # (a frozen layer, a GAN's D in the generator's step, has no ∂L/∂[W | b])
        top = (b["A"].T.beside(ones(N, 1)) if b["db"] is not None else b["A"].T) if trained else None
        for j, r in enumerate(_plain(top) if top is not None else []):
            rows.append(Row((None,) * nl, (None,) * N, left_aligned(r, nr),
                            Label("copy", k, bias=b["db"] is not None, quantity=b["prev"]) if j == 0 else None))
        grad = (b["dW"].beside(b["db"]) if b["db"] is not None else b["dW"]) if trained else None
        if b.get("dA") is not None:
            mid = _masked(b["dA"], b["dZ"], b.get("Z"), info.activation)
        else:
            mid = _plain(b["dZ"])
        for i, r in enumerate(mid):
            WT = b.get("WT")
            left = right_aligned(tuple(Entry(c) for c in WT.rows[i]), nl) if WT is not None else (None,) * nl
            label = None
            if i == 0 and b.get("dropout"):
                label = Label("dropped", k)
            elif i == 0:
                label = Label("loss" if b.get("WT") is None else "grad", k, info.activation, b["db"] is not None,
                              fused=b.get("dA") is None, right=trained)
            cells = left_aligned(tuple(Entry(c) for c in grad.rows[i]), nr) if grad is not None else (None,) * nr
            rows.append(Row(left, r, cells, label, rule=i == 0))
    return sized(rows, nl, N, nr, places)


# ---------------------------------------------------------------- an op template's own sheets (doc.kit)


@dataclass(frozen=True)
class Step:
    """One product of a cascade (an op template's): `left` (a weight; None: nothing on the left) times the rows above
    gives `result`, in the same columns, with `act` applied where each entry stands and its value from `values` (ReLU:
    struck, 0 beside; σ, tanh, softmax: beside in a box, ≈ when `rounded`); `label` said at the band's right; `ones`:
    the bias trick's 1s above the band."""

    left: Mat | None
    result: Mat
    act: str = "identity"
    values: Mat | None = None
    label: str = ""
    rounded: bool = False
    ones: bool = False  # a row of the bias trick's 1s above the band (under the values above: [A ; 1])


def cascade(top: Mat, steps: tuple[Step, ...], top_label: str = "", places: int | None = None) -> Sheet:
    """Products cascading down one sheet as the hand sheets chain them: `top` across the top (`top_label` at its
    right), then each step's band under a rule: its left factor against the rule, its result in the columns above."""
    nl, N = max((s.left.shape[1] for s in steps if s.left is not None), default=0), top.shape[1]
    rows = [Row((None,) * nl, r, label=Label("text", text=top_label) if i == 0 and top_label else None)
            for i, r in enumerate(_plain(top))]
    for s in steps:
        if s.ones:
            rows.append(Row((None,) * nl, tuple(Entry(c) for c in ones(1, N).rows[0])))
        values = s.values or s.result
        mid = _activated(s.result, values, s.act, values if s.rounded else None)
        for i, r in enumerate(mid):
            left = right_aligned(tuple(Entry(c) for c in s.left.rows[i]), nl) if s.left is not None else (None,) * nl
            rows.append(Row(left, r, label=Label("text", text=s.label) if i == 0 and s.label else None, rule=i == 0))
    return sized(rows, nl, N, 0, places)


@dataclass(frozen=True)
class Band:
    """One band of an op's backward sheet: ∂L/∂A in the middle with the activation's derivative applied where each
    entry stands (ReLU: struck where its mask, read off Z, cuts; ∂L/∂Z beside), `left` (a transposed weight) on its
    left, and on its right, under `top` (the input, transposed, copied above the band), the gradient `grad` =
    ∂L/∂Z·top; `label` said right of the band's first row, `top_label` right of the copy's."""

    dA: Mat
    grad: Mat | None = None
    top: Mat | None = None
    dZ: Mat | None = None
    Z: Mat | None = None
    act: str = "identity"
    left: Mat | None = None
    label: str = ""
    top_label: str = ""


def through(bands: tuple[Band, ...], places: int | None = None) -> Sheet:
    """An op's backward pass as one sheet: its bands one under the other, in the same columns."""
    nl = max((b.left.shape[1] for b in bands if b.left is not None), default=0)
    nr = max((b.grad.shape[1] for b in bands if b.grad is not None), default=0)
    N = bands[0].dA.shape[1]
    rows: list[Row] = []
    for b in bands:
        for j, r in enumerate(_plain(b.top) if b.top is not None and b.grad is not None else []):
            rows.append(Row((None,) * nl, (None,) * N, left_aligned(r, nr),
                            Label("text", text=b.top_label) if j == 0 and b.top_label else None))
        mid = _masked(b.dA, b.dZ, b.Z, b.act) if b.dZ is not None else _plain(b.dA)
        for i, r in enumerate(mid):
            lhs = right_aligned(tuple(Entry(c) for c in b.left.rows[i]), nl) if b.left is not None else (None,) * nl
            rhs = left_aligned(tuple(Entry(c) for c in b.grad.rows[i]), nr) if b.grad is not None else (None,) * nr
            rows.append(Row(lhs, r, rhs, Label("text", text=b.label) if i == 0 and b.label else None, rule=i == 0))
    return sized(rows, nl, N, nr, places)


def split(sheet: Sheet, room: float, first: float) -> list[Sheet]:
    """The sheet whole when it fits in `first` em (the room left where it starts), else in parts no taller than
    `room` (the first no taller than `first`), cut only before a rule (between layers) and balanced, so that no page
    is left holding a scrap of the grid."""
    heights = [_row_height(h) for h in sheet.heights]
    if sum(heights) <= first:
        return [sheet]
    starts = [i for i, r in enumerate(sheet.rows) if r.rule and i > 0]
    cuts = [0] + starts + [len(sheet.rows)]
    bands = [sum(heights[a:b]) for a, b in zip(cuts, cuts[1:])]
    count, used, limit = 1, 0.0, first
    for h in bands:  # how many parts, filled greedily
        if used and used + h > limit:
            count, used, limit = count + 1, 0.0, room
        used += h
    total, out, start, used, part = sum(bands), [], 0, 0.0, 1
    for n, h in enumerate(bands):  # then cut near equal heights, the first within `first`
        goal = min(first, total / count) if part == 1 else total * part / count - sum(bands[:start])
        if used and (used + h / 2 > goal or (part == 1 and used + h > first)) and part < count:
            out.append(sheet.part(cuts[start], cuts[n]))
            start, used, part = n, 0.0, part + 1
        used += h
    out.append(sheet.part(cuts[start], len(sheet.rows)))
    return out


# ---------------------------------------------------------------- the plan


def plan(groups: list["Group"], page: layout.Page, mode: str, places: int | None = None) -> list[Part | None]:
    """Per group, its part of the sheet layout (None: the group is drawn in full, the walk-through); `places`: the
    decimals shown beside inexact values (--decimals)."""
    parts: list[Part | None] = [None] * len(groups)
    if mode not in ("sheet", "steps"):
        return parts
    i = 0
    while i < len(groups):
        g = groups[i]
        if g.op == "dense" and g.phase == "forward" and _cascades(g):
            j = _extent(groups, i, True)
            if not _forward_part(groups, i, j, parts, page, mode, places) and _cascades(g, False):
                j = _extent(groups, i, False)  # too wide with a skip's columns: the cascade stops before its layer
                _forward_part(groups, i, j, parts, page, mode, places)
            i = j + 1
        elif (g.op == "loss" and i + 1 < len(groups) and _backward_dense(groups[i + 1])
              and groups[i + 1].part == g.part):
            j = i + 1
            while j + 1 < len(groups) and _descends(groups[j], groups[j + 1]):
                j += 1
            _backward_part(groups, i, j, parts, page, mode, places)
            i = j + 1
        elif (g.op == "loss" and i + 1 < len(groups) and groups[i + 1].op in HEADED
              and groups[i + 1].phase == "backward" and groups[i + 1].part == g.part and _short_loss(g, page)):
            parts[i], parts[i + 1] = Part("loss"), Part("headed")
            i += 2
        elif _backward_dense(g) and i > 0 and _hands_down(groups[i - 1], g):  # the ∂L/∂A another op passes down
            j = i
            while j + 1 < len(groups) and _descends(groups[j], groups[j + 1]):
                j += 1
            _backward_part(groups, i - 1, j, parts, page, mode, places, loss=False)
            i = j + 1
        elif g.op == "update":
            j = i
            while (j + 1 < len(groups) and groups[j + 1].op == "update" and groups[j + 1].epoch == g.epoch
                   and groups[j + 1].part == g.part):
                j += 1
            sections = tuple(s for n in range(i, j + 1) for s in groups[n].sections)
            if sections:
                parts[i] = Part("update", sections=sections, examples=_update_examples(sections, mode))
                for n in range(i + 1, j + 1):
                    parts[n] = Part("covered")
            i = j + 1
        elif g.op == "matmul":
            parts[i] = Part("matmul", examples=(("dot", g.sections[0].dots[0]),) if mode == "steps" else ())
            i += 1
        else:
            i += 1
    for n, g in enumerate(groups):
        if g.op == "loss" and parts[n] is None and _short_loss(g, page):  # no dense cascade below: the panel says
            below = groups[n + 1] if n + 1 < len(groups) else None  # the gradient it hands down too (its values,
            heads = below is not None and below.op in HEADS_BACKWARD and below.phase == "backward"  # unless the op
            parts[n] = Part("loss", extra={"gradient": "formula" if heads else "values"})  # below draws them)
        elif g.op == "given" and parts[n] is None and _drawn_input(groups, n, parts):
            parts[n] = Part("covered")
    return parts


# The ops whose sheet layout draws the input it reads (X across the top of its hand grid, or its maps): the given X,
# read by one of them first, is not shown on its own.
DRAWS_INPUT = frozenset({"conv2d", "conv1d", "max_pool", "avg_pool", "activation", "attention",
                         "multi_head_attention", "rnn", "lstm"})


# The ops whose sheet layout starts its backward pass from the values of the ∂L/∂A handed down to it (the middle of its
# band), not its formula: the loss's panel gives that formula alone, not the values again (HEADED: neither).
HEADS_BACKWARD = frozenset({"conv2d", "conv1d", "max_pool", "avg_pool", "rnn"})


def _drawn_input(groups: list["Group"], n: int, parts: list[Part | None]) -> bool:
    """True when the given X (group n) is drawn by what reads it: the forward cascade it heads, or an op that draws
    its input (DRAWS_INPUT)."""
    part = groups[n].part
    heads = any(p is not None and p.kind == "forward" and p.extra.get("quantity") == "X" and groups[m].part == part
                for m, p in enumerate(parts))
    first = next((g for g in groups[n + 1:] if g.phase == "forward" and g.part == part), None)
    return heads or (first is not None and first.node == 1 and first.op in DRAWS_INPUT)


def _backward_dense(g: "Group") -> bool:
    return g.op == "dense" and g.phase == "backward"


def _cascades(g: "Group", skip: bool = True) -> bool:
    """True for a dense layer the cascade can draw (with `skip`, one with a skip too: its entries on the right), or
    a dropout in training on one sample (its scaled mask a diagonal on the left of the input)."""
    if not g.sections:
        return False
    if g.op == "dropout":
        return _one_sample_dropout(g.sections[0])
    return g.sections[0].kind == "layer" and (skip or g.sections[0].info.skip is None)


def _one_sample_dropout(s: Section) -> bool:
    """True for a dropout section (in training, or its gradient) on one sample: its mask makes a diagonal."""
    return s.kind in ("dropout", "grad_dropout") and s.mats["value"].shape[1] == 1 == s.mats["mask"].shape[1]


def dropout_diagonal(s: Section) -> Mat:
    """A dropout's s·diag(m): the scale where a unit is kept (as the decimal it is given as: 1.5), 0 elsewhere."""
    m, scale = s.mats["mask"], s.mats["scale"].at(0, 0).value
    places = next((k for k in range(1, 7) if (scale * 10**k).is_Integer), None) if not scale.is_Integer else None
    n = m.shape[0]
    return Mat(tuple(tuple(Cell(scale, places=places) if i == j and not m.at(i, 0).value.is_zero else Cell(sp.S.Zero)
                           for j in range(n)) for i in range(n)))


def _follows(a: "Group", b: "Group", skip: bool = True) -> bool:
    return (b.op in ("dense", "dropout") and b.phase == "forward" and b.epoch == a.epoch and b.part == a.part
            and a.node is not None and b.node == a.node + 1 and _cascades(b, skip))


def _extent(groups: list["Group"], i: int, skip: bool) -> int:
    """The last group of the forward cascade starting at group i."""
    j = i
    while j + 1 < len(groups) and _follows(groups[j], groups[j + 1], skip):
        j += 1
    return j


def _short_loss(g: "Group", page: layout.Page) -> bool:
    """True when the loss's L is short enough for the loss panel (a long one: its walk-through breaks it into lines)."""
    L = next((s.mats["L"].at(0, 0) for s in g.sections if s.kind == "loss"), None)
    return L is None or layout.cell_width(L) < 0.4 * page.width


def _hands_down(a: "Group", b: "Group") -> bool:
    """True when dense layer b's backward pass follows another op's (a), which passes it its ∂L/∂A: a batch norm's,
    a mixture's, a convolution's, a GAN's (the grid then starts from that gradient, not from the loss)."""
    return (a.phase == "backward" and a.op not in ("dense", "loss") and a.epoch == b.epoch and a.part == b.part
            and bool(b.sections))


def _descends(a: "Group", b: "Group") -> bool:
    return ((b.op == "dense" or (b.op == "dropout" and bool(b.sections) and _one_sample_dropout(b.sections[0])))
            and b.phase == "backward" and b.epoch == a.epoch and b.part == a.part
            and a.node is not None and b.node == a.node - 1 and bool(b.sections))


def _forward_part(groups: list["Group"], i: int, j: int, parts: list[Part | None], page: layout.Page,
                  mode: str, places: int | None) -> bool:
    """The forward part of groups i … j; False when too wide for the page (nothing planned)."""
    sections = [g.sections[0] for g in groups[i:j + 1]]
    first = sections[0]
    k = int(first.layer or 1)
    quantity = "X" if k == 1 else f"A{k - 1}"
    sheet = forward(sections, first.mats["A"], Label("input", k, quantity=quantity), places)
    if sheet.width(page) > page.text_width:
        return False  # too wide for the page: the walk-through, which splits what it must
    room = 0.85 * page.text_height
    pieces = split(sheet, room, page.text_height - HEAD if k == 1 and first.epoch == 1 else room)
    examples: list[tuple[str, Any]] = []
    if mode == "steps":
        examples.append(("z", first.dots[0]))
        seen = set()
        for s in sections:
            act = s.info.activation if s.kind == "layer" else "identity"
            if act == "identity" or act in seen:
                continue
            seen.add(act)
            index = next((n for n, (z, _) in enumerate(s.entries) if z.value.is_nonpositive), 0) if act in CUT else 0
            examples.append((act, (s, index)))
    parts[i] = Part("forward", tuple(pieces), tuple(sections), tuple(examples),
                    tuple(int(s.layer or 0) for s in sections), {"quantity": quantity})
    for n in range(i + 1, j + 1):
        parts[n] = Part("covered")
    return True


def _backward_part(groups: list["Group"], i: int, j: int, parts: list[Part | None], page: layout.Page, mode: str,
                   places: int | None, loss: bool = True) -> None:
    """The backward grid of the dense groups i + 1 … j, headed by the gradient the group i gives them: the loss's
    (`loss`: its panel planned too), or the ∂L/∂A another op passes down (that op draws its own group); nothing
    planned when it does not fit."""
    head, layers = groups[i], groups[i + 1:j + 1]
    bands: list[dict[str, Any]] = []
    above: Section | None = None  # the grad_a section of the layer above (∂L/∂A(k) = W(k+1)ᵀ·∂L/∂Z(k+1))
    for g in layers:
        by = {s.kind: s for s in g.sections}
        if "grad_dropout" in by:  # its band: ∂L/∂A_k (from above); below it, s·diag(m)ᵀ makes ∂L/∂A(k−1)
            d = by["grad_dropout"]
            if above is None or g is layers[0]:
                return
            bands.append({"k": g.node, "info": d.info, "db": None, "dZ": d.mats[f"dL/dA{g.node}"], "prev": _prev(d),
                          "WT": above.mats["W"].T, "dropout": True})
            above = Section("grad_a", d.layer, d.epoch, {"W": dropout_diagonal(d), "dA": d.mats["value"]}, step=d.step,
                            info=d.info)
            continue
        wb, act, ga = by.get("grad_wb"), by.get("grad_act") or by.get("grad_softmax"), by.get("grad_a")
        first = next((s for s in (wb, act, ga) if s is not None), None)
        if first is None or (not loss and g is layers[0] and act is None):
            return  # (nothing to draw; or a head without the ∂L/∂A it starts from)
        band: dict[str, Any] = {"k": g.node, "info": first.info, "db": None, "dZ": first.mats["dZ"],
                                "prev": _prev(first)}
        if wb is not None:  # (a frozen layer, a GAN's D in the generator's step, has no weight gradient)
            band |= {"A": wb.mats["A"], "dW": wb.mats["dW"], "db": wb.mats.get("db")}
        if act is not None:  # ∂L/∂Ak, through the activation to ∂L/∂Zk (fused with the loss: ∂L/∂Zk alone)
            band |= {"dA": act.mats["dA"], "dZ": act.mats["dZ"], "Z": act.mats.get("Z")}
        if above is not None:
            band["WT"] = above.mats["W"].T
        bands.append(band)
        above = ga
        if g is not layers[-1] and above is None:
            return
    batch = bands[0]["dZ"].shape[1]  # (the columns of the layers' values: an image's maps read as rows are one sample)
    fork = None  # the last layer passes its gradient on to a skip's source: the sum of both paths, in a last band
    q = above.step.name[4:].split(" via ")[0] if above is not None and above.step is not None else ""
    if above is not None:
        nxt = groups[j + 1] if j + 1 < len(groups) else None
        if (nxt is not None and nxt.op == "fork" and nxt.sections and nxt.epoch == head.epoch
                and nxt.part == head.part and nxt.sections[0].step is not None
                and nxt.sections[0].step.name == f"dL/d{q}"):
            if batch != 1:
                return  # (a batch's sums: the walk-through)
            fork = nxt.sections[0]
    if fork is not None and above is not None and fork.step is not None:
        added = [n[4:] for n, _ in fork.step.inputs if " via " not in n]  # the residual's part: ∂L/∂Zj
        if len(added) != 1:
            return
        bands.append({"k": int(layers[-1].node or 1), "info": layers[-1].sections[0].info, "sum": fork.mats["value"],
                      "via": above.mats["dA"], "WT": above.mats["W"].T, "q": q, "added": added[0]})
    elif above is not None:  # the gradient the last layer passes down (to another op, or to X)
        bands.append({"k": int(layers[-1].node or 1), "info": above.info, "passed": above.mats["dA"],
                      "WT": above.mats["W"].T, "q": q})
    sheet, grids = backward(bands, batch, places), ()  # type: tuple[Sheet, tuple[Section, ...]]
    if sheet.width(page) > page.text_width:  # too wide with the gradients on the right: each in a grid of its own
        sheet = backward(bands, batch, places, right=False)
        grids = tuple(s for g in layers for s in g.sections if s.kind == "grad_wb")
        if sheet.width(page) > page.text_width or any(s.grid is None or page.grid(s.grid) is None for s in grids):
            return
    pieces = split(sheet, 0.85 * page.text_height, 0.85 * page.text_height)
    examples: list[tuple[str, Any]] = []
    if mode == "steps":
        wb = next((s for s in layers[0].sections if s.kind == "grad_wb"), None)
        if wb is not None:
            examples.append(("w", wb.dots[0]))
            if wb.extra:
                examples.append(("b", wb.extra[0]))
        ga = next((s for g in layers for s in g.sections if s.kind == "grad_a"), None)
        if ga is not None:
            examples.append(("a", ga.dots[0]))
    if loss and _short_loss(head, page):
        parts[i] = Part("loss")
    sums = ({"q": bands[-1]["q"], "k": bands[-1]["k"], "added": bands[-1]["added"]},) if fork is not None else ()
    above_node = None if loss else head.node  # the layer whose ∂L/∂A heads the grid, when not the loss's
    parts[i + 1] = Part("backward", tuple(pieces), tuple(s for g in layers for s in g.sections), tuple(examples),
                        tuple(int(g.node or 0) for g in layers),
                        {"grids": grids, "sums": sums, "loss": loss, "above": above_node})
    for n in range(i + 2, j + 1 + (fork is not None)):
        parts[n] = Part("covered")


def _prev(section: Section) -> str:
    """The name of the quantity a dense layer reads (X or A(k−1))."""
    k = int(section.layer or 1)
    return "X" if k == 1 else f"A{k - 1}"


def _update_examples(sections: tuple[Section, ...], mode: str) -> tuple[tuple[str, Any], ...]:
    if mode != "steps":
        return ()
    first = next((s for s in sections if s.kind in ("update", "update_param")), None)
    return (("update", first),) if first is not None else ()


def given_cells(value: Any, colour: int | None = None) -> Mat:
    """A given value as cells (for the worksheet's givens)."""
    return mat(value if isinstance(value, sp.MatrixBase) else sp.ImmutableMatrix([[value]]), True, colour)


__all__ = ["Band", "Entry", "Label", "Part", "Row", "Sheet", "Step", "cascade", "plan", "sized", "through", "Dot"]
