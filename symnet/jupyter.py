"""Notebooks: `%load_ext symnet` gives the `%%symnet` cell magic and `%symnet` line magic; what they display."""

from __future__ import annotations

import re
from typing import Any

from .bounds import long_numbers
from .embed import Options, parse_words, renderer_options, solve
from .errors import SymnetError
from .record import Solution


class Derivation:
    """A rendered solution or worksheet as a notebook shows it: HTML with MathJax maths (JupyterLab, Notebook,
    nbconvert's HTML), LaTeX with the document's layout (nbconvert's LaTeX and PDF), and Markdown."""

    def __init__(self, solution: Solution, options: Options | None = None, source: str = "<cell>") -> None:
        self.solution = solution
        self.options = options = options or Options()
        self.layout = renderer_options(options, source)

    def _repr_html_(self) -> str:
        from .render.html import MATHJAX, render_fragment

        return render_fragment(self.solution, self.options.worksheet, self.options.decimals, MATHJAX,
                               layout=self.layout)

    def _repr_latex_(self) -> str:
        return latex_fragment(self.solution, self.options.worksheet, self.options.decimals, **self.layout)

    def _repr_markdown_(self) -> str:
        from .render import render

        return render(self.solution, "markdown", worksheet=self.options.worksheet, decimals=self.options.decimals)

    def __repr__(self) -> str:
        kind = "worksheet" if self.options.worksheet else "answer key"
        return f"<symnet {kind}: {self.solution.exercise.title or self.solution.exercise.source}>"


def solution_html(solution: Solution) -> str:
    """What `Solution._repr_html_` shows: the answer key as HTML for the notebook's MathJax."""
    return Derivation(solution)._repr_html_()


@long_numbers()
def latex_fragment(solution: Solution, worksheet: bool = False, decimals: int | None = None, **layout: Any) -> str:
    """The LaTeX document's body (its page plan, no preamble), its Unicode written as ASCII commands."""
    from .render import check_decimals
    from .render.document import build
    from .render.env import UNICODE_TEX, environment
    from .render.layout import PAPER

    check_decimals(decimals)
    doc = build(solution, worksheet=worksheet, decimals=decimals, **layout)
    text = environment().get_template("fragment.tex.j2").render(doc=doc, fmt="latex", decimals=decimals, page=PAPER)
    for ch, code in UNICODE_TEX.items():
        text = text.replace(ch, f"\\ensuremath{{{code}}}")
    return re.sub(r"\n{3,}", "\n\n", text).lstrip("\n")


def symnet_magic(line: str, cell: str | None = None) -> Derivation | None:
    """`%%symnet [solve|worksheet] [decimals=N] [detail=…] [scaffold=…]` renders the cell's spec (TOML, or
    `builtin = "NAME"`); `%symnet NAME [the same options]` renders a built-in exercise (or a spec file)."""
    from IPython.core.error import UsageError
    from IPython.display import display

    try:
        if cell is None:
            name, _, rest = line.strip().partition(" ")
            if not name:
                raise SymnetError('name a built-in exercise: %symnet backprop [worksheet] [decimals=N]')
            options = parse_words(rest, "%symnet")
            from .spec import load

            derivation = Derivation(load(name).solve(), options, "%symnet")
        else:
            options = parse_words(line, "%%symnet")
            derivation = Derivation(solve(cell, "%%symnet"), options, "%%symnet")
    except SymnetError as e:  # the cell fails with the one line, no traceback
        raise UsageError(f"symnet: error: {e}") from None
    display(derivation)
    return None


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext symnet`: register `%symnet` and `%%symnet`."""
    ipython.register_magic_function(symnet_magic, "line_cell", "symnet")
