"""Points: a rubric (the `[grading]` table of a spec or a `--rubric` file) and the scores it gives a verdict.

A quantity asked is worth `points` (default 1 each). It earns them in proportion to its entries that are right,
right when rounded, or (follow-through) wrong only because an earlier answer was wrong; with
`partial_credit = false`, all or nothing. A mistake kind given a `penalty` costs that many points of the quantity it
is made in, once, instead of the entries it spoils. Not answered, or answered in the wrong shape: nothing (unless
the shape's own mistake has a penalty). `out_of` scales every number to that maximum. All of it is exact
(fractions); numbers are rounded to two decimals only when written.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from ..errors import SymnetError
from ..record import Solution
from .diagnose import asked_names, variants
from .printable import clean
from .verdict import (
    BIAS_COLUMN,
    BIAS_NOT_SUMMED,
    CARRIED,
    ROUNDED,
    ROUNDING_ERROR,
    SIGN_FLIPPED,
    TRANSPOSED,
    UNDECIDED,
    QuantityVerdict,
    Verdict,
)

KEYS = ("asked", "points", "each", "partial_credit", "follow_through", "penalty", "out_of")
UNEXPLAINED = "unexplained"


def codes() -> tuple[str, ...]:
    """Every kind of mistake a penalty may name: the ops' declared mistakes, the checker's comparisons of whole
    answers, rounding, undecided and unexplained entries (a carried error is follow_through's business)."""
    return tuple(dict.fromkeys([m.code for m in variants()] + [TRANSPOSED, SIGN_FLIPPED, BIAS_COLUMN, BIAS_NOT_SUMMED,
                                                                ROUNDING_ERROR, ROUNDED, UNDECIDED, UNEXPLAINED]))


_NUMBER = re.compile(r"^\s*(\d{1,12})(?:\.(\d{1,6}))?(?:/(\d{1,12}))?\s*$")


class RubricError(SymnetError):
    """A `[grading]` table that cannot be read: one line, FILE: grading.field: what is wrong."""


@dataclass(frozen=True)
class Rubric:
    """How answers earn points. The default: every quantity 1 point, partial credit, follow-through."""

    points: Mapping[str, Fraction] = field(default_factory=dict)  # per quantity, beside `each`
    each: Fraction = Fraction(1)  # points of a quantity not named in `points`
    asked: tuple[str, ...] | None = None  # None: every computed quantity worth points
    partial_credit: bool = True
    follow_through: bool = True
    penalty: Mapping[str, Fraction] = field(default_factory=dict)
    out_of: Fraction | None = None
    source: str = ""  # where the table was read ("" for the default)

    def worth(self, name: str) -> Fraction:
        """The points quantity `name` is worth, before `out_of` scales them."""
        return self.points.get(name, self.each)

    def asked_in(self, solution: Solution) -> tuple[str, ...]:
        """The quantities this rubric asks, in the order of the computation."""
        if self.asked is not None:
            return self.asked
        names = set(asked_names(solution, None)) | set(self.points)
        return tuple(n for n in solution if n in names and self.worth(n) > 0)


DEFAULT_RUBRIC = Rubric()


def _number(value: object, where: str, source: str, positive: bool = False) -> Fraction:
    """Points: a whole number, a decimal, or a fraction string, at least 0 (more than 0 when `positive`)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise RubricError(f"expected a number of points, got {_kind(value)}", source=source, field=where)
    text = str(value)
    if isinstance(value, int):
        if value < 0 or value > 10**12:
            raise RubricError(f"expected points from 0 to 10^12, got {value}", source=source, field=where)
        x = Fraction(value)
    else:
        m = _NUMBER.match(text)
        if not m:
            raise RubricError(f"expected points as a number ≥ 0 (2, 0.5, \"1/3\"), got {text[:40]!r}",
                              source=source, field=where)
        whole, frac, den = m.groups()
        if frac is not None and den is not None:
            raise RubricError(f"expected a decimal or a fraction, not both: {text[:40]!r}", source=source, field=where)
        x = Fraction(f"{whole}.{frac}") if frac is not None else Fraction(int(whole))
        if den is not None:
            if int(den) == 0:
                raise RubricError("a fraction over 0", source=source, field=where)
            x /= int(den)
    if positive and x == 0:
        raise RubricError("expected more than 0 points", source=source, field=where)
    return x


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return {dict: "a table", list: "a list", str: "a string", int: "a number"}.get(type(value), "a value")


def _names(table: Mapping, where: str, source: str, solution: Solution) -> None:
    """Refuse a key that is no quantity of the exercise, with the nearest name."""
    names = list(solution)
    given = {s.qualified for s in solution.steps if s.kind in ("given", "approx")}
    for key in table:
        if key not in names:
            hint = ([n for n in names if n.lower() == str(key).lower()]
                    or difflib.get_close_matches(str(key), names, 1, 0.6))
            meant = f"did you mean {hint[0]!r}? " if hint else ""
            raise RubricError(f"unknown quantity {clean(key, 40)!r} ({meant}quantities of this exercise: "
                              f"{', '.join(names)})", source=source, field=where)
        if key in given:
            raise RubricError(f"{key} is given by the exercise, not computed: it earns no points", source=source,
                              field=where)


def rubric_from_table(table: object, solution: Solution, source: str) -> Rubric:
    """The rubric in a `[grading]` table, checked against the exercise; one-line `RubricError`s."""
    if not isinstance(table, Mapping):
        raise RubricError(f"expected a [grading] table, got {_kind(table)}", source=source, field="grading")
    for key in table:
        if key not in KEYS:
            hint = difflib.get_close_matches(str(key), KEYS, n=1, cutoff=0.6)
            meant = f"did you mean {hint[0]!r}? " if hint else ""
            raise RubricError(f"unknown key {clean(key, 40)!r} ({meant}allowed: {', '.join(KEYS)})", source=source,
                              field="grading")
    each = _number(table["each"], "grading.each", source) if "each" in table else Fraction(1)
    points: dict[str, Fraction] = {}
    if "points" in table:
        raw = table["points"]
        if not isinstance(raw, Mapping):
            raise RubricError(f"expected a table of quantity = points, got {_kind(raw)}", source=source,
                              field="grading.points")
        for key, value in raw.items():
            _names({key: value}, f"grading.points.{clean(key, 40)}", source, solution)
            points[key] = _number(value, f"grading.points.{key}", source)
    asked = None
    if "asked" in table:
        raw = table["asked"]
        if raw != "all":
            if not isinstance(raw, list) or not raw or not all(isinstance(n, str) for n in raw):
                raise RubricError('expected a list of quantity names, or "all"', source=source, field="grading.asked")
            for k, n in enumerate(raw, 1):
                _names({n: None}, f"grading.asked[{k}]", source, solution)
            asked = tuple(n for n in solution if n in raw)
    flags = {}
    for key in ("partial_credit", "follow_through"):
        value = table.get(key, True)
        if not isinstance(value, bool):
            raise RubricError(f"expected true or false, got {_kind(value)}", source=source, field=f"grading.{key}")
        flags[key] = value
    penalty: dict[str, Fraction] = {}
    if "penalty" in table:
        raw = table["penalty"]
        if not isinstance(raw, Mapping):
            raise RubricError(f"expected a table of mistake = points, got {_kind(raw)}", source=source,
                              field="grading.penalty")
        for key, value in raw.items():
            if key not in codes():
                extra = " (follow_through = false makes carried errors cost)" if key == CARRIED else ""
                hint = difflib.get_close_matches(str(key), codes(), n=1, cutoff=0.6)
                meant = f"did you mean {hint[0]!r}? " if hint else ""
                raise RubricError(f"unknown mistake {clean(key, 40)!r}{extra} ({meant}mistakes: {', '.join(codes())})",
                                  source=source, field="grading.penalty")
            penalty[key] = _number(value, f"grading.penalty.{key}", source)
    out_of = _number(table["out_of"], "grading.out_of", source, positive=True) if "out_of" in table else None
    rubric = Rubric(points, each, asked, flags["partial_credit"], flags["follow_through"], penalty, out_of, source)
    if sum(rubric.worth(n) for n in rubric.asked_in(solution)) == 0:
        raise RubricError("no quantity asked is worth any points", source=source,
                          field="grading.points" if "points" in table or "each" in table else "grading.asked")
    return rubric


# ---------------------------------------------------------------- scores


@dataclass(frozen=True)
class QuantityScore:
    """What one quantity asked earned: points of its maximum, and why in a word."""

    name: str
    points: Fraction
    maximum: Fraction
    state: str  # right | carried (right by follow-through) | partial | wrong | missing | shape


@dataclass(frozen=True)
class Grade:
    """One student's line in the gradebook: an answers file graded, or the reason it could not be read."""

    source: str  # the answers file, as named
    student: str  # (cleaned)
    student_id: str
    verdict: Verdict | None  # None: unreadable
    unreadable: str | None
    scores: tuple[QuantityScore, ...]
    points: Fraction
    maximum: Fraction

    @property
    def percent(self) -> Fraction | None:
        return None if self.verdict is None or self.maximum == 0 else 100 * self.points / self.maximum

    @property
    def correct(self) -> bool:
        return self.verdict is not None and self.verdict.correct


def quantity_score(q: QuantityVerdict | None, maximum: Fraction, rubric: Rubric) -> QuantityScore:
    """The points one quantity earns under `rubric` (before `out_of`)."""
    if q is None:
        return QuantityScore("", Fraction(0), maximum, "missing")
    if not q.shape_ok:
        if q.diagnosis is not None and q.diagnosis in rubric.penalty:
            return QuantityScore(q.name, max(Fraction(0), maximum - rubric.penalty[q.diagnosis]), maximum, "shape")
        return QuantityScore(q.name, Fraction(0), maximum, "shape")
    bad, carried, penalised = 0, 0, []
    for e in q.entries:
        code = e.diagnosis or (ROUNDED if e.correct else UNEXPLAINED)
        if e.correct:
            if code == ROUNDED and ROUNDED in rubric.penalty:
                penalised.append(ROUNDED)
            continue
        if code == CARRIED and rubric.follow_through:
            carried += 1
        elif code in rubric.penalty:
            penalised.append(code)
        else:
            bad += 1
    if rubric.partial_credit:
        base = maximum * (q.total - bad) / q.total if q.total else maximum
    else:
        base = maximum if bad == 0 else Fraction(0)
    points = max(Fraction(0), base - sum(rubric.penalty[c] for c in dict.fromkeys(penalised)))
    if bad == 0 and not penalised:
        state = "carried" if carried else "right"
    else:
        state = "partial" if points > 0 else "wrong"
    return QuantityScore(q.name, points, maximum, state)


def grade(verdict: Verdict, rubric: Rubric = DEFAULT_RUBRIC) -> Grade:
    """The gradebook line of a verdict: points per quantity asked (`verdict.asked`) and in all."""
    got = {q.name: q for q in verdict.quantities}
    asked = verdict.asked
    scores = []
    for n in asked:
        s = quantity_score(got.get(n), rubric.worth(n), rubric)
        scores.append(QuantityScore(n, s.points, s.maximum, s.state))
    return _scaled(verdict.source, verdict.student, verdict.student_id, verdict, None, scores, rubric)


def unreadable(source: str, student: str, message: str, asked: tuple[str, ...], rubric: Rubric,
               student_id: str = "") -> Grade:
    """The gradebook line of an answers file that could not be read: no points given (blank, not 0)."""
    scores = [QuantityScore(n, Fraction(0), rubric.worth(n), "missing") for n in asked]
    return _scaled(source, student, student_id, None, message, scores, rubric)


def _scaled(source: str, student: str, student_id: str, verdict: Verdict | None, message: str | None,
            scores: list[QuantityScore], rubric: Rubric) -> Grade:
    total = sum((s.maximum for s in scores), Fraction(0))
    factor = rubric.out_of / total if rubric.out_of is not None and total else Fraction(1)
    scores = [QuantityScore(s.name, s.points * factor, s.maximum * factor, s.state) for s in scores]
    return Grade(source, student, student_id, verdict, message, tuple(scores),
                 sum((s.points for s in scores), Fraction(0)), sum((s.maximum for s in scores), Fraction(0)))


def number(x: Fraction | None, places: int = 2) -> str:
    """A score as written in a table: whole numbers bare, others rounded half up to `places` decimals
    (trailing zeros dropped): 7, 3.5, 3.33; '' for none."""
    if x is None:
        return ""
    scale = 10**places
    n = (x.numerator * scale * 2 + x.denominator) // (2 * x.denominator)  # half up (scores are never negative)
    whole, frac = divmod(n, scale)
    text = f"{whole}.{frac:0{places}d}".rstrip("0").rstrip(".") if places else str(whole)
    return text
