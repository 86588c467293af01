"""--feedback DIR (Markdown through KaTeX, PDF through pdflatex) and --report FILE (HTML in headless Chromium)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import IN_CI, require_tool
from .test_render import katex_errors, maths_blocks

ANSWERS = Path(__file__).resolve().parent / "answers"
CLASS = ANSWERS / "grading-class"
SOME = ["s05-elif.toml", "s06-farah.toml", "s10-jade.toml", "s11-kofi.toml", "s13-mateo.toml", "s18-rosa.toml"]
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]


@pytest.fixture
def some(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    for name in SOME:
        shutil.copy(CLASS / name, folder / name)
    hostile = folder / "zz-hostile.toml"
    hostile.write_text('student = "<img src=x onerror=alert(1)> $\\\\input{/etc/passwd}$ & Co"\n'
                       'Z1 = [-1, 3, 5, 3]\n', encoding="utf-8")
    return folder


def test_feedback_pages_in_markdown_and_pdf(cli, some, tmp_path):
    require_tool("pdflatex")
    out = tmp_path / "feedback"
    r = cli("check", "backprop", some, "--feedback", out)
    assert r.code == 1 and r.err == ""
    stems = sorted(p.stem for p in out.iterdir())
    assert stems == sorted([Path(n).stem for n in SOME + ["zz-hostile.toml"]] * 2)
    rosa = (out / "s18-rosa.md").read_text(encoding="utf-8")
    assert "**Score: 17.08 of 24 points (71.2 %)**" in rosa
    assert "\\boxed{\\textcolor{red}{-1}}" in rosa and "\\textcolor{gray}{-2}" in rosa  # dL/dZ1: own, carried
    assert "- **sign\\_flipped** in [dL/dZ3](#q1):" in rosa
    # dL/dW1's grey entries point to both causes: its first row to dL/dZ1, the others to dL/dZ3
    section = rosa.split("dL/dW1: right by follow-through")[1].split("<a id=")[0]
    assert "The grey entries at (1, 1), (1, 2), (1, 3) are carried from [dL/dZ1](#q9)" in section
    assert "(2, 3), (3, 1), (3, 2), (3, 3), (4, 1), (4, 2), (4, 3) are carried from [dL/dZ3](#q1)" in section
    elif_ = (out / "s05-elif.md").read_text(encoding="utf-8")
    assert "you wrote 0.496, the key is exp(4)/(1 + 2\\*exp(4)) ≈ 0.49546; the exact value rounds to 0.495 at 3" in elif_
    kofi = (out / "s11-kofi.md").read_text(encoding="utf-8")
    assert "**Your file could not be read**" in kofi and "not valid TOML" in kofi
    mateo = (out / "s13-mateo.md").read_text(encoding="utf-8")
    assert "\x1b" not in mateo and "Mateo\\[2J Ramos" in mateo.replace("&#91;", "\\[")
    hostile = (out / "zz-hostile.md").read_text(encoding="utf-8")
    assert "<img" not in hostile and "&lt;img" in hostile
    blocks = [b for f in sorted(out.glob("*.md")) for b in maths_blocks(f.read_text(encoding="utf-8"))]
    assert len(blocks) > 20
    assert katex_errors(blocks) == []
    require_tool("pdftotext")
    text = subprocess.run(["pdftotext", str(out / "s18-rosa.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Score: 17.08 of 24 points (71.2" in text and "The sign is flipped" in text
    text = subprocess.run(["pdftotext", str(out / "zz-hostile.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "onerror" in text and "passwd" in text  # printed as text, never run


def test_feedback_refuses_a_file_for_its_folder(cli, tmp_path):
    f = tmp_path / "taken"
    f.write_text("x")
    r = cli("check", "backprop", CLASS / "s01-amara.toml", "--feedback", f)
    assert r.code == 2 and "--feedback needs a folder" in r.err


def _chromium():
    if not Path(CHROMIUM).exists():
        message = "Debian's chromium is not installed (.ci/run installs it)"
        pytest.fail(message) if IN_CI else pytest.skip(message)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        message = "playwright is not installed (the test extra)"
        pytest.fail(message) if IN_CI else pytest.skip(message)
    return sync_playwright


def test_class_report_opens_in_chromium_without_errors(cli, some, tmp_path):
    sync_playwright = _chromium()
    report = tmp_path / "class.html"
    r = cli("check", "backprop", some, "--report", report)
    assert r.code == 1
    html = report.read_text(encoding="utf-8")
    assert "<script" not in html and "http" not in html.replace("http://www.w3.org/2000/svg", "")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = browser.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda q: problems.append(q.url) if not q.url.startswith("file:") else None)
        page.goto(report.as_uri())
        assert problems == []
        assert page.locator("svg").count() == 3  # the distribution, the mistakes, the points per quantity
        assert page.locator("img").count() == 0  # the hostile name is text
        body = page.inner_text("body")
        assert "<img src=x onerror=alert(1)>" in body
        assert "unreadable: not valid TOML" in body
        assert "Entries most students got wrong" in body
        rows = page.locator("h2:has-text('Entries most students got wrong') + table tr").all_inner_texts()
        assert rows[1].split("\t")[:3] == ["dL/dZ3", "(1, 1)", "2"]  # Farah and Rosa: Y − Ŷ
        bars = page.locator("svg[aria-label='Students per mistake'] text").evaluate_all(
            "nodes => nodes.map(n => n.textContent)")
        assert bars[:2] == ["sign_flipped", "2"]
        browser.close()


@pytest.mark.parametrize("spec, answers", [
    ("matmul", "C = [[3, 1], [9, -1], [4, 0]]\n"),  # the transpose of A·B (SEEDS.md)
    ("hidden-layer", "parameters = 20\nZ1 = [[-1, 3, 5, 3]]\n"),
    ("SYMBOLIC", 'Z1 = "w1*x1 + w2*x2"\n'),  # the bias c left out
])
def test_feedback_for_other_exercises(cli, tmp_path, spec, answers):
    require_tool("pdflatex")
    if spec == "SYMBOLIC":
        spec = tmp_path / "s.toml"
        spec.write_text('X = ["x1", "x2"]\n[[layers]]\nW = { symbol = "w", shape = [1, 2] }\nb = ["c"]\n')
    (tmp_path / "a.toml").write_text(answers)
    out = tmp_path / "fb"
    assert cli("check", spec, tmp_path / "a.toml", "--feedback", out).code == 1
    md = (out / "a.md").read_text(encoding="utf-8")
    assert (out / "a.pdf").read_bytes().startswith(b"%PDF")
    assert katex_errors(maths_blocks(md)) == []
