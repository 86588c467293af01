"""Named cells: the worksheet's answer boxes and the key's given numbers, each told which entry of what it is."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import sympy as sp

from ..record import Solution, Step
from ..render import document
from ..render.document import Cell, Mat

# How it works. The document builder (render/document.py) makes every printed number with `document.mat(value, …)`,
# from a step's value or one of its named inputs. Built from a copy of the solution in which every step's value and
# every input is a matrix object of its own, the value handed to `mat` says which quantity it is; while the page's
# document is built (`document.naming_cells`), `mat` hands its cells to the namer, which makes `Named` cells: the
# entry (quantity, row, column) and an id. The maths macros (templates/maths.j2 `named`) wrap such a cell in
# \htmlData{symnet-ref=ID}{…} in HTML, and the page finds it there: a blank box becomes an input, a given number an
# editable field. Nothing else changes in the document. A scalar cannot be copied into an object of its own (SymPy
# shares equal values): it is named only where a single quantity holds that value.


@dataclass(frozen=True)
class Named(Cell):
    """A printed cell that knows its entry: `ref` is its id on the page ("b3": an answer box, "g2": a given)."""

    ref: str | None = None


@dataclass(frozen=True)
class Entry:
    """One named entry: the quantity, its row and column (1-based), and whether it is given by the exercise."""

    name: str
    row: int
    col: int
    given: bool

    def json(self, ref: str) -> dict[str, Any]:
        """The entry as the page reads it."""
        return {"ref": ref, "name": self.name, "row": self.row, "col": self.col}


class Namer:
    """The entries of one document: each distinct (quantity, row, column, given) gets one id, in the order met."""

    def __init__(self, solution: Solution, results: bool = False) -> None:
        self.results = results  # name the key's printed results too (to test the names against the values)
        self.computed = {s.qualified for s in solution.steps if s.epoch == 1 and s.kind not in ("given",)}
        self.ids: dict[Entry, str] = {}
        self.origin: dict[int, str] = {}  # id(value object) → the quantity it holds
        self.keep: list[object] = []  # the copies, alive while the document is built (ids are never reused)
        self.values: dict[str, Any] = {}  # the given quantities' values (step 1's), by name
        self.steps = tuple(self._copy(s) for s in solution.steps)
        self.solution = Solution(solution.exercise, self.steps, solution.backend, solution.bits)

    def _own(self, name: str, value: Any, epoch: int) -> Any:
        """A copy of `value` that is this quantity's alone (step 1's), or `value` itself for a scalar."""
        if isinstance(value, sp.MatrixBase):
            value = sp.ImmutableMatrix(value.rows, value.cols, list(value))
        self.keep.append(value)
        if epoch == 1:
            if name not in self.computed:
                self.values.setdefault(name, value)
            key = id(value)
            self.origin[key] = name if self.origin.get(key, name) == name else ""  # "": a shared scalar
        return value

    def _copy(self, s: Step) -> Step:
        inputs = tuple((n, self._own(q, v, s.epoch)) for (n, v), q in zip(s.inputs, s.sources))  # (solution names)
        return replace(s, value=self._own(s.qualified, s.value, s.epoch), inputs=inputs)

    def ref(self, name: str, i: int, j: int, shown: bool) -> str | None:
        """The id of entry (i, j) (0-based) of `name`: a box for a computed quantity left blank, a given for a number
        the exercise gives; None for a computed number printed (the key's results are not fields)."""
        given = name not in self.computed
        if not given and shown and not self.results:
            return None
        entry = Entry(name, i + 1, j + 1, given)
        if entry not in self.ids:
            self.ids[entry] = f"{'g' if given else 'b'}{len(self.ids) + 1}"
        return self.ids[entry]

    def name_cells(self, value: Any, m: Mat) -> Mat:
        """The cells `document.mat` made of `value`, named where the value is a quantity's own."""
        name = self.origin.get(id(value))
        if not name:
            return m
        return Mat(tuple(tuple(_named(c, self.ref(name, i, j, c.shown)) for j, c in enumerate(row))
                         for i, row in enumerate(m.rows)))

    def entries(self, given: bool) -> list[dict[str, Any]]:
        """The answer boxes (or the given numbers) named, as the page reads them."""
        return [e.json(ref) for e, ref in self.ids.items() if e.given == given]

    def named(self, given: bool) -> list[tuple[Entry, str]]:
        """The entries named and their ids: the given numbers, or the answer boxes."""
        return [(e, ref) for e, ref in self.ids.items() if e.given == given]


def _named(c: Cell, ref: str | None) -> Cell:
    if ref is None:
        return c
    return Named(**{f.name: getattr(c, f.name) for f in fields(c)}, ref=ref)


@contextlib.contextmanager
def naming(solution: Solution, results: bool = False) -> Iterator[Namer]:
    """While the block runs, documents built from `namer.solution` name their cells (see above)."""
    namer = Namer(solution, results)
    with document.naming_cells(namer.name_cells):
        yield namer


def named_fragment(solution: Solution, worksheet: bool, decimals: int | None = None,
                   layout: Mapping[str, str] | None = None) -> tuple[str, Namer]:
    """The key (or worksheet) as an HTML fragment for KaTeX, its cells named; and the names."""
    from ..render.html import KATEX, render_fragment

    with naming(solution) as namer:
        html = render_fragment(namer.solution, worksheet=worksheet, decimals=decimals, math=KATEX, layout=layout)
    return html, namer
