"""Printers of verdicts: the contract's JSON, a readable text report, and the class summary table (text and CSV)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

import sympy as sp

from ..bounds import long_numbers
from ..export import value_str
from ..ops import mistakes
from .verdict import CARRIED, ROUNDED, EntryVerdict, QuantityVerdict, Verdict

# One plain sentence per diagnosis code: the ops' own mistakes (each declared with its sentence), and the checker's
# comparisons of whole answers; {source} is the first wrong step of a carried error.
FEEDBACK = {
    ROUNDED: "Right: the exact value rounds to what you wrote.",
    CARRIED: "Wrong only because {source} was wrong: recomputed from your {source}, this step is right.",
    **{m.code: m.sentence for m in mistakes()},
    "transposed": "Rows and columns are swapped: this is the transpose (∂L/∂W = ∂L/∂Z·Aᵀ has the shape of W).",
    "sign_flipped": "The sign is flipped: check the order of a subtraction (Ŷ − Y, not Y − Ŷ).",
    "bias_column": "This is ∂L/∂[W | b]: ∂L/∂W has the shape of W, and the last column is ∂L/∂b.",
    "bias_not_summed": "∂L/∂b is one column: add up ∂L/∂Z's columns over the batch.",
    "undecided": "Not decided: this entry could not be compared exactly with the answer within the checker's bounds; "
                 "write it more simply, as a fraction, a decimal or a shorter expression.",
}


def feedback(code: str | None, source: str | None = None) -> str | None:
    """The sentence of feedback for a diagnosis code (None for none)."""
    if code is None:
        return None
    return FEEDBACK[code].format(source=source or "an earlier answer")


# ---------------------------------------------------------------- JSON


def _str(v: sp.Expr) -> str:
    """`value_str`, also for an integer longer than Python prints by default (4300 digits; a number within
    result_bits has up to 19729, and an exact value passed from Python is printed as it is)."""
    with long_numbers():
        return value_str(v)


def _given(e: EntryVerdict) -> str:
    return e.written.strip() if e.written is not None else _str(e.given)


def _explained(out: dict[str, Any], diagnosis: str | None, carried_from: str | None) -> dict[str, Any]:
    """`out` with `carried_from` and the diagnosis's feedback sentence, where there are any."""
    if carried_from:
        out["carried_from"] = carried_from
    if diagnosis:
        out["feedback"] = feedback(diagnosis, carried_from)
    return out


def entry_json(e: EntryVerdict) -> dict[str, Any]:
    """One entry as in the contract, with its feedback sentence (and `carried_from` for a carried error)."""
    out: dict[str, Any] = {"row": e.row, "col": e.col, "given": _given(e), "expected": _str(e.expected),
                           "correct": e.correct, "diagnosis": e.diagnosis}
    return _explained(out, e.diagnosis, e.carried_from)


def quantity_json(q: QuantityVerdict) -> dict[str, Any]:
    """One quantity as in the contract: correct, entries (none when misshapen), shapes, diagnosis, feedback."""
    out: dict[str, Any] = {"correct": q.correct, "right": q.right, "total": q.total,
                           "entries": [entry_json(e) for e in q.entries],
                           "shape_given": list(q.shape_given), "shape_expected": list(q.shape_expected),
                           "diagnosis": q.diagnosis}
    return _explained(out, q.diagnosis, q.carried_from)


def to_json(v: Verdict) -> dict[str, Any]:
    """The contract's `check --format json` document."""
    return {"correct": v.correct, "student": v.student, "right": v.right, "total": v.total,
            "quantities": {q.name: quantity_json(q) for q in v.quantities}}


def class_json(verdicts: list[Verdict]) -> dict[str, Any]:
    """Several students: each one's document, and the most common mistakes."""
    return {"correct": all(v.correct for v in verdicts),
            "students": [to_json(v) | {"source": v.source} for v in verdicts],
            "common": [{"diagnosis": c, "students": n} for c, n in common_mistakes(verdicts)]}


# ---------------------------------------------------------------- text


def _shape(shape: tuple[int, ...]) -> str:
    return "a scalar" if not shape else "×".join(map(str, shape))


def _approx(x: sp.Expr, e: EntryVerdict) -> str:
    if x.is_Rational or x.free_symbols:
        return ""
    places = max(4, len(_given(e).split(".")[-1]) + 2) if "." in _given(e) else 4
    return f" ≈ {sp.N(x, places + 3):.{places}f}" if x.is_real else ""


def _label(q: QuantityVerdict) -> str:
    if q.correct:
        return "right" + (" (rounded)" if q.diagnosis == ROUNDED else "")
    if not q.shape_ok:
        return f"wrong shape: {_shape(q.shape_given)}, expected {_shape(q.shape_expected)}"
    return "wrong" + (f": carried from {q.carried_from}" if q.carried_from else "")


def text_report(v: Verdict) -> str:
    """Per quantity: right or wrong, each wrong entry (expected vs given), the feedback, then a summary line."""
    width = max(len(q.name) for q in v.quantities)
    lines = [f"{v.title or 'Check'} — {v.student}", ""]
    for q in v.quantities:
        lines.append(f"{q.name:<{width}}  {q.right}/{q.total}  {_label(q)}")
        for e in q.entries:
            if e.correct:
                continue
            why = f"  [{e.diagnosis}{' from ' + e.carried_from if e.carried_from else ''}]" if e.diagnosis else ""
            where = "" if q.total == 1 else f"({e.row}, {e.col}) "
            lines.append(f"  {where}expected {_str(e.expected)}{_approx(e.expected, e)}, given {_given(e)}{why}")
        sentences = [feedback(c, q.carried_from or _first_source(q)) for c in q.codes]
        if not q.shape_ok and not q.diagnosis:
            sentences.append(f"Write it as a {_shape(q.shape_expected)} matrix." if q.shape_expected
                             else "Write it as a single number.")
        elif any(not e.correct and e.diagnosis is None for e in q.entries):
            sentences.append("No known mistake explains " + ("these entries" if sentences else "this") + ": recompute.")
        lines += [f"  → {s}" for s in sentences]
    lines += ["", summary_line(v)]
    return "\n".join(lines) + "\n"


def _first_source(q: QuantityVerdict) -> str | None:
    return next((e.carried_from for e in q.entries if e.carried_from), None)


def grouped_mistakes(v: Verdict) -> list[str]:
    """Each mistake once, with the quantities that show it: `code in Q1, Q2`."""
    by_code: dict[str, list[str]] = {}
    for name, code in v.mistakes:
        by_code.setdefault(code or "unexplained", []).append(name)
    return [f"{code} in {', '.join(names)}" for code, names in by_code.items()]


def summary_line(v: Verdict) -> str:
    """One line: entries right, each mistake with the quantities that show it, and the carried errors."""
    wrong = [q for q in v.quantities if not q.correct]
    head = f"{v.right}/{v.total} entries right in {len(v.quantities)} quantities"
    if not wrong:
        return head + ": all right."
    parts = grouped_mistakes(v)
    own = {n for n, _ in v.mistakes}
    carried = [q.name for q in wrong if q.name not in own]
    if carried:
        parts.append(f"carried_error in {', '.join(carried)}")
    return f"{head}. Mistakes: " + "; ".join(parts) + "."


# ---------------------------------------------------------------- a class


def common_mistakes(verdicts: list[Verdict]) -> list[tuple[str, int]]:
    """Each diagnosis code (carried errors aside) with the number of students who made it, most common first."""
    count = Counter(code for v in verdicts for code in {c for _, c in v.mistakes if c})
    return sorted(count.items(), key=lambda kv: (-kv[1], kv[0]))


def _columns(verdicts: list[Verdict]) -> list[tuple[str, int]]:
    seen: dict[str, int] = {}
    for v in verdicts:
        for q in v.quantities:
            seen.setdefault(q.name, q.total)
    return list(seen.items())


def table_rows(verdicts: list[Verdict], text: bool = False) -> list[list[str]]:
    """The class table: a header, one row per student (right entries per quantity), and a row for all.

    As text a cell reads `3/4`; for a spreadsheet it is the number 3, under a header `Z1 (of 4)`."""
    cols = _columns(verdicts)
    head = [n if text else f"{n} (of {t})" for n, t in cols]
    rows = [["student"] + head + ["right", "of", "mistakes"]]

    def cell(right: int, total: int) -> str:
        return f"{right}/{total}" if text else str(right)

    for v in verdicts:
        got = {q.name: q for q in v.quantities}
        codes = grouped_mistakes(v)
        rows.append([v.student] + [cell(got[n].right, got[n].total) if n in got else "" for n, _ in cols]
                    + [str(v.right), str(v.total), "; ".join(codes)])
    totals = []
    for n, _ in cols:
        qs = [q for v in verdicts for q in v.quantities if q.name == n]
        totals.append(cell(sum(q.right for q in qs), sum(q.total for q in qs)))
    common = "; ".join(f"{c}: {k}" for c, k in common_mistakes(verdicts))
    rows.append(["(all)"] + totals + [str(sum(v.right for v in verdicts)), str(sum(v.total for v in verdicts)), common])
    return rows


def class_text(verdicts: list[Verdict]) -> str:
    """The class table as aligned text, then the most common mistakes with their feedback."""
    rows = [r[:-1] for r in table_rows(verdicts, text=True)]
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    lines = ["  ".join(c.rjust(w) if k else c.ljust(w) for k, (c, w) in enumerate(zip(r, widths))).rstrip() for r in rows]
    rule = "  ".join("-" * w for w in widths)
    lines = [lines[0], rule] + lines[1:-1] + [rule, lines[-1]]
    wrong = sum(not v.correct for v in verdicts)
    lines += ["", f"{len(verdicts) - wrong} of {len(verdicts)} students all right."]
    common = common_mistakes(verdicts)
    if common:
        lines.append("Most common mistakes:")
        lines += [f"  {c} ({n} student{'s' * (n != 1)}): {FEEDBACK[c]}" for c, n in common]
    return "\n".join(lines) + "\n"


def _safe(cell: str) -> str:
    """A cell a spreadsheet will not read as a formula."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def class_csv(verdicts: list[Verdict]) -> str:
    """The class table as CSV: per student the entries right in each quantity (blank: not answered)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    for row in table_rows(verdicts):
        w.writerow([_safe(c) for c in row])
    return out.getvalue()
