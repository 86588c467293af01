"""Class sets: per-student folders and an index, the same in parallel, atomic, and resumed without redoing work."""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

import pytest

import symnet
from symnet.classset import student_options, student_seed
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
    assert rows == [{"student": str(n), "seed": str(student_seed(5, n))} for n in (1, 2, 3)]
    assert sorted(p.name for p in out.iterdir()) == ["index.csv", "student-001", "student-002", "student-003"]
    render = pytest.importorskip("symnet.render").render
    for n in (1, 2, 3):
        folder = out / f"student-{n:03d}"
        assert sorted(p.name for p in folder.iterdir()) == ["key.md", "spec.toml", "worksheet.md"]
        spec = (folder / "spec.toml").read_text()
        opts = student_options(options("hidden-layer", seed=5), n)
        assert spec == generate(opts).toml() and f"seed = {opts.seed}" in spec
        solution = symnet.load(parse_text(spec, str(folder / "spec.toml"))).solve()
        assert (folder / "key.md").read_text() == render(solution, "markdown")
        assert (folder / "worksheet.md").read_text() == render(solution, "markdown", worksheet=True)


def test_students_differ_and_seeds_do_not_depend_on_the_count():
    assert len({student_seed(0, n) for n in range(1, 501)}) == 500
    assert student_seed(7, 3) == student_seed(7, 3) != student_seed(8, 3)


def test_parallel_set_is_identical_to_serial(cli, tmp_path):
    assert cli("generate", "backprop", "--seed", "2", "--count", "4", "--out", tmp_path / "a").code == 0
    assert cli("generate", "backprop", "--seed", "2", "--count", "4", "--out", tmp_path / "b", "--jobs", "2").code == 0
    a, b = tree(tmp_path / "a"), tree(tmp_path / "b")
    assert len(a) == 13 and a == b


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
