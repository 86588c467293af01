"""The Sphinx extension for real: `sphinx-build -W` of an rst and a MyST page, with MathJax (offline) and KaTeX."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from symnet.render.html import copy_katex

from .browser import node_module, open_pages, require_module
from .test_docs_mkdocs import INLINE

RST = f"""\
Derivations
===========

.. toctree::

   myst

.. symnet:: worksheet decimals=2

   builtin = "backprop"

.. symnet::
   :decimals: 3

{chr(10).join('   ' + line if line else '' for line in INLINE.splitlines())}
"""
MYST = """\
# In MyST

```{symnet} solve
builtin = "matmul"
```

```symnet worksheet decimals=1
builtin = "single-neuron"
```
"""


def build(src: Path, conf: str, pages: dict[str, str], builder: str = "html") -> subprocess.CompletedProcess:
    """`python -m sphinx -W` of `pages` with `conf` (conf.py) into src/_build."""
    require_module("sphinx")
    require_module("myst_parser")
    src.mkdir(parents=True, exist_ok=True)
    (src / "conf.py").write_text(conf, encoding="utf-8")
    for name, text in pages.items():
        (src / name).write_text(text, encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", builder, str(src),
                           str(src / "_build")], capture_output=True, text=True, timeout=300)


def mathjax_conf() -> str:
    """MathJax 4 (Sphinx's default) and its fonts from npm's packages, served beside the site (linked into _static
    after the build, as a site would host its copy): nothing fetched."""
    node_module("mathjax")
    return ('project = "symnet in Sphinx"\nextensions = ["myst_parser", "symnet.sphinx"]\nmathjax_path = "mathjax/tex-mml-chtml.js"\n'
            'mathjax4_config = {"loader": {"paths": {"fonts": "[mathjax]/../@mathjax"}}}\n')


def host_mathjax(out: Path) -> None:
    """npm's MathJax 4 and its font package linked into the built site's _static."""
    for name in ("mathjax", "@mathjax"):
        (out / "_static" / name).symlink_to(node_module("mathjax").parent / name, target_is_directory=True)


def katex_conf(src: Path) -> str:
    """sphinxcontrib-katex with its own script, and its stylesheet and fonts (by default from a CDN) from symnet's copy."""
    copy_katex(src / "_static" / "katex")
    return ('project = "symnet in Sphinx"\nextensions = ["myst_parser", "symnet.sphinx", "sphinxcontrib.katex"]\n'
            'html_static_path = ["_static"]\nkatex_css_path = "katex/katex.min.css"\n')


@pytest.fixture(scope="module", params=["mathjax", "katex"])
def built(request, tmp_path_factory) -> tuple[str, Path]:
    if request.param == "katex":
        require_module("sphinxcontrib.katex")
    src = tmp_path_factory.mktemp(f"sphinx-{request.param}")
    done = build(src, mathjax_conf() if request.param == "mathjax" else katex_conf(src), {"index.rst": RST, "myst.md": MYST})
    assert done.returncode == 0, done.stderr
    if request.param == "mathjax":
        host_mathjax(src / "_build")
    return request.param, src / "_build"


def test_directive_and_myst_fence_become_math_blocks(built):
    _, out = built
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "Backpropagation by hand" in index and "Worksheet: fill in every box." in index
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index and "<script>alert" not in index
    myst = (out / "myst.html").read_text(encoding="utf-8")
    assert "Matrix multiplication" in myst and "One neuron and ReLU" in myst


def test_the_pages_render_in_chromium(built):
    require_module("playwright")
    typesetter, out = built
    reports = open_pages([out / "index.html", out / "myst.html"], "div.math", shots=f"sphinx-{typesetter}",
                         root=out)
    for report in reports:
        report.assert_clean(at_least=2)  # (the sheet layout: a built-in in a few displays)
    assert "<script>alert(1)</script>" in reports[0].text


def test_a_spec_error_fails_the_build_with_its_line(tmp_path):
    page = "Broken\n======\n\n.. symnet::\n\n   X = [1, 2]\n\n   [[layers]]\n   W = [[1, -1, 3], [2, 0]]\n"
    done = build(tmp_path, 'extensions = ["symnet.sphinx"]\n', {"index.rst": page})
    assert done.returncode != 0
    assert "symnet: error: index.rst:4: layers[1].W: row 2 has 2 entries, row 1 has 3" in done.stderr


def test_the_latex_builder_takes_the_math_blocks(tmp_path):
    done = build(tmp_path, 'extensions = ["symnet.sphinx"]\nlatex_elements = {"preamble": r"\\usepackage{cancel}"}\n',
                 {"index.rst": "Key\n===\n\n.. symnet::\n\n   builtin = \"hidden-layer\"\n"}, builder="latex")
    assert done.returncode == 0, done.stderr
    tex = next((tmp_path / "_build").glob("*.tex")).read_text(encoding="utf-8")
    assert "\\begin{equation*}" in tex and "\\begin{array}" in tex
