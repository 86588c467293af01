"""The work behind each API call, on a request's parsed JSON: solve, check, the page's documents, generate, examples."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import sympy as sp

from ..bounds import DEFAULT, Bounds
from ..errors import AnswersError, SpecError, SymnetError, UsageError
from ..exercise import Exercise
from ..expr import FloatText
from ..reader import kind as kind_of
from ..record import Solution
from ..spec import builtin_names, builtin_text, from_data, load, parse_text

Json = dict[str, Any]
SPEC, ANSWERS = "spec", "answers"  # the sources named in error lines: "symnet: error: spec: layers[1].W: …"


# ---------------------------------------------------------------- the exercise of a request


def spec_data(body: Mapping, bounds: Bounds = DEFAULT) -> tuple[Json, str]:
    """The spec's structure in a request and its source: `"spec"` as a structure or a built-in's name, or
    `"spec_text"` (TOML, or JSON with `"format": "json"`) as pasted or uploaded."""
    if "spec_text" in body:
        text = body["spec_text"]
        fmt = body.get("format", "toml")
        if fmt not in ("toml", "json"):
            raise UsageError(f"expected \"toml\" or \"json\", got {str(fmt)[:40]!r}", source="request", field="format")
        if not isinstance(text, str):
            raise UsageError(f"expected the spec's text as a string, got {kind_of(text)}", source="request",
                             field="spec_text")
        return parse_text(text, SPEC, json_format=fmt == "json", bounds=bounds), SPEC
    if SPEC not in body:
        raise UsageError('expected "spec" (a spec\'s structure, or a built-in\'s name) or "spec_text"',
                         source="request", field=SPEC)
    spec = body[SPEC]
    if isinstance(spec, str) and not isinstance(spec, FloatText):
        names = builtin_names()
        if spec not in names:  # (never a path: the server reads no file it is named)
            raise SpecError(f"no such built-in exercise; built-ins: {', '.join(names)}", source=SPEC)
        return parse_text(builtin_text(spec), spec), spec
    if not isinstance(spec, Mapping):
        raise SpecError(f"expected a table of keys or a built-in's name, got {kind_of(spec)}", source=SPEC)
    return dict(spec), SPEC


def exercise_of(body: Mapping, bounds: Bounds = DEFAULT) -> tuple[Exercise, Json]:
    """The exercise a request names, and its spec's structure."""
    data, source = spec_data(body, bounds)
    return from_data(data, source, bounds), data


# ---------------------------------------------------------------- solve, check


def solve(body: Mapping, bounds: Bounds = DEFAULT) -> Json:
    """POST /api/solve: the contract's `solve --format json` document."""
    from ..export import to_json

    exercise, _ = exercise_of(body, bounds)
    return to_json(exercise.solve())


def check(body: Mapping, bounds: Bounds = DEFAULT) -> Json:
    """POST /api/check: the contract's `check --format json` document for `"answers"`. An entry may be null (not
    written yet): a quantity with one is left out of the check and its written entries are judged one by one, in
    `"partial"` (the page checks each entry as it is typed)."""
    from ..check.report import to_json
    from .partial import judge_partial, split

    exercise, data = exercise_of(body, bounds)
    answers = body.get(ANSWERS)
    if not isinstance(answers, Mapping):
        raise AnswersError(f"expected a table of quantities, got {kind_of(answers)}", source=ANSWERS)
    solution = exercise.solve()
    complete, partial = split(answers)
    if "student" in answers:
        complete["student"] = answers["student"]
    rubric = _rubric(data, solution)
    verdict = None
    if set(complete) - {"student"} or not partial:
        verdict = _check(exercise, complete, rubric.asked_in(solution))
    out = to_json(verdict, rubric) if verdict is not None else {"correct": False, "quantities": {}}
    if partial:
        out["partial"] = judge_partial(exercise, solution, complete, partial, verdict)
    return out


def _check(exercise: Exercise, answers: Mapping, asked: tuple[str, ...]) -> Any:
    from ..check import check as run_check

    try:
        return run_check(exercise, answers, asked=asked)
    except SymnetError as e:
        raise AnswersError(e.message, source=ANSWERS, field=e.field) from None


def _rubric(data: Mapping, solution: Solution) -> Any:
    from ..check.grading import DEFAULT_RUBRIC, rubric_from_table

    return rubric_from_table(data["grading"], solution, SPEC) if "grading" in data else DEFAULT_RUBRIC


# ---------------------------------------------------------------- the page's documents


def page(body: Mapping, bounds: Bounds = DEFAULT) -> Json:
    """POST /api/page: the key (`"view": "key"`, its given numbers named for editing; `"detail"`: the hand grid
    alone, "sheet", with the first entry of each kind written out, "steps" (the default), or every entry, "full") or
    the worksheet (its answer boxes named), as an HTML fragment for KaTeX, with the spec's structure (made explicit
    where a given is edited) and its TOML, the title, and the quantities asked."""
    from ..check.diagnose import askable
    from ..generate import to_toml
    from ..render.document import DETAILS
    from .boxes import named_fragment
    from .edit import editable

    view = body.get("view", "key")
    if view not in ("key", "worksheet"):
        raise UsageError(f"expected \"key\" or \"worksheet\", got {str(view)[:40]!r}", source="request", field="view")
    detail = body.get("detail", "steps")
    if detail not in DETAILS:
        raise UsageError(f"expected one of {', '.join(DETAILS)}, got {str(detail)[:40]!r}", source="request",
                         field="detail")
    exercise, data = exercise_of(body, bounds)
    solution = exercise.solve()
    layout = {"detail": detail} if view == "key" else None
    html, namer = named_fragment(solution, worksheet=view == "worksheet", layout=layout)
    data, givens = editable(data, exercise, namer)
    shapes = {n: list(v.shape) if isinstance(v, sp.MatrixBase) else [] for n, v in solution.items()}
    return {"title": exercise.title or exercise.source, "view": view, "html": html,
            "boxes": namer.entries(given=False), "givens": givens, "shapes": shapes, "asked": list(askable(solution)),
            "spec": data, "toml": to_toml(data)}


def generate(body: Mapping, bounds: Bounds = DEFAULT) -> Json:
    """POST /api/generate: a new exercise of `"kind"` (seed `"seed"`, default 0), as the generator makes it."""
    from ..generate import KINDS, options
    from ..generate import generate as make

    kind, seed = body.get("kind", "backprop"), body.get("seed", 0)
    if not isinstance(kind, str) or kind not in KINDS:
        raise UsageError(f"expected one of {', '.join(KINDS)}", source="request", field="kind")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise UsageError(f"expected a whole number, got {kind_of(seed)}", source="request", field="seed")
    made = make(options(kind, seed=seed))
    return {"spec": made.spec, "toml": made.toml(), "title": made.spec.get("title", "")}


def examples(body: Mapping, bounds: Bounds = DEFAULT) -> Json:
    """GET /api/examples: the built-ins (name, title, description) and the generator's kinds."""
    from ..generate import KINDS

    out = []
    for name in builtin_names():
        ex = load(name)
        out.append({"name": name, "title": ex.title, "description": ex.description})
    return {"examples": out, "kinds": list(KINDS)}


# ---------------------------------------------------------------- the answers file


_TOML_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")


def answers_file(body: Mapping, bounds: Bounds = DEFAULT) -> Json:
    """POST /api/answers: the page's answers as the TOML answers file `symnet check` reads (quantities not finished
    are named in a comment, not written)."""
    from .partial import split

    answers = body.get(ANSWERS)
    if not isinstance(answers, Mapping):
        raise AnswersError(f"expected a table of quantities, got {kind_of(answers)}", source=ANSWERS)
    complete, partial = split(answers)
    lines = ["# Answers written on the symnet serve page; check them with: symnet check SPEC answers.toml"]
    if partial:
        lines.append("# not finished (left out): " + ", ".join(_clean(n) for n in partial))
    student = answers.get("student")
    if isinstance(student, str) and student.strip():
        lines.append(f"student = {toml_string(student.strip()[:100])}")
    for name, value in complete.items():
        if name != "student":
            lines.append(f"{toml_string(str(name))} = {_toml(value)}")
    text = "\n".join(lines) + "\n"
    parse_text(text, ANSWERS, bounds=bounds)  # (it reads back)
    return {"toml": text}


def _toml(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, bool) or value is None:
        raise AnswersError(f"expected a number or a string, got {kind_of(value)}", source=ANSWERS)
    text = str(value).strip()
    return text if isinstance(value, (int, str)) and _TOML_NUMBER.fullmatch(text) else toml_string(text)


def toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and every control character escaped."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch < " " or ch == "\x7f":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _clean(name: object) -> str:
    return "".join(c if c.isprintable() else "?" for c in str(name))[:40]


TASKS: dict[str, Callable[[Mapping, Bounds], Json]] = {
    "solve": solve, "check": check, "page": page, "generate": generate, "examples": examples, "answers": answers_file,
}


def value_text(v: sp.Expr) -> str:
    """An exact value as a spec entry reads it back."""
    return sp.sstr(v)
