"""Class sets: per-student folders and an index, the same in parallel, atomic, and resumed without redoing work."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

import symnet
from symnet.classset import labelled, student_options, student_seed
from symnet.generate import generate, options
from symnet.spec import parse_text

from .conftest import require_tool

OLD = 1_000_000_000  # a timestamp (2001) stamped on files to see which ones a re-run rewrote


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def stamp_old(root: Path) -> None:
    for p in root.rglob("*"):
        if p.is_file():
            os.utime(p, (OLD, OLD))


def rewritten(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.stat().st_mtime != OLD}


def test_class_set_folders_index_and_contents(cli, tmp_path):
    out = tmp_path / "set"
    run = cli("generate", "hidden-layer", "--seed", "5", "--count", "3", "--out", out)
    assert run.code == 0 and run.err == ""  # no progress: stderr is not a terminal here
    assert "3 written, 0 already complete" in run.out
    rows = list(csv.DictReader((out / "index.csv").open()))
    secret = (out / "secret").read_text().strip()  # made for the class, kept for a re-run, readable by its owner only
    assert len(secret) == 32 and (out / "secret").stat().st_mode & 0o077 == 0
    assert rows == [{"student": str(n), "seed": str(student_seed(5, n, secret))} for n in (1, 2, 3)]
    assert sorted(p.name for p in out.iterdir()) == ["index.csv", "secret", "student-001", "student-002", "student-003"]
    render = pytest.importorskip("symnet.render").render
    for n in (1, 2, 3):
        folder = out / f"student-{n:03d}"
        assert sorted(p.name for p in folder.iterdir()) == ["key.md", "spec.toml", "worksheet.md"]
        spec = (folder / "spec.toml").read_text()
        opts = student_options(options("hidden-layer", seed=5), n, secret)
        assert spec == labelled(generate(opts), f"student {n}").toml() and f"seed = {opts.seed}" in spec
        assert f'title = "A hidden layer (student {n})"' in spec  # the title names the student, never the seed
        solution = symnet.load(parse_text(spec, str(folder / "spec.toml"))).solve()
        assert (folder / "key.md").read_text() == render(solution, "markdown")
        assert (folder / "worksheet.md").read_text() == render(solution, "markdown", worksheet=True)


def test_students_differ_and_seeds_do_not_depend_on_the_count():
    assert len({student_seed(0, n, "s") for n in range(1, 501)}) == 500
    assert student_seed(7, 3, "s") == student_seed(7, 3, "s") != student_seed(8, 3, "s") != student_seed(7, 3, "t")
    assert all(0 <= student_seed(0, n, "s") < 2**63 for n in range(1, 50))  # a seed `generate --seed` takes


def test_parallel_set_is_identical_to_serial(cli, tmp_path):
    common = ("generate", "backprop", "--seed", "2", "--count", "4", "--secret", "staff room")
    assert cli(*common, "--out", tmp_path / "a").code == 0
    assert cli(*common, "--out", tmp_path / "b", "--jobs", "2").code == 0
    a, b = tree(tmp_path / "a"), tree(tmp_path / "b")
    assert len(a) == 13 and a == b and not (tmp_path / "a" / "secret").exists()  # a given secret is not stored


def test_rerun_after_interruption_rewrites_only_the_missing_student(cli, tmp_path):
    out = tmp_path / "set"
    assert cli("generate", "batch", "--count", "4", "--out", out).code == 0
    before = tree(out)
    (out / "student-003" / "key.md").unlink()  # as if stopped while student 3 was being written
    (out / "student-003" / ".key.md.x1y2.tmp").write_text("half a key")  # a temp file left by the stop
    stamp_old(out)
    run = cli("generate", "batch", "--count", "4", "--out", out)
    assert run.code == 0 and "1 written, 3 already complete" in run.out
    assert rewritten(out) == {"index.csv", "student-003/spec.toml", "student-003/worksheet.md", "student-003/key.md"}
    assert tree(out) == before  # the same bytes as the uninterrupted run, and no temp file left


def test_rerun_redoes_empty_files_and_specs_of_other_options(cli, tmp_path):
    out = tmp_path / "set"
    assert cli("generate", "matmul", "--count", "3", "--out", out).code == 0
    (out / "student-001" / "worksheet.md").write_bytes(b"")
    stamp_old(out)
    assert cli("generate", "matmul", "--count", "3", "--out", out).code == 0
    assert {p for p in rewritten(out) if p != "index.csv"} == {f"student-001/{f}" for f in ("spec.toml", "worksheet.md", "key.md")}
    stamp_old(out)
    assert cli("generate", "matmul", "--count", "3", "--out", out, "--sizes", "2,3,2").code == 0
    assert len(rewritten(out)) == 10  # another --sizes: every student is made again


def test_growing_a_set_keeps_the_first_students(cli, tmp_path):
    out = tmp_path / "set"
    assert cli("generate", "single-neuron", "--count", "2", "--out", out).code == 0
    stamp_old(out)
    assert cli("generate", "single-neuron", "--count", "3", "--out", out).code == 0
    assert rewritten(out) == {"index.csv", "student-003/spec.toml", "student-003/worksheet.md", "student-003/key.md"}


def test_progress_only_at_a_terminal(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    run = cli("generate", "matmul", "--count", "2", "--out", tmp_path / "set")
    assert run.code == 0 and "symnet: 2/2 students" in run.err and "students" not in run.out.split(":")[0]
    assert "\r" not in run.out


def test_latex_class_set(cli, tmp_path):
    assert cli("generate", "four-neurons", "--count", "1", "--out", tmp_path, "--format", "latex").code == 0
    names = sorted(p.name for p in (tmp_path / "student-001").iterdir())
    assert names == ["key.tex", "spec.toml", "worksheet.tex"]
    assert (tmp_path / "student-001" / "key.tex").read_text().startswith("\\documentclass")


def test_pdf_class_set(cli, tmp_path):
    require_tool("pdflatex")
    assert cli("generate", "single-neuron", "--count", "1", "--out", tmp_path, "--format", "pdf").code == 0
    for name in ("key.pdf", "worksheet.pdf"):
        assert (tmp_path / "student-001" / name).read_bytes().startswith(b"%PDF")


def test_out_that_is_a_file_is_refused(cli, tmp_path):
    target = tmp_path / "taken"
    target.write_text("mine")
    run = cli("generate", "matmul", "--count", "2", "--out", target)
    assert run.code == 2 and run.err.startswith("symnet: error: ") and "is a file, not a folder" in run.err
    assert target.read_text() == "mine"


def test_pdf_without_pdflatex_writes_nothing(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    run = cli("generate", "matmul", "--count", "2", "--out", tmp_path / "set", "--format", "pdf")
    assert run.code == 2 and "pdflatex" in run.err and run.err.count("\n") == 1
    assert not (tmp_path / "set").exists()


def test_pdf_class_set_is_merged_named_and_keeps_its_secret(cli, tmp_path):
    """The whole class in one worksheets.pdf and one keys.pdf (the students' pages in order); a roster names each
    student on the name line and in the title; nothing a worksheet prints gives the secret or the seed behind it,
    and the seed a student could try, the class's --seed, does not make their exercise again."""
    require_tool("pdflatex")
    require_tool("pdftotext")
    roster = tmp_path / "names.csv"
    roster.write_text("name\nAda Lovelace\nAlan Turing\n", encoding="utf-8")
    out = tmp_path / "set"
    run = cli("generate", "single-neuron", "--seed", "3", "--roster", roster, "--out", out, "--format", "pdf")
    assert run.code == 0 and "2 students" in run.out
    secret = (out / "secret").read_text().strip()
    rows = list(csv.DictReader((out / "index.csv").open()))
    assert [r["name"] for r in rows] == ["Ada Lovelace", "Alan Turing"]

    def pages(path: Path) -> list[str]:
        text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
        return [p for p in text.split("\f") if p.strip()]

    merged, keys = pages(out / "worksheets.pdf"), pages(out / "keys.pdf")
    one, two = pages(out / "student-001" / "worksheet.pdf"), pages(out / "student-002" / "worksheet.pdf")
    assert merged == one + two and len(keys) == len(pages(out / "student-001" / "key.pdf")) * 2
    assert "Name: Ada Lovelace" in one[0] and "Name: Alan Turing" in two[0] and "(Alan Turing)" in two[0]
    for text in (one, two):
        flat = "".join(text).replace(" ", "")
        assert secret not in flat and not any(r["seed"] in flat for r in rows)
        assert "seed" not in "".join(text).lower()
    spec = (out / "student-001" / "spec.toml").read_text()
    guess = generate(options("single-neuron", seed=3)).toml()  # the class seed, tried without the secret
    assert guess.split("\n[[layers]]")[1] != spec.split("\n[[layers]]")[1]


@pytest.mark.parametrize("rows, count, message", [
    ("name\n\n", None, "names.csv: --roster: holds no names"),
    ("name,class\nAda,4B\n,4B\n", None, None),
    ("Ada\nBen\n", "3", "--count: --count 3 but the roster names 2 students"),
])
def test_roster_refusals_are_one_line(cli, tmp_path, rows, count, message):
    roster = tmp_path / "names.csv"
    roster.write_text(rows, encoding="utf-8")
    args = ["generate", "matmul", "--roster", roster, "--out", tmp_path / "set"] + (["--count", count] if count else [])
    run = cli(*args)
    if message is None:  # an empty name among names: refused, naming its row
        assert run.code == 2 and run.err.endswith(": --roster: row 3: no name\n")
    else:
        assert run.code == 2 and run.err.count("\n") == 1 and run.err.rstrip().endswith(message)
