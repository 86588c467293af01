"""Worked solutions and worksheets: Markdown, LaTeX, PDF and HTML from the recorded steps, through Jinja2 templates."""

from __future__ import annotations

import re
from typing import Any

from ..bounds import long_numbers
from ..errors import RenderError
from ..record import Solution
from . import printer
from .document import Document, Options, build, mat
from .env import HEX_PALETTE, PALETTE, environment
from .layout import PAGES, SCREEN
from .pdf import compile_pdf

FORMATS = {"markdown": "solution.md.j2", "latex": "solution.tex.j2", "html": "solution.html.j2"}

__all__ = ["FORMATS", "Document", "Options", "RenderError", "build", "render", "render_jupyter", "render_pdf"]


def check_decimals(decimals: int | None) -> None:
    """Refuse a number of decimals outside 0…30."""
    if decimals is not None and not 0 <= decimals <= 30:
        raise RenderError(f"expected a whole number from 0 to 30, got {decimals}", field="--decimals")


@long_numbers()
def render(solution: Solution, fmt: str, worksheet: bool = False, decimals: int | None = None, *,
           detail: str = "sheet", scaffold: str = "grid", decimals_shown: bool | None = None, mono: bool = False,
           paper: str = "a4", student: str = "") -> str:
    """The worked solution (or, with worksheet=True, the same document with results blank) as Markdown, LaTeX or
    a standalone HTML page.

    detail (the key): "sheet" (the hand grid is the solution), "steps" (and the first entry of each kind written
    out), "full" (every entry written out). scaffold (the worksheet): "grid" (the grid with empty crossings),
    "formulas" (every entry's formula, as --detail full), "blank" (only the given numbers). decimals_shown: terminating
    fractions printed as decimals (−0.8; by default when the exercise rounds its values, so they end as decimals).
    mono: black and white. paper: "a4" or "letter". student: the name line's name (a class set's roster)."""
    if fmt not in FORMATS:
        raise RenderError(f"unknown document format {fmt!r} (choose {', '.join(FORMATS)})")
    layout: dict[str, Any] = {"detail": detail, "scaffold": scaffold, "decimals_shown": decimals_shown, "mono": mono,
                              "paper": paper, "student": student}
    if fmt == "html":
        from .html import render_page

        return render_page(solution, worksheet=worksheet, decimals=decimals, layout=layout)
    check_decimals(decimals)
    doc = build(solution, worksheet=worksheet, decimals=decimals, **layout)
    page = PAGES[paper] if fmt == "latex" else SCREEN
    with printer.use(doc.printer):
        text = environment().get_template(FORMATS[fmt]).render(doc=doc, fmt=fmt, decimals=decimals, page=page,
                                                               palette=PALETTE if fmt == "latex" else HEX_PALETTE,
                                                               mono=mono)
    return re.sub(r"\n{3,}", "\n\n", text).lstrip("\n")  # the templates' spacing, one blank line at most


def render_pdf(solution: Solution, worksheet: bool = False, decimals: int | None = None, **options: Any) -> bytes:
    """The LaTeX document compiled to PDF with pdflatex, in a private temporary folder (options: as `render`)."""
    return compile_pdf(render(solution, "latex", worksheet=worksheet, decimals=decimals, **options))


@long_numbers()
def render_jupyter(solution: Solution) -> str:
    """One display-maths block, every recorded quantity = its exact value (what a notebook shows)."""
    steps = [s for s in solution.steps if s.epoch == 1 and s.kind != "given"]
    rows = [{"name": s.qualified, "cells": mat(s.value, True)} for s in steps]
    with printer.use(printer.for_exercise(solution.exercise)):
        return environment().get_template("jupyter.j2").render(steps=rows, fmt="latex", decimals=None,
                                                               palette=HEX_PALETTE, mono=False)
