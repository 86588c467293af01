"""HTML: the standalone page (KaTeX inlined) and the fragments that docs sites and notebooks embed."""

from __future__ import annotations

import base64
import functools
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..bounds import long_numbers
from ..record import Solution
from . import printer
from .document import build
from .env import environment
from .layout import PAPER, SCREEN

# KaTeX 0.16.47 (MIT, its LICENSE beside it): katex.min.js, katex.min.css and the woff2 fonts of npm's katex/dist,
# unmodified. The CSS is trimmed to its woff2 fonts (every browser KaTeX supports reads woff2) when it is used.
KATEX_DIR = Path(__file__).resolve().parent / "katex"
KATEX_VERSION = "0.16.47"
_FONT_SRC = re.compile(r"src:url\((fonts/[A-Za-z0-9_-]+)\.woff2\) format\(\"woff2\"\)[^;}]*")


@dataclass(frozen=True)
class Math:
    """How a fragment wraps each display for the typesetter of the page it goes into."""

    cls: str  # the class of each display's element
    open: str  # the delimiters around its TeX, for a typesetter that looks for them
    close: str
    wrap: str  # the class of the element around the whole fragment
    shift: int  # heading levels added (a page with a title of its own starts the exercise at <h2>)
    portable: bool = False  # written for MathJax 2 too (nbconvert's default), which lacks what KaTeX and MathJax 3 have

    def tex(self, body: str) -> str:
        """A display's TeX as this typesetter reads it: for MathJax 2, \\textcolor and \\cancel required (`\\require`,
        which MathJax 3 and 4 also know) and an empty answer box drawn in maths (its \\fbox is text mode there)."""
        if not self.portable:
            return body
        body = body.replace("\\fbox{\\phantom{00}}", "\\boxed{\\phantom{00}}")
        packages = (("color", "\\textcolor"), ("cancel", "\\cancel"))
        need = "".join(f"\\require{{{p}}}" for p, used in packages if used in body)
        return need + body


KATEX = Math("symnet-math", "", "", "symnet", 0)  # the standalone page: each element rendered by katex.render
ARITHMATEX = Math("arithmatex", "\\[", "\\]", "symnet", 2)  # MkDocs: arithmatex's generic output, under a page's ##
MATHJAX = Math("symnet-math tex2jax_process mathjax_process", "$$", "$$", "symnet tex2jax_ignore mathjax_ignore", 1,
               portable=True)  # a notebook, and nbconvert's HTML
STYLES = {"katex": KATEX, "arithmatex": ARITHMATEX, "mathjax": MATHJAX}


@functools.cache
def katex_css(inline: bool = True) -> str:
    """KaTeX's stylesheet with woff2 fonts only: embedded as data URLs (inline), or as `fonts/…` beside it."""
    css = (KATEX_DIR / "katex.min.css").read_text(encoding="utf-8")

    def src(m: re.Match[str]) -> str:
        url = f"{m.group(1)}.woff2"
        if inline:
            data = base64.b64encode((KATEX_DIR / url).read_bytes()).decode("ascii")
            url = f"data:font/woff2;base64,{data}"
        return f'src:url({url}) format("woff2")'

    return _FONT_SRC.sub(src, css)


@functools.cache
def katex_js() -> str:
    """KaTeX's script, as shipped."""
    return (KATEX_DIR / "katex.min.js").read_text(encoding="utf-8")


def copy_katex(dest: str | Path) -> list[str]:
    """Write katex.min.js, katex.min.css (woff2 only) and fonts/ into `dest`; return the file names written."""
    out = Path(dest)
    (out / "fonts").mkdir(parents=True, exist_ok=True)
    (out / "katex.min.css").write_text(katex_css(inline=False), encoding="utf-8")
    shutil.copyfile(KATEX_DIR / "katex.min.js", out / "katex.min.js")
    names = ["katex.min.css", "katex.min.js"]
    for font in sorted((KATEX_DIR / "fonts").glob("*.woff2")):
        shutil.copyfile(font, out / "fonts" / font.name)
        names.append(f"fonts/{font.name}")
    return names


@long_numbers()
def render_fragment(solution: Solution, worksheet: bool = False, decimals: int | None = None,
                    math: Math = MATHJAX, paper: bool = False, layout: Mapping[str, Any] | None = None) -> str:
    """The worked solution (or worksheet) as an HTML fragment whose displays are wrapped for `math`'s typesetter;
    laid out for the screen (a wide display scrolls) unless `paper` (the PDF's breaks and scaling). `layout`: the
    document builder's further options (detail, scaffold), passed through."""
    from . import check_decimals

    check_decimals(decimals)
    doc = build(solution, worksheet=worksheet, decimals=decimals, **(layout or {}))
    with printer.use(doc.printer):
        return _tidy(environment().get_template("fragment.html.j2").render(
            doc=doc, fmt="html", decimals=decimals, page=PAPER if paper else SCREEN, math=math,
            mono=doc.options.mono))


@long_numbers()
def render_page(solution: Solution, worksheet: bool = False, decimals: int | None = None,
                layout: Mapping[str, Any] | None = None) -> str:
    """A standalone, printable HTML page (A4, the PDF's page plan) with KaTeX, its CSS and fonts inlined; `layout`:
    the document builder's further options (detail, scaffold, …), passed through."""
    from . import check_decimals

    check_decimals(decimals)
    doc = build(solution, worksheet=worksheet, decimals=decimals, **(layout or {}))
    with printer.use(doc.printer):
        return _tidy(environment().get_template("solution.html.j2").render(
            doc=doc, fmt="html", decimals=decimals, page=PAPER, math=KATEX, katex_css=katex_css(),
            katex_js=katex_js(), mono=doc.options.mono))


def _tidy(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", text).lstrip("\n")
