"""The Sphinx extension `symnet.sphinx`: the `symnet` directive (rst and MyST), its maths through Sphinx's math."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util.docutils import SphinxDirective

from .embed import parse_options, parse_words, renderer_options, solve
from .errors import SymnetError


class SymnetDirective(SphinxDirective):
    """`.. symnet:: [solve|worksheet] [decimals=N …]` with the spec (TOML, or `builtin = "NAME"`) as its content."""

    optional_arguments = 1
    final_argument_whitespace = True
    has_content = True
    option_spec = {"detail": directives.unchanged, "scaffold": directives.unchanged,
                   "decimals": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        """The worked solution or worksheet as docutils nodes: rubrics, paragraphs, notes and math blocks."""
        from .render.html import KATEX, render_fragment

        source = f"{self.env.doc2path(self.env.docname, False)}:{self.lineno}"
        try:
            words = parse_words(self.arguments[0] if self.arguments else "", source)
            given = {k: v for k, v in self.options.items()}
            options = parse_options({**({"worksheet": None} if words.worksheet else {}), **_values(words), **given},
                                    source)
            html = render_fragment(solve("\n".join(self.content), source), worksheet=options.worksheet,
                                   decimals=options.decimals, math=KATEX, layout=renderer_options(options, source))
        except SymnetError as e:
            raise self.error(f"symnet: error: {e.located(source)}") from None
        box = nodes.container(classes=["symnet"])
        box += to_nodes(html, self.env.docname)
        return [box]


def _values(options: Any) -> dict[str, str]:
    return {k: str(v) for k, v in (("detail", options.detail), ("scaffold", options.scaffold),
                                   ("decimals", options.decimals)) if v is not None}


class _Blocks(HTMLParser):
    """Reads symnet's HTML fragment (its own, fixed markup) back into (kind, text) blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, str]] = []
        self.kind: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        kind = None
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            kind = tag
        elif tag == "p":
            kind = "note" if "symnet-approx" in classes else "foot" if "symnet-foot" in classes else "p"
        elif tag == "div" and "symnet-math" in classes:
            kind = "math"
        if kind:  # a block starts (<strong> and <em> inside one add no block)
            self.kind, self.text = kind, []

    def handle_data(self, data: str) -> None:
        if self.kind:
            self.text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self.kind and tag in ("h1", "h2", "h3", "h4", "h5", "h6", "p", "div"):
            self.blocks.append((self.kind, "".join(self.text).strip()))
            self.kind, self.text = None, []


def to_nodes(html: str, docname: str) -> list[nodes.Node]:
    """symnet's HTML fragment as docutils nodes, its displays as math_block nodes for Sphinx's math renderer."""
    parser = _Blocks()
    parser.feed(html)
    parser.close()
    out: list[nodes.Node] = []
    for kind, text in parser.blocks:
        if kind == "math":
            out.append(nodes.math_block(text, text, nowrap=False, number=None, label=None, docname=docname))
        elif kind.startswith("h"):
            level = min(6, int(kind[1]) + 1)  # under the page's own title
            out.append(nodes.rubric(text, text, classes=[f"symnet-h{level}"], **{"heading-level": level}))
        elif kind == "note":
            out.append(nodes.note("", nodes.paragraph(text, text)))
        elif kind == "foot":
            out.append(nodes.paragraph("", "", nodes.emphasis(text, text), classes=["symnet-foot"]))
        else:
            out.append(nodes.paragraph(text, text))
    return out


def _fence_as_directive(app: Sphinx, config: Config) -> None:
    """With myst_parser, a ```symnet fence is the directive too (its info line's words are its argument)."""
    if hasattr(config, "myst_fence_as_directive"):
        config.myst_fence_as_directive = set(config.myst_fence_as_directive) | {"symnet"}


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directive; parallel-safe."""
    from . import __version__

    app.add_directive("symnet", SymnetDirective)
    app.connect("config-inited", _fence_as_directive)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
