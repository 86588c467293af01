"""The diagnoses grading needed (issue 17), each planted in a hand-written answers file and found."""

from __future__ import annotations

from pathlib import Path

import symnet
from symnet.check import check
from symnet.check.report import FEEDBACK

ANSWERS = Path(__file__).resolve().parent / "answers"
CLASS = ANSWERS / "grading-class"
SQUARE = ANSWERS / "specs" / "square.toml"


def entries(doc: dict, name: str) -> list[tuple]:
    return [(e["row"], e["col"], e["diagnosis"], e.get("carried_from")) for e in doc["quantities"][name]["entries"]
            if not e["correct"]]


def test_weights_not_transposed_in_the_backward_pass(cli):
    r = cli("check", SQUARE, ANSWERS / "square-not-transposed.toml", "--format", "json")
    assert r.code == 1
    doc = r.json()
    assert entries(doc, "dL/dA1") == [(1, 1, "weights_not_transposed", None), (2, 1, "weights_not_transposed", None)]
    assert doc["quantities"]["dL/dA1"]["feedback"] == FEEDBACK["weights_not_transposed"]
    assert "Wᵀ·∂L/∂Z, not W·∂L/∂Z" in FEEDBACK["weights_not_transposed"]
    for name in ("dL/dZ1", "dL/dW1", "dL/db1"):  # the rest of the pass follows from it
        assert {e[2:] for e in entries(doc, name)} == {("carried_error", "dL/dA1")}
    assert doc["score"]["points"] == 12  # only dL/dA1 (0 of 2 entries) costs, of 13


def test_weights_not_transposed_from_scratch(cli, tmp_path):
    f = tmp_path / "a.toml"
    f.write_text('"dL/dW1" = [[21, 42], [5, 10]]\n')  # only the end of the mistaken pass written
    doc = cli("check", SQUARE, f, "--format", "json", "--require", "answered").json()
    assert {e[2] for e in entries(doc, "dL/dW1")} == {"weights_not_transposed"}
    ex = symnet.load("backprop")  # no square W beyond the first layer: the mistake cannot be made there
    from symnet.check.diagnose import _applicable

    assert "weights_not_transposed" not in [m.code for m in _applicable(ex)]


def test_a_row_for_a_column_is_told_in_the_quantity_s_terms(cli):
    r = cli("check", "backprop", CLASS / "s10-jade.toml", "--format", "json")
    z1 = r.json()["quantities"]["Z1"]
    assert (z1["shape_given"], z1["shape_expected"], z1["diagnosis"]) == ([1, 4], [4, 1], "transposed")
    assert z1["feedback"].startswith("Z1 is a column of 4 entries, and you wrote it as a row")
    assert "∂L/∂W" not in z1["feedback"]
    text = cli("check", "backprop", CLASS / "s10-jade.toml").out
    assert "Z1      0/4  wrong shape: 1×4, expected 4×1 (a row for a column)" in text
    assert text.count("→") == 0  # no sentence per quantity ...
    notes = [l for l in text.splitlines() if l.startswith("Note: ")]
    assert notes == ["Note: 7 columns were written as rows (Z1, A1, Z2, A2, Z3, A3, dL/dZ3): a column is written "
                     "as a flat list [a, b, …] or one entry per row [[a], [b], …]; the numbers in them were not graded."]


def test_one_row_for_a_column_gets_its_own_sentence(cli, tmp_path):
    f = tmp_path / "a.toml"
    f.write_text("Z1 = [[-1, 3, 5, 3]]\nA1 = [0, 3, 5, 3]\n")
    text = cli("check", "four-neurons", f).out
    assert "  → Z1 is a column of 4 entries, and you wrote it as a row" in text and "Note:" not in text


def test_a_transposed_weight_gradient_says_why_it_has_w_s_shape(cli):
    q = cli("check", "backprop", CLASS / "s15-omar.toml", "--format", "json").json()["quantities"]["dL/dW2"]
    assert (q["shape_given"], q["diagnosis"]) == ([4, 2], "transposed")
    assert "∂L/∂W = ∂L/∂Z·Aᵀ has the shape of W (2×4" in q["feedback"]


def test_a_layer_wide_mistake_must_explain_every_entry_it_changes(cli):
    # Quinn wrote 4 for Z1's first entry: W·x there, but Z1's entries 3 and 4 have their bias. Not missing_bias.
    doc = cli("check", "backprop", CLASS / "s17-quinn.toml", "--format", "json").json()
    assert entries(doc, "Z1") == [(1, 1, None, None)]
    # Chen forgot every bias: entries 1, 3 and 4 (entry 2's bias is 0) are missing_bias.
    doc = cli("check", "backprop", CLASS / "s03-chen.toml", "--format", "json").json()
    assert entries(doc, "Z1") == [(1, 1, "missing_bias", None), (3, 1, "missing_bias", None),
                                  (4, 1, "missing_bias", None)]
    assert doc["quantities"]["Z1"]["diagnosis"] == "missing_bias"


def test_rounding_slips_are_rounding_errors_with_what_the_value_rounds_to(cli):
    # e⁴/(1 + 2e⁴) = 0.495462…: at 3 places 0.495, not 0.496; 1/(1 + 2e⁴) = 0.0090747…: at 4 places 0.0091.
    doc = cli("check", "backprop", CLASS / "s05-elif.toml", "--format", "json").json()
    a3 = {e["row"]: e for e in doc["quantities"]["A3"]["entries"]}
    assert (a3[1]["diagnosis"], a3[1]["rounds_to"]) == ("rounding_error", "rounds to 0.495 at 3 decimal places")
    assert (a3[3]["diagnosis"], a3[3]["rounds_to"]) == ("rounding_error", "rounds to 0.0091 at 4 decimal places")
    assert a3[2]["diagnosis"] == "rounded" and a3[2]["correct"]
    text = cli("check", "backprop", CLASS / "s05-elif.toml").out
    assert ("  (1, 1) expected exp(4)/(1 + 2*exp(4)) ≈ 0.49546, given 0.496  "
            "[rounding_error: rounds to 0.495 at 3 decimal places]") in text
    assert "recompute" not in text


def test_a_tie_accepts_either_neighbour_and_a_slip_near_it_says_so(cli, tmp_path):
    # b3' = [-21/20, -99/20, -7] = [-1.05, -4.95, -7]: exactly halfway at one decimal.
    for name in ("s02-bruno.toml", "s20-tomas.json"):  # -1.1, -5.0 and -1.0, -4.9
        q = cli("check", "backprop", CLASS / name, "--format", "json").json()["quantities"]["b3'"]
        assert q["correct"] and q["diagnosis"] == "rounded"
    f = tmp_path / "a.toml"
    f.write_text('"b3\'" = [-1.2, -4.95, -7]\n')
    e = cli("check", "backprop", f, "--format", "json", "--require", "answered").json()["quantities"]["b3'"]["entries"][0]
    assert e["diagnosis"] == "rounding_error"
    assert e["rounds_to"] == "rounds to -1.1 or -1.0 at 1 decimal place (exactly halfway: either is right)"


def test_carried_from_names_the_nearest_cause(cli):
    # Rosa: Y − Ŷ at dL/dZ3 (carried into dL/dA1 and dL/dZ1's rows 2–4), and the mask skipped at dL/dZ1's row 1.
    doc = cli("check", "backprop", CLASS / "s18-rosa.toml", "--format", "json").json()
    assert entries(doc, "dL/dZ1") == [(1, 1, "unmasked_gradient", None)] + [
        (i, 1, "carried_error", "dL/dZ3") for i in (2, 3, 4)]
    dw1 = entries(doc, "dL/dW1")
    assert [e for e in dw1 if e[0] == 1] == [(1, j, "carried_error", "dL/dZ1") for j in (1, 2, 3)]
    assert {e[3] for e in dw1 if e[0] > 1} == {"dL/dZ3"}
    assert entries(doc, "dL/db1") == [(1, 1, "carried_error", "dL/dZ1")] + [
        (i, 1, "carried_error", "dL/dZ3") for i in (2, 3, 4)]


def test_parameters_without_bias(cli, tmp_path):
    f = tmp_path / "a.toml"
    f.write_text("parameters = 20\n")  # 4·3 + 2·4 weights; with the 4 + 2 biases it is 26
    q = cli("check", "hidden-layer", f, "--format", "json", "--only", "parameters").json()["quantities"]["parameters"]
    assert (q["correct"], q["diagnosis"]) == (False, "parameters_without_bias")
    assert "bias" in q["feedback"]
    f.write_text("parameters = 21\n")
    q = cli("check", "hidden-layer", f, "--format", "json", "--only", "parameters").json()["quantities"]["parameters"]
    assert q["diagnosis"] is None


def test_euler_s_number_prints_as_e(cli, tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('X = [1]\n[[layers]]\nW = [[1], [0]]\nactivation = "softmax"\n')  # A1 = [e/(1+e), 1/(1+e)]
    f = tmp_path / "a.toml"
    f.write_text("A1 = [0.6, 0.4]\n")
    text = cli("check", spec, f, "--only", "A1").out
    assert "expected e/(1 + e) ≈ 0.731" in text and "E" not in text.replace("Check", "")
    doc = cli("check", spec, f, "--only", "A1", "--format", "json").json()  # JSON: SymPy reads it back
    assert doc["quantities"]["A1"]["entries"][0]["expected"] == "E/(1 + E)"


def test_api_keeps_working_with_asked():
    v = check(symnet.load("four-neurons"), {"Z1": [-1, 3, 5, 3]})
    assert v.missing == ("A1",) and not v.correct and v["Z1"].correct
    v = check(symnet.load("four-neurons"), {"Z1": [-1, 3, 5, 3]}, asked="answered")
    assert v.correct and v.missing == ()
