"""Notebooks for real: the magics executed by nbclient in an IPython kernel, then nbconvert to HTML and to LaTeX/PDF."""

from __future__ import annotations

import re
import subprocess

import pytest

from symnet.spec import load

from .browser import node_module, open_pages, require_module
from .conftest import require_tool
from .test_docs_mkdocs import INLINE

CELLS = ["%load_ext symnet", "%symnet backprop", f"%%symnet worksheet decimals=2\n{INLINE}",
         'import symnet\nsymnet.load("matmul").solve()']


def execute(cells: list[str]):
    """A notebook of code cells, executed by nbclient in a fresh python3 kernel."""
    require_module("nbclient")
    require_module("ipykernel")
    import nbclient
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    return nb


@pytest.fixture(scope="module")
def notebook():
    return execute(CELLS)


def test_the_magics_display_html_latex_and_markdown(notebook):
    outputs = [c.outputs for c in notebook.cells]
    assert outputs[0] == []
    for out in outputs[1:]:
        (shown,) = out
        assert {"text/html", "text/latex", "text/markdown", "text/plain"} <= set(shown["data"])
    html = outputs[1][0]["data"]["text/html"]
    assert html.startswith('<div class="symnet tex2jax_ignore mathjax_ignore">') and "<h2>Backpropagation by hand</h2>" in html
    worksheet = outputs[2][0]["data"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in worksheet["text/html"] and "<script>alert" not in worksheet["text/html"]
    assert "Worksheet: fill in every box." in worksheet["text/html"]
    assert outputs[3][0]["output_type"] == "execute_result"  # a Solution shows itself as HTML


def test_a_spec_error_fails_the_cell_with_one_line():
    import nbclient

    with pytest.raises(nbclient.exceptions.CellExecutionError) as e:
        execute(["%load_ext symnet", "%%symnet\nX = [1, 2]\n\n[[layers]]\nW = [[1, -1, 3], [2, 0]]\n"])
    assert "symnet: error: %%symnet: layers[1].W: row 2 has 2 entries, row 1 has 3" in str(e.value)
    assert "Traceback" not in str(e.value).split("symnet: error:")[1]


def test_nbconvert_html_renders_in_chromium(notebook, tmp_path):
    require_module("nbconvert")
    require_module("playwright")
    from nbconvert import HTMLExporter

    mathjax2 = node_module("mathjax2")  # nbconvert's default is MathJax 2.7, its own configuration with it
    (tmp_path / "mathjax2").symlink_to(mathjax2, target_is_directory=True)
    exporter = HTMLExporter(mathjax_url="mathjax2/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
                            require_js_url="data:text/javascript,")
    (tmp_path / "notebook.html").write_text(exporter.from_notebook_node(notebook)[0], encoding="utf-8")
    (report,) = open_pages([tmp_path / "notebook.html"], ".symnet-math", shots="jupyter", root=tmp_path)
    shown = sum(len(re.findall(r'class="symnet-math[ "]', o.get("data", {}).get("text/html", "")))
                for c in notebook.cells for o in c.outputs)  # the maths blocks the cells' HTML outputs hold
    assert shown >= 8  # two keys and a worksheet in the sheet layout: a handful of displays each
    report.assert_clean(at_least=shown)
    assert "<script>alert(1)</script>" in report.text


def test_nbconvert_latex_keeps_the_layout_and_compiles(notebook, tmp_path):
    require_module("nbconvert")
    pdflatex = require_tool("pdflatex")
    from nbconvert import LatexExporter

    tex = LatexExporter().from_notebook_node(notebook)[0]
    # the two magics' outputs with the hand layout, as in the PDF (a bare Solution's LaTeX stays its aligned summary)
    assert tex.count("\\newsavebox{\\symnetbox}") == 2 and "\\begin{array}" in tex
    (tmp_path / "notebook.tex").write_text(tex, encoding="utf-8")
    done = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "notebook.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    text = subprocess.run([require_tool("pdftotext"), "notebook.pdf", "-"], cwd=tmp_path, capture_output=True,
                          text=True).stdout
    assert "Backpropagation by hand" in text and "every result is yours to work out" in text and "alert(1)" in text


def test_solution_repr_html_is_the_key():
    html = load("matmul").solve()._repr_html_()
    assert "<h2>Matrix multiplication</h2>" in html and "$$" in html and "Answer key" in html
