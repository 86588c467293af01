"""The sheets a teacher prints (issue 16): the hand grid as the default layout, one page a built-in (backprop two),
answer boxes sized from their answers, key and worksheet breaking their pages alike, the detail and scaffold levels,
the printing conventions (grey bias, boxed parameters, w_{i,j}, written order, decimals, colours, paper). The oracles
are pdflatex's log and page count, pdftotext's reading of each page, KaTeX, and numbers worked by hand."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import sympy as sp

from symnet.export import to_text
from symnet.render import render, render_pdf
from symnet.render.document import Block, Cell
from symnet.render.layout import BOX, EM_PER_MM, slot
from symnet.render.pdf import compile_pdf_log
from symnet.spec import builtin_names, from_data, load

from .conftest import require_tool
from .test_render import fit_scales, katex_errors, maths_blocks, overfull

BUILTINS = builtin_names()
SEEDS = ["matmul", "single-neuron", "four-neurons", "hidden-layer", "batch", "mlp7", "backprop"]  # the seven
# Pages of each built-in's key and worksheet in the default layout, A4 portrait (the targets: one page, mlp7
# and backprop at most two). Before issue 16: matmul 1, single-neuron 1, four-neurons 2, hidden-layer 2, batch 3,
# mlp7 6, backprop 9 (key and worksheet alike).
PAGES = {"matmul": 1, "single-neuron": 1, "four-neurons": 1, "hidden-layer": 1, "batch": 1, "mlp7": 1, "backprop": 2,
         "resnet": 2}  # resnet: 9 (its skip layer in the walk-through) before its skip joined the cascade
KEYS = [("sheet", "grid"), ("steps", "grid"), ("full", "formulas")]  # a key's detail and its worksheet's scaffold


def pages_of(pdf: bytes, tmp_path: Path) -> list[str]:
    """pdftotext's reading of each page."""
    require_tool("pdftotext")
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")


def page_count(pdf: bytes, tmp_path: Path) -> int:
    """The page count pdfinfo reports."""
    require_tool("pdfinfo")
    path = tmp_path / "count.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def headings(latex: str) -> list[str]:
    """The headings a LaTeX document sets, as pdftotext reads them."""
    return [re.sub(r"\\[a-zA-Z]+|[{}]", "", h).replace("--", "–").strip()
            for h in re.findall(r"\\(?:sub)*section\*\{([^}]*)\}", latex)]


def on_pages(pages: list[str], names: list[str]) -> list[list[str]]:
    """Which of the headings each page holds, in order."""
    out, rest = [], list(names)
    for p in pages:
        flat = re.sub(r"\s+", " ", p)
        here = []
        while rest and rest[0] in flat:
            flat = flat[flat.index(rest[0]) + len(rest[0]):]
            here.append(rest.pop(0))
        out.append(here)
    return out


# ---------------------------------------------------------------- pages, on paper


@pytest.mark.parametrize("name", SEEDS + ["resnet"])
def test_builtin_pages_and_breaks_in_the_default_layout(name, tmp_path):
    """One page each (backprop two), key and worksheet alike, their headings on the same pages; nothing past the
    margin; nothing shrunk below 80 %."""
    require_tool("pdflatex")
    sol = load(name).solve()
    found = []
    for worksheet in (False, True):
        tex = render(sol, "latex", worksheet=worksheet)
        pdf, log = compile_pdf_log(tex)
        assert overfull(log) == [], (name, worksheet)
        assert all(s >= 0.8 for s in fit_scales(log)), (name, worksheet, fit_scales(log))
        assert page_count(pdf, tmp_path) == PAGES[name], (name, worksheet)
        found.append(on_pages(pages_of(pdf, tmp_path), headings(tex)))
    assert found[0] == found[1] and sum(map(len, found[0])) == len(headings(render(sol, "latex")))


@pytest.mark.parametrize("name", BUILTINS)
@pytest.mark.parametrize("detail, scaffold", KEYS[1:] + [("sheet", "blank")])
def test_every_layout_compiles_cleanly_and_breaks_alike(name, detail, scaffold, tmp_path):
    """--detail steps and full (with their worksheets) and the blank scaffold: no overfull box, no scaling below
    80 %; a key and the worksheet made for it (not the blank one, which has no boxes to grade) break alike."""
    require_tool("pdflatex")
    sol = load(name).solve()
    found = []
    for worksheet in (False, True):
        tex = render(sol, "latex", worksheet=worksheet, detail=detail, scaffold=scaffold)
        pdf, log = compile_pdf_log(tex)
        assert overfull(log) == [], (name, worksheet)
        assert all(s >= 0.8 for s in fit_scales(log)), fit_scales(log)
        found.append(on_pages(pages_of(pdf, tmp_path), headings(tex)))
    if scaffold == "blank":
        assert len(found[1]) == 1  # the given numbers and what to work out: one page
    elif name in SEEDS:  # (a catalogue template may say more in its key's headings)
        assert found[0] == found[1]


def test_page_breaks_match_where_a_grid_spans_pages(tmp_path):
    """A network long enough to cut its forward grid: both documents cut it before the same layer, and every page
    of the worksheet holds the labels (A_k = ReLU(Z_k)) its key holds."""
    require_tool("pdflatex")
    layers = [{"W": [[1, -1], [1, 1], [0, 1]] if k % 2 == 0 else [[1, 0, -1], [0, 1, 1]], "activation": "relu"}
              for k in range(12)]
    sol = from_data({"X": [1, 2], "layers": layers}).solve()
    labelled = []
    for worksheet in (False, True):
        pdf, log = compile_pdf_log(render(sol, "latex", worksheet=worksheet))
        assert overfull(log) == []
        pages = pages_of(pdf, tmp_path)
        labelled.append([re.findall(r"A(\d+) = ReLU", re.sub(r"\s+", " ", p)) for p in pages])
    assert labelled[0] == labelled[1] and len(labelled[0]) >= 2 and all(labelled[0])


def test_two_sigmoid_steps_rounded_fit_in_three_pages(tmp_path):
    """The issue's case: a 2-step sigmoid network was 24 pages with only the weights rounded; with its activations
    rounded to 2 decimals ([train] round_activations) key and worksheet take at most 3 pages, and show the ≈."""
    require_tool("pdflatex")
    data = {"X": [1, -1], "layers": [{"W": [[1, 0], [1, 1]], "b": [0, 0], "activation": "sigmoid"},
                                      {"W": [[1, -1]], "b": [0], "activation": "sigmoid"}],
            "loss": {"kind": "squared_error", "Y": [1]},
            "train": {"learning_rate": "1/2", "steps": 2, "round": 2, "round_activations": 2}}
    sol = from_data(data).solve()
    # z = [1·1 + 0·(−1), 1·1 + 1·(−1)] = [1, 0]: σ(1) = 0.7310… ≈ 0.73, σ(0) = 0.5
    assert sol["A1≈"] == sp.ImmutableMatrix([[sp.Rational(73, 100)], [sp.Rational(1, 2)]])
    for worksheet in (False, True):
        pdf, log = compile_pdf_log(render(sol, "latex", worksheet=worksheet))
        assert overfull(log) == [] and page_count(pdf, tmp_path) <= 3
    key = re.sub(r"\s+", "", "".join(pages_of(render_pdf(sol), tmp_path)))
    assert "≈0.73" in key and "A1≈σ(Z1)" in key


def test_letter_paper_and_black_and_white(tmp_path):
    require_tool("pdflatex")
    sol = load("batch").solve()
    tex = render(sol, "latex", paper="letter", mono=True)
    assert "letterpaper" in tex and "\\providecolor{symnetA}{HTML}{000000}" in tex
    pdf, log = compile_pdf_log(tex)
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert "612 x 792 pts" in info and overfull(log) == []
    md = render(sol, "markdown", mono=True)
    assert "#0B3D91" not in md and "#8C8C8C" in md  # no sample colours; the bias stays grey


# ---------------------------------------------------------------- Markdown and KaTeX


def test_every_layout_parses_with_katex():
    blocks = []
    for name in BUILTINS:
        sol = load(name).solve()
        for detail, scaffold in KEYS + [("sheet", "blank")]:
            for worksheet in (False, True):
                md = render(sol, "markdown", worksheet=worksheet, detail=detail, scaffold=scaffold, decimals_shown=True)
                found = maths_blocks(md)
                assert md.count("$$") == 2 * len(found), (name, detail, scaffold)
                blocks += found
    assert katex_errors(blocks) == []


# ---------------------------------------------------------------- the boxes


def test_boxes_are_sized_from_their_answers():
    """At least 1 cm by 1 cm; a fraction gets a taller box; a long number a wider one (in em of 11 pt)."""
    cm = 10 * EM_PER_MM
    assert abs(BOX - cm) < 1e-9 and abs(cm - 2.587) < 0.01
    whole = slot(Cell(sp.Integer(-1), given=False))
    half = slot(Cell(sp.Rational(1, 2), given=False))
    long = slot(Cell(sp.Rational(-1337, 100), given=False))
    softmax = slot(Cell(sp.exp(4) / (1 + 2 * sp.exp(4)), given=False))
    assert whole == (round(cm, 2), round(cm, 2))
    assert half[0] == whole[0] and half[1] > whole[1]
    assert long[0] > whole[0] and long[1] > whole[1]
    assert softmax[0] > long[0] and softmax[1] > whole[1]


def slots(latex: str) -> list[tuple[str, str, str, str]]:
    """Every \\symnetslot[..]{frame}{width}{height}{answer} of a LaTeX document, its arguments read brace by brace."""
    out = []
    latex = latex[latex.index("\\begin{document}"):]
    for m in re.finditer(r"\\symnetslot(?:\[l\])?", latex):
        i, args = m.end(), []
        for _ in range(4):
            depth, start = 0, i
            while True:
                depth += {"{": 1, "}": -1}.get(latex[i], 0)
                i += 1
                if depth == 0:
                    break
            args.append(latex[start + 1:i - 1])
        frame, w, h, body = args
        out.append((frame, w.removesuffix("em"), h.removesuffix("em"), body))
    return out


def test_worksheet_boxes_match_the_key_and_show_no_answer():
    """The worksheet's \\symnetslot is the key's, frame black and empty: same sizes in the same order."""
    sol = load("backprop").solve()
    key, sheet = slots(render(sol, "latex")), slots(render(sol, "latex", worksheet=True))
    assert len(key) == len(sheet) > 60
    assert [k[1:3] for k in key] == [s[1:3] for s in sheet]
    assert {k[0] for k in key} == {"white"} and {s[0] for s in sheet} == {"symnetframe"}
    assert all(s[3] == "" for s in sheet)
    tall = [float(h) for _, _, h, body in key if "frac" in body]
    assert tall and min(tall) > 2.59  # every fraction's box is taller than 1 cm


# ---------------------------------------------------------------- what the sheet shows


def test_sheet_cascades_the_layers_and_applies_relu_in_the_grid():
    """One array for the three layers of backprop; the struck −1 of Z1 with its red 0; A1's 1s grey; boxed weights."""
    md = render(load("backprop").solve(), "markdown")
    grids = [b for b in maths_blocks(md) if b.startswith("\\begin{array}")]
    forward = grids[0]
    assert forward.count("\\hline") == 3 and "A_{3} = \\operatorname{softmax}(Z_{3})" in forward
    assert r"{\cancel{-1}\kern0.3em \textcolor{#C00000}{0}}" in forward
    assert r"{\color{#A6A6A6}\boxed{\color{black}{\textcolor{#8C8C8C}{-5}}}}" in forward  # b: boxed and grey
    backward = grids[1]
    assert "[X ; 1]^{\\mathsf{T}}" in backward and r"\dfrac{\partial L}{\partial [W_{1} \mid b_{1}]}" in backward


def test_detail_steps_writes_one_entry_of_each_kind():
    sheet, steps, full = (render(load("hidden-layer").solve(), "markdown", detail=d) for d in ("sheet", "steps", "full"))
    products = re.compile(r"\\left\( 1 \\right\)\\left\( 2 \\right\)")
    assert not products.search(sheet)
    assert len(re.findall(r"^z_\{", steps, re.M)) == 1 and len(re.findall(r"^z_\{", full, re.M)) == 6


def test_blank_scaffold_prints_only_the_given_numbers():
    md = render(load("backprop").solve(), "markdown", worksheet=True, scaffold="blank")
    assert "\\boxed{\\rule" not in md and "[W_{3} \\mid b_{3}] = " in md and "\\eta = " in md
    assert "Z1 and A1" in md and "the updated weights and biases" in md


@pytest.mark.parametrize("name, shown, absent", [
    ("transformer", [r"P_{1} = ", r"\gamma_{2} = ", r"\beta_{5} = ", r"[W_{3} \mid b_{3}] = ", r"W_{4} = "],
     [r"b_{4} = "]),  # layer 4 has no bias: its zero b is not a given
    ("dropout", [r"M_{2} = ", r"p_{2} = ", r"[W_{1} \mid b_{1}] = "], []),
    ("lstm", [r"W_{f}^{[1]} = ", r"h_{0}^{[1]} = ", r"c_{0}^{[1]} = "], []),
    ("rnn", [r"W_{x}^{[1]} = ", r"b_{h}^{[1]} = ", r"h_{0}^{[1]} = ", "Y = "], []),
])
def test_blank_scaffold_gives_what_each_layer_reads(name, shown, absent):
    """Beside the trained parameters, what a layer reads and does not train (attention's given weights, dropout's
    mask and p, a recurrent layer's h0), each named as on paper."""
    md = render(load(name).solve(), "markdown", worksheet=True, scaffold="blank")
    assert all(s in md for s in shown), [s for s in shown if s not in md]
    assert not any(s in md for s in absent)


def test_no_worksheet_says_a_cut_entry_was_struck():
    for scaffold in ("grid", "formulas"):
        sheet = render(load("four-neurons").solve(), "markdown", worksheet=True, scaffold=scaffold)
        assert "struck-through entry was cut" not in sheet and "\\cancel" not in sheet
    assert "struck-through entry was cut" in render(load("four-neurons").solve(), "markdown", detail="full")


def test_symbols_print_one_way_and_sums_in_the_order_written():
    """A symbol matrix's w11 is w_{1,1} wherever it is printed; Z = W·x + b keeps the order of its terms."""
    data = {"X": [2, 1, 3], "layers": [{"W": {"symbol": "w", "shape": [2, 3]}, "b": ["c", 0], "activation": "relu"}]}
    md = render(from_data(data).solve(), "markdown", detail="full")
    assert "2 w_{1,1} + w_{1,2} + 3 w_{1,3} + c" in md
    assert "w_{11}" not in md and "w_{1,1}" in md


def test_layer_marks_on_entry_names():
    """∂L/∂b under layer 3 is entry 1 of b3: b_{1}^{[3]}, never a bare b_{1} that reads as layer 1's bias."""
    md = render(load("backprop").solve(), "markdown", detail="full")
    assert "\\partial L / \\partial b_{1}^{[3]}" in md and "\\partial L / \\partial w_{1,1}^{[3]}" in md
    assert "\\partial L / \\partial b_{1} &" not in md


def test_decimals_shown_where_fractions_end():
    """--decimals-shown: −4/5 prints as −0.8 and 1/3 stays a fraction."""
    data = {"X": [1, 1], "layers": [{"W": [["-0.8", "0.5"]], "b": ["1/3"], "activation": "identity"}]}
    sol = from_data(data).solve()
    md = render(sol, "markdown", decimals_shown=True, detail="full")
    assert "-0.8" in md and "0.5" in md and "\\frac{4}{5}" not in md and "\\frac{1}{3}" in md
    assert "\\frac{4}{5}" in render(sol, "markdown", detail="full")


def test_mse_with_mean_is_one_fraction_and_since_is_a_sign():
    data = {"X": [[1, 2], [0, 1]], "layers": [{"W": [[1, 0], [0, -1]], "activation": "relu"}],
            "loss": {"kind": "mse", "Y": [[0, 1], [1, 0]]}}
    for detail in ("sheet", "full"):
        md = render(from_data(data).solve(), "markdown", detail=detail)
        assert "\\frac{1}{2 \\cdot 2} \\sum_{j=1}^{2} \\sum_{i=1}^{2}" in md
        assert "\\frac{1}{2} \\sum_{j=1}^{2} \\frac{1}{2}" not in md
    assert "\\text{since } {-1} \\le 0" in render(from_data(data).solve(), "markdown", detail="full")


def test_block_labels_say_one_row_or_column_as_such():
    assert Block(0, 1, 0, 3, (1, 6)).label == "columns 1–3 of 6"
    assert Block(0, 1, 5, 6, (1, 6)).label == "column 6 of 6"
    assert Block(2, 3, 0, 6, (4, 6)).label == "row 3 of 4"


def test_bits_of_symbolic_weights_read_n_a():
    # z = 2w, ∂L/∂z = 2w − 1: W′ = w − 2(2w − 1) = 2 − 3w and b′ = 1 − 2w, neither rational
    data = {"X": [2], "layers": [{"W": [["w"]], "activation": "identity"}], "loss": {"kind": "squared_error", "Y": [1]},
            "train": {"learning_rate": 1}}
    assert "after gradient-descent step 1: n/a (no updated weight is a rational number)" in to_text(from_data(data).solve())


def test_decimals_on_a_display_of_their_own_never_follow_an_equals():
    """A matrix too wide for its decimals beside it shows them on a display of its own, "∂L/∂Z ≈ …", not "= ≈"."""
    data = {"X": [list(range(1, 13))] * 2, "layers": [{"W": [[1, 0], [0, 1]], "activation": "sigmoid"}],
            "loss": {"kind": "squared_error", "Y": [[0] * 12] * 2}}
    for fmt in ("latex", "markdown"):
        text = render(from_data(data).solve(), fmt, decimals=3, detail="full")
        assert "\\frac{\\partial L}{\\partial Z_{1}} \\approx \\begin{bmatrix}" in text
        assert not re.search(r"=\s*\\approx", text)


@pytest.mark.parametrize("value, text", [
    (sp.Rational(-4, 5), "-0.8"), (sp.Rational(1, 8), "0.125"), (sp.Rational(-1, 20), "-0.05"),
    (sp.Rational(7, 2), "3.5"), (sp.Rational(1, 1024), "0.0009765625"),  # 2^10: ten places, the most written
    (sp.Rational(1, 2048), None), (sp.Rational(1, 3), None), (sp.Rational(3), None), (sp.Rational(1, 6), None),
])
def test_a_terminating_fraction_as_a_decimal(value, text):
    from symnet.render.printer import decimal_text

    assert decimal_text(value) == text


def test_a_skip_stays_in_the_cascade_and_its_gradient_sums_both_paths():
    """resnet (symnet/examples/resnet.toml): layer 2 adds X in the forward grid, + x_i right of the rule beside each z
    (z^[2]_1 = (0)(7) + (0)(5) + (1)(0) + (−1) + 3 = 2, by hand); the backward grid's last band is W1ᵀ·∂L/∂Z1, right
    of the rule its sum with ∂L/∂Z2 (∂L/∂x_1 = (1)(9/10) + (1)(−9/10) + (0)(0) + (−9/10) = 0 − 9/10); the worksheet's
    boxes empty, the given x_i printed; --detail full keeps the walk-through."""
    sol = load("resnet").solve()
    key, sheet = render(sol, "latex"), render(sol, "latex", worksheet=True)
    z = (r"{\symnetparam{0}} & {\symnetparam{0}} & {\symnetparam{1}} & {\symnetparam{\textcolor{symnetbias}{-1}}} & "
         r"{\symnetslot{%s}{2.59em}{2.59em}{%s}\kern0.3em\kern0.8em} & {{+}\kern0.15em 3} & "
         r"{\quad A_{2} = \operatorname{ReLU}(Z_{2})} \\")
    assert z % ("white", "2") in key and z % ("symnetframe", "") in sheet
    assert r"{\quad Z_{2} = W_{2} A_{1} + b_{2} + X}" in key and r"{\quad Z_{2} = W_{2} A_{1} + b_{2} + X}" in sheet
    dx = (r"{\symnetparam{1}} & {\symnetparam{1}} & {\symnetparam{0}} & {\symnetslot{%s}{2.75em}{3.3em}{%s}} & "
          r"{\symnetslot{%s}{2.75em}{3.3em}{%s}} & {} & {} & {} & {} & {\quad W_{1}")
    assert dx % ("white", "0", "white", r"{\displaystyle - \frac{9}{10}}") in key
    assert dx % ("symnetframe", "", "symnetframe", "") in sheet
    label = (r"W_{1}^{\mathsf{T}} \dfrac{\partial L}{\partial Z_{1}} + \dfrac{\partial L}{\partial Z_{2}} = "
             r"\dfrac{\partial L}{\partial X}")
    assert label in key and label in sheet and "The paths are added" in key
    assert "X feeds 2 paths" not in key  # the fork's own display: drawn by the grid's last band
    assert "\\frac{9}{10}" not in sheet  # no answer on the worksheet
    full = render(sol, "latex", detail="full")
    assert "A residual connection: X is added to Z2" in full and "X feeds 2 paths" in full
