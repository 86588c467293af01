"""`--format html`: one standalone page, KaTeX inlined, opened in headless Chromium; user text stays text."""

from __future__ import annotations

import re

import pytest

from symnet.render import render
from symnet.render.html import ARITHMATEX, KATEX_DIR, MATHJAX, copy_katex, katex_css, render_fragment
from symnet.spec import builtin_names, from_data, load

from .browser import open_pages, require_module
from .test_render import NASTY

HOSTILE = {"title": NASTY, "description": "a <b>bold</b> & $$\\begin{x}$$ description",
           "X": [1, 2], "layers": [{"W": [[1, -1], [2, 0]], "b": [0, 1], "activation": "sigmoid"}],
           "loss": {"kind": "squared_error", "Y": [1, 0]}}


def test_the_page_is_standalone_and_fetches_nothing():
    page = render(load("backprop").solve(), "html")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # no script, style or font from anywhere
    assert "url(fonts/" not in page and page.count("data:font/woff2;base64,") == 20  # every font inlined
    assert "katex.render(" in page and (KATEX_DIR / "LICENSE").is_file()


def test_user_text_is_escaped_everywhere():
    sol = from_data(HOSTILE, source="hostile").solve()
    for text in (render(sol, "html"), render_fragment(sol, math=MATHJAX), render_fragment(sol, math=ARITHMATEX)):
        assert "<script>alert" not in text and "<b>bold</b>" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "&lt;b&gt;bold&lt;/b&gt;" in text
    title = re.search(r"<title>(.*)</title>", render(sol, "html")).group(1)
    assert "<" not in title and "&lt;script&gt;" in title


def test_cli_writes_html(cli, tmp_path):
    out = tmp_path / "key.html"
    assert cli("solve", "matmul", "--format", "html", "-o", out).code == 0
    assert cli("worksheet", "matmul", "--format", "html", "-o", tmp_path / "w.html").code == 0
    assert "katex.render(" in out.read_text(encoding="utf-8")
    bad = cli("solve", "matmul", "--format", "html", "--decimals", "99")
    assert bad.code == 2 and bad.err == "symnet: error: matmul: --decimals: expected a whole number from 0 to 30, got 99\n"


def test_katex_copied_beside_a_page_has_only_woff2(tmp_path):
    names = copy_katex(tmp_path)
    assert "katex.min.js" in names and len([n for n in names if n.endswith(".woff2")]) == 20
    css = (tmp_path / "katex.min.css").read_text(encoding="utf-8")
    assert ".woff)" not in css and ".ttf)" not in css
    for url in re.findall(r"url\(([^)]+)\)", css):
        assert (tmp_path / url).is_file(), url
    assert "base64" in katex_css(inline=True)


@pytest.mark.parametrize("worksheet", [False, True], ids=["key", "worksheet"])
def test_every_page_renders_in_chromium(tmp_path, worksheet):
    require_module("playwright")
    pages = []
    for name in builtin_names():
        path = tmp_path / f"{name}-{'worksheet' if worksheet else 'key'}.html"
        path.write_text(render(load(name).solve(), "html", worksheet=worksheet, decimals=2), encoding="utf-8")
        pages.append(path)
    hostile = tmp_path / "hostile.html"
    hostile.write_text(render(from_data(HOSTILE, source="hostile").solve(), "html"), encoding="utf-8")
    *reports, shown = open_pages(pages + [hostile], ".symnet-math", shots="html")
    for report in reports:
        report.assert_clean(at_least=1)  # (the sheet layout: a built-in in a few displays)
    shown.leaks = []  # its description holds $$ and \begin as text, on purpose
    shown.assert_clean(at_least=1)
    assert "<script>alert(1)</script>" in shown.text and "$$\\begin{x}$$" in shown.text  # as text; no script ran


def test_the_browser_check_sees_a_broken_page(tmp_path):
    require_module("playwright")
    page = render(load("matmul").solve(), "html")
    broken = page.replace('<div class="symnet-math">', '<div class="symnet-math">\\notacommand{x} ', 1)
    broken = broken.replace('<div class="symnet-math">', '<div class="symnet-math">\\frac{1}{ ', 2)
    broken = broken.replace("</body>", '<div class="symnet-math-x">$$\\begin{aligned}x\\end{aligned}$$</div></body>')
    (tmp_path / "broken.html").write_text(broken, encoding="utf-8")
    (report,) = open_pages([tmp_path / "broken.html"], ".symnet-math")
    assert report.errors == report.unrendered == report.raw_commands == 2 and report.leaks == ["$$", "\\begin", "\\frac"]
    with pytest.raises(AssertionError):
        report.assert_clean()
