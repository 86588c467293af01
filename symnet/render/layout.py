"""How big a printed piece of maths is, and how a page makes room for it."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import sympy as sp

from . import printer
from .document import Block, Cell, Dot, Grid, Mat
from .env import tex_terms

# Widths and heights are estimated in em of the 11 pt Computer Modern the LaTeX document uses, from the
# same LaTeX the templates print; each estimate is on the safe side (a little wider than pdflatex sets it).
# The page policy built on them (`Page`) decides, for the PDF, which displays print at their natural size,
# which are scaled down a little to the text width (never below `Page.min_scale`), and which are broken:
# a matrix into blocks of columns (and of rows, when taller than a page), a hand layout into blocks of its
# result's columns, a chain of matrices into one matrix per display, a written-out sum into several lines
# aligned under its first term. Markdown has no page: nothing is split or scaled there, but long sums are
# wrapped at the same width as on paper, so the two documents read alike.

# ---------------------------------------------------------------- widths of LaTeX text, in em

_DIGIT, _LETTER, _UPPER, _SYMBOL = 0.5, 0.6, 0.8, 0.8
_BIN = 0.78 + 2 * 0.23  # "+" with its medium spaces
_REL = 0.78 + 2 * 0.28  # "=" with its thick spaces
_WIDE = {"m": 0.9, "w": 0.75}
_SCRIPT = 0.73  # sub- and superscripts: 8 pt on 11 pt
_FRAC_PAD = 0.25  # \nulldelimiterspace on both sides of a fraction
BLANK = 1.65  # \fbox{\phantom{00}}: two digits, \fboxsep and \fboxrule on both sides
_WORDS = {"log": 1.4, "exp": 1.6, "max": 1.8, "tanh": 2.2, "sin": 1.3, "cos": 1.4, "Max": 2.1, "Min": 2.0,
          "operatorname": 0.0, "mathrm": 0.0, "text": 0.0, "mathsf": 0.0}
_SPACES = {",": 0.17, ":": 0.22, ";": 0.28, " ": 0.33, "!": -0.17, "quad": 1.0, "qquad": 2.0}
_IGNORED = {"displaystyle", "textstyle", "left", "right", "big", "Big", "bigl", "bigr", "mathsf", "mathrm",
            "operatorname", "limits", "cancel"}
_TOKEN = re.compile(r"\\([A-Za-z]+|.)|([0-9])|([a-z])|([A-Z])|(\s+)|(.)", re.S)


def _group(text: str, start: int) -> tuple[str, int]:
    """The text of the {…} group (or single token) at `start`, and the index after it."""
    while start < len(text) and text[start].isspace():
        start += 1
    if start >= len(text):
        return "", start
    if text[start] != "{":
        m = _TOKEN.match(text, start)
        assert m is not None  # (_TOKEN matches any one character)
        return m.group(0), m.end()
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{" and (i == 0 or text[i - 1] != "\\"):
            depth += 1
        elif text[i] == "}" and text[i - 1] != "\\":
            depth -= 1
            if depth == 0:
                return text[start + 1:i], i + 1
    return text[start + 1:], len(text)


def _matching_right(text: str, start: int) -> int:
    """The index of the \\right that closes the \\left just before `start` (the text's end if none)."""
    depth = 1
    for m in re.finditer(r"\\(left|right)(?![A-Za-z])", text[start:]):
        depth += 1 if m.group(1) == "left" else -1
        if depth == 0:
            return start + m.start()
    return len(text)


_SIZE = (1.0, 1.0, 0.73, 0.6)  # display, text, script, scriptscript: 11, 11, 8 and 6 pt
_FRAC_STYLE = (1, 2, 3, 3)  # the style of a fraction's numerator and denominator
_SCRIPT_STYLE = (2, 2, 3, 3)  # the style of a sub- or superscript


@functools.lru_cache(maxsize=65536)
def tex_width(text: str, style: int = 0) -> float:
    """The estimated width, in em of the body font, of maths written in LaTeX (display style unless told)."""
    tall: list[bool] = []  # per open \\left: whether it holds a fraction (so its delimiters grow)
    width, i, prev = 0.0, 0, ""  # prev: "" at the start of a group, "op" after an operator, "atom" otherwise
    while i < len(text):
        size = _SIZE[style]
        m = _TOKEN.match(text, i)
        assert m is not None  # (_TOKEN matches any one character)
        i = m.end()
        command, digit, letter, upper, space, other = m.groups()
        if space or other == "&":
            continue
        if command is not None:
            if command in ("displaystyle", "textstyle"):
                style = 0 if command == "displaystyle" else 1
                continue
            if command in ("left", "right"):
                delim, i = _group(text, i)
                if command == "left":
                    tall.append("\\frac" in text[i:_matching_right(text, i)])
                big = (tall.pop() if tall else False) if command == "right" else tall[-1]
                width += 0.0 if delim == "." else (0.7 if big else 0.4) * size  # sized to its contents
                prev = "op" if command == "left" else "atom"
                continue
            if command in _IGNORED:
                continue
            if command in ("frac", "dfrac", "tfrac"):
                num, i = _group(text, i)
                den, i = _group(text, i)
                frac_style = _FRAC_STYLE[0 if command == "dfrac" else 1 if command == "tfrac" else style]
                width += max(tex_width(num, frac_style), tex_width(den, frac_style)) + _FRAC_PAD * size
            elif command in ("phantom", "boxed", "fbox", "sqrt"):
                inner, i = _group(text, i)
                pad = {"phantom": 0.0, "boxed": 0.65, "fbox": 0.65, "sqrt": 0.9}[command]
                width += tex_width(inner, style) + pad * size
            elif command == "kern":
                m = re.match(r"\s*(-?[\d.]+)em", text[i:])
                width += float(m.group(1)) * size if m else 0.0
                i += m.end() if m else 0
            elif command == "textcolor":
                _, i = _group(text, i)
            elif command == "text":
                inner, i = _group(text, i)
                width += 0.5 * len(inner) * size
            elif command in _SPACES:
                width += _SPACES[command] * size
            elif command in _WORDS:
                width += (_WORDS[command] + 0.17) * size
            elif command in ("cdot", "pm", "mp", "times", "odot", "oslash"):
                width += (_BIN if style < 2 else 0.78) * size
            elif command in ("le", "ge", "ne", "approx", "to", "mid"):
                width += (_REL if style < 2 else 0.78) * size
            elif command in ("{", "}"):
                width += 0.5 * size
            elif command != "\\":
                width += (_LETTER if len(command) > 1 else 0.4) * size  # a Greek letter, \\ldots, or punctuation
            prev = "atom"
        elif digit or letter or upper:
            width += (_DIGIT if digit else _UPPER if upper else _WIDE.get(letter, _LETTER)) * size
            prev = "atom"
        elif other in "^_":
            inner, i = _group(text, i)
            width += tex_width(inner, _SCRIPT_STYLE[style])
        elif other in "+-":
            width += (_BIN if prev == "atom" and style < 2 else _SYMBOL) * size  # unary after an operator
            prev = "op"
        elif other in "=<>":
            width += (_REL if style < 2 else _SYMBOL) * size
            prev = "op"
        elif other == "{":
            inner, i = _group(text, i - 1)
            width += tex_width(inner, style)
            prev = "atom"
        elif other in "()[]|,;":
            width += 0.45 * size
            prev = "op" if other in "([,;" else "atom"
        else:
            width += _SYMBOL * size
            prev = "atom"
    return width


def tex_height(text: str, style: int = 0) -> float:
    """The estimated height (ascent plus descent), in em, of maths written in LaTeX (display style unless told)."""
    up, down = _extent(text, style)
    return up + down


@functools.lru_cache(maxsize=65536)
def _extent(text: str, style: int = 0) -> tuple[float, float]:
    """(ascent, descent) of LaTeX maths in em: fractions stack around the axis, scripts raise and lower."""
    size = _SIZE[style]
    up, down = 0.75 * size, 0.25 * size
    i = 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        assert m is not None  # the last alternative matches any character
        i = m.end()
        command, other = m.group(1), m.group(6)
        if command in ("displaystyle", "textstyle"):
            style, size = (0, _SIZE[0]) if command == "displaystyle" else (1, _SIZE[1])
        elif command in ("frac", "dfrac", "tfrac"):
            num, i = _group(text, i)
            den, i = _group(text, i)
            sub = _FRAC_STYLE[0 if command == "dfrac" else 1 if command == "tfrac" else style]
            gap = 0.3 if (style == 0 or command == "dfrac") and command != "tfrac" else 0.12
            (nu, nd), (du, dd) = _extent(num, sub), _extent(den, sub)
            up, down = max(up, 0.25 * size + gap + nu + nd), max(down, gap - 0.25 * size + du + dd)
        elif command in ("sqrt", "boxed", "fbox", "phantom", "cancel", "underline"):
            body, i = _group(text, i)
            a, d = _extent(body, style)
            pad = {"sqrt": 0.15, "boxed": 0.3, "fbox": 0.3}.get(command, 0.0) * size
            up, down = max(up, a + pad), max(down, d + pad)
        elif other in ("^", "_"):
            body, i = _group(text, i)
            a, d = _extent(body, _SCRIPT_STYLE[style])
            if other == "^":
                up = max(up, 0.4 * size + a)
            else:
                down = max(down, 0.15 * size + d)
        elif other == "{":
            body, i = _group(text, i - 1)
            a, d = _extent(body, style)
            up, down = max(up, a), max(down, d)
    return up, down


# ---------------------------------------------------------------- sizes of printed matrices and sums, in em

EM_PER_MM = 72.27 / 25.4 / 11  # one mm in em of 11 pt
LINE = 45.0  # the LaTeX text width: A4 less two 18 mm margins, 174 mm, in 11 pt em
TEXT_HEIGHT = 67.5  # the LaTeX text height: 261 mm
PAPERS = {"a4": (210.0, 297.0), "letter": (215.9, 279.4)}  # mm; the margins are 18 mm on every side
MARGIN_MM = 18.0
BOX = 10 * EM_PER_MM  # the least answer box: 1 cm by 1 cm
PAD = 0.7  # room around an answer inside its box, in em (both directions)
SAFETY = 1.05  # estimates run up to 5 % short on nested symbolic expressions
_COLSEP = 2 * 5 / 11  # \arraycolsep on both sides of a column
_BRACKETS = 2 * 0.6  # a matrix's [ and ], grown to its height
_BASELINE = 13.6 / 11  # \baselineskip of 11 pt, the unit of an array row
_LABEL = 1.2  # the line "columns 1–8 of 16" under a block
_PARENS = (0.8, 1.4)  # "( )" around a number, around a fraction
_THIN = 0.17


def value_width(value: sp.Expr) -> float:
    """The width of a value as the templates print it (`maths.j2`'s number), with the document's printer."""
    p = printer.current()
    return _value_width(value, p.key) if _hashable(value) else tex_width(p.tex(value))


@functools.lru_cache(maxsize=65536)
def _value_width(value: sp.Expr, key: object) -> float:
    return tex_width(printer.current().tex(value))


def value_height(value: sp.Expr) -> float:
    """The height (above and below the baseline) of a value as the templates print it: a fraction in display size."""
    text = printer.current().tex(value)
    return tex_height(text, 0 if "\\frac" in text else 1)


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


# The ops whose templates plan their pages for answer boxes of at least 1 cm (the sheet layout's); another op's
# template (one written before them) gets boxes sized from the answer but only as small as an answer needs, so that
# its lines keep fitting; it joins here once it plans for the larger boxes (docs/architecture.md).
SIZED_OPS = frozenset({"given", "matmul", "dense", "loss", "update", "parameters", "fork", "generic"})
SMALL_BOX = (1.65, 1.35)  # the least box of the others: two digits' room
_SIZED: ContextVar[bool] = ContextVar("symnet_sized_boxes", default=True)


def boxes_for(op: str) -> str:
    """Called by base.j2 before it draws each group: its answer boxes are the 1 cm ones when `op` plans for them
    (SIZED_OPS), else the small ones. Gives '' (a template prints what it calls)."""
    _SIZED.set(op in SIZED_OPS)
    return ""


def box(width: float, height: float) -> tuple[float, float]:
    """The box of an answer this wide and high (em): a margin around it, at least 1 cm by 1 cm (for an op that plans
    for it: SIZED_OPS); the key prints the answer in the same box (its frame unseen), so that key and worksheet take
    the same room."""
    least_w, least_h = (BOX, BOX) if _SIZED.get() else SMALL_BOX
    pad = PAD if _SIZED.get() else 0.4
    return round(max(least_w, width + pad), 2), round(max(least_h, height + pad), 2)


def printed_width(c: Cell) -> float:
    """The width of a cell's number as printed (a rounded value as its decimals)."""
    if c.places is not None:
        return tex_width(printer.current().fixed(c.value, c.places))
    return value_width(c.value)


def slot(c: Cell, extra: float = 0.0) -> tuple[float, float]:
    """The box of a result cell (`extra`: parentheses or a mark printed with it inside the box)."""
    return box(printed_width(c) + extra, 1.0 if c.places is not None else value_height(c.value))


def cell_width(c: Cell) -> float:
    """A cell's width in the key or on the worksheet: a given number as printed, a result its box."""
    return printed_width(c) if c.given else slot(c)[0]


def factor_width(c: Cell) -> float:
    """A factor of a written-out product: in parentheses (inside its box, for a result)."""
    parens = _PARENS[not (c.value.is_Integer or c.value.is_Symbol)]
    return value_width(c.value) + parens if c.given else slot(c, parens)[0]


def addend_width(c: Cell) -> float:
    """A bias added at the end of a product: in parentheses when negative or a sum."""
    v = c.value
    parens = _PARENS[not v.is_Integer] if v.could_extract_minus_sign() or isinstance(v, sp.Add) else 0.0
    return value_width(v) + parens if c.given else slot(c, parens)[0]


def row_height(cells: list[Cell]) -> float:
    """The height of one row of an array of these cells, key or worksheet (`maths.j2`'s stretch; a result's box)."""
    boxes = [slot(c)[1] + 0.2 for c in cells if not c.given]
    if any(not printer.current().plain(c.value) for c in cells):
        return max([2.3 * _BASELINE] + boxes)
    return max([1.25 * _BASELINE] + boxes)


def column_widths(m: Mat, places: int | None = None) -> list[float]:
    """The width of each column; of its decimals when `places` is given."""
    if places is not None:
        return [max(tex_width(_decimal_text(c.value, places)) for c in col) for col in zip(*m.rows)]
    return [max(cell_width(c) for c in col) for col in zip(*m.rows)]


def _decimal_text(value: sp.Expr, places: int) -> str:
    """A stand-in as wide as the value's decimals: its integer digits, a point, `places` digits."""
    digits = len(str(abs(int(value)))) if value.is_number and value.is_finite else 1
    return ("-" if value.could_extract_minus_sign() else "") + "0" * digits + "." + "0" * int(places)


@dataclass(frozen=True)
class Plan:
    """How one display is printed: the blocks in order (one, the whole, when it fits) and whether it is scaled to
    fit."""

    blocks: tuple[Block, ...]
    fit: bool
    entries: bool = False  # a column is too wide for the page even alone: the entries one by one instead


class Page:
    """The layout policy of one format. On paper (`paper`): a display that fits is printed as it is; one that
    fits at no less than `MIN_SCALE` of its size is scaled to the text width (or page height); anything larger
    is broken into blocks that do. Without paper (Markdown) nothing is split or scaled, but chains of matrices
    and long sums break where they would on paper."""

    MIN_SCALE = 0.8  # 11 pt maths never prints below 8.8 pt
    MAX_GRID_BLOCKS = 4  # beyond this many blocks the hand layout gives way to its matrices one by one

    def __init__(self, paper: bool, name: str = "a4") -> None:
        self.paper, self.name = paper, name
        w, h = PAPERS[name]
        self.text_width = (w - 2 * MARGIN_MM) * EM_PER_MM  # the text width and height, in em
        self.text_height = (h - 2 * MARGIN_MM) * EM_PER_MM
        self.width = self.text_width / SAFETY
        self.height = 0.9 * self.text_height  # what `\symnetfit` allows a display, with room for the skips around it

    # ---- measures

    def text(self, tex: str) -> float:
        """The width of a piece of LaTeX."""
        return tex_width(str(tex))

    def matrix(self, m: Mat, places: int | None = None) -> float:
        """The width of a bracketed matrix (with room for a rule, as [W | b])."""
        return sum(column_widths(m, places)) + _COLSEP * m.shape[1] + _BRACKETS

    def tall(self, m: Mat) -> float:
        """The height of a matrix."""
        return m.shape[0] * row_height(list(m.cells))

    def line(self, *parts: str | Mat | None) -> float:
        """The width of LaTeX text and matrices side by side (None: nothing)."""
        return sum(self.matrix(p) if isinstance(p, Mat) else self.text(p) for p in parts if p is not None)

    def fits(self, *parts: str | Mat | None) -> bool:
        """True when these pieces fit side by side on one line at their natural size (any format: on screen a
        chain too long for paper is broken the same way, one matrix per display)."""
        mats = [p for p in parts if isinstance(p, Mat)]
        return self.line(*parts) <= self.width and all(self.tall(p) <= self.height for p in mats)

    def packed(self, named: Sequence[tuple[Any, ...]], sep: str = " \\qquad ", eq: str = " = ") -> list[list[Any]]:
        """Displays "name = M" (each item (name, M, …); `eq` between them) set side by side, `sep` apart, as many to a
        line as fit: the items per line (an item alone where it does not fit beside another)."""
        lines: list[list[Any]] = []
        parts: list[str | Mat] = []
        for item in named:
            piece = [f"{item[0]}{eq}", item[1]]
            if lines and self.fits(*parts, sep, *piece):
                lines[-1].append(item)
                parts += [sep, *piece]
            else:
                lines.append([item])
                parts = piece
        return lines

    def side_by_side(self, mats: list[Mat], sep: float = 1.0, colsep: float = 2 / 11, lead: str = "") -> bool:
        """True when these matrices fit on one line, `sep` em apart, their columns `colsep` em apart on each side
        (a display that sets \\arraycolsep so: the updated weights, each named under it), after `lead` (LaTeX)."""
        width = sum(sum(column_widths(m)) + 2 * colsep * m.shape[1] + _BRACKETS for m in mats) + sep * (len(mats) - 1)
        width += self.text(lead)
        return width <= self.width and all(self.tall(m) <= self.height for m in mats)

    # ---- decisions

    def blocks(self, m: Mat, lhs: str = "", rhs: str = "", places: int | None = None) -> Plan:
        """The blocks a display "lhs M rhs" prints in: the whole when it fits (scaled by at most MIN_SCALE),
        else the fewest blocks of near-equal column and row counts that do, each labelled."""
        rows, cols = m.shape
        whole = Block(0, rows, 0, cols, m.shape)
        if not self.paper:
            return Plan((whole,), False)
        extra = self.text(lhs) + self.text(rhs)
        widths, height = column_widths(m, places), row_height(list(m.cells))
        w, h = sum(widths) + _COLSEP * cols + _BRACKETS + extra, rows * height
        if w <= self.width / self.MIN_SCALE and h <= self.height / self.MIN_SCALE:
            return Plan((whole,), w > 0.8 * self.width or h > 0.8 * self.height)
        if max(widths) + _COLSEP + _BRACKETS + extra > self.width / self.MIN_SCALE:
            return Plan((whole,), False, entries=True)
        col_groups = _partition(widths, self.width / self.MIN_SCALE - extra - _BRACKETS, _COLSEP)
        per = max(1, int((self.height / self.MIN_SCALE - _LABEL) // height))
        row_groups = _even(rows, math.ceil(rows / per))
        return Plan(tuple(Block(r0, r1, c0, c1, m.shape) for r0, r1 in row_groups for c0, c1 in col_groups), True)

    def grid_width(self, g: Grid) -> float:
        """The width of a hand layout printed whole, in em."""
        left = sum(column_widths(g.left)) + _COLSEP * g.left.shape[1]
        right = [max(a, b) for a, b in zip(column_widths(g.top), column_widths(g.result))]
        return left + sum(right) + _COLSEP * len(right)

    def grid(self, g: Grid) -> Plan | None:
        """The blocks of the hand layout (each with the whole left factor, a block of the result's rows and
        columns); None when even its smallest block would not fit, or it would take more than MAX_GRID_BLOCKS."""
        rows, cols = g.result.shape
        whole = Block(0, rows, 0, cols, g.result.shape)
        left = sum(column_widths(g.left)) + _COLSEP * g.left.shape[1]
        right = [max(a, b) for a, b in zip(column_widths(g.top), column_widths(g.result))]
        height = row_height(list(g.left.cells) + list(g.top.cells) + list(g.result.cells))
        top = g.top.shape[0]
        w, h = left + sum(right) + _COLSEP * cols, (top + rows) * height
        if not self.paper:
            return Plan((whole,), False)
        if w <= self.width / self.MIN_SCALE and h <= self.height / self.MIN_SCALE:
            return Plan((whole,), w > 0.8 * self.width or h > 0.8 * self.height)
        room = self.width / self.MIN_SCALE - left
        per = int((self.height / self.MIN_SCALE - _LABEL) // height) - top
        if per < 1 or any(c + _COLSEP > room for c in right):
            return None
        col_groups = _partition(right, room, _COLSEP)
        row_groups = _even(rows, math.ceil(rows / per))
        if len(col_groups) * len(row_groups) > self.MAX_GRID_BLOCKS:
            return None
        blocks = tuple(Block(r0, r1, c0, c1, g.result.shape) for r0, r1 in row_groups for c0, c1 in col_groups)
        return Plan(blocks, True)

    def wrap(self, terms: list[float | str], lead: str | float = 0.0, tail: float = 0.0,
             sep: float = _BIN) -> tuple[tuple[int, int], ...]:
        """Lines of a long sum: (start, end) of the terms (widths, or LaTeX to measure) on each line, so that
        `lead` (the text before the first "=") and each line fit the width; continuation lines start "+" a quad
        in. One line when it all fits. An empty last line means the tail (the bias, "= result") goes on a line
        of its own."""
        lead_w = self.text(lead) if isinstance(lead, str) else lead
        widths = [self.text(t) if isinstance(t, str) else t for t in terms]
        n = len(widths)
        if lead_w + sum(widths) + sep * max(n - 1, 0) + tail <= self.width or n == 0:
            return ((0, n),)
        room = self.width - lead_w - max(_REL, 1.0 + sep)  # a line: "= " or "\quad + " before the terms
        lines, start, used = [], 0, 0.0
        for i, w in enumerate(widths):
            if i > start and used + sep + w > room:
                lines.append((start, i))
                start, used = i, 0.0
            used += (sep if i > start else 0.0) + w
        lines.append((start, n))
        if used + tail > room:
            lines.append((n, n))
        return tuple(lines)

    def dots(self, dots: tuple[Dot, ...], label: str) -> tuple[tuple[int, int], ...]:
        """The lines of every written-out product of a section: the same number of terms on each line (as many
        as the widest fit), so that the rows of a long calculation line up; `label` is the widest left side.
        A result too long for the last line goes on lines of its own (`long`)."""
        if not dots:
            return ((0, 0),)
        term = max(factor_width(l) + factor_width(r) + _THIN for d in dots for l, r in d.terms)
        tail = max((_REL + cell_width(d.result) if self.long(d.result, label) is None else 0.0)
                   + (_BIN + addend_width(d.bias) if d.bias is not None else 0.0)
                   + (_BIN + addend_width(d.skip) if d.skip is not None else 0.0) for d in dots)
        return self.wrap([term] * len(dots[0].terms), label, tail)

    def products(self, pairs: list[tuple[Cell, Cell]], lead: str, between: str = "", tail: float = 0.0
                 ) -> tuple[tuple[int, int], ...]:
        """The lines of a sum of products "(a) between (b)", each term as wide as it prints (key or worksheet)."""
        extra = self.text(between) + _THIN
        return self.wrap([factor_width(a) + extra + factor_width(b) for a, b in pairs], lead, tail)

    def long(self, c: Cell, lead: str | float = 0.0) -> tuple[tuple[int, int], ...] | None:
        """None when the value fits on an align line after `lead` (and the "= "); else the lines of its terms
        (`env.tex_terms`), which the value is broken into. The key decides; its worksheet keeps the lines."""
        lead_w = self.text(lead) if isinstance(lead, str) else lead
        if lead_w + _REL + value_width(c.value) <= self.width:
            return None
        return self._wrap_all(tex_terms(c.value), lead_w)

    def cellw(self, c: Cell) -> float:
        """A cell's width (key or worksheet)."""
        return cell_width(c)

    def lead(self, tex: str, *cells: Cell, script: bool = False) -> float:
        """The width of the left of a line: LaTeX text and the cells printed in it (as exponents: `script`)."""
        return self.text(tex) + sum(cell_width(c) for c in cells) * (_SCRIPT if script else 1.0)

    def room(self, lead: str | float = 0.0) -> float:
        """The width left on an align line after `lead` and "= " (or a quad), at the true text width."""
        return self.text_width - (self.text(lead) if isinstance(lead, str) else lead) - 2 * max(_REL, 1.0)

    def _wrap_all(self, terms: list[str], lead_w: float) -> tuple[tuple[int, int], ...]:
        """Terms (each with its sign) on as few lines as fit after `lead_w`, greedily."""
        room = self.width - lead_w - max(_REL, 1.0)
        lines, start, used = [], 0, 0.0
        for i, t in enumerate(terms):
            w = self.text(t)
            if i > start and used + w > room:
                lines.append((start, i))
                start, used = i, 0.0
            used += w
        lines.append((start, len(terms)))
        return tuple(lines)

    def softmax_fits(self, Z: Mat, A: Mat, base: str, places: int | None) -> bool:
        """True when every entry of a softmax, "a = base^z / (Σ base^z) = value", fits on one line."""
        label = self.text(f"a_{{{Z.shape[0]},{Z.shape[1]}}}") + 2 * _REL
        approx = _REL + 0.5 * (places + 2) if places is not None else 0.0
        base_w = self.text(base)
        for j in range(Z.shape[1]):
            column = [Z.at(i, j) for i in range(Z.shape[0])]
            denominator = sum(base_w + _SCRIPT * cell_width(z) for z in column) + _BIN * (len(column) - 1)
            widest = max(cell_width(A.at(i, j)) for i in range(Z.shape[0]))
            if label + denominator + _FRAC_PAD + widest + approx > self.width:
                return False
        return True

    def exps(self, cells: list[Cell], base: str, lead: str) -> tuple[tuple[int, int], ...]:
        """The lines of a sum of powers base^z."""
        base_w = self.text(base)
        return self.wrap([base_w + _SCRIPT * cell_width(z) for z in cells], lead)

    def fit(self, *parts: str | Mat) -> bool:
        """True when a display of these pieces is near the text width, so that LaTeX measures it and scales it
        down should it not fit after all (the estimates' safety net)."""
        return self.paper and (self.line(*parts) > 0.8 * self.width
                               or any(self.tall(p) > 0.8 * self.height for p in parts if isinstance(p, Mat)))


PAPER, LETTER, SCREEN = Page(True), Page(True, "letter"), Page(False)
PAGES = {"a4": PAPER, "letter": LETTER}


def _even(n: int, k: int) -> list[tuple[int, int]]:
    """0 … n split into k runs of near-equal length (the longer first)."""
    k = max(1, min(k, n))
    size, extra = divmod(n, k)
    out, start = [], 0
    for i in range(k):
        end = start + size + (1 if i < extra else 0)
        out.append((start, end))
        start = end
    return out


def _partition(widths: list[float], room: float, sep: float) -> list[tuple[int, int]]:
    """The fewest runs of near-equal column counts whose widths (each column plus `sep`) fit `room`."""
    n = len(widths)
    for k in range(1, n + 1):
        runs = _even(n, k)
        if all(sum(widths[a:b]) + sep * (b - a) <= room for a, b in runs):
            return runs
    return _even(n, n)
