"""`symnet check SPEC ANSWERS...`: one report for one file, a class table for several files or a folder."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..bounds import DEFAULT
from ..errors import AnswersError, UsageError
from ..files import same_file, write_atomic
from ..spec import load
from .answers import read_file
from .diagnose import check
from .report import class_csv, class_json, class_text, text_report, to_json
from .verdict import Verdict

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
        text = "[\n" + ",\n".join(inner + _json(v, inner) for v in doc) + f"\n{indent}]"
    return text + ("\n" if not indent else "")


def run_cli(args: argparse.Namespace) -> int:
    """Check every answers file; print a report (or a class table); exit 0 all right, 1 a wrong answer."""
    exercise = load(args.spec, bounds=getattr(args, "bounds", DEFAULT))
    paths, is_class = answer_paths(args.answers)
    if args.csv:
        for p in paths + [Path(args.spec)]:
            if p.exists() and same_file(p, args.csv):
                raise UsageError(f"--csv {args.csv} is an input file; choose another output", source=args.csv)
    solution = exercise.solve()
    verdicts: list[Verdict] = []
    for p in paths:
        verdicts.append(check(exercise, read_file(p, solution)))
    if args.format == "json":
        text = _json(class_json(verdicts) if is_class else to_json(verdicts[0]))
    else:
        text = class_text(verdicts) if is_class else text_report(verdicts[0])
    if args.csv:
        write_atomic(args.csv, class_csv(verdicts))
    sys.stdout.write(text)
    return 0 if all(v.correct for v in verdicts) else 1
