"""Worked solutions and worksheets: KaTeX parses every maths block, pdflatex compiles every document,
the key holds the seeds' answers and the worksheet none of them, user text is inert, goldens hold."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from symnet.errors import RenderError
from symnet.render import FORMATS, render, render_jupyter, render_pdf
from symnet.render.__main__ import GOLDEN, golden_text
from symnet.render.document import Mat, mat
from symnet.render.env import KATEX_BUDGET, TEX_BUDGET, escape_latex, escape_markdown, katex_chunks, tex_chunks
from symnet.render.layout import PAPER, SCREEN, tex_width
from symnet.render.pdf import compile_pdf, compile_pdf_log
from symnet.spec import builtin_names, builtin_text, from_data, load

from .conftest import ROOT, require_katex, require_tool

BUILTINS = builtin_names()

# Exercises beyond the seeds, so every activation, loss and layout path is rendered.
VARIETY = {
    "leaky-sigmoid-bce-symbolic": {
        "title": "variety", "X": [[1, -1], [2, 0]],
        "layers": [{"W": [[1, -1], [0, 1], [1, 1]], "b": [0, 1, -1], "activation": "leaky_relu"},
                   {"W": {"symbol": "w", "shape": [2, 3]}, "activation": "sigmoid"}],
        "loss": {"kind": "bce", "Y": [[1, 0], [0, 1]]}},
    "relu-softmax-base3-mse-train": {
        "X": [1, 2],
        "layers": [{"W": [[1, 0], [0, 1]], "activation": "relu"},
                   {"W": [[1, 1], [1, -1]], "b": [0, 0], "activation": "softmax", "exp_base": 3}],
        "loss": {"kind": "mse", "Y": [1, 0]}, "train": {"learning_rate": "1/2", "steps": 2}},
    "sigmoid-base3-tanh-squared": {
        "X": [1, -1],
        "layers": [{"W": [[1, 0], [1, 1]], "activation": "sigmoid", "exp_base": 3},
                   {"W": [[1, -1]], "activation": "tanh"}],
        "loss": {"kind": "squared_error", "Y": [[0]]}},
    "relu-squared-batch-sum": {
        "X": [[1, 2, -1], [0, 1, 1]],
        "layers": [{"W": [[1, -2], [2, 1]], "b": ["1/2", -1], "activation": "relu"},
                   {"W": [[1, -1]], "b": [1], "activation": "identity"}],
        "loss": {"kind": "squared_error", "Y": [[1, 0, 2]], "reduction": "sum"}, "train": {"learning_rate": "1/10"}},
    "identity-rounded-two-steps": {
        "X": [1, 2], "layers": [{"W": [[1, 1]], "b": [0], "activation": "identity"}],
        "loss": {"kind": "squared_error", "Y": [[1]]}, "train": {"learning_rate": "1/3", "steps": 2, "round": 2}},
    "softmax-ce-batch-mean": {
        "X": [[1, 0], [0, 1]],
        "layers": [{"W": [[1, 0], [0, 1], [1, 1]], "activation": "softmax"}],
        "loss": {"kind": "cross_entropy", "Y": [[1, 0], [0, 1], [0, 0]]}},
}

NASTY = r"\input{/etc/passwd} \write18{rm -rf x} 100% #1 $x$ ^^5c a_b ~ <script>alert(1)</script> & {}"


def solutions():
    """(name, solution) for every built-in and every variety exercise."""
    out = [(n, load(n).solve()) for n in BUILTINS]
    return out + [(n, from_data(d, source=n).solve()) for n, d in VARIETY.items()]


def maths_blocks(markdown: str) -> list[str]:
    """The bodies of the $$ display blocks of a Markdown document."""
    return re.findall(r"^\$\$\n(.*?)\n\$\$$", markdown, flags=re.S | re.M)


KATEX_SCRIPT = """
const katex = require(process.argv[1]);
const blocks = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const errors = [];
for (const b of blocks) {
  try { katex.renderToString(b, {displayMode: true, throwOnError: true, strict: 'ignore'}); }
  catch (e) { errors.push(String(e.message) + '\\n--- in ---\\n' + b.slice(0, 400)); }
}
process.stdout.write(JSON.stringify(errors));
"""


def katex_errors(blocks: list[str]) -> list[str]:
    """KaTeX's error for each block that does not parse; all blocks in one node process."""
    katex = require_katex()
    done = subprocess.run(["node", "-e", KATEX_SCRIPT, str(katex)], input=json.dumps(blocks),
                          capture_output=True, text=True, timeout=300, check=True)
    return json.loads(done.stdout)


# ---------------------------------------------------------------- Markdown: KaTeX and the Markdown hazards


def test_every_markdown_maths_block_parses_with_katex():
    blocks = []
    for name, sol in solutions():
        for worksheet in (False, True):
            for decimals in (None, 4):
                md = render(sol, "markdown", worksheet=worksheet, decimals=decimals)
                found = maths_blocks(md)
                assert found, name
                assert md.count("$$") == 2 * len(found), f"{name}: a $$ not on its own line"
                blocks += found
        blocks.append(render_jupyter(sol).strip().removeprefix("$$").removesuffix("$$"))
    assert len(blocks) > 300
    assert katex_errors(blocks) == []


def test_katex_check_catches_a_bad_block():
    assert len(katex_errors([r"\frac{1}{2", r"\notacommand{x}", r"x^2"])) == 2


MARKDOWN_BLOCK_START = re.compile(r"^\s*([-+*]\s|#|>|\d+[.)]\s|=+\s*$|-{3,}|\|)")


@pytest.mark.parametrize("name", BUILTINS)
def test_markdown_maths_avoids_github_hazards(name):
    """$$ alone on its line with blank lines around; no line inside reads as Markdown; \\\\ only at line ends."""
    sol = load(name).solve()
    for worksheet in (False, True):
        md = render(sol, "markdown", worksheet=worksheet)
        lines = md.split("\n")
        opens = [i for i, l in enumerate(lines) if l == "$$"]
        for start, end in zip(opens[::2], opens[1::2]):
            assert lines[start - 1] == "" and lines[end + 1] == "", (name, start)
            for line in lines[start + 1:end]:
                assert line.strip(), f"blank line inside a maths block at {start}"
                assert not MARKDOWN_BLOCK_START.match(line), line
                assert "\\\\" not in line.rstrip()[:-2], f"\\\\ inside a line: {line}"
                assert not re.search(r"\\[^A-Za-z\\]", line.replace("\\\\", "")), f"backslash before punctuation: {line}"
                assert not re.search(r"[})]_", line), f"}}_ or )_ (GitHub emphasis): {line}"


# ---------------------------------------------------------------- what the key shows, against the seeds


def flat(text: str) -> str:
    """Maths without spaces and \\left/\\right, for comparing with the seeds' written forms."""
    return re.sub(r"\s+|\\left|\\right", "", text)


def test_dot_products_written_in_order_bias_last_negatives_in_parentheses():
    md = flat(render(load("four-neurons").solve(), "markdown", detail="full"))
    assert r"z_{2,1}&=(1)(2)+(1)(1)+(0)(3)+\textcolor{#8C8C8C}{0}=3" in md  # the example
    assert r"z_{1,1}&=(1)(2)+(-1)(1)+(1)(3)+(\textcolor{#8C8C8C}{-5})=-1" in md  # the bias grey  # SEEDS 2: 2·1 + 1·(−1) + 3·1 + (−5) = −1


def test_relu_zero_is_struck_through_with_its_reason():
    md = flat(render(load("single-neuron").solve(), "markdown", detail="full"))
    assert r"a_{1,1}&=\max(0,\cancel{-1})=0\qquad\text{since}{-1}\le0" in md  # {-1}: a sign, not a subtraction
    sheet = flat(render(load("single-neuron").solve(), "markdown"))  # the sheet: struck where it stands, a red 0 beside
    assert r"{\cancel{-1}\kern0.3em\textcolor{#C00000}{0}}" in sheet


def test_softmax_as_exact_fractions_of_exponentials_with_decimals_on_request():
    sol = load("backprop").solve()
    plain, four = render(sol, "markdown", detail="full"), render(sol, "markdown", decimals=4, detail="full")
    assert r"\frac{e^{3}}{e^{3}+e^{3}+e^{-1}}" in flat(plain)  # Z3 = [3, 3, −1]
    assert r"\frac{e^{4}}{1+2e^{4}}" in flat(plain)  # SEEDS 7
    beside = r"\frac{e^{4}}{1+2e^{4}}}\approx0.4955"  # a decimal beside the exact softmax: on request only
    assert beside in flat(four) and r"\frac{1}{1+2e^{4}}}\approx0.0091" in flat(four) and beside not in flat(plain)
    # where the exercise rounds the softmax, its decimals are shown anyway (SEEDS 7: ≈ [0.4955, 0.4955, 0.0091])
    assert r"\approx\begin{bmatrix}{0.4955}\\{0.4955}\\{0.0091}\end{bmatrix}" in flat(plain)


def test_approximations_are_marked_with_a_sentence():
    md = render(load("backprop").solve(), "markdown", detail="full")
    assert "> **≈** Approximation: the exercise rounds the exact output A3 to the given prediction Ŷ" in md
    assert "> **≈** Ŷ is the exercise’s rounding of A3" in render(load("backprop").solve(), "markdown")
    for detail in ("full", "sheet"):
        base3 = render(from_data(VARIETY["relu-softmax-base3-mse-train"]).solve(), "markdown", detail=detail)
        assert "uses 3 in place of e" in base3
        assert "uses 3 in place of e" not in render(load("backprop").solve(), "markdown", detail=detail)


def test_backward_pass_in_partial_notation_with_the_mask_and_the_update():
    md = flat(render(load("backprop").solve(), "markdown", detail="full"))
    assert r"\frac{\partialL}{\partialZ_{3}}=(\hat{Y}-Y)" in md
    assert r"\frac{\partialL}{\partial[W_{3}\midb_{3}]}=\frac{\partialL}{\partialZ_{3}}\cdot[A_{2};1]^{\mathsf{T}}" in md
    assert r"\frac{\partialL}{\partialA_{2}}=W_{3}^{\mathsf{T}}\cdot\frac{\partialL}{\partialZ_{3}}" in md
    # ∂L/∂Z1 = ∂L/∂A1 ⊙ mask: [1, −2, 2, −1] ⊙ [0, 1, 1, 1] = [0, −2, 2, −1] (SEEDS 7)
    assert (r"\begin{bmatrix}{1}\\{-2}\\{2}\\{-1}\end{bmatrix}\odot\begin{bmatrix}{0}\\{1}\\{1}\\{1}\end{bmatrix}"
            r"=\begin{bmatrix}{0}\\{-2}\\{2}\\{-1}\end{bmatrix}") in md
    assert r"[W_{3}\midb_{3}]'&=[W_{3}\midb_{3}]-\eta\frac{\partialL}{\partial[W_{3}\midb_{3}]}" in md
    assert r"(3\times1)\cdot(1\times3)\to(3\times3)" in md


def test_rounded_weights_are_marked_and_written_as_decimals():
    md = render(from_data(VARIETY["identity-rounded-two-steps"]).solve(), "markdown", detail="full")
    assert "> **≈** Approximation: the updated weights and biases of layer 1 are rounded to 2 decimals" in md
    assert "{0.33} & {-0.33} & {-0.67}" in md  # 1/3, −1/3, −2/3 rounded
    assert "## Gradient-descent step 2" in md


def test_parameter_count_when_asked():
    md = flat(render(load("hidden-layer").solve(), "markdown"))
    assert r"\text{parameters}=4\cdot(3+1)+2\cdot(4+1)=26" in md
    assert "parameters" not in render(load("four-neurons").solve(), "markdown")
    for scaffold in ("grid", "formulas"):  # the worksheet asks for the count and never prints the formula it tests
        sheet = flat(render(load("hidden-layer").solve(), "markdown", worksheet=True, scaffold=scaffold))
        assert r"\text{parameters}=\boxed" in sheet and r"4\cdot(3+1)" not in sheet and "(inputs+1)" not in sheet


def test_batch_columns_coloured_per_sample():
    md = render(load("batch").solve(), "markdown")
    assert r"\textcolor{#0B3D91}" in md and r"\textcolor{#2E7D32}" in md and r"\textcolor{#E07000}" in md
    assert r"\textcolor{#0B3D91}" not in render(load("four-neurons").solve(), "markdown")
    assert r"\textcolor{#0B3D91}" not in render(load("batch").solve(), "markdown", mono=True)


def test_hand_layout_has_w_b_on_the_left_and_the_ones_row():
    md = render(load("single-neuron").solve(), "markdown", detail="full")
    assert r"\begin{array}{ccc|c|c}" in md  # [w1 w2 w3 | b | z]
    assert r"{} & {} & {} & {} & {\textcolor{#8C8C8C}{1}} \\" in md  # [x ; 1]: the bias trick's 1, grey
    sheet = render(load("single-neuron").solve(), "markdown")
    assert r"\begin{array}{cccc|cl}" in sheet  # the sheet: [w1 w2 w3 b | z], a label column
    assert r"{} & {} & {} & {} & {\textcolor{#8C8C8C}{1}} & {} \\" in sheet


# ---------------------------------------------------------------- the worksheet is the key with results blank


WORKSHEET_ABSENT = {  # results of the seeds (SEEDS.md) that are not among their given numbers
    "matmul": ["{9}"],
    "four-neurons": ["{5}"],
    "hidden-layer": ["{5}", "26"],
    "batch": ["{5}"],
    "mlp7": ["{9}", "{16}", "{25}", "-18"],
    "backprop": [r"\frac{19}{10}", r"\frac{21}{20}", r"\frac{99}{20}", r"\frac{11}{5}", r"\log{", "e^{4}", r"\frac{31}{10}"],
}


@pytest.mark.parametrize("name", BUILTINS)
def test_markdown_worksheet_shows_given_numbers_and_no_results(name):
    sol = load(name).solve()
    key, sheet = render(sol, "markdown", detail="full"), render(sol, "markdown", worksheet=True, scaffold="formulas")
    assert r"\boxed{\rule" in sheet and r"\boxed{\rule" not in key
    for answer in WORKSHEET_ABSENT.get(name, []):
        assert answer in key, answer
        assert answer not in sheet, answer
    if name == "backprop":
        assert r"{\frac{1}{2}}" in sheet.replace(r"\displaystyle ", "")  # the given prediction stays


def maths_numbers(markdown: str) -> set[str]:
    """The numbers a Markdown document prints in its maths, once box sizes, colours, indices and layer marks are gone."""
    text = "\n".join(maths_blocks(markdown))
    for pattern in (r"\\rule\[[^\]]*\]\{[^}]*\}\{[^}]*\}", r"\\kern-?[\d.]+em", r"#[0-9A-F]{6}", r"_\{[\d,]+\}",
                    r"\^\{\[\d+\]\}", r"\{\d+em\}", r"\\sum_\{[ij]=1\}\^\{\d+\}", r"\\frac\{1\}\{\d+( \\cdot \d+)?\}"):
        text = re.sub(pattern, " ", text)
    return set(re.findall(r"\d+", text))


@pytest.mark.parametrize("name", BUILTINS[:7])  # the seven seeds (a catalogue template prints its own constants)
def test_sheet_worksheet_prints_only_the_given_numbers(name):
    """The sheet worksheet's maths holds no number the exercise does not give (its boxes are empty), and its key
    holds the answers (SEEDS.md) that no given number holds."""
    sol = load(name).solve()
    key, sheet = render(sol, "markdown"), render(sol, "markdown", worksheet=True)
    given = set(re.findall(r"\d+", builtin_text(name).split("\n[loss]")[0].split("\n[train]")[0]))
    given |= set(re.findall(r"\d+", builtin_text(name))) | {"1", "2", "3"}  # the 1s of the bias, "1/10"; shapes
    assert maths_numbers(sheet) <= given, maths_numbers(sheet) - given
    for answer in SHEET_ANSWERS.get(name, []):
        assert answer in maths_numbers(key) and answer not in maths_numbers(sheet), answer


SHEET_ANSWERS = {"matmul": ["9"], "hidden-layer": ["26"], "mlp7": ["16", "25", "18"],
                 "backprop": ["19", "21", "99", "11"]}


# ---------------------------------------------------------------- PDF


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """pdftotext's reading of a PDF, line by line as printed (-layout: an answer's tall box does not break its line)."""
    require_tool("pdftotext")
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def squeeze(text: str) -> str:
    """Text without spaces and line breaks."""
    return re.sub(r"\s+", "", text)


KEY_ANSWERS = {  # lines of each seed's working as pdftotext reads them (SEEDS.md)
    "matmul": ["c1,2=(1)(5)+(1)(4)=9", "c2,2=(−1)(5)+(1)(4)=−1"],
    "single-neuron": ["z1,1=(1)(2)+(−1)(1)+(1)(3)+(−5)=−1", "since−1≤0"],
    "four-neurons": ["z3,1=(0)(2)+(1)(1)+(1)(3)+1=5"],
    "hidden-layer": ["=4·(3+1)+2·(4+1)=26", "z1,1=(1)(0)+(1)(3)+(−1)(5)+(0)(3)+0=−2"],
    "batch": ["z2,3=(1)(0)+(1)(1)+(0)(1)+0=1", "z2,3=(0)(0)+(0)(1)+(1)(3)+(−1)(0)+1=4"],
    "mlp7": ["z1,2=(1)(7)+(−1)(25)=−18", "z1,1=(1)(1)+(−1)(5)=−4"],
    "backprop": ["=log(2)", "∂L/∂a1,1=(1)(1)+(0)(−1)=1", "∂L/∂a2,1=(−1)(1)+(1)(−1)=−2"],
    # the catalogue's built-ins: a first filter's windows (padded) times its kernel, a window's maximum, G's layer
    "conv2d": ["z1,1=(1)(0)+(1)(0)+(2)(0)+(−1)(3)+(−1)=−4", "z1,2=(1)(0)+(1)(0)+(2)(2)+(−1)(−1)+(−1)=4"],
    "conv1d": ["z1,2=(1)(3)+(0)(−1)+(−1)(0)+0=3"],
    "max-pool": ["a1,1=max1,0,2,2=2"],
    "cnn": ["z1,2=(0)(0)+(1)(1)+(1)(2)+(−1)(0)+(−2)=1"],
    "gan": ["z1,2=(1)(2)+(1)(0)+0=2"],
}
KEY_NUMBERS = {  # numbers of the answers that no given number holds; pdftotext splits fractions into them
    "backprop": {"19", "21", "99", "11"},  # [W3|b3]' = [19/10, −1/5, −21/20; 1/10, 11/5, −99/20; …]
    "mlp7": {"16", "25", "18"},
    "hidden-layer": {"26"},
}


@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_key_and_worksheet_compile_with_pdflatex(name, tmp_path):
    require_tool("pdflatex")
    sol = load(name).solve()
    key_text = pdf_text(render_pdf(sol, detail="full"), tmp_path)
    sheet_text = pdf_text(render_pdf(sol, worksheet=True, scaffold="formulas"), tmp_path)
    key, sheet = (re.sub(r"\[\d+\]", "", squeeze(t)) for t in (key_text, sheet_text))  # without the layer marks
    for answer in KEY_ANSWERS.get(name, []):  # (the catalogue built-ins check their own lines in tests/ops)
        assert answer in key, answer
        assert answer not in sheet, answer
    numbers = KEY_NUMBERS.get(name, set())
    assert numbers <= numbers_in(key_text)
    assert not numbers & numbers_in(sheet_text)
    assert "Answerkey" in key and "Name:" in sheet and "Date:" in sheet


def numbers_in(text: str) -> set[str]:
    """The digit runs of a text, once the PDF's bracket-piece glyphs (private use area) and page numbers (a line of
    its own after the foot's sentence) are dropped."""
    text = re.sub(r"marked ≈\.\s*\d+", " ", text)
    return set(re.findall(r"\d+", re.sub("[\ue000-\uf8ff]", " ", text)))


def test_pdf_of_the_variety_exercises_compile(tmp_path):
    require_tool("pdflatex")
    for name, data in VARIETY.items():
        assert render_pdf(from_data(data).solve(), decimals=3).startswith(b"%PDF"), name


def test_pdf_without_pdflatex_names_the_debian_packages(monkeypatch, cli, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RenderError, match="texlive-latex-base texlive-latex-recommended texlive-latex-extra"):
        render_pdf(load("matmul").solve())
    out = tmp_path / "key.pdf"
    run = cli("solve", "matmul", "--format", "pdf", "-o", out)
    assert run.code == 2 and not out.exists()
    assert run.err.startswith("symnet: error: ") and run.err.count("\n") == 1 and "texlive-latex-extra" in run.err


def test_pdf_compile_error_gives_the_first_tex_error_line():
    require_tool("pdflatex")
    with pytest.raises(RenderError, match=r"pdflatex failed: Undefined control sequence\.$"):
        compile_pdf("\\documentclass{article}\\begin{document}\\nosuchmacro\\end{document}\n")


def test_pdf_cannot_read_files_outside_its_folder():
    require_tool("pdflatex")
    with pytest.raises(RenderError, match="pdflatex failed"):  # openin_any=p: no absolute paths, no ..
        compile_pdf("\\documentclass{article}\\begin{document}\\input{/etc/passwd}\\end{document}\n")


# ---------------------------------------------------------------- user text is inert


def test_escape_latex_exact():
    assert escape_latex(r"\input{/etc/passwd}") == r"\ensuremath{\backslash}input\{/etc/passwd\}"
    assert escape_latex(r"\write18 100% #1 $x$") == r"\ensuremath{\backslash}write18 100\% \#1 \$x\$"
    assert escape_latex("^^5c a_b ~ & |") == r"\textasciicircum{}\textasciicircum{}5c a\_b \textasciitilde{} \& \ensuremath{\vert}"
    assert escape_latex("<script>") == r"\ensuremath{<}script\ensuremath{>}"
    assert escape_latex("line\nbreak\x00") == "line break "
    assert escape_latex("W·x ≤ 0 — café ✓") == "W·x ≤ 0 --- café ?"


def test_escape_markdown_exact():
    assert escape_markdown("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert escape_markdown(r"\input{/etc/passwd} $x$ a_b *c* `d` [e](f) #1 ^^5c ~|") == \
        r"\\input{/etc/passwd} \$x\$ a\_b \*c\* \`d\` &#91;e&#93;(f) \#1 \^\^5c \~\|"
    assert escape_markdown("1. one") == r"1\. one"
    assert escape_markdown("- item") == r"\- item"
    assert escape_markdown("a & b\nc") == "a &amp; b c"


def test_nasty_title_prints_as_inert_text(tmp_path):
    ex = from_data({"title": NASTY, "description": "<b>bold</b> %", "kind": "matmul", "A": [[1]], "B": [[2]]})
    md = render(ex.solve(), "markdown")
    assert md.startswith("# " + escape_markdown(NASTY) + "\n")
    assert "<script>" not in md and "<b>" not in md and "&lt;b&gt;bold&lt;/b&gt; %" in md
    tex = render(ex.solve(), "latex")
    assert "\\section*{" + escape_latex(NASTY) + "}" in tex
    assert "\\input{/etc" not in tex and "\\write18" not in tex
    if shutil.which("pdflatex"):
        text = squeeze(pdf_text(render_pdf(ex.solve()), tmp_path))
        assert "\\input{/etc/passwd}\\write18{rm-rfx}100%#1$x$" in text and "<script>alert(1)</script>&{}" in text


# ---------------------------------------------------------------- goldens, Jupyter, installed layout


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_files(name):
    expected = (ROOT / "tests" / "golden" / name).read_text(encoding="utf-8")
    assert golden_text(name) == expected, f"{name} changed: review, then run python -m symnet.render --regenerate"


def test_jupyter_reprs():
    sol = load("backprop").solve()
    assert sol._repr_markdown_() == render(sol, "markdown")
    latex = sol._repr_latex_()
    assert latex.startswith("$$\n\\begin{aligned}\n") and latex.rstrip().endswith("$$")
    assert r"\text{W3'} &= " in latex


def test_unknown_format_and_bad_decimals():
    sol = load("matmul").solve()
    with pytest.raises(RenderError, match="unknown document format"):
        render(sol, "rtf")  # (html is a format now: tests/test_docs_html.py)
    with pytest.raises(RenderError, match="decimals"):
        render(sol, "markdown", decimals=-1)


def test_templates_found_in_an_installed_layout(tmp_path):
    """As in a wheel: symnet/templates inside the package, run from another folder with no checkout around."""
    site = tmp_path / "site"
    shutil.copytree(ROOT / "symnet", site / "symnet", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "templates", site / "symnet" / "templates")
    code = "from symnet.spec import load; from symnet.render import render; print(render(load('matmul').solve(), 'latex'))"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "\\documentclass" in done.stdout and "\\symnetslot{white}" in done.stdout


# ---------------------------------------------------------------- through the command line


def test_cli_solve_and_worksheet_markdown_and_latex(cli):
    key = cli("solve", "backprop", "--format", "markdown", "--decimals", "4")
    assert key.code == 0 and r"\approx 0.4955" in key.out and key.out.startswith("# Backpropagation by hand\n")
    sheet = cli("worksheet", "backprop", "--format", "latex")
    assert sheet.code == 0 and sheet.out.startswith("\\documentclass") and r"\symnetslot{symnetframe}" in sheet.out
    assert r"\frac{19}{10}" not in sheet.out


def test_cli_pdf_written_whole(cli, tmp_path):
    require_tool("pdflatex")
    out = tmp_path / "sheet.pdf"
    run = cli("worksheet", "hidden-layer", "--format", "pdf", "-o", out)
    assert run.code == 0 and out.read_bytes().startswith(b"%PDF")


def test_every_step_kind_of_the_record_is_rendered():
    """The kinds listed at the top of record.py are the kinds the exercises here record through the builders of
    render/document.py, and every group of steps (op, phase) they make has a layout of its own (its op's template,
    never the generic block); a catalogue op without a builder draws its steps' sections in its own template."""
    from symnet.render.document import _Builder, groups

    listed = set(re.findall(r"^#   (\w+)\s", (ROOT / "symnet" / "record.py").read_text(encoding="utf-8"), re.M))
    assert len(listed) >= 14
    seen = set()
    for _, sol in solutions():
        seen |= {s.kind for s in sol.steps if hasattr(_Builder, f"{s.op}_{s.phase}")}
        for (_, _, op, phase), _ in groups(sol.steps):
            assert (ROOT / "templates" / "ops" / f"{op}.j2").is_file(), (op, phase)
    assert seen <= listed and listed - seen <= {"sample", "grad_sum"}  # those two: tests/ops (a sampled softmax, a skip)


# ---------------------------------------------------------------- wide layers: the page's layout policy (layout.py)


def pattern(rows: int, cols: int, f) -> list[list[int]]:
    """A matrix of small integers from a formula (no randomness)."""
    return [[f(i, j) for j in range(cols)] for i in range(rows)]


# 16 inputs, a batch of 8, a 32×16 weight matrix, then 4 outputs: the case that ran off the page.
WIDE = {"title": "Wide layers", "X": pattern(16, 8, lambda i, j: (3 * i + 5 * j) % 7 - 3),
        "layers": [{"W": pattern(32, 16, lambda i, j: (2 * i + 3 * j + i * j) % 7 - 3),
                    "b": [i % 5 - 2 for i in range(32)], "activation": "relu"},
                   {"W": pattern(4, 32, lambda i, j: (i + 2 * j) % 5 - 2), "b": [1, 0, -1, 2], "activation": "identity"}],
        "loss": {"kind": "squared_error", "Y": pattern(4, 8, lambda i, j: (i + j) % 3 - 1), "reduction": "sum"},
        "train": {"learning_rate": "1/10"}}
# Ten classes with e: exact values longer than a line (the softmax's column sums, long sums, entries one by one).
TEN_CLASSES = {"title": "Ten classes", "X": pattern(6, 4, lambda i, j: (i * i + 3 * j + i * j) % 5 - 2),
               "layers": [{"W": pattern(10, 6, lambda i, j: (i * j * j + 2 * i + j) % 5 - 2), "activation": "softmax"}],
               "loss": {"kind": "cross_entropy", "Y": pattern(10, 4, lambda i, j: int(i == 2 * j + 1))},
               "train": {"learning_rate": "1/10"}}
MARGIN = 18 / 25.4 * 72  # the geometry's margin, in PDF points
MIN_SCALE = 0.8


@pytest.fixture(scope="module")
def wide():
    return from_data(WIDE, source="wide").solve()


def overfull(log: str) -> list[float]:
    """pdflatex's overfull boxes beyond a point (content past the margin, or past the page's foot)."""
    return [float(x) for x in re.findall(r"Overfull \\[hv]box \(([\d.]+)pt too (?:wide|high)\)", log) if float(x) > 1.0]


def fit_scales(log: str) -> list[float]:
    """The scale of every display symnet's \\symnetfit shrank to the page (logged by the macro)."""
    return [float(to) / float(natural) for natural, to in re.findall(r"symnet-fit: \w+ ([\d.]+)pt to ([\d.]+)pt", log)]


def page_text(pdf: bytes, tmp_path: Path) -> str:
    """pdftotext's reading, each page's number dropped, all spaces and line breaks squeezed out."""
    foot = r"\s*Made by symnet from the recorded steps of the exercise; every number is exact unless marked ≈\.\s*\d+\s*$"
    pages = [re.sub(foot, "", p.rstrip()) for p in pdf_text(pdf, tmp_path).split("\f")]
    return squeeze("".join(pages))


def word_boxes(pdf: bytes, tmp_path: Path) -> tuple[float, float, list[tuple[float, ...]]]:
    """The page size and every word's box (xMin, yMin, xMax, yMax) in PDF points, from pdftotext -bbox."""
    require_tool("pdftotext")
    path = tmp_path / "boxes.pdf"
    path.write_bytes(pdf)
    html = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    width, height = map(float, re.search(r'<page width="([\d.]+)" height="([\d.]+)"', html).groups())
    boxes = [tuple(map(float, b)) for b in
             re.findall(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)"', html)]
    return width, height, boxes


def minus(v) -> str:
    """A number as pdftotext reads it: the minus sign is U+2212."""
    return str(v).replace("-", "−")


def test_wide_pdf_fits_the_page_and_every_product_is_whole(wide, tmp_path):
    """The oracle is pdflatex's own log and pdftotext: no box overflows, nothing is shrunk below 0.8, every
    word lies within the margins, and each z of the 32×8 layer is written out whole, in order."""
    require_tool("pdflatex")
    W, X, b = WIDE["layers"][0]["W"], WIDE["X"], WIDE["layers"][0]["b"]
    Z1 = wide["Z1"]
    for worksheet in (False, True):
        pdf, log = compile_pdf_log(render(wide, "latex", worksheet=worksheet, detail="full", scaffold="formulas"))
        assert overfull(log) == [], worksheet
        scales = fit_scales(log)
        assert scales and min(scales) >= MIN_SCALE - 0.03, (worksheet, min(scales))
        width, height, boxes = word_boxes(pdf, tmp_path)
        assert len(boxes) > 10000
        assert min(x0 for x0, _, _, _ in boxes) >= MARGIN - 1 and max(x1 for _, _, x1, _ in boxes) <= width - MARGIN + 1
        assert min(y0 for _, y0, _, _ in boxes) >= 0 and max(y1 for _, _, _, y1 in boxes) <= height
        text = page_text(pdf, tmp_path)
        assert "rows1–16of32,columns1–9of17" in text and "columns18–33of33" in text  # labelled blocks
        for i in range(32):
            for j in range(8):
                products = "+".join(f"({minus(W[i][t])})({minus(X[t][j])})" for t in range(16))
                bias = f"({minus(b[i])})" if b[i] < 0 else str(b[i])
                line = f"z{i + 1},{j + 1}={products}+{bias}="
                assert line + (minus(Z1[i, j]) if not worksheet else "") in text, line


def test_wide_key_and_worksheet_share_one_layout(wide):
    """The page is planned for key and worksheet alike: the same blocks, the same line breaks, the same scaling."""
    key, sheet = render(wide, "latex", detail="full"), render(wide, "latex", worksheet=True, scaffold="formulas")
    labels = re.compile(r"\\underset\{\\text\{\\footnotesize ([^}]*)\}")
    assert labels.findall(key) == labels.findall(sheet) and len(labels.findall(key)) > 10
    for token in ("\\kern1em", "\\symnetfit", "\\begin{align*}", "\\["):
        assert key.count(token) == sheet.count(token) > 0, token


def test_wide_markdown_is_not_split_but_long_sums_wrap(wide):
    """On screen nothing is cut into blocks or scaled (a wide matrix scrolls), but a written-out product wraps
    as on paper: at most 8 products a line here instead of 16 on one line."""
    for worksheet in (False, True):
        md = render(wide, "markdown", worksheet=worksheet, detail="full", scaffold="formulas")
        assert "\\underset" not in md and "\\symnetfit" not in md
        products = [line.count(")\\left(") + line.count(")\\fbox") for line in md.split("\n") if "\\left( " in line]
        assert products and max(products) <= 8
        assert "\n&\\kern1em + \\left( " in md


def test_wide_and_long_markdown_parses_with_katex():
    """KaTeX takes every block: wrapped products, long exact values, and aligned blocks too long for its 1000
    macro expansions (320 leaky-ReLU lines, cut into several blocks)."""
    eight = dict(WIDE, layers=[dict(WIDE["layers"][0], W=WIDE["layers"][0]["W"][:8], b=WIDE["layers"][0]["b"][:8]),
                               dict(WIDE["layers"][1], W=[row[:8] for row in WIDE["layers"][1]["W"]])])
    leaky = {"X": pattern(2, 8, lambda i, j: (i + j) % 5 - 2),
             "layers": [{"W": pattern(40, 2, lambda i, j: (i + 3 * j) % 5 - 2), "activation": "leaky_relu"}]}
    sols = [from_data(eight).solve(), from_data(TEN_CLASSES).solve(), from_data(leaky).solve()]
    blocks = []
    for sol in sols:
        for worksheet in (False, True):
            for detail in ("full", "sheet"):
                md = render(sol, "markdown", worksheet=worksheet, decimals=3, detail=detail, scaffold="formulas")
                found = maths_blocks(md)
                assert md.count("$$") == 2 * len(found)
                blocks += found
    leaky_blocks = [b for b in blocks if "\\operatorname{leaky}" in b]
    assert len(leaky_blocks) >= 4 and max(b.count("\\operatorname") for b in leaky_blocks) * 3 <= KATEX_BUDGET
    assert katex_errors(blocks) == []


def test_long_exact_values_break_between_terms_and_fit(tmp_path):
    """Ten softmax classes with e: each column's sum written once, results longer than a line broken between
    their terms, a matrix whose single column cannot fit listed entry by entry; nothing overflows."""
    require_tool("pdflatex")
    sol = from_data(TEN_CLASSES).solve()
    for worksheet in (False, True):
        tex = render(sol, "latex", worksheet=worksheet, decimals=3, detail="full", scaffold="formulas")
        assert "\\Sigma_{1} &= e^{" in tex and "\\Sigma_{4}}" in tex
        if not worksheet:
            assert "\\\\\n&= {\\displaystyle" in tex  # a long result on lines of its own
            assert "\\right]_{1,1} &= " in tex  # entries one by one
        pdf, log = compile_pdf_log(tex)
        assert overfull(log) == [], worksheet
        assert all(s >= MIN_SCALE - 0.03 for s in fit_scales(log)), fit_scales(log)


def test_long_symbolic_values_start_a_line_of_their_own(tmp_path):
    """ReLU of a 16-term symbolic z: "a = max(0, z)", then the value on a line of its own, not past the margin."""
    require_tool("pdflatex")
    sol = from_data({"X": pattern(16, 2, lambda i, j: (i + j) % 3 - 1),
                     "layers": [{"W": {"symbol": "w", "shape": [4, 16]}, "activation": "relu"}]}).solve()
    tex = render(sol, "latex", detail="full")
    assert re.search(r"a_\{1,1\} &= \\max\( 0, .* \) \\\\\n&= ", tex)
    pdf, log = compile_pdf_log(tex)
    assert overfull(log) == []


# Built-ins wider than a line by their nature: their displays break into labelled blocks (tested to compile above).
WIDE_BUILTINS = {"cnn": "the sheet's dense layer reads 8 pooled values, and its gradients hold e",
                 "max-pool": "its loss's Ŷ and ∂L/∂A are rows of 9 answer boxes of 1 cm: near the width, a safety net"}


def test_builtin_layouts_stay_as_they_were():
    """The built-in exercises fit: no block, no scaling, no wrapped line, on paper or on screen."""
    for name in (n for n in BUILTINS if n not in WIDE_BUILTINS):
        sol = load(name).solve()
        for fmt in FORMATS:
            for detail in ("sheet", "full"):
                text = render(sol, fmt, worksheet=name.startswith("b"), detail=detail, scaffold="formulas")
                text = text.split("<script>")[0]  # (html: not KaTeX's code)
                assert " symnet-fit\"" not in text and "\\underset{\\text{\\footnotesize" not in text, (name, fmt)
                assert "\\symnetfit{" not in text and "\\kern1em" not in text, (name, fmt)


def test_page_plans_blocks_only_on_paper():
    wide_row = mat(sympy_matrix([[-3] * 40]), True)
    whole = SCREEN.blocks(wide_row)
    assert [b.whole for b in whole.blocks] == [True] and not whole.fit
    plan = PAPER.blocks(wide_row, "W = ")
    assert len(plan.blocks) == 2 and plan.fit
    assert [(b.c0, b.c1) for b in plan.blocks] == [(0, 20), (20, 40)]
    assert [b.label for b in plan.blocks] == ["columns 1–20 of 40", "columns 21–40 of 40"]
    assert plan.blocks[1].split(25) == 5 and plan.blocks[0].split(25) is None
    tall = mat(sympy_matrix([[1]] * 64), True)
    assert [b.label for b in PAPER.blocks(tall).blocks] == ["rows 1–32 of 64", "rows 33–64 of 64"]
    assert isinstance(wide_row.part(plan.blocks[1]), Mat) and wide_row.part(plan.blocks[1]).shape == (1, 20)


def sympy_matrix(rows):
    import sympy
    return sympy.ImmutableMatrix(rows)


def test_katex_chunks_cut_between_lines_and_keep_inner_environments_whole():
    body = "\n".join([f"a_{{{i}}} &= 1 \\qquad \\text{{since}} \\\\" for i in range(1500)]
                     + ["b &= \\begin{cases}", "1 & z > 0 \\\\", "0 & z \\le 0", "\\end{cases}"])
    chunks = katex_chunks(body)
    assert len(chunks) == 2 and all(c.count("\\qquad") <= KATEX_BUDGET for c in chunks)
    assert not chunks[0].endswith("\\\\") and "\\begin{cases}" in chunks[-1] and "\\end{cases}" in chunks[-1]
    assert katex_chunks("x &= 1") == ["x &= 1"]


def test_tex_chunks_keep_each_align_within_pdflatex_memory_and_entries_whole():
    """A 64×64 layer's products are 1.6 MB of one align*, beyond pdflatex's main memory: cut between entries."""
    entry = "z_{1,1} &= " + " + ".join(["\\left( -3 \\right)\\left( 2 \\right)"] * 8) + " \\\\\n&\\kern1em + (1)(2) = 7 \\\\"
    body = "\n".join([entry] * 2000)[:-3]
    chunks = tex_chunks(body)
    assert len(chunks) >= 5 and all(c.count("\n") + 1 <= TEX_BUDGET + 2 for c in chunks)
    assert all(c.startswith("z_{1,1} &=") and c.endswith("= 7") for c in chunks)
    assert "\n".join(c + " \\\\" for c in chunks)[:-3] == body


WIDTH_SAMPLES = ["7", "-3", "-28", "1359", r"{\displaystyle \frac{1}{2}}", r"{\displaystyle - \frac{21}{20}}",
                 r"{\displaystyle \frac{e^{4}}{1 + 2 e^{4}}}", r"\fbox{\phantom{00}}", r"\left( -3 \right)\left( 2 \right)",
                 r"{\displaystyle \frac{1}{1 + e^{- w_{12} + \frac{w_{13}}{5}}}}", r"w_{11} x_{1} + b_{1}",
                 r"\max( 0, \cancel{-1} ) = 0 \qquad \text{since } -1 \le 0",
                 r"\log{\left(\frac{27}{220} \right)}", r"\frac{\partial L}{\partial [W_{1} \mid b_{1}]}"]


def test_width_estimates_against_pdflatex():
    """The estimates the plan rests on, against the widths pdflatex sets: never more than 5 % short."""
    require_tool("pdflatex")
    lines = [r"\documentclass[11pt]{article}\usepackage{amsmath,xcolor,cancel}\newsavebox{\probe}\begin{document}"]
    lines += [rf"\sbox{{\probe}}{{$\displaystyle {t}$}}\typeout{{probe: \the\wd\probe}}" for t in WIDTH_SAMPLES]
    _, log = compile_pdf_log("\n".join(lines + ["x", r"\end{document}", ""]))
    real = [float(x) / 11 for x in re.findall(r"probe: ([\d.]+)pt", log)]
    assert len(real) == len(WIDTH_SAMPLES)
    for text, width in zip(WIDTH_SAMPLES, real):
        assert 0.95 * width <= tex_width(text) <= 1.3 * width + 0.1, (text, width, tex_width(text))


@pytest.mark.parametrize("N, says", [(3, "3 samples, each in its own colour."),
                                     (10, "10 samples, coloured in turn by 3 colours (sample k and k + 3 alike).")])
def test_sample_colours_are_described_as_they_are(N, says):
    data = {"X": [[k % 3 - 1 for k in range(N)], [1] * N], "layers": [{"W": [[1, -1], [2, 1]], "activation": "relu"}]}
    sol = from_data(data).solve()
    for fmt in ("markdown", "latex"):
        assert says in render(sol, fmt, detail="full")


def _one_layer(kind: str, n: int, N: int, reduction: str) -> dict:
    """One dense layer of n outputs on a batch of N, with the loss `kind` (sigmoid for bce, softmax for CE)."""
    act = {"bce": "sigmoid", "cross_entropy": "softmax"}.get(kind, "identity")
    Y = [[1 if i == j % n else 0 for j in range(N)] for i in range(n)]
    return {"X": [[1] * N, [j for j in range(N)]], "layers": [{"W": [[1, -1]] * n, "activation": act}],
            "loss": {"kind": kind, "Y": Y, "reduction": reduction}}


@pytest.mark.parametrize("kind,n,N,reduction,formula", [
    ("bce", 1, 1, "mean", r"-\big( y \log \hat y + (1 - y) \log (1 - \hat y) \big)"),
    ("bce", 2, 3, "mean", r"-\frac{1}{2 \cdot 3} \sum_{j=1}^{3} \sum_{i=1}^{2} \big( y_{i,j} \log \hat y_{i,j} + "
                        r"(1 - y_{i,j}) \log (1 - \hat y_{i,j}) \big)"),
    ("mse", 1, 2, "sum", r"\sum_{j=1}^{2} (\hat y_{j} - y_{j})^{2}"),
    ("mse", 3, 2, "mean", r"\frac{1}{3 \cdot 2} \sum_{j=1}^{2} \sum_{i=1}^{3} (\hat y_{i,j} - y_{i,j})^{2}"),
    ("squared_error", 2, 1, "mean", r"\frac{1}{2} \sum_{i=1}^{2} (\hat y_{i} - y_{i})^{2}"),
    ("cross_entropy", 3, 1, "mean", r"-\sum_{i=1}^{3} y_{i} \log \hat y_{i}"),
    ("cross_entropy", 2, 2, "mean", r"-\frac{1}{2} \sum_{j=1}^{2} \sum_{i=1}^{2} y_{i,j} \log \hat y_{i,j}"),
])
def test_the_loss_is_written_without_a_sum_or_an_index_over_one_term(kind, n, N, reduction, formula):
    """No 1/1, no Σ over one output or one sample, no index that takes one value (a single bce output: −(y log ŷ +
    (1 − y) log(1 − ŷ)))."""
    out = render(from_data(_one_layer(kind, n, N, reduction)).solve(), "markdown")
    assert formula in out
    assert r"\frac{1}{1}" not in out and r"\sum_{i=1}^{1}" not in out and r"\sum_{j=1}^{1}" not in out


@pytest.mark.parametrize("kind,n,N,reduction,formula", [
    ("cross_entropy", 3, 1, "mean", r"-Y \oslash \hat{Y}"),
    ("cross_entropy", 2, 4, "mean", r"-\frac{1}{4} Y \oslash \hat{Y}"),
    ("squared_error", 1, 1, "mean", r"\hat{Y} - Y"),
    ("squared_error", 2, 4, "mean", r"\frac{1}{4} (\hat{Y} - Y)"),
    ("squared_error", 2, 4, "sum", r"\hat{Y} - Y"),
    ("mse", 1, 1, "mean", r"2(\hat{Y} - Y)"),
    ("mse", 3, 1, "mean", r"\frac{2}{3} (\hat{Y} - Y)"),
    ("mse", 2, 4, "mean", r"\frac{2}{2 \cdot 4} (\hat{Y} - Y)"),
    ("bce", 1, 1, "mean", r"\frac{\hat{Y} - Y}{\hat{Y} \odot (1 - \hat{Y})}"),
    ("bce", 1, 4, "mean", r"\frac{1}{4} \frac{\hat{Y} - Y}{\hat{Y} \odot (1 - \hat{Y})}"),
    ("bce", 2, 4, "sum", r"\frac{1}{2} \frac{\hat{Y} - Y}{\hat{Y} \odot (1 - \hat{Y})}"),
])
def test_the_output_gradient_is_one_coefficient_then_the_product(kind, n, N, reduction, formula):
    """∂L/∂A of each loss (maths.j2's output_gradient, the norm, mixture and loss sheets' head): the coefficient
    (1/N for a mean, 2/n for MSE, 1/n for bce) as one fraction, left out when it is 1."""
    from types import SimpleNamespace

    from symnet.render.env import environment

    macro = environment().from_string('((* import "maths.j2" as m *))(((m.output_gradient(loss, n, N))))')
    assert macro.render(loss=SimpleNamespace(kind=kind, reduction=reduction), n=n, N=N) == formula
