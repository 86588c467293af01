"""The norm and mixture built-ins held to their page counts on A4 (key and worksheet, the default layout): the sheet
layout's statistics table, packed displays, loss panel and backward grid keep them short (before: batch-norm 6,
layer-norm 7, moe 4, switch 5, transformer 7 pages, key and worksheet alike)."""

from __future__ import annotations

import pytest

from symnet.render import render_pdf
from symnet.spec import load

from .conftest import require_tool
from .test_sheets import page_count

PAGES = {"batch-norm": 3, "layer-norm": 4, "moe": 2, "switch": 3, "transformer": 5}  # at most; the key's as the sheet's


@pytest.mark.parametrize("name", sorted(PAGES))
def test_the_norm_and_mixture_sheets_stay_short(name, tmp_path):
    require_tool("pdflatex")
    sol = load(name).solve()
    key, sheet = (page_count(render_pdf(sol, worksheet=w), tmp_path) for w in (False, True))
    assert sheet <= PAGES[name] and key <= sheet + 1, (name, key, sheet)
