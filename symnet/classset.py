"""Class sets: one generated exercise per student (spec, worksheet, key), written atomically and resumable; the whole
class in one PDF each (worksheets, keys); seeds salted by the class's secret; a roster naming the students."""

from __future__ import annotations

import csv
import hashlib
import os
import secrets
import shutil
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from .errors import RenderError, SymnetError, UsageError
from .files import write_output
from .generate import Generated, Options, generate, header_lines
from .spec import from_data, parse_text

EXTENSIONS = {"markdown": "md", "latex": "tex", "pdf": "pdf"}
MAX_COUNT, MAX_JOBS = 10_000, 64
INDEX = "index.csv"


SECRET = "secret"  # DIR/secret: the class's secret, made when none is given, kept for a re-run


def student_seed(seed: int, number: int, secret: str = "") -> int:
    """The seed of student `number` in the class set made from `seed` and the class's `secret` (the same however
    large the set): 63 bits of SHA-256, so that without the secret no printed number leads back to it."""
    digest = hashlib.sha256(f"symnet-class:{secret}:{seed}:{number}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def student_options(opts: Options, number: int, secret: str = "") -> Options:
    """The generation options of one student."""
    return replace(opts, seed=student_seed(opts.seed, number, secret))


def class_secret(root: Path, given: str | None) -> str:
    """The secret that salts a class's seeds: `given` (--secret), else the one kept in DIR/secret, else a new one
    (128 random bits), written there (readable by its owner only) so that a re-run makes the same set."""
    if given is not None:
        if not given.strip() or len(given) > 200 or any(ch < " " for ch in given):
            raise UsageError("must be 1 to 200 printable characters", field="--secret")
        return given
    path = root / SECRET
    if path.is_file():
        text = path.read_text(encoding="utf-8", errors="replace").strip()
        if text:
            return text
    made = secrets.token_hex(16)
    write_output(path, made + "\n")
    os.chmod(path, 0o600)
    return made


def read_roster(path: str, most: int = MAX_COUNT) -> list[str]:
    """The students' names of a roster: a CSV file whose column `name` (or `student`, else its first column) holds
    one name a row; each name cleaned for printing (one line, no control characters), none empty."""
    from .check.printable import clean

    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
    except FileNotFoundError:
        raise UsageError("no such file", source=path, field="--roster") from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise UsageError(f"cannot read it as UTF-8 CSV ({type(e).__name__})", source=path, field="--roster") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise UsageError("holds no names", source=path, field="--roster")
    head = [c.strip().lower() for c in rows[0]]
    column = next((head.index(h) for h in ("name", "student") if h in head), None)
    body = rows[1:] if column is not None else rows
    column = column or 0
    if not body:
        raise UsageError("holds no names", source=path, field="--roster")
    if len(body) > most:
        raise UsageError(f"more than {most} names", source=path, field="--roster")
    names = []
    for n, row in enumerate(body, 2 if body is not rows else 1):
        name = clean(row[column] if column < len(row) else "", 80)
        if not name:
            raise UsageError(f"row {n}: no name", source=path, field="--roster")
        names.append(name)
    return names


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


def labelled(g: Generated, label: str) -> Generated:
    """A class set's exercise: its title names the student (`label`), never the seed it was made from."""
    title = str(g.spec.get("title", "")).rsplit(" (seed ", 1)[0]
    return Generated(g.options, {**g.spec, "title": f"{title} ({label})"}, g.notes)


def make_student(opts: Options, folder: str, fmt: str, label: str = "", name: str = "",
                 layout: dict[str, Any] | None = None) -> None:
    """Generate one student's exercise and write its spec, worksheet and key (each atomically); `label` is said in
    the title instead of the seed, `name` fills the worksheet's name line, `layout` holds render()'s options."""
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
    made = generate(opts)
    text = (labelled(made, label) if label else made).toml()
    spec_path, sheet_path, key_path = student_files(base, fmt)
    solution = from_data(parse_text(text, str(spec_path)), str(spec_path)).solve()
    options = dict(layout or {}, student=name)
    for path, worksheet in ((sheet_path, True), (key_path, False)):
        doc = (render_pdf(solution, worksheet=worksheet, **options) if fmt == "pdf"
               else render(solution, fmt, worksheet=worksheet, **options))
        write_output(path, doc)
    write_output(spec_path, text)  # last: a complete spec names a complete student


def merge_pdfs(parts: list[Path], out: Path) -> None:
    """The PDFs one after the other in one file (a class's worksheets, its keys), written whole: with poppler's
    pdfunite, else pdflatex's pdfpages in a private folder."""
    pdfunite = shutil.which("pdfunite")
    if pdfunite is None:
        from .render.pdf import compile_pdf_files

        write_output(out, compile_pdf_files(parts))
        return
    tmp = out.with_name(f".{out.name}.merge.tmp")
    try:
        done = subprocess.run([pdfunite, *map(str, parts), str(tmp)], capture_output=True, timeout=120)
        if done.returncode != 0 or not tmp.is_file():
            raise RenderError(f"pdfunite failed: {done.stderr.decode('utf-8', 'replace').strip()[:200]}",
                              field="--format pdf")
        write_output(out, tmp.read_bytes())  # (the one writer of outputs: a link's target, a device in place)
    finally:
        tmp.unlink(missing_ok=True)


def _task(task: tuple[Options, str, str, str, str, dict[str, Any]]) -> str | None:
    """One student in a worker process; a user-facing error comes back as its one line."""
    try:
        make_student(*task)
    except SymnetError as e:
        return str(e)
    return None


def write_class_set(opts: Options, count: int | None, out: str, fmt: str = "markdown", jobs: int = 1,
                    roster: str | None = None, secret: str | None = None, layout: dict[str, Any] | None = None) -> int:
    """`--count N --out DIR`: N students' folders, DIR/index.csv and (PDF) DIR/worksheets.pdf and DIR/keys.pdf, the
    whole class in one file each; finished students are kept, not redone. `roster`: a CSV of names, one student
    each; `secret` salts the seeds (else DIR/secret's, or a new one kept there)."""
    names = read_roster(roster) if roster is not None else None
    if names is not None:
        if count is not None and count != len(names):
            raise UsageError(f"--count {count} but the roster names {len(names)} students", field="--count")
        count = len(names)
    if count is None:
        raise UsageError("a class set needs --count N or --roster FILE", field="--count")
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
    salt = class_secret(root, secret)
    students = [(n, student_options(opts, n, salt)) for n in range(1, count + 1)]
    label = (lambda n: names[n - 1]) if names is not None else (lambda n: f"student {n}")
    if names is not None:
        index = "student,name,seed\n" + "".join(f"{n},{_csv(names[n - 1])},{o.seed}\n" for n, o in students)
    else:
        index = "student,seed\n" + "".join(f"{n},{o.seed}\n" for n, o in students)
    write_output(root / INDEX, index)
    tasks = [(o, str(root / folder_name(n, count)), fmt, label(n), names[n - 1] if names else "", layout or {})
             for n, o in students if not is_complete(root / folder_name(n, count), o, fmt)]
    _run(tasks, jobs, count)
    done = count - len(tasks)
    merged = ""
    if fmt == "pdf":
        folders = [root / folder_name(n, count) for n in range(1, count + 1)]
        merge_pdfs([f / "worksheet.pdf" for f in folders], root / "worksheets.pdf")
        merge_pdfs([f / "key.pdf" for f in folders], root / "keys.pdf")
        merged = f"; the whole class in {root / 'worksheets.pdf'} and {root / 'keys.pdf'}"
    print(f"{out}: {count} students ({len(tasks)} written, {done} already complete); index in {root / INDEX}{merged}")
    return 0


def _csv(text: str) -> str:
    """A CSV field: a leading spreadsheet formula sign (= + - @) defused with a quote mark, and the field quoted when
    it holds a comma or a quote."""
    if text and text[0] in "=+-@":
        text = "'" + text
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\'') else text


def _run(tasks: list[tuple[Options, str, str, str, str, dict[str, Any]]], jobs: int, count: int) -> None:
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
