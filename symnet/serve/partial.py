"""A quantity half written: each entry written so far judged alone (right, rounded, carried, or a slip)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy as sp

from ..check.answers import META_KEYS, from_data
from ..check.compare import RIGHT, matches, near_miss
from ..check.diagnose import dependencies
from ..check.report import entry_json
from ..check.verdict import CARRIED, ROUNDED, ROUNDING_ERROR, SIGN_FLIPPED, UNDECIDED, EntryVerdict, Verdict
from ..engine import solve
from ..errors import AnswersError, SymnetError
from ..exercise import Exercise
from ..record import Solution

FILLER = "0"  # in place of an entry not written yet, only so that the written ones are read where they stand


def _has_none(v: object) -> bool:
    return v is None or isinstance(v, list) and any(_has_none(x) for x in v)


def _all_none(v: object) -> bool:
    return v is None or isinstance(v, list) and all(_all_none(x) for x in v)


def split(answers: Mapping) -> tuple[dict[str, Any], dict[str, Any]]:
    """The answers whole (every entry written) and those half written (an entry null), without the quantities not
    begun and the student's name and id."""
    complete: dict[str, Any] = {}
    partial: dict[str, Any] = {}
    for name, value in answers.items():
        if name in META_KEYS or _all_none(value):
            continue
        (partial if _has_none(value) else complete)[name] = value
    return complete, partial


def _filled(v: object) -> object:
    return FILLER if v is None else [_filled(x) for x in v] if isinstance(v, list) else v


def judge_partial(exercise: Exercise, solution: Solution, complete: Mapping, partial: Mapping,
                  verdict: Verdict | None) -> dict[str, Any]:
    """Per half-written quantity, its written entries as the contract writes entries (with `"correct"` true for an
    exactly right one too): exact, rounded, undecided, carried from an earlier wrong answer (recomputed from the
    student's whole answers it comes out as written), a sign flip, a rounding slip, or wrong (the mistake is told
    once the quantity is whole)."""
    bounds = exercise.bounds
    try:
        read = from_data({n: _filled(v) for n, v in partial.items()}, solution)
    except SymnetError as e:
        raise AnswersError(e.message, source="answers", field=e.field) from None
    recomputed = _recomputed(exercise, solution, complete)
    wrong = {q.name for q in verdict.quantities if not q.correct and q.diagnosis != CARRIED} if verdict else set()
    out: dict[str, Any] = {}
    for a in read.items:
        value = solution[a.name]
        exp = value if isinstance(value, sp.MatrixBase) else sp.ImmutableMatrix([[value]])
        if a.value.shape != exp.shape:
            raise AnswersError(f"a {a.value.rows}×{a.value.cols} answer with entries not written: expected "
                               f"{exp.rows}×{exp.cols}", source="answers", field=a.name)
        raw = partial[a.name]
        entries = []
        for i in range(exp.rows):
            for j in range(exp.cols):
                if _entry(raw, i, j) is None:
                    continue
                g, places = a.value[i, j], a.places(i, j)
                found = matches(g, places, exp[i, j], bounds)
                judged: tuple[bool, str | None, str | None]
                if found in RIGHT:
                    judged = (True, ROUNDED if found == ROUNDED else None, None)
                elif found == UNDECIDED:
                    judged = (False, UNDECIDED, None)
                else:
                    judged = _wrong(a.name, i, j, g, places, exp[i, j], recomputed, wrong, solution)
                entries.append(entry_json(EntryVerdict(i + 1, j + 1, g, a.texts[i][j], exp[i, j], *judged)))
        out[a.name] = {"entries": entries, "written": len(entries), "total": len(exp)}
    return out


def _entry(raw: object, i: int, j: int) -> object:
    """Entry (i, j) of a raw answer (rows, a flat column, or a scalar)."""
    if not isinstance(raw, list):
        return raw
    if raw and all(not isinstance(r, list) for r in raw):
        return raw[max(i, j)]
    return raw[i][j]


def _recomputed(exercise: Exercise, solution: Solution, complete: Mapping) -> Solution | None:
    """Every step recomputed from the student's whole answers (of the right shape), or None."""
    answers = {n: v for n, v in complete.items() if n not in META_KEYS}
    if not answers:
        return None
    try:
        read = from_data(answers, solution)
    except SymnetError:
        return None
    given = {}
    for a in read.items:
        e = solution[a.name]
        if isinstance(e, sp.MatrixBase):
            if a.value.shape == e.shape:
                given[a.name] = a.value
        else:
            given[a.name] = a.value[0, 0]
    try:
        return solve(exercise, given=given)
    except (SymnetError, ArithmeticError, ValueError, RecursionError):
        return None


def _wrong(name: str, i: int, j: int, g: sp.Expr, places: int | None, expected: sp.Expr,
           recomputed: Solution | None, wrong: set[str], solution: Solution) -> tuple[bool, str | None, str | None]:
    bounds = solution.exercise.bounds
    if recomputed is not None and name in recomputed:
        r = recomputed[name]
        v = r[i, j] if isinstance(r, sp.MatrixBase) else r
        if matches(v, None, expected, bounds) is None and matches(g, places, v, bounds) in RIGHT:
            source = _nearest(name, wrong, solution)
            if source is not None:
                return False, CARRIED, source
    if expected != 0 and matches(g, places, -expected, bounds) in RIGHT:
        return False, SIGN_FLIPPED, None
    if places is not None and near_miss(g, places, expected):
        return False, ROUNDING_ERROR, None
    return False, None, None


def _nearest(name: str, wrong: set[str], solution: Solution) -> str | None:
    """The nearest quantity upstream of `name` that the student got wrong."""
    deps = dependencies(solution)
    seen, frontier = {name}, [name]
    while frontier:
        nxt = [d for n in frontier for d in deps.get(n, ()) if d not in seen]
        seen.update(nxt)
        for d in nxt:
            if d in wrong:
                return d
        frontier = nxt
    return None
