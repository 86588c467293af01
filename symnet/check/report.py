"""Printers of verdicts: the contract's JSON, a readable text report, and the class summary table (text and CSV)."""

from __future__ import annotations

import csv
import io
import shutil
from collections import Counter
from collections.abc import Sequence
from typing import Any

import sympy as sp
from sympy.printing.str import StrPrinter

from ..bounds import long_numbers
from ..export import value_str
from ..ops import mistakes
from .compare import decimal_text, rounded_at
from .grading import DEFAULT_RUBRIC, Grade, Rubric, grade, number
from .printable import clean, shown_path
from .verdict import CARRIED, ROUNDED, ROUNDING_ERROR, TRANSPOSED, EntryVerdict, QuantityVerdict, Verdict

# One plain sentence per diagnosis code: the ops' own mistakes (each declared with its sentence), and the checker's
# comparisons of whole answers; {source} is the first wrong step of a carried error.
FEEDBACK = {
    ROUNDED: "Right: the exact value rounds to what you wrote.",
    CARRIED: "Wrong only because {source} was wrong: recomputed from your {source}, this step is right.",
    **{m.code: m.sentence for m in mistakes()},
    "transposed": "Rows and columns are swapped: this is the transpose of the answer (a quantity has the shape of "
                  "what it replaces or differentiates: ∂L/∂W that of W, Z that of W·A).",
    "sign_flipped": "The sign is flipped: check the order of a subtraction (Ŷ − Y, not Y − Ŷ).",
    "bias_column": "This is ∂L/∂[W | b]: ∂L/∂W has the shape of W, and the last column is ∂L/∂b.",
    "bias_not_summed": "∂L/∂b is one column: add up ∂L/∂Z's columns over the batch.",
    ROUNDING_ERROR: "A rounding error: the exact value does not round to what you wrote at the digits you wrote; "
                    "round it once, from the exact value (or from more digits than you keep).",
    "undecided": "Not decided: this entry could not be compared exactly with the answer within the checker's bounds; "
                 "write it more simply, as a fraction, a decimal or a shorter expression.",
}


def feedback(code: str | None, source: str | None = None) -> str | None:
    """The sentence of feedback for a diagnosis code (None for none)."""
    if code is None:
        return None
    return FEEDBACK[code].format(source=source or "an earlier answer")


def sentence(code: str | None, q: QuantityVerdict, source: str | None = None) -> str | None:
    """The feedback sentence for a diagnosis of quantity `q`, fitted to it: a row written for a column is told
    so, and the shape a quantity has is said in its own terms (not ∂L/∂W's for Z1)."""
    if code == TRANSPOSED:
        return transposed_sentence(q)
    return feedback(code, source)


def _vector_swap(q: QuantityVerdict) -> str | None:
    """"row" when a column was written as a row, "column" for the reverse, None otherwise."""
    g, e = q.shape_given, q.shape_expected
    if len(g) == len(e) == 2 and g == e[::-1] and 1 in e and e != (1, 1):
        return "row" if e[1] == 1 else "column"
    return None


def transposed_sentence(q: QuantityVerdict) -> str:
    """Rows and columns swapped, said for this quantity."""
    name, shape = q.name, q.shape_expected
    swap = _vector_swap(q)
    if swap == "row":
        return (f"{name} is a column of {shape[0]} entries, and you wrote it as a row: write it as a flat list "
                "[a, b, …] or one entry per row [[a], [b], …].")
    if swap == "column":
        return f"{name} is a row of {shape[1]} entries, and you wrote it as a column: write it as [[a, b, …]]."
    size = "×".join(map(str, shape))
    if name.startswith("dL/dW"):
        why = f"∂L/∂W = ∂L/∂Z·Aᵀ has the shape of W ({size}: a row per neuron, a column per input)"
    elif name.startswith(("W", "b")) and name.endswith("'"):
        why = f"the updated weights have the shape of the weights ({size})"
    elif name == "C":
        why = f"C = A·B has the rows of A and the columns of B ({size})"
    elif name.startswith(("Z", "A", "dL/dZ", "dL/dA")):
        why = f"{name} has a row per neuron and a column per sample ({size})"
    else:
        why = f"{name} is {size}"
    return f"Rows and columns are swapped: this is the transpose; {why}."


class _Printer(StrPrinter):
    """SymPy's text printer, with Euler's number as e (a student reads E as a variable)."""

    def _print_Exp1(self, expr: sp.Basic) -> str:
        return "e"


def shown(v: sp.Expr) -> str:
    """An exact value as a student reads it: SymPy's text with e for Euler's number (and any length)."""
    with long_numbers():
        return _Printer({"order": None}).doprint(v)


def rounding_note(e: EntryVerdict, places: int) -> str:
    """What the exact value rounds to at the places written: `0.495`, or at a tie both neighbours."""
    r = rounded_at(e.expected, places)
    if r is None:
        return ""
    unit = "place" if places == 1 else "places"
    if r[1] is None:
        return f"rounds to {decimal_text(r[0], places)} at {places} decimal {unit}"
    return (f"rounds to {decimal_text(r[0], places)} or {decimal_text(r[1], places)} at {places} decimal {unit} "
            "(exactly halfway: either is right)")


# ---------------------------------------------------------------- JSON


def _str(v: sp.Expr) -> str:
    """`value_str`, also for an integer longer than Python prints by default (4300 digits; a number within
    result_bits has up to 19729, and an exact value passed from Python is printed as it is)."""
    with long_numbers():
        return value_str(v)


def _given(e: EntryVerdict) -> str:
    return e.written.strip() if e.written is not None else _str(e.given)


def _places(e: EntryVerdict) -> int | None:
    from .compare import decimal_places

    return decimal_places(e.written) if e.written is not None else None


def entry_note(e: EntryVerdict) -> str:
    """A rounding error's detail (what the value rounds to), else ''."""
    places = _places(e)
    return rounding_note(e, places) if e.diagnosis == ROUNDING_ERROR and places is not None else ""


def entry_json(e: EntryVerdict) -> dict[str, Any]:
    """One entry as in the contract, with its feedback sentence (and `carried_from` for a carried error)."""
    out: dict[str, Any] = {"row": e.row, "col": e.col, "given": _given(e), "expected": _str(e.expected),
                           "correct": e.correct, "diagnosis": e.diagnosis}
    if e.carried_from:
        out["carried_from"] = e.carried_from
    if e.diagnosis:
        out["feedback"] = feedback(e.diagnosis, e.carried_from)
    note = entry_note(e)
    if note:
        out["rounds_to"] = note
    return out


def quantity_json(q: QuantityVerdict) -> dict[str, Any]:
    """One quantity as in the contract: correct, entries (none when misshapen), shapes, diagnosis, feedback."""
    out: dict[str, Any] = {"correct": q.correct, "right": q.right, "total": q.total,
                           "entries": [entry_json(e) for e in q.entries],
                           "shape_given": list(q.shape_given), "shape_expected": list(q.shape_expected),
                           "diagnosis": q.diagnosis}
    if q.carried_from:
        out["carried_from"] = q.carried_from
    if q.diagnosis:
        out["feedback"] = sentence(q.diagnosis, q, q.carried_from)
    return out


def score_json(g: Grade) -> dict[str, Any]:
    """Points, maximum and percent (numbers, rounded to 2 decimals), and the points per quantity asked."""
    pct = g.percent
    return {"points": _json_number(g.points), "maximum": _json_number(g.maximum),
            "percent": None if pct is None else _json_number(pct),
            "quantities": {s.name: _json_number(s.points) for s in g.scores}}


def _json_number(x) -> int | float:
    text = number(x)
    return int(text) if "." not in text else float(text)


def to_json(v: Verdict, rubric: Rubric = DEFAULT_RUBRIC) -> dict[str, Any]:
    """The contract's `check --format json` document, with the quantities missing and the score."""
    out = {"correct": v.correct, "student": v.student, "right": v.right, "total": v.total,
           "quantities": {q.name: quantity_json(q) for q in v.quantities},
           "missing": list(v.missing), "score": score_json(grade(v, rubric))}
    if v.student_id:
        out["id"] = v.student_id
    return out


def grade_json(g: Grade, rubric: Rubric = DEFAULT_RUBRIC) -> dict[str, Any]:
    """One student of a class: the verdict's document and the file, or the reason it could not be read."""
    if g.verdict is None:
        return {"correct": False, "student": g.student, "source": shown_path(g.source), "unreadable": g.unreadable}
    return to_json(g.verdict, rubric) | {"source": shown_path(g.source)}


def class_json(grades: Sequence[Grade], rubric: Rubric = DEFAULT_RUBRIC) -> dict[str, Any]:
    """Several students: each one's document, and the most common mistakes."""
    return {"correct": all(g.correct for g in grades),
            "students": [grade_json(g, rubric) for g in grades],
            "common": [{"diagnosis": c, "students": n} for c, n in common_mistakes(grades)]}


# ---------------------------------------------------------------- text


def _shape(shape: tuple[int, ...]) -> str:
    return "a scalar" if not shape else "×".join(map(str, shape))


def approx(x: sp.Expr, e: EntryVerdict) -> str:
    """` ≈ 0.49546` beside an exact value that is not a rational (to two more places than the answer's), else ''."""
    if x.is_Rational or x.free_symbols:
        return ""
    places = max(4, len(_given(e).split(".")[-1]) + 2) if "." in _given(e) else 4
    return f" ≈ {sp.N(x, places + 3):.{places}f}" if x.is_real else ""


def _label(q: QuantityVerdict) -> str:
    if q.correct:
        return "right" + (" (rounded)" if q.diagnosis == ROUNDED else "")
    if not q.shape_ok:
        swap = _vector_swap(q)
        what = f" (a {swap} for a {'column' if swap == 'row' else 'row'})" if swap and q.diagnosis == TRANSPOSED else ""
        return f"wrong shape: {_shape(q.shape_given)}, expected {_shape(q.shape_expected)}{what}"
    return "wrong" + (f": carried from {q.carried_from}" if q.carried_from else "")


def row_notes(v: Verdict) -> tuple[list[str], str | None]:
    """When two or more columns were written as rows: their names and one note for them all (else [], None)."""
    rows = [q.name for q in v.quantities if q.diagnosis == TRANSPOSED and _vector_swap(q) == "row"]
    if len(rows) < 2:
        return [], None
    return rows, (f"{len(rows)} columns were written as rows ({', '.join(rows)}): a column is written as a flat "
                  "list [a, b, …] or one entry per row [[a], [b], …]; the numbers in them were not graded.")


def quantity_sentences(q: QuantityVerdict, grouped: Sequence[str] = ()) -> list[str]:
    """The feedback sentences of one quantity (its mistakes', a shape hint, or 'recompute')."""
    if q.name in grouped:
        return []
    sentences = [t for c in q.codes if (t := sentence(c, q, q.carried_from or _first_source(q)))]
    if not q.shape_ok and not q.diagnosis:
        sentences.append(f"Write it as a {_shape(q.shape_expected)} matrix." if q.shape_expected
                         else "Write it as a single number.")
    elif any(not e.correct and e.diagnosis is None for e in q.entries):
        sentences.append("No known mistake explains " + ("these entries" if sentences else "this") + ": recompute.")
    return sentences


def text_report(v: Verdict, rubric: Rubric = DEFAULT_RUBRIC) -> str:
    """Per quantity: right or wrong, each wrong entry (expected vs given), the feedback; the quantities not
    answered; then the score and a summary line."""
    width = max((len(q.name) for q in v.quantities), default=1)
    lines = [f"{clean(v.title) or 'Check'} — {v.student}", ""]
    grouped, note = row_notes(v)
    g = grade(v, rubric)
    for q in v.quantities:
        lines.append(f"{q.name:<{width}}  {q.right}/{q.total}  {_label(q)}")
        for e in q.entries:
            if e.correct:
                continue
            detail = entry_note(e)
            source = " from " + e.carried_from if e.carried_from else ""
            why = f"  [{e.diagnosis}{source}{': ' + detail if detail else ''}]" if e.diagnosis else ""
            where = "" if q.total == 1 else f"({e.row}, {e.col}) "
            lines.append(f"  {where}expected {shown(e.expected)}{approx(e.expected, e)}, given {_given(e)}{why}")
        lines += [f"  → {s}" for s in quantity_sentences(q, grouped)]
    if v.missing:
        lines += ["", "Not answered: " + ", ".join(v.missing) + "."]
    if note:
        lines += ["", f"Note: {note}"]
    lines += ["", score_line(g), summary_line(v)]
    return "\n".join(lines) + "\n"


def score_line(g: Grade) -> str:
    """`Score: 21.5 of 24 points (89.6 %)`."""
    pct = g.percent
    return f"Score: {number(g.points)} of {number(g.maximum)} points ({number(pct, 1)} %)."


def _first_source(q: QuantityVerdict) -> str | None:
    return next((e.carried_from for e in q.entries if e.carried_from), None)


def grouped_mistakes(v: Verdict) -> list[str]:
    """Each mistake once, with the quantities that show it: `code in Q1, Q2`."""
    by_code: dict[str, list[str]] = {}
    for name, code in v.mistakes:
        by_code.setdefault(code or "unexplained", []).append(name)
    return [f"{code} in {', '.join(names)}" for code, names in by_code.items()]


def summary_line(v: Verdict) -> str:
    """One line: entries right, each mistake with the quantities that show it, the carried errors, the missing."""
    wrong = [q for q in v.quantities if not q.correct]
    head = f"{v.right}/{v.total} entries right in {len(v.quantities)} quantities"
    missing = f"{len(v.missing)} of {len(v.asked)} quantities not answered: {', '.join(v.missing)}" if v.missing else ""
    if not wrong:
        return head + (f"; {missing}." if missing else ": all right.")
    parts = grouped_mistakes(v)
    own = {n for n, _ in v.mistakes}
    carried = [q.name for q in wrong if q.name not in own]
    if carried:
        parts.append(f"carried_error in {', '.join(carried)}")
    return f"{head}. Mistakes: " + "; ".join(parts) + "." + (f" {missing[0].upper()}{missing[1:]}." if missing else "")


# ---------------------------------------------------------------- a class


def common_mistakes(grades: Sequence[Grade | Verdict]) -> list[tuple[str, int]]:
    """Each diagnosis code (carried errors aside) with the number of students who made it, most common first."""
    verdicts = [g.verdict if isinstance(g, Grade) else g for g in grades]
    count = Counter(code for v in verdicts if v is not None for code in {c for _, c in v.mistakes if c})
    return sorted(count.items(), key=lambda kv: (-kv[1], kv[0]))


def columns(grades: Sequence[Grade], order: Sequence[str] = ()) -> list[tuple[str, Any]]:
    """(quantity, maximum) of every quantity asked of anyone, in the order of the computation (`order`, else as
    the students' scores list them: in the order of the computation too)."""
    seen: dict[str, Any] = {}
    for g in grades:
        for s in g.scores:
            seen.setdefault(s.name, s.maximum)
    rank = {n: k for k, n in enumerate(order)}
    return sorted(seen.items(), key=lambda kv: rank.get(kv[0], len(rank)))


def _cell(g: Grade, name: str) -> str:
    s = next((s for s in g.scores if s.name == name), None)
    if g.verdict is None or s is None:
        return ""
    return "-" if s.state == "missing" else number(s.points)


def class_rows(grades: Sequence[Grade], order: Sequence[str] = ()) -> list[list[str]]:
    """The class table as text cells: a header, one row per student (points per quantity asked, `-` not
    answered), points, maximum and percent."""
    asked = [n for n, _ in columns(grades, order)]
    rows = [["student"] + asked + ["points", "of", "%"]]
    for g in grades:
        if g.verdict is None:
            rows.append([g.student] + [""] * len(asked) + ["", number(g.maximum), "unreadable"])
        else:
            rows.append([g.student] + [_cell(g, n) for n in asked]
                        + [number(g.points), number(g.maximum), number(g.percent, 1)])
    return rows


def _aligned(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    lines = ["  ".join(c.rjust(w) if k else c.ljust(w) for k, (c, w) in enumerate(zip(r, widths))).rstrip()
             for r in rows]
    return [lines[0], "  ".join("-" * w for w in widths)] + lines[1:]


def terminal_width() -> int:
    """The terminal's width ($COLUMNS when set), 100 when there is none."""
    return max(40, shutil.get_terminal_size((100, 24)).columns)


def _label_of(name: str, width: int) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def class_table(grades: Sequence[Grade], width: int | None = None, order: Sequence[str] = ()) -> list[str]:
    """The class table in lines of at most `width` characters: students as rows when it fits, else transposed
    (quantities as rows, students as columns), in as many blocks of students as the width needs."""
    width = width or terminal_width()
    rows = class_rows(grades, order)
    lines = _aligned(rows)
    if max(map(len, lines)) <= width:
        return lines
    names = [_label_of(g.student, 10) for g in grades]
    body = [[r[k] for r in rows[1:]] for k in range(1, len(rows[0]))]  # per quantity (then points, of, %): students
    labels = rows[0][1:]
    first = max(map(len, labels + ["quantity"]))
    out: list[str] = []
    start = 0
    while start < len(grades):
        used, stop = first, start
        while stop < len(grades):
            col = max([len(names[stop])] + [len(b[stop]) for b in body])
            if stop > start and used + 2 + col > width:
                break
            used += 2 + col
            stop += 1
        block = [["quantity"] + names[start:stop]] + [[label] + b[start:stop] for label, b in zip(labels, body)]
        if out:
            out.append("")
        part = _aligned(block)
        out += part[:-3] + [part[1]] + part[-3:]  # a rule above the totals too
        start = stop
    return out


def class_text(grades: Sequence[Grade], width: int | None = None, order: Sequence[str] = ()) -> str:
    """The class table, each student's mistakes and missing answers, the unreadable files, the most common
    mistakes with their feedback."""
    lines = class_table(grades, width, order)
    right = sum(g.correct for g in grades)
    lines += ["", f"{right} of {len(grades)} students all right."]
    notes = []
    for g in grades:
        if g.verdict is None:
            notes.append(f"  {g.student}: unreadable: {clean(g.unreadable or '', 300)}")
            continue
        parts = grouped_mistakes(g.verdict)
        if g.verdict.missing:
            parts.append(f"not answered: {', '.join(g.verdict.missing)}")
        if parts:
            notes.append(f"  {g.student}: " + "; ".join(parts))
    if notes:
        lines += ["Per student:"] + notes
    common = common_mistakes(grades)
    if common:
        lines.append("Most common mistakes:")
        lines += [f"  {c} ({n} student{'s' * (n != 1)}): {FEEDBACK[c]}" for c, n in common]
    return "\n".join(lines) + "\n"


def safe_cell(cell: str) -> str:
    """A cell a spreadsheet will not read as a formula: one line, and a leading =, +, -, @ (after any spaces)
    quoted with an apostrophe."""
    cell = clean(cell, 10_000)
    return "'" + cell if cell.lstrip()[:1] in ("=", "+", "-", "@") else cell


def csv_rows(grades: Sequence[Grade], order: Sequence[str] = ()) -> list[list[str]]:
    """The gradebook: one row per student. file, id, student, points, maximum, percent, the points of each
    quantity asked (`Z1 (of 1)`; blank: not answered), the mistakes (codes with their quantities), the
    quantities not answered, and the status (`graded`, or `unreadable: …`)."""
    asked = columns(grades, order)
    rows = [["file", "id", "student", "points", "maximum", "percent"]
            + [f"{n} (of {number(m)})" for n, m in asked] + ["mistakes", "mistakes in", "not answered", "status"]]
    for g in grades:
        if g.verdict is None:
            rows.append([shown_path(g.source), g.student_id, g.student, "", number(g.maximum), ""]
                        + [""] * len(asked) + ["", "", "", f"unreadable: {g.unreadable}"])
            continue
        by_code: dict[str, list[str]] = {}
        for q, c in g.verdict.mistakes:
            by_code.setdefault(c or "unexplained", []).append(q)
        rows.append([shown_path(g.source), g.student_id, g.student, number(g.points), number(g.maximum),
                     number(g.percent, 1)]
                    + [_cell(g, n).replace("-", "") for n, _ in asked]
                    + [" ".join(by_code), "; ".join(f"{c}: {' '.join(qs)}" for c, qs in by_code.items()),
                       " ".join(g.verdict.missing), "graded"])
    return rows


def class_csv(grades: Sequence[Grade], order: Sequence[str] = ()) -> str:
    """The gradebook as CSV (RFC 4180, UTF-8), every cell safe for a spreadsheet."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    for row in csv_rows(grades, order):
        w.writerow([safe_cell(c) for c in row])
    return out.getvalue()
