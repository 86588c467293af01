"""`symnet check SPEC ANSWERS...`: one report for one file, a class table for several files or a folder."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..bounds import DEFAULT
from ..errors import AnswersError, SymnetError, UsageError
from ..files import is_stdout, same_file, write_output
from ..record import Solution
from ..spec import load, read_data
from .answers import read_file
from .diagnose import ANSWERED, asked_names, check
from .grading import DEFAULT_RUBRIC, Grade, Rubric, RubricError, grade, rubric_from_table, unreadable
from .printable import clean
from .report import class_csv, class_json, class_text, text_report, to_json

SUFFIXES = (".toml", ".json")


def answer_paths(items: list[str]) -> tuple[list[Path], bool]:
    """The answers files named, a folder standing for its .toml and .json files; True when it is a class."""
    paths: list[Path] = []
    folder = False
    for item in items:
        p = Path(item)
        if p.is_dir():
            folder = True
            found = sorted(f for f in p.iterdir() if f.suffix.lower() in SUFFIXES and f.is_file())
            if not found:
                raise AnswersError("a folder with no .toml or .json answers files", source=item)
            paths += found
        else:
            paths.append(p)
    return paths, folder or len(paths) > 1


def _json(doc: object, indent: str = "") -> str:
    """JSON text that opens a line for every container holding tables, and keeps the rest on one line."""
    def nested(v: object) -> bool:
        items = v.values() if isinstance(v, dict) else v if isinstance(v, list) else []
        return any(isinstance(x, dict) or isinstance(x, list) and any(isinstance(y, dict) for y in x) for x in items)

    if not nested(doc):
        return json.dumps(doc, ensure_ascii=False) + ("\n" if not indent else "")
    inner = indent + " "
    if isinstance(doc, dict):
        parts = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {_json(v, inner)}" for k, v in doc.items()]
        text = "{\n" + ",\n".join(parts) + f"\n{indent}}}"
    else:
        assert isinstance(doc, list)  # nested: a table or a list
        text = "[\n" + ",\n".join(inner + _json(v, inner) for v in doc) + f"\n{indent}]"
    return text + ("\n" if not indent else "")


def _list(items: list[str] | None) -> list[str] | None:
    """Quantity names from repeated, comma-separated options (`--require Z1,A1 --require L`)."""
    if not items:
        return None
    return [n.strip() for item in items for n in item.split(",") if n.strip()]


def _rubric(args: argparse.Namespace, solution: Solution) -> Rubric:
    """The `--rubric` file's [grading] table, else the spec file's, else the default (1 point each)."""
    rubric_file = getattr(args, "rubric", None)
    bounds = solution.exercise.bounds
    if rubric_file:
        data = read_data(rubric_file, "rubric", bounds)
        extra = [k for k in data if k != "grading"]
        if extra or "grading" not in data:
            other = f", not {clean(extra[0], 40)!r}" if extra else ""
            raise RubricError(f"a rubric file holds one [grading] table{other}", source=rubric_file,
                              field=extra[0] if extra else "grading")
        return rubric_from_table(data["grading"], solution, rubric_file)
    spec = Path(str(args.spec))
    if spec.suffix.lower() in SUFFIXES and spec.is_file():
        data = read_data(spec, "spec", bounds)
        if "grading" in data:
            return rubric_from_table(data["grading"], solution, str(args.spec))
    return DEFAULT_RUBRIC


def _unreadable_name(path: Path, bounds) -> str:
    """The student's name from a file that could not be graded, when it can still be read; else the file's stem."""
    try:
        name = read_data(path, "answers", bounds).get("student")
    except SymnetError:
        name = None
    return clean(name) if isinstance(name, str) and clean(name) else clean(path.stem) or "?"


def _outputs(args: argparse.Namespace, inputs: list[Path]) -> None:
    """Refuse an output (--csv, --report, --feedback) that is an input file."""
    for option in ("csv", "report", "feedback"):
        out = getattr(args, option, None)
        if not out:
            continue
        for p in inputs:
            if p.exists() and same_file(p, out):
                raise UsageError(f"--{option} {out} is an input file; choose another output", source=str(out))
    fb = getattr(args, "feedback", None)
    if fb and Path(fb).exists() and not Path(fb).is_dir():
        raise UsageError("--feedback needs a folder (it is a file)", source=str(fb))


def run_cli(args: argparse.Namespace) -> int:
    """Check every answers file; print a report (or a class table); exit 0 all right, 1 a wrong or missing answer
    (or, in a class, an unreadable file), 2 bad input.

    The exercise, and then each answers file, runs in its own budget (--timeout, --memory: in a class, a file
    beyond it is unreadable, the others are graded); the outputs are written only when every file is checked.
    `--csv -` (or `--report -`) prints the CSV (the report) instead of the text report."""
    from ..cli import budget, refuse_inputs

    with budget(args, args.spec):
        exercise = load(args.spec, bounds=getattr(args, "bounds", DEFAULT))
        paths, is_class = answer_paths(args.answers)
        rubric_file = getattr(args, "rubric", None)
        inputs = paths + [Path(str(args.spec))] + ([Path(rubric_file)] if rubric_file else [])
        refuse_inputs(args.csv, inputs, "--csv")
        refuse_inputs(getattr(args, "report", None), inputs, "--report")
        _outputs(args, inputs)
        solution = exercise.solve()
        rubric = _rubric(args, solution)
        only, require = _list(getattr(args, "only", None)), _list(getattr(args, "require", None))
        if only and require:
            raise UsageError("give --require or --only, not both", field="--only")
        asked: tuple[str, ...] | str
        if (only or require) == [ANSWERED]:
            asked = ANSWERED
        elif only or require:
            asked = asked_names(solution, only or require, "--only" if only else "--require")
        else:
            asked = rubric.asked_in(solution)
    grades: list[Grade] = []
    for p in paths:
        try:
            with budget(args, str(p)):
                verdict = check(exercise, read_file(p, solution), asked=asked, only=bool(only))
        except SymnetError as e:
            if not is_class:
                raise
            where = ": ".join(x for x in (e.field, " ".join(e.message.split())) if x)
            grades.append(unreadable(str(p), _unreadable_name(p, exercise.bounds), clean(where, 300),
                                     asked if isinstance(asked, tuple) else (), rubric))
            continue
        grades.append(grade(verdict, rubric))
    with budget(args, args.spec):
        single = grades[0].verdict
        if args.format == "json":
            text = _json(class_json(grades, rubric) if is_class or single is None else to_json(single, rubric))
        else:
            text = (class_text(grades, order=list(solution)) if is_class or single is None
                    else text_report(single, rubric))
        if args.csv:
            table = class_csv(grades, list(solution))
            if is_stdout(args.csv):
                text = table
            else:
                write_output(args.csv, table, "--csv")
        if getattr(args, "feedback", None):
            from .feedback import write_feedback

            write_feedback(args.feedback, grades, solution, rubric)
        if getattr(args, "report", None):
            from .classreport import class_report

            page = class_report(grades, solution, rubric)
            if is_stdout(args.report):
                text = page
            else:
                write_output(args.report, page, "--report")
        sys.stdout.write(text)
    return 0 if all(g.correct for g in grades) else 1
