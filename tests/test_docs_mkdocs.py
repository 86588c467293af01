"""The MkDocs plugin for real: `mkdocs build --strict` of small sites with symnet fences, and the pages in Chromium."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .browser import open_pages, require_module
from .test_render import NASTY

CONFIG = """\
site_name: symnet fences
use_directory_urls: false
theme:
  name: mkdocs
  highlightjs: false
plugins:
  - search
  - symnet
"""
INLINE = f'''\
title = '{NASTY}'
X = [1, 2]

[[layers]]
W = [[1, -1], [2, 0]]
b = [0, 1]
activation = "relu"

[loss]
kind = "squared_error"
Y = [1, 0]
'''
PAGES = {
    "index.md": """\
# Fences

An author's own display, through the same arithmatex and KaTeX:

$$
\\frac{\\partial L}{\\partial W} = \\delta\\, a^{\\mathsf{T}}
$$

```symnet
builtin = "backprop"
```

> A fence in a quote, as a worksheet:
>
> ```symnet worksheet decimals=2
> builtin = "single-neuron"
> ```

How to write one (shown, not run):

````markdown
```symnet worksheet
builtin = "matmul"
```
````
""",
    "inline.md": f"# Inline\n\n```symnet solve decimals=3\n{INLINE}```\n\n```symnet worksheet\n{INLINE}```\n",
}


def build(tmp_path: Path, pages: dict[str, str]) -> subprocess.CompletedProcess:
    """`python -m mkdocs build --strict` of a site made of `pages`, in a fresh folder."""
    require_module("mkdocs")
    (tmp_path / "docs").mkdir(exist_ok=True)
    (tmp_path / "mkdocs.yml").write_text(CONFIG, encoding="utf-8")
    for name, text in pages.items():
        (tmp_path / "docs" / name).write_text(text, encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mkdocs")
    done = build(root, PAGES)
    assert done.returncode == 0, done.stderr
    return root / "site"


def test_fences_become_the_worked_solution(site):
    index = (site / "index.html").read_text(encoding="utf-8")
    assert index.count('<div class="symnet">') == 2 and "Backpropagation by hand" in index
    assert "Worksheet: fill in every box." in index and 'line="' not in index
    assert "</span>worksheet\n" in index  # the example inside a four-backtick fence stays as written
    inline = (site / "inline.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in inline and "<script>alert" not in inline
    assert (site / "assets/symnet/katex/katex.min.js").is_file()
    assert len(list((site / "assets/symnet/katex/fonts").glob("*.woff2"))) == 20


def test_the_pages_render_in_chromium(site):
    require_module("playwright")
    reports = open_pages([site / "index.html", site / "inline.html"], ".arithmatex", shots="mkdocs", root=site)
    for report in reports:
        report.assert_clean(at_least=2)  # (the sheet layout: a built-in in a few displays)
    assert "<script>alert(1)</script>" in reports[1].text


@pytest.mark.parametrize(("page", "message"), [
    ("# Broken\n\ntext\n\n```symnet\nX = [1, 2]\n\n[[layers]]\nW = [[1, -1, 3], [2, 0]]\n```\n",
     "symnet: error: broken.md:5: layers[1].W: row 2 has 2 entries, row 1 has 3"),
    ('# Broken\n\n```symnet decimals=x\nbuiltin = "matmul"\n```\n',
     "symnet: error: broken.md:3: decimals: must be a whole number from 0 to 30"),
    ('# Broken\n\n```symnet\nbuiltin = "../../etc/passwd"\n```\n',
     "symnet: error: broken.md:3: builtin: not a built-in exercise"),
    ("# Broken\n\n```symnet\nX = [1, 2\n```\n", "symnet: error: broken.md:3: not valid TOML"),
], ids=["shape", "option", "builtin", "toml"])
def test_a_spec_error_fails_the_build_with_its_line(tmp_path, page, message):
    done = build(tmp_path, {"index.md": "# Fine\n", "broken.md": page})
    assert done.returncode != 0
    assert message in done.stderr and "Traceback" not in done.stderr
