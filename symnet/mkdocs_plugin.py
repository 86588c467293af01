"""The MkDocs plugin `symnet`: ```symnet fences rendered at build time, with KaTeX shipped into the site."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.config import config_options
from mkdocs.config.base import Config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.pages import Page
from pymdownx.superfences import SuperFencesException

from .embed import parse_words
from .errors import SymnetError
from .fence import NAME, make_formatter, superfence

ASSETS = "assets/symnet"
REFERENCE = "<!-- symnet: spec reference -->"  # a line of a page that becomes the reference of every op's keys
# A symnet fence's opening line (also inside block quotes and lists): the words after `symnet` are its options.
_OPENING = re.compile(r"^(?P<lead>(?:[ \t]*>)*[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*symnet"
                      r"(?P<words>(?:[ \t]+[^\s`]+)*)[ \t]*$")
_ANY_FENCE = re.compile(r"^(?:[ \t]*>)*[ \t]*(?P<fence>`{3,}|~{3,})(?P<info>.*?)[ \t]*$")
# Every arithmatex display on the page (the fences' and the author's own $$ blocks), rendered by KaTeX.
RENDER_JS = """\
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  document.querySelectorAll(".arithmatex").forEach(function (el) {
    var tex = el.textContent.trim(), display = tex.startsWith("\\\\[") || el.tagName === "DIV";
    tex = tex.replace(/^\\\\[\\[(]/, "").replace(/\\\\[\\])]$/, "");
    katex.render(tex, el, {displayMode: display, throwOnError: false, strict: "ignore", trust: false});
  });
});
"""
CSS = """\
.symnet { border-left: 3px solid #d8dde6; padding-left: 1em; margin: 1em 0; }
.symnet .arithmatex { overflow-x: auto; overflow-y: hidden; margin: .6em 0; }
.symnet .katex-display { margin: 0; }
.symnet-approx { border-left: 3px solid #999; padding: .2em .7em; }
.symnet-foot { font-size: .85em; }
"""


class BuildFailure(SuperFencesException, PluginError):
    """A spec error in a page: passes through superfences and stops MkDocs with its one-line message."""


class SymnetConfig(Config):
    """The plugin's options in mkdocs.yml."""

    katex = config_options.Type(bool, default=True)  # ship symnet's KaTeX and render every arithmatex display with it
    arithmatex = config_options.Type(bool, default=True)  # turn on pymdownx.arithmatex (generic) for the author's $$


class SymnetPlugin(BasePlugin[SymnetConfig]):
    """Sets up pymdownx.superfences with the symnet fence, arithmatex, and KaTeX from symnet's own copy."""

    def __init__(self) -> None:
        self.page = "<page>"

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        """Add the symnet fence to superfences (and arithmatex, KaTeX's files) in the site's Markdown setup."""
        for ext in ("pymdownx.superfences", "pymdownx.arithmatex" if self.config.arithmatex else None):
            if ext and ext not in config.markdown_extensions:
                config.markdown_extensions.append(ext)
        fences = config.mdx_configs.setdefault("pymdownx.superfences", {}).setdefault("custom_fences", [])
        ours = superfence(make_formatter(self._source, BuildFailure))
        fences[:] = [f for f in fences if f.get("name") != NAME] + [ours]
        if self.config.arithmatex:
            config.mdx_configs.setdefault("pymdownx.arithmatex", {}).setdefault("generic", True)
        if self.config.katex:
            config.extra_css.extend([f"{ASSETS}/katex/katex.min.css", f"{ASSETS}/symnet.css"])
            config.extra_javascript.extend([f"{ASSETS}/katex/katex.min.js", f"{ASSETS}/render.js"])
        return config

    def on_page_markdown(self, markdown: str, /, *, page: Page, config: MkDocsConfig, files: Any) -> str:
        """Note the page, give each symnet fence's opening line its line number and quoted options, and write the spec
        reference where a page asks for it."""
        self.page = page.file.src_uri
        if REFERENCE in markdown:
            from .reference import markdown as reference

            markdown = markdown.replace(REFERENCE, reference())
        lines = markdown.split("\n")
        inside = ""  # the fence being read: a symnet fence shown as an example inside another one stays as written
        for number, line in enumerate(lines, 1):
            fence = _ANY_FENCE.match(line)
            if inside:
                if (fence and not fence["info"] and fence["fence"][0] == inside[0]
                        and len(fence["fence"]) >= len(inside)):
                    inside = ""
                continue
            m = _OPENING.match(line)
            if m:
                words = _words(m["words"], f"{self.page}:{number}")
                lines[number - 1] = f'{m["lead"]}{m["fence"]}{NAME} {words} line="{number}"'
            if fence:
                inside = fence["fence"]
        return "\n".join(lines)

    def on_post_build(self, *, config: MkDocsConfig) -> None:
        """Write KaTeX (script, stylesheet, woff2 fonts), the render script and the stylesheet into the site."""
        if not self.config.katex:
            return
        from .render.html import copy_katex

        out = Path(config.site_dir) / ASSETS
        copy_katex(out / "katex")
        (out / "render.js").write_text(RENDER_JS, encoding="utf-8")
        (out / "symnet.css").write_text(CSS, encoding="utf-8")

    def _source(self, options: dict[str, str]) -> str:
        line = options.pop("line", "")
        return f"{self.page}:{line}" if line.isdigit() else self.page


def _words(words: str, source: str) -> str:
    """A fence line's options checked (a wrong one stops the build) and written as superfences reads them."""
    try:
        options = parse_words(words.replace('"', "").replace("'", ""), source)
    except SymnetError as e:
        raise PluginError(f"symnet: error: {e}") from None
    out = ["worksheet" if options.worksheet else "solve"]
    out += [f'{k}="{v}"' for k, v in (("detail", options.detail), ("scaffold", options.scaffold),
                                      ("decimals", options.decimals)) if v is not None]
    return " ".join(out)
