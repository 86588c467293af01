"""The named cells of symnet serve's page: every answer box of every built-in's worksheet is named, and each name is
the entry the key prints in that place (the key's value there is the solution's value of that entry)."""

from __future__ import annotations

import re

import pytest
import sympy as sp

import symnet
from symnet.render import printer
from symnet.render.env import tex
from symnet.render.html import KATEX, render_fragment
from symnet.serve.boxes import named_fragment, naming

OPEN = re.compile(r"\\htmlData\{symnet-ref=([bg]\d+)\}\{")
# An empty answer box: the least one, or one sized from its answer (maths.j2's slot: a strut and a kern, boxed).
BOX = re.compile(r"\\fbox\{\\phantom\{00\}\}|\\boxed\{\\rule\[-?[\d.]+em\]\{0em\}\{[\d.]+em\}\\kern[\d.]+em\}")


def bodies(html: str) -> list[tuple[str, str]]:
    """(id, TeX inside) of every \\htmlData group, its braces matched."""
    out = []
    for m in OPEN.finditer(html):
        depth, i = 1, m.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(html[i], 0)
            i += 1
        out.append((m[1], html[m.end():i - 1]))
    return out


# Landed from h-norm just before this branch finished: some boxes of these sheets are printed from values that no step
# records as they are (or by m.blank() itself), so they are left plain boxes, not inputs, on the Practise page.
UNNAMED: set[str] = set()


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(
    strict=True, reason="some boxes of the norm and mixture sheets are not named yet")) if n in UNNAMED else n
    for n in symnet.builtin_names()])
def test_every_box_is_named_with_the_entry_printed_there(name):
    solution = symnet.load(name).solve()
    html, namer = named_fragment(solution, worksheet=True)
    assert len(BOX.findall(html)) == len([b for b in bodies(html) if b[0].startswith("b")]) > 0
    with naming(solution, results=True) as keyed:  # the key, its results named too: each holds its entry's value
        key = render_fragment(keyed.solution, worksheet=False, math=KATEX)
    entries = {ref: e for e, ref in keyed.ids.items()}
    checked = 0
    shown = printer.for_exercise(solution.exercise)  # the key's own printing (decimals where the exercise rounds)
    for ref, body in bodies(key):
        e = entries[ref]
        v = solution[e.name] if e.name in solution else keyed.values[e.name]
        v = v[e.row - 1, e.col - 1] if isinstance(v, sp.MatrixBase) else v
        if re.fullmatch(r"-?\d+\.\d+", body):  # printed rounded (a worksheet's Ŷ ≈ beside A3): its rounding
            places = len(body.split(".")[1])
            assert abs(sp.N(v, 30) - sp.Rational(body)) <= sp.Rational(1, 2 * 10**places), (e, body)
        else:
            with printer.use(shown):
                assert tex(v) in body, (e, body)
        checked += 1
    assert checked >= len(namer.entries(given=False))
    # the worksheet's boxes name the same entries as the key's results
    assert {(b["name"], b["row"], b["col"]) for b in namer.entries(given=False)} <= \
        {(e.name, e.row, e.col) for e in entries.values() if not e.given}


def test_other_formats_and_pages_are_unchanged():
    solution = symnet.load("backprop").solve()
    plain = render_fragment(solution, worksheet=True, math=KATEX)
    assert "htmlData" not in plain
    with naming(solution) as namer:
        named = render_fragment(namer.solution, worksheet=True, math=KATEX)
    assert len(BOX.findall(named)) == len(BOX.findall(plain)) > 0  # the same boxes, named
    assert "htmlData" not in symnet.load("backprop").solve()._repr_markdown_()
