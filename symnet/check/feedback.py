"""`--feedback DIR`: one page per student, Markdown and PDF, from templates/feedback.*.j2.

The page puts each answer beside the key: wrong entries boxed in red, entries carried from an earlier mistake in
grey with a pointer to it, each mistake named with its sentence, what a rounding slip rounds to. Everything here
is data for the templates; the maths is printed there, by the one printer (`symnet.render.env.tex`)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sympy as sp

from ..bounds import long_numbers
from ..errors import RenderError, SymnetError
from ..files import write_atomic
from ..record import Solution
from ..render.env import environment
from ..render.pdf import PACKAGES, compile_pdf
from .compare import decimal_places
from .grading import Grade, Rubric, number
from .printable import clean, file_stem, shown_path
from .report import FEEDBACK, TRANSPOSED, approx, entry_note, quantity_sentences, row_notes, sentence, shown
from .verdict import CARRIED, ROUNDED, ROUNDING_ERROR, UNDECIDED, QuantityVerdict

_NAME = re.compile(r"^(?P<base>[A-Za-z]+?)(?P<index>\d*)(?P<prime>'?)$")
_GRAD = re.compile(r"^d(?P<num>[A-Za-z]+\d*)/d(?P<den>[A-Za-z]+\d*)$")
_DECIMAL = re.compile(r"^([+-]?)(\d*)\.?(\d*)(?:[eE]([+-]?\d+))?$")
STATES = {"right": "right", "carried": "right by follow-through", "partial": "partly right", "wrong": "wrong",
          "missing": "not answered", "shape": "wrong shape"}


def name_parts(name: str) -> dict[str, Any]:
    """A quantity name as the templates print it: a symbol with its index (Z1, W1'), a derivative (dL/dW1), or
    text (parameters)."""
    grad = _GRAD.match(name)
    if grad:
        return {"kind": "grad", "num": name_parts(grad["num"]), "den": name_parts(grad["den"])}
    m = _NAME.match(name)
    if m and len(m["base"]) <= 2:
        return {"kind": "symbol", "base": m["base"], "index": m["index"], "prime": bool(m["prime"])}
    return {"kind": "text", "text": name}


def _decimal(text: str) -> dict[str, str] | None:
    """A decimal as written, in parts the templates print: sign, digits, exponent (1.5e3 → 1.5·10³)."""
    m = _DECIMAL.match(text.strip().replace("_", ""))
    if not m:
        return None
    sign, whole, frac, exp = m.groups()
    mantissa = f"{'-' if sign == '-' else ''}{whole or '0'}" + (f".{frac}" if "." in text else "")
    return {"mantissa": mantissa, "exp": str(int(exp)) if exp else ""}


def _matrix(v: object) -> sp.ImmutableMatrix:
    return v if isinstance(v, sp.MatrixBase) else sp.ImmutableMatrix([[v]])


def _cells(q: QuantityVerdict | None, answer, key: sp.ImmutableMatrix) -> list[list[dict[str, Any]]] | None:
    """The student's matrix, each entry marked: '' right, 'rounded', 'carried', 'wrong'."""
    if answer is None:
        return None
    marks = {}
    if q is not None:
        for e in q.entries:
            marks[(e.row - 1, e.col - 1)] = ("rounded" if e.correct else "carried" if e.diagnosis == CARRIED
                                             else "wrong")
    rows = []
    for i in range(answer.value.rows):
        row = []
        for j in range(answer.value.cols):
            text = answer.texts[i][j]
            dec = _decimal(text) if text is not None and decimal_places(text) is not None else None
            row.append({"value": answer.value[i, j], "dec": dec,
                        "mark": marks.get((i, j), "")})  # (a wrong shape is told in words: its numbers are not graded)
        rows.append(row)
    return rows


def _key(value: object) -> list[list[dict[str, Any]]]:
    m = _matrix(value)
    return [[{"value": m[i, j], "dec": None, "mark": ""} for j in range(m.cols)] for i in range(m.rows)]


def _groups(q: QuantityVerdict, grouped: Sequence[str]) -> list[dict[str, Any]]:
    """The wrong entries of a quantity by mistake (carried entries aside: they point to their source), each
    mistake with where it shows and its sentence; a rounding slip, an unexplained or undecided entry one by one."""
    if not q.shape_ok:
        if q.name in grouped:
            return []
        said = quantity_sentences(q, grouped)
        return [{"code": q.diagnosis or "", "where": "", "text": " ".join(said), "details": []}]
    by_code: dict[str | None, list] = {}
    for e in q.entries:
        if not e.correct and e.diagnosis != CARRIED:
            by_code.setdefault(e.diagnosis, []).append(e)
    out = []
    for code, entries in by_code.items():
        where = ", ".join(f"({e.row}, {e.col})" for e in entries) if q.total > 1 else ""
        details = []
        if code in (None, ROUNDING_ERROR, UNDECIDED):
            for e in entries:
                head = f"({e.row}, {e.col}): " if q.total > 1 else ""
                given = e.written.strip() if e.written else shown(e.given)
                note = f"; the exact value {entry_note(e)}" if code == ROUNDING_ERROR and entry_note(e) else ""
                details.append(f"{head}you wrote {given}, the key is {shown(e.expected)}{approx(e.expected, e)}{note}.")
            where = ""
        text = (sentence(code, q, q.carried_from) or "" if code is not None
                else "No known mistake explains " + ("these entries" if len(entries) > 1 else "this entry")
                + ": recompute from the answers above.")
        out.append({"code": code or "unexplained", "where": where, "text": text, "details": details})
    if len(out) == 1:
        out[0]["where"] = ""  # one mistake: the boxes say where
    return out


def feedback_data(g: Grade, solution: Solution, answers: dict[str, Any], rubric: Rubric) -> dict[str, Any]:
    """Everything one student's page shows, as plain data."""
    v = g.verdict
    doc: dict[str, Any] = {"title": clean(solution.exercise.title) or "Check", "student": g.student,
                           "id": g.student_id, "file": shown_path(g.source), "unreadable": g.unreadable,
                           "follow_through": rubric.follow_through, "points": number(g.points),
                           "maximum": number(g.maximum),
                           "percent": number(g.percent, 1) if g.percent is not None else "",
                           "sections": [], "right": [], "mistakes": [], "note": None, "penalties": [],
                           "rubric": rubric.source}
    if v is None:
        return doc
    grouped, doc["note"] = row_notes(v)
    got = {q.name: q for q in v.quantities}
    scores = {s.name: s for s in g.scores}
    names = [n for n in solution if n in got or n in scores]
    index = {}
    for n in names:
        q, s = got.get(n), scores.get(n)
        state = s.state if s else ("right" if q is not None and q.correct else "wrong")
        if state == "right" and q is not None and not any(e.correct is False for e in q.entries):
            doc["right"].append({"name": n, "parts": name_parts(n), "rounded": q.diagnosis == ROUNDED,
                                 "points": number(s.points) if s else "", "maximum": number(s.maximum) if s else ""})
            continue
        index[n] = len(doc["sections"]) + 1
        key = solution[n]
        section = {"index": index[n], "name": n, "parts": name_parts(n), "state": state, "label": STATES[state],
                   "points": number(s.points) if s else "", "maximum": number(s.maximum) if s else "",
                   "asked": s is not None, "yours": _cells(q, answers.get(n), key) if q else None, "key": _key(key),
                   "groups": _groups(q, grouped) if q else [], "sources": [], "shape": None}
        if q is not None:
            sources: dict[str, list[str]] = {}
            for e in q.entries:
                if e.diagnosis == CARRIED and e.carried_from:
                    sources.setdefault(e.carried_from, []).append(f"({e.row}, {e.col})")
            section["sources"] = list(sources.items()) if len(sources) > 1 else [(n, []) for n in sources]
            if not q.shape_ok:
                section["shape"] = ("×".join(map(str, q.shape_given)) or "a number",
                                    "×".join(map(str, q.shape_expected)) or "a number")
        key_cells, yours = _key(key), _cells(q, answers.get(n), key) if q else None
        section["wide"] = max(len(key_cells[0]), len(yours[0]) if yours else 0) > 5
        doc["sections"].append(section)
    # the quantities not answered last, each with its key
    doc["sections"].sort(key=lambda sec: sec["state"] == "missing")
    for k, sec in enumerate(doc["sections"], 1):
        index[sec["name"]] = sec["index"] = k
    for section in doc["sections"]:
        section["sources"] = [{"name": n, "parts": name_parts(n), "index": index.get(n), "where": ", ".join(at)}
                              for n, at in section["sources"]]
    by_code: dict[str, list[str]] = {}
    for name, code in v.mistakes:
        by_code.setdefault(code or "unexplained", []).append(name)
    for code, qs in by_code.items():
        text = (sentence(code, got[qs[0]]) or "" if code in FEEDBACK else
                "No known mistake explains these entries: recompute them from the answers above them.")
        if code == ROUNDING_ERROR:
            text += " What each value rounds to is under its quantity."
        if code == TRANSPOSED and doc["note"] and set(qs) <= set(grouped):
            text, doc["note"] = doc["note"], None  # all rows for columns: one note, here
        doc["mistakes"].append({"code": code, "sentence": text, "names": qs,
                                "links": [{"name": n, "parts": name_parts(n), "index": index.get(n)} for n in qs]})
    doc["penalties"] = [{"code": c, "points": number(p)} for c, p in rubric.penalty.items()]
    return doc


def _answers_by_name(path: str, solution: Solution) -> dict[str, Any]:
    from .answers import read_file

    try:
        return {a.name: a for a in read_file(path, solution).items}
    except SymnetError:
        return {}


@long_numbers()
def render_feedback(doc: dict[str, Any], fmt: str) -> str:
    """One student's page as Markdown (fmt "markdown") or LaTeX ("latex")."""
    template = {"markdown": "feedback.md.j2", "latex": "feedback.tex.j2"}[fmt]
    text = environment().get_template(template).render(doc=doc, fmt=fmt)
    return re.sub(r"\n{3,}", "\n\n", text).lstrip("\n")


def write_feedback(folder: str | Path, grades: Sequence[Grade], solution: Solution, rubric: Rubric,
                   pdf: bool = True) -> list[Path]:
    """DIR/<file>.md and DIR/<file>.pdf for every answers file (named after it); the paths written."""
    if pdf and shutil.which("pdflatex") is None:
        raise RenderError(f"--feedback writes PDF too, which needs pdflatex, not installed (Debian: apt-get install "
                          f"{PACKAGES})", field="--feedback")
    out = Path(folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SymnetError(f"cannot make the folder: {e.strerror}", source=str(folder)) from None
    taken: set[str] = set()
    written = []
    for g in grades:
        stem = file_stem(Path(g.source).stem, taken)
        answers = _answers_by_name(g.source, solution) if g.verdict is not None else {}
        doc = feedback_data(g, solution, answers, rubric)
        md = out / f"{stem}.md"
        write_atomic(md, render_feedback(doc, "markdown"))
        written.append(md)
        if pdf:
            target = out / f"{stem}.pdf"
            write_atomic(target, compile_pdf(render_feedback(doc, "latex")))
            written.append(target)
    return written
