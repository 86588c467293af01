"""Markdown through MkDocs' own pipeline (Python-Markdown with pymdownx.arithmatex, as MkDocs Material sets it up):
every display block reaches the page unchanged, and no maths leaks into the prose."""

from __future__ import annotations

import html
import re

import markdown
import pytest

from symnet.render import render
from symnet.spec import from_data

from .test_render import NASTY, maths_blocks, solutions

ARITHMATEX = {"extensions": ["pymdownx.arithmatex"], "extension_configs": {"pymdownx.arithmatex": {"generic": True}}}
BLOCK = re.compile(r'<div class="arithmatex">\\\[(.*?)\\\]</div>', flags=re.S)


def mkdocs_html(text: str) -> str:
    """The page body MkDocs makes of a Markdown document with arithmatex in its generic (KaTeX/MathJax) mode."""
    return markdown.markdown(text, **ARITHMATEX)


def delivered(page: str) -> tuple[list[str], str]:
    """(the TeX of every display block as the page hands it to KaTeX, the page without those blocks)."""
    return [html.unescape(b).strip() for b in BLOCK.findall(page)], BLOCK.sub("", page)


def documents():
    for name, sol in solutions():
        for worksheet in (False, True):
            yield f"{name}-{'worksheet' if worksheet else 'key'}", render(sol, "markdown", worksheet=worksheet)


@pytest.mark.parametrize("case", list(documents()), ids=lambda c: c[0])
def test_every_block_reaches_the_page_unchanged(case):
    _, text = case
    ours = [b.strip() for b in maths_blocks(text)]
    blocks, prose = delivered(mkdocs_html(text))
    assert blocks == ours
    for leak in ("$$", "\\begin", "\\frac", "\\partial", "\\cdot"):
        assert leak not in prose, leak


def test_a_wide_layer_and_a_hostile_title_stay_whole():
    data = {"title": NASTY, "X": [[1, -2, 3, 0, 1, 2, -1, 1, 0, 2, 1, -3]],
            "layers": [{"W": [[k % 3 - 1] for k in range(12)], "b": list(range(12)), "activation": "relu"},
                       {"W": [[1, -1] * 6], "activation": "identity"}],
            "loss": {"kind": "squared_error", "Y": [[1] * 12]}}
    text = render(from_data(data, source="wide").solve(), "markdown")
    blocks, prose = delivered(mkdocs_html(text))
    assert blocks == [b.strip() for b in maths_blocks(text)] and len(blocks) > 10
    assert "<script>" not in prose and "&lt;script&gt;" in prose  # the title is text, not markup
