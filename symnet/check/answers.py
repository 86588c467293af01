"""Reading a student's answers (a TOML/JSON file or a dict) into exact values, keeping the decimals as written."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import mpmath
import sympy as sp

from ..bounds import Bounds
from ..errors import AnswersError, BoundError, SymnetError
from ..expr import FloatText
from ..reader import matrix
from ..record import Solution
from ..spec import read_data
from .compare import decimal_places, nodes, number
from .printable import clean

_BARE_NAME = re.compile(r"^\s*(dL/d|\w+')", re.MULTILINE)  # a quantity name TOML cannot take unquoted
META_KEYS = ("student", "id")  # optional: the student's name and id (an LMS's login or number), for the gradebook


@dataclass(frozen=True)
class Answer:
    """One quantity as the student wrote it: exact entries, and per entry the text and decimal places written."""

    name: str
    value: sp.ImmutableMatrix  # a scalar is 1×1
    texts: tuple[tuple[str | None, ...], ...]  # the entry as typed, when it was a decimal or a string
    scalar: bool  # written as one number rather than a list

    def places(self, i: int, j: int) -> int | None:
        """The decimal places written at (i, j), 0-based; None for an integer, fraction or expression."""
        text = self.texts[i][j]
        return decimal_places(text) if text is not None else None

    @property
    def shape(self) -> tuple[int, ...]:
        """() for a scalar, else (rows, columns)."""
        return () if self.scalar else self.value.shape


@dataclass(frozen=True)
class Answers:
    """A student's answers file: where it came from, the student's name, and the answers in solution order."""

    source: str
    student: str
    items: tuple[Answer, ...]
    student_id: str = ""


def read_file(path: str | Path, solution: Solution) -> Answers:
    """The answers in a TOML or JSON file; every problem raises a one-line `AnswersError`."""
    try:
        data = read_data(path, "answers", solution.exercise.bounds)
    except SymnetError as e:
        hint = ""
        if "not valid TOML" in e.message and _BARE_NAME.search(_head(path)):
            hint = "; write quantity names in quotes: \"dL/dW3\" = ..., \"W1'\" = ..."
        raise AnswersError(e.message + hint, source=e.source or str(path), field=e.field) from None
    return from_data(data, solution, str(path), Path(path).stem)


def _head(path: str | Path) -> str:
    try:
        with open(path, "rb") as f:
            return f.read(100_000).decode("utf-8", "replace")
    except OSError:
        return ""


def from_data(data: Mapping, solution: Solution, source: str = "<answers>", student: str = "") -> Answers:
    """The answers in a mapping of quantity names to matrices or scalars, checked against the exercise."""
    try:
        return _read(data, solution, source, student)
    except SymnetError as e:
        raise AnswersError(e.message, source=e.source or source, field=e.field) from None


def _read(data: Mapping, solution: Solution, source: str, student: str) -> Answers:
    student = clean(student)
    names = [n for n in solution]
    for key in data:
        if key not in names and key not in META_KEYS:
            same_case = [n for n in names if n.lower() == str(key).lower()]
            hint = same_case or difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
            meant = f"did you mean {hint[0]!r}? " if hint else ""
            raise AnswersError(f"unknown quantity {str(key)!r} "
                               f"({meant}quantities of this exercise: {', '.join(names)})", field=str(key))
    if "student" in data:
        name = data["student"]
        if not isinstance(name, str) or isinstance(name, FloatText) or not name.strip() or len(name) > 100:
            raise AnswersError("expected the student's name as a string of at most 100 characters", field="student")
        student = clean(name) or student  # (terminal escapes, newlines and bidi overrides never reach a table)
    student_id = ""
    if "id" in data:
        ident = data["id"]
        if isinstance(ident, int) and not isinstance(ident, bool) and ident >= 0:
            ident = str(ident)
        if not isinstance(ident, str) or isinstance(ident, FloatText) or not clean(ident) or len(ident) > 100:
            raise AnswersError("expected the student's id as a string (or a whole number) of at most 100 characters",
                               field="id")
        student_id = clean(ident)
    items = tuple(_answer(n, data[n], solution[n], solution.exercise.bounds) for n in names if n in data)
    known = set().union(*(_matrix_of(solution[n]).free_symbols for n in names))
    for a in items:
        _check_symbols(a, data[a.name], known)
    if not items:
        raise AnswersError("no answers: write quantity = value lines, for example Z1 = [[-1], [3]]")
    return Answers(source, student or clean(source), items, student_id)


def _answer(name: str, raw: object, expected: object, bounds: Bounds) -> Answer:
    answer = _read_answer(name, raw, expected, bounds)
    for i in range(answer.value.rows):
        for j in range(answer.value.cols):
            _check_entry(answer.value[i, j], _field(name, raw, i, j), bounds)
    return answer


def _read_answer(name: str, raw: object, expected: object, bounds: Bounds) -> Answer:
    if isinstance(raw, Mapping):
        raise AnswersError("expected a number or a list of rows, got a table", field=name)
    if isinstance(raw, (sp.MatrixBase, sp.Basic)):  # from the Python API: already exact
        if isinstance(raw, sp.MatrixBase) and (raw.rows > bounds.rows or raw.cols > bounds.cols):
            raise BoundError(f"a {raw.rows}×{raw.cols} matrix, beyond {bounds.rows}×{bounds.cols} (bounds: rows, cols)",
                             field=name)
        value = sp.ImmutableMatrix(raw) if isinstance(raw, sp.MatrixBase) else sp.ImmutableMatrix([[raw]])
        texts = tuple((None,) * value.cols for _ in range(value.rows))
        return Answer(name, value, texts, not isinstance(raw, sp.MatrixBase))
    raw = _floats_as_text(raw)
    value = matrix(raw, name, bounds)
    if not isinstance(raw, list):
        return Answer(name, value, ((_text(raw),),), True)
    if all(not isinstance(r, list) for r in raw):  # a flat list: a column, or the row when a row is expected
        texts = tuple((_text(v),) for v in raw)
        if isinstance(expected, sp.MatrixBase) and expected.rows == 1 and expected.cols == len(raw) > 1:
            return Answer(name, value.T, tuple(zip(*texts)), False)
        return Answer(name, value, texts, False)
    return Answer(name, value, tuple(tuple(_text(v) for v in row) for row in raw), False)


def _matrix_of(v: object) -> sp.ImmutableMatrix:
    return v if isinstance(v, sp.MatrixBase) else sp.ImmutableMatrix([[v]])


def _field(name: str, raw: object, i: int, j: int) -> str:
    """Where entry (i, j) (0-based) of an answer was written, as spec fields are named: `Z1[2]`, `W1'[1][2]`."""
    if isinstance(raw, list):
        flat = all(not isinstance(r, list) for r in raw)
        return name + (f"[{max(i, j) + 1}]" if flat else f"[{i + 1}][{j + 1}]")
    return name + (f"[{i + 1}][{j + 1}]" if isinstance(raw, sp.MatrixBase) else "")


def _check_symbols(a: Answer, raw: object, known: set) -> None:
    """Refuse a name in an answer that the exercise does not have (a typo, or a word for a number)."""
    for i in range(a.value.rows):
        for j in range(a.value.cols):
            extra = a.value[i, j].free_symbols - known
            if extra:
                have = ", ".join(sorted(map(str, known))) or "none: every answer is a number"
                raise AnswersError(f"unknown symbol {sorted(map(str, extra))[0]!r} (symbols of this exercise: {have})",
                                   field=_field(a.name, raw, i, j))


def _check_entry(v: sp.Expr, field: str, bounds: Bounds) -> None:
    """Refuse an entry that could not be compared within the bounds: from Python, a SymPy Float (not exact), a
    value that is not a finite real number, or one beyond `expression_nodes` nodes or `result_bits` bits; from
    anywhere, a number (or a numeric power in it) beyond 2^±result_bits, such as (((e^64)^64)^64)^64."""
    if v.is_Symbol:
        return
    if v.is_Rational:
        if max(abs(v.p).bit_length(), v.q.bit_length()) > bounds.result_bits:
            raise BoundError(f"a number of more than {bounds.result_bits} bits (bound: result_bits)", field=field)
        return
    if v.has(sp.Float):
        raise AnswersError("a SymPy Float is not exact: give the decimal as text (\"0.4955\") or as a Python float",
                           field=field)
    if v.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise AnswersError(f"{_short(v)} is not a finite value", field=field)
    if v.is_number and (v.has(sp.I) or v.is_extended_real is False):
        raise AnswersError(f"{_short(v)} is not a real number", field=field)
    if nodes(v, bounds.expression_nodes) > bounds.expression_nodes:
        raise BoundError(f"an expression of more than {bounds.expression_nodes} nodes (bound: expression_nodes)",
                         field=field)
    for r in v.atoms(sp.Rational):
        if max(abs(r.p).bit_length(), r.q.bit_length()) > bounds.result_bits:
            raise BoundError(f"a number of more than {bounds.result_bits} bits (bound: result_bits)", field=field)
    parts = [p for p in sp.preorder_traversal(v) if (p is v or isinstance(p, (sp.exp, sp.Pow))) and p.is_number]
    for p in parts:  # the entry first, then its powers from the outside in
        x = number(p, 15)
        if x is None or x.is_zero:
            continue  # (an unsimplified 0: compared exactly)
        size = mpmath.mag(mpmath.mpf(x._mpf_))  # about log2 |x|
        if size > bounds.result_bits:
            raise BoundError(f"about {_magnitude(x)}, more than 2^{bounds.result_bits} (bound: result_bits)",
                             field=field)
        if size < -bounds.result_bits:
            raise BoundError(f"about {_magnitude(x)}, nearer 0 than 2^-{bounds.result_bits} (bound: result_bits)",
                             field=field)


def _magnitude(x: sp.Float) -> str:
    return str(sp.Float(x, 3)).replace("E", "e")


def _short(v: sp.Expr) -> str:
    """A value's text for an error message, cut to 40 characters."""
    try:
        text = sp.sstr(v) if nodes(v, 40) <= 40 else "the value"
    except ValueError:  # an integer longer than Python prints
        text = "the value"
    return text if len(text) <= 40 else text[:37] + "..."


def _floats_as_text(raw: object) -> object:
    """Python floats (from the API) as their shortest decimal text, so their digits count as written."""
    if isinstance(raw, float):
        return FloatText(repr(raw))
    if isinstance(raw, (list, tuple)):
        return [_floats_as_text(v) for v in raw]
    return raw


def _text(raw: object) -> str | None:
    return str(raw) if isinstance(raw, str) else None
