"""`--report class.html`: one self-contained page for the instructor (inline CSS and SVG, nothing fetched):
the score distribution, the most common mistakes, the entries most students got wrong, and every student."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..bounds import long_numbers
from ..record import Solution
from ..render.env import environment
from .grading import Grade, Rubric, number
from .printable import clean
from .report import FEEDBACK, common_mistakes, grouped_mistakes, shown
from .verdict import CARRIED

BINS = 10  # the distribution's bars: 0–10 %, …, 90–100 %


def _distribution(grades: Sequence[Grade]) -> list[dict[str, Any]]:
    counts = [0] * BINS
    for g in grades:
        if g.percent is not None:
            counts[min(BINS - 1, int(g.percent * BINS // 100))] += 1
    top = max(counts + [1])
    return [{"low": 100 * k // BINS, "high": 100 * (k + 1) // BINS, "count": n, "height": 150 * n / top}
            for k, n in enumerate(counts)]


def _wrong_entries(grades: Sequence[Grade], order: Sequence[str], limit: int = 12) -> list[dict[str, Any]]:
    """Entries by how many students got them wrong by a mistake of their own (carried ones counted apart)."""
    own: Counter = Counter()
    carried: Counter = Counter()
    keys: dict[tuple[str, int, int], Any] = {}
    for g in grades:
        if g.verdict is None:
            continue
        for q in g.verdict.quantities:
            for e in q.entries:
                if e.correct:
                    continue
                where = (q.name, e.row, e.col) if q.total > 1 else (q.name, 0, 0)
                keys[where] = e.expected
                (carried if e.diagnosis == CARRIED else own)[where] += 1
            if not q.shape_ok:
                own[(q.name, 0, 0)] += 1
                keys.setdefault((q.name, 0, 0), None)
    rank = {n: k for k, n in enumerate(order)}
    graded = sum(g.verdict is not None for g in grades) or 1
    rows = sorted(keys, key=lambda w: (-own[w], rank.get(w[0], 0), w[1], w[2]))
    out = []
    for w in rows[:limit]:
        if own[w] == 0:
            break
        out.append({"quantity": w[0], "entry": f"({w[1]}, {w[2]})" if w[1] else "whole", "own": own[w],
                    "carried": carried[w], "share": 100 * own[w] / graded,
                    "expected": shown(keys[w]) if keys[w] is not None else ""})
    return out


def _quantities(grades: Sequence[Grade], order: Sequence[str]) -> list[dict[str, Any]]:
    """Per quantity asked: the share of the class's points it earned, and how many left it out."""
    names = list(dict.fromkeys(s.name for g in grades for s in g.scores))
    rank = {n: k for k, n in enumerate(order)}
    names.sort(key=lambda n: rank.get(n, len(rank)))
    out = []
    for n in names:
        scores = [s for g in grades if g.verdict is not None for s in g.scores if s.name == n]
        top = sum(s.maximum for s in scores)
        share = 100 * sum((s.points for s in scores), Fraction(0)) / top if top else Fraction(0)
        out.append({"name": n, "share": float(share), "missing": sum(s.state == "missing" for s in scores),
                    "label": number(share, 0)})
    return out


@long_numbers()
def class_report(grades: Sequence[Grade], solution: Solution, rubric: Rubric) -> str:
    """The class report as one HTML page."""
    order = list(solution)
    graded = [g for g in grades if g.verdict is not None]
    percents = [float(g.percent) for g in graded if g.percent is not None]
    common = common_mistakes(grades)
    most = max([n for _, n in common] + [1])
    students: list[dict[str, Any]] = []
    for g in grades:
        if g.verdict is None:
            students.append({"name": g.student, "id": g.student_id, "file": clean(Path(g.source).name), "points": "",
                             "maximum": number(g.maximum), "percent": None, "mistakes": "",
                             "missing": [], "unreadable": clean(g.unreadable or "", 2000)})
            continue
        students.append({"name": g.student, "id": g.student_id, "file": clean(Path(g.source).name),
                         "points": number(g.points), "maximum": number(g.maximum),
                         "percent": float(g.percent) if g.percent is not None else None,
                         "percent_text": number(g.percent, 1), "mistakes": "; ".join(grouped_mistakes(g.verdict)),
                         "missing": list(g.verdict.missing), "unreadable": None})
    doc = {
        "title": clean(solution.exercise.title) or clean(solution.exercise.source),
        "count": len(grades), "graded": len(graded), "unreadable": len(grades) - len(graded),
        "all_right": sum(g.correct for g in grades),
        "mean": f"{statistics.mean(percents):.1f}" if percents else "–",
        "median": f"{statistics.median(percents):.1f}" if percents else "–",
        "maximum": number(grades[0].maximum) if grades else "0",
        "asked": max((len(g.scores) for g in grades), default=0),
        "follow_through": rubric.follow_through, "rubric": clean(rubric.source) or "default: 1 point per quantity",
        "bins": _distribution(grades),
        "mistakes": [{"code": c, "students": n, "width": 300 * n / most, "sentence": FEEDBACK.get(c, "")}
                     for c, n in common[:12]],
        "entries": _wrong_entries(grades, order),
        "quantities": _quantities(grades, order),
        "students": students,
    }
    return environment().get_template("class_report.html.j2").render(doc=doc, fmt="html")
