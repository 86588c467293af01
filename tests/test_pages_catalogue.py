"""The catalogue built-ins held to their page counts on A4 (key and worksheet, the default layout, counted by pdfinfo):
the hand sheets draw each op on one page, the multi-layer ones on two, and the sheet layout comes as close as the
exercise lets it. Each bound is today's, so that a gain cannot be lost unnoticed (lower it when a layout improves);
one that misses the hand sheet's says why. A key never runs more than a page past its worksheet (page n of the key
grades page n of the worksheet). Before the sheet layouts: batch-norm 6, layer-norm 7, moe 4, switch 5, transformer
7; cnn 9, gan 7, multi-head-attention 7, dropout 5, conv1d, conv2d, rnn and self-attention-by-hand 4, max-pool, lstm
and self-attention 3, temperature 2 pages."""

from __future__ import annotations

import pytest

from symnet.render import render_pdf
from symnet.spec import load

from .conftest import require_tool
from .test_sheets import page_count

PAGES = {  # at most; the key's as the sheet's, or one more
    "batch-norm": 3, "layer-norm": 4, "moe": 2, "switch": 3, "transformer": 5,
    "conv1d": 1, "conv2d": 1, "max-pool": 1, "temperature": 1, "rnn": 1, "lstm": 1, "self-attention-by-hand": 1,
    "multi-head-attention": 2, "resnet": 2, "autoencoder": 2,
    "self-attention": 2,  # e and the root of 3 kept exact: each weight a fraction of three powers of e, each output two
    "dropout": 2,  # three dense layers' worth of 1 cm answer boxes, forward and back, each cascade half a page
    "gan": 5,  # two networks and the generator's pass through the discriminator: five grids of 1 cm boxes, two updates
    "cnn": 6,  # e kept exact: the dense layer's 27 gradients are fractions of 1 + e + e², in three blocks of the page
}


@pytest.mark.parametrize("name", sorted(PAGES))
def test_the_catalogue_sheets_stay_short(name, tmp_path):
    require_tool("pdflatex")
    sol = load(name).solve()
    key, sheet = (page_count(render_pdf(sol, worksheet=w), tmp_path) for w in (False, True))
    assert sheet <= PAGES[name] and key <= sheet + 1, (name, key, sheet)
