"""The one Jinja2 environment: template lookup, LaTeX-safe delimiters, the printer and escaping filters."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path

import jinja2
import sympy as sp
from jinja2 import pass_context

import symnet

from ..errors import RenderError
from ..intervals import round_half_even
from . import printer

# Colours per sample column of a batch, chosen to stay apart in greyscale print (CIE L* 28, 46, 59): for LaTeX the
# names the preamble defines, for KaTeX (CSS) their hex codes. Then the bias trick's grey, the red of a cut entry,
# and the grey frame of a trainable parameter.
COLOURS = {"symnetA": "0B3D91", "symnetB": "2E7D32", "symnetC": "E07000", "symnetbias": "8C8C8C",
           "symnetcut": "C00000", "symnetparam": "A6A6A6"}
PALETTE = ("symnetA", "symnetB", "symnetC")
HEX_PALETTE = tuple("#" + COLOURS[c] for c in PALETTE)

# Unicode the prose uses, and how pdflatex prints it (declared in the LaTeX preamble).
UNICODE_TEX = {
    "−": "-", "≤": "\\le", "≥": "\\ge", "≈": "\\approx", "∂": "\\partial", "η": "\\eta", "⊙": "\\odot",
    "ᵀ": "^{\\mathsf{T}}", "→": "\\to", "Σ": "\\Sigma", "Ŷ": "\\hat{Y}", "σ": "\\sigma", "α": "\\alpha",
    "′": "'", "…": "\\ldots", "ŷ": "\\hat{y}", "≠": "\\ne", "⊘": "\\oslash", "δ": "\\delta",
    "μ": "\\mu", "γ": "\\gamma", "β": "\\beta", "ε": "\\varepsilon", "√": "\\surd",
}

_TEX_ESCAPES = {
    "\\": r"\ensuremath{\backslash}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#", "%": r"\%",
    "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}", "<": r"\ensuremath{<}",
    ">": r"\ensuremath{>}", "|": r"\ensuremath{\vert}", '"': "''",
    "’": "'", "‘": "`", "“": "``", "”": "''", "–": "--", "—": "---",
}
_MD_PUNCTUATION = set("\\`*_#|$~^")  # with < > & [ ] below, all inline markup and maths
# Brackets as entities, not \[ \]: MkDocs' arithmatex and KaTeX's auto-render read \[ ... \] as display maths.
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "[": "&#91;", "]": "&#93;"}
_HTML_TEXT = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}


def templates_dir() -> Path:
    """The templates folder: inside an installed wheel first, else the checkout's top-level `templates/`."""
    package = Path(symnet.__file__).resolve().parent
    for candidate in (package / "templates", package.parent / "templates"):
        if (candidate / "base.j2").is_file():
            return candidate
    raise RenderError(f"templates not found (looked in {package / 'templates'} and {package.parent / 'templates'})")


def tex(value: sp.Basic) -> str:
    """The one configured SymPy printer (the document's: printer.py): LaTeX with terms in their written order."""
    return printer.current().tex(value)


def fixed(value: sp.Expr, places: int) -> str:
    """A rounded value printed with its decimal places ("0.50"; the LaTeX of anything else)."""
    return printer.current().fixed(value, places)


def tex_terms(value: sp.Expr) -> list[str]:
    """The printed terms of a sum, each after the first with its sign ("+ x", "- y"): joined by spaces they
    are `tex(value)`, so a value too long for a line can be broken between its terms. One term otherwise."""
    return printer.current().terms(value)


def decimal(value: sp.Expr, places: int) -> str:
    """An exact real value rounded (half to even) to `places` decimals, for display beside it: exactly, by interval
    arithmetic (`symnet.intervals`); a value that is no real number here (it holds a symbol: a rounded value of
    `X = ["x"]` stays symbolic; or it is not finite) is printed exactly instead."""
    places = int(places)
    if not isinstance(value, sp.Expr) or not value.is_number:
        return tex(value)
    try:
        return _places(round_half_even(value, places), places)
    except (TypeError, ValueError, ArithmeticError):  # not a real number: SymPy's floor stays unevaluated
        return tex(value)


def _places(n: int, places: int) -> str:
    """The integer n / 10^places written with exactly `places` decimals."""
    sign, digits = ("-" if n < 0 else ""), str(abs(n)).rjust(places + 1, "0")
    return sign + (digits[:-places] + "." + digits[-places:] if places else digits)


def escape_latex(text: str) -> str:
    """User text made inert for LaTeX: specials as text commands, control characters as spaces."""
    out = []
    for ch in text:
        if ch in _TEX_ESCAPES:
            out.append(_TEX_ESCAPES[ch])
        elif ch < " " or ch == "\x7f":
            out.append(" ")
        elif ch.isascii() or ch in UNICODE_TEX or "\xa0" <= ch <= "\xff":
            out.append(ch)
        else:
            out.append("?")  # pdflatex has no glyph for it
    return "".join(out)


def escape_markdown(text: str) -> str:
    """User text made inert for Markdown and HTML: markup backslash-escaped, <, > and & as entities, one line."""
    out = []
    for ch in text:
        if ch in _HTML:
            out.append(_HTML[ch])
        elif ch in _MD_PUNCTUATION:
            out.append("\\" + ch)
        elif ch < " " or ch == "\x7f":
            out.append(" ")
        else:
            out.append(ch)
    line = "".join(out)
    lead = re.match(r"\s*(\d+[.)]|[-+=])", line)  # a list item, or a setext underline, if it began a line
    if lead:
        end = lead.end()
        line = line[: end - 1] + "\\" + line[end - 1:]
    return line


def escape_html(text: str) -> str:
    """User text made inert for HTML: <, >, & and quotes as entities, control characters as spaces. (Maths
    typesetters read text, not markup: the HTML templates keep prose out of their reach by structure.)"""
    out = []
    for ch in text:
        if ch < " " or ch == "\x7f":
            out.append(" ")
        elif ch in _HTML_TEXT:
            out.append(_HTML_TEXT[ch])
        else:
            out.append(ch)
    return "".join(out)


@pass_context
def escape(context: jinja2.runtime.Context, text: str) -> str:
    """Escape user text for the format being rendered (`fmt` in the context)."""
    fmt = context["fmt"]
    return escape_latex(text) if fmt == "latex" else escape_html(text) if fmt == "html" else escape_markdown(text)


# KaTeX stops after 1000 macro expansions in one block (its maxExpand); these are the macros the templates use.
_KATEX_MACROS = re.compile(r"\\(boxed|quad|qquad|enspace|operatorname|hspace)(?![A-Za-z])")
_KATEX_COST = {"operatorname": 3, "hspace": 4}
KATEX_BUDGET = 800
TEX_BUDGET = 150  # lines of one align* (a line of 2000 characters counts 2): amsmath measures an align* whole,
#                   and 1.6 MB of one exhausts pdflatex's main memory; 150 lines of 2000 characters compile


def split_lines(body: str, budget: int, cost: Callable[[str], int]) -> list[str]:
    """The lines of an aligned block in groups of at most `budget` (each line's `cost`), cut only between
    two entries: after a line ending in \\\\, outside any inner environment (a cases block stays whole), before
    a line that does not continue the one above (a continuation starts with "&"). One group when it is small."""
    groups: list[str] = []
    current: list[str] = []
    used, depth = 0, 0
    for line in body.split("\n"):
        line_cost = cost(line)
        if (current and depth == 0 and used + line_cost > budget and current[-1].endswith("\\\\")
                and not line.startswith("&")):
            groups.append("\n".join(current)[:-2].rstrip())
            current, used = [], 0
        current.append(line)
        used += line_cost
        depth += line.count("\\begin{") - line.count("\\end{")
    groups.append("\n".join(current))
    return groups


def katex_chunks(body: str) -> list[str]:
    """An aligned block cut into blocks that KaTeX expands within its limit."""
    return split_lines(body, KATEX_BUDGET, lambda line: sum(_KATEX_COST.get(m, 1) for m in _KATEX_MACROS.findall(line)))


def tex_chunks(body: str) -> list[str]:
    """An align* cut into several that pdflatex has the memory for; counted in lines, so that a key and its
    worksheet (the same lines, other numbers) are cut in the same places."""
    return split_lines(body, TEX_BUDGET, lambda line: 1 + len(line) // 2000)


def codepoint(ch: str) -> str:
    """A character's code point in hex, as `\\DeclareUnicodeCharacter` wants it."""
    return f"{ord(ch):04X}"


def nonblank(text: str) -> str:
    """Text without its empty lines (a blank line would end a Markdown maths block)."""
    return "\n".join(line for line in text.splitlines() if line.strip())


def needs_parens(value: sp.Expr) -> bool:
    """True when a factor must be written in parentheses: a negative number or a sum."""
    return bool(value.could_extract_minus_sign() or isinstance(value, sp.Add))


def is_zero(value: sp.Expr) -> bool:
    """True for an exact zero."""
    return value == 0


def plain(value: sp.Expr) -> bool:
    """True when a value prints without a fraction: an integer or a symbol (or, decimals shown, a decimal)."""
    return printer.current().plain(value)


def exact_number(value: sp.Expr) -> bool:
    """True when no decimal is wanted beside a value: a rational, or an expression in symbols."""
    return bool(value.is_Rational or value.free_symbols)


def box_of(c: object, extra: float = 0.0) -> tuple[float, float]:
    """The (width, height) in em of the box of a result cell (layout.slot); the least box for None."""
    from .layout import BOX, slot

    return (round(BOX, 2), round(BOX, 2)) if c is None else slot(c, extra)  # type: ignore[arg-type]


def boxes_of(m: object) -> tuple[list[float], list[float]]:
    """The boxes of a matrix's result cells, alike down each column and along each row: (widths, heights) in em."""
    from .layout import slot

    rows = m.rows  # type: ignore[attr-defined]
    widths, heights = [0.0] * (len(rows[0]) if rows else 0), [0.0] * len(rows)
    for i, r in enumerate(rows):
        for j, c in enumerate(r):
            if not c.given:
                w, h = slot(c)
                widths[j], heights[i] = max(widths[j], w), max(heights[i], h)
    return widths, heights


def boxes_for(op: str) -> str:
    """The size of the answer boxes of the group about to be drawn (layout.boxes_for)."""
    from .layout import boxes_for as choose

    return choose(op)


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates kept between runs (compiling them is most of a key's run time), or none.

    Jinja2's default folder is private to this user (created 0700, its owner and mode checked), so
    no one else can plant compiled code in it; where it cannot be had, templates are compiled anew."""
    try:
        return jinja2.FileSystemBytecodeCache()
    except (OSError, RuntimeError):
        return None


@functools.cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of every template: LaTeX-safe delimiters, undefined names raise.

    Blocks are ((* ... *)), values ((( ... ))), comments ((= ... =)): none of them occurs in LaTeX or
    Markdown. Mind the parentheses: a call closes with four, (((m.cell(c)))), and a literal bracket
    around a value needs a space, ( (((x))) )."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        block_start_string="((*", block_end_string="*))",
        variable_start_string="(((", variable_end_string=")))",
        comment_start_string="((=", comment_end_string="=))",
        undefined=jinja2.StrictUndefined, autoescape=False,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, bytecode_cache=_bytecode_cache(),
    )
    env.filters.update(tex=tex, fixed=fixed, terms=tex_terms, katex_chunks=katex_chunks, tex_chunks=tex_chunks,
                       decimal=decimal, esc=escape, codepoint=codepoint, nonblank=nonblank)
    env.tests.update(compound=needs_parens, zero=is_zero, rational=exact_number, plain=plain)
    env.globals.update(palette=HEX_PALETTE, unicode_tex=UNICODE_TEX, colours=COLOURS, box_of=box_of,
                       boxes_of=boxes_of, boxes_for=boxes_for,
                       mono=False)  # (a LaTeX document is rendered with palette=PALETTE)
    return env
