"""Class sets: one generated exercise per student (spec, worksheet, key), written atomically and resumable."""

from __future__ import annotations

import hashlib
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

from .errors import RenderError, SymnetError, UsageError
from .files import write_output
from .generate import Options, generate, header_lines
from .spec import from_data, parse_text

EXTENSIONS = {"markdown": "md", "latex": "tex", "pdf": "pdf"}
MAX_COUNT, MAX_JOBS = 10_000, 64
INDEX = "index.csv"


def student_seed(seed: int, number: int) -> int:
    """The seed of student `number` in the class set made from `seed` (the same however large the set)."""
    digest = hashlib.sha256(f"symnet-class:{seed}:{number}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def student_options(opts: Options, number: int) -> Options:
    """The generation options of one student."""
    return replace(opts, seed=student_seed(opts.seed, number))


def folder_name(number: int, count: int) -> str:
    """`student-001`: numbered with at least three digits, more for sets of 1000 or more."""
    return f"student-{number:0{max(3, len(str(count)))}d}"


def student_files(folder: Path, fmt: str) -> list[Path]:
    """The files of one student: the spec, then the worksheet and the key in the chosen format."""
    ext = EXTENSIONS[fmt]
    return [folder / "spec.toml", folder / f"worksheet.{ext}", folder / f"key.{ext}"]


def is_complete(folder: Path, opts: Options, fmt: str) -> bool:
    """True when every file of the student is there, non-empty, and the spec was made with these options."""
    files = student_files(folder, fmt)
    if not all(f.is_file() and f.stat().st_size > 0 for f in files):
        return False
    with open(files[0], encoding="utf-8", errors="replace") as f:
        return f.readline().rstrip("\n") == f"# {header_lines(opts, ())[0]}"


def make_student(opts: Options, folder: str, fmt: str) -> None:
    """Generate one student's exercise and write its spec, worksheet and key (each atomically)."""
    from .render import render, render_pdf

    base = Path(folder)
    if base.exists() and not base.is_dir():
        raise SymnetError("is a file, not a folder: move it away to make this student", source=folder)
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SymnetError(f"cannot make the folder: {e.strerror}", source=folder) from None
    for stale in base.glob(".*.tmp"):  # left by an interrupted atomic write
        stale.unlink(missing_ok=True)
    text = generate(opts).toml()
    spec_path, sheet_path, key_path = student_files(base, fmt)
    solution = from_data(parse_text(text, str(spec_path)), str(spec_path)).solve()
    for path, worksheet in ((sheet_path, True), (key_path, False)):
        doc = render_pdf(solution, worksheet=worksheet) if fmt == "pdf" else render(solution, fmt, worksheet=worksheet)
        write_output(path, doc)
    write_output(spec_path, text)  # last: a complete spec names a complete student


def _task(task: tuple[Options, str, str]) -> str | None:
    """One student in a worker process; a user-facing error comes back as its one line."""
    try:
        make_student(*task)
    except SymnetError as e:
        return str(e)
    return None


def write_class_set(opts: Options, count: int, out: str, fmt: str = "markdown", jobs: int = 1) -> int:
    """`--count N --out DIR`: N students' folders and DIR/index.csv; finished students are kept, not redone."""
    if not 1 <= count <= MAX_COUNT:
        raise UsageError(f"must be from 1 to {MAX_COUNT}, got {count}", field="--count")
    if not 1 <= jobs <= MAX_JOBS:
        raise UsageError(f"must be from 1 to {MAX_JOBS}, got {jobs}", field="--jobs")
    if fmt not in EXTENSIONS:
        raise UsageError(f"unknown format {fmt!r} (choose {', '.join(EXTENSIONS)})", field="--format")
    if fmt == "pdf" and shutil.which("pdflatex") is None:  # before any folder is made
        raise RenderError("PDF output needs pdflatex, which is not installed", field="--format pdf")
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise UsageError("is a file, not a folder", source=out, field="--out")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SymnetError(f"cannot make the folder: {e.strerror}", source=out) from None
    students = [(n, student_options(opts, n)) for n in range(1, count + 1)]
    write_output(root / INDEX, "student,seed\n" + "".join(f"{n},{o.seed}\n" for n, o in students))
    tasks = [(o, str(root / folder_name(n, count)), fmt) for n, o in students
             if not is_complete(root / folder_name(n, count), o, fmt)]
    _run(tasks, jobs, count)
    done = count - len(tasks)
    print(f"{out}: {count} students ({len(tasks)} written, {done} already complete); index in {root / INDEX}")
    return 0


def _run(tasks: list[tuple[Options, str, str]], jobs: int, count: int) -> None:
    """Make the students, in `jobs` processes when more than one; progress on stderr only at a terminal."""
    show = sys.stderr.isatty()
    skipped = count - len(tasks)
    if jobs > 1 and len(tasks) > 1:
        pool = ProcessPoolExecutor(max_workers=min(jobs, len(tasks)))
        chunk = max(1, min(8, len(tasks) // (4 * jobs)))
        results = pool.map(_task, tasks, chunksize=chunk)
    else:
        pool, results = None, map(_task, tasks)
    try:
        for i, error in enumerate(results, 1):
            if error is not None:
                raise SymnetError(error)
            if show:
                print(f"\rsymnet: {skipped + i}/{count} students", end="", file=sys.stderr, flush=True)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        if show and tasks:
            print(file=sys.stderr)
