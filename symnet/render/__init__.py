"""Worked solutions and worksheets: Markdown, LaTeX and PDF from the recorded steps, through Jinja2 templates."""

from __future__ import annotations

import re

from ..bounds import long_numbers
from ..errors import RenderError
from ..record import Solution
from .document import Document, build, mat
from .env import environment
from .layout import PAPER, SCREEN
from .pdf import compile_pdf

FORMATS = {"markdown": "solution.md.j2", "latex": "solution.tex.j2", "html": "solution.html.j2"}

__all__ = ["FORMATS", "Document", "RenderError", "build", "render", "render_jupyter", "render_pdf"]


def check_decimals(decimals: int | None) -> None:
    """Refuse a number of decimals outside 0…30."""
    if decimals is not None and not 0 <= decimals <= 30:
        raise RenderError("--decimals must be between 0 and 30", field="--decimals")


@long_numbers()
def render(solution: Solution, fmt: str, worksheet: bool = False, decimals: int | None = None) -> str:
    """The worked solution (or, with worksheet=True, the same document with results blank) as Markdown, LaTeX or
    a standalone HTML page."""
    if fmt not in FORMATS:
        raise RenderError(f"unknown document format {fmt!r} (choose {', '.join(FORMATS)})")
    if fmt == "html":
        from .html import render_page

        return render_page(solution, worksheet=worksheet, decimals=decimals)
    check_decimals(decimals)
    doc = build(solution, worksheet=worksheet, decimals=decimals)
    page = PAPER if fmt == "latex" else SCREEN
    text = environment().get_template(FORMATS[fmt]).render(doc=doc, fmt=fmt, decimals=decimals, page=page)
    return re.sub(r"\n{3,}", "\n\n", text).lstrip("\n")  # the templates' spacing, one blank line at most


def render_pdf(solution: Solution, worksheet: bool = False, decimals: int | None = None) -> bytes:
    """The LaTeX document compiled to PDF with pdflatex, in a private temporary folder."""
    return compile_pdf(render(solution, "latex", worksheet=worksheet, decimals=decimals))


@long_numbers()
def render_jupyter(solution: Solution) -> str:
    """One display-maths block, every recorded quantity = its exact value (what a notebook shows)."""
    steps = [s for s in solution.steps if s.epoch == 1 and s.kind != "given"]
    rows = [{"name": s.qualified, "cells": mat(s.value, True)} for s in steps]
    return environment().get_template("jupyter.j2").render(steps=rows, fmt="latex", decimals=None)
