"""`symnet check`: verdicts and diagnoses against hand-computed answers (SEEDS.md), exit status, reports."""

from __future__ import annotations

from pathlib import Path

import pytest

ANSWERS = Path(__file__).resolve().parent / "answers"
BATCH_MEAN = ANSWERS / "specs" / "batch-mean.toml"
BATCH_SUM = ANSWERS / "specs" / "batch-sum.toml"


def wrong(doc: dict, name: str) -> dict[tuple[int, int], dict]:
    """The wrong entries of one quantity in a check JSON document, by (row, col)."""
    return {(e["row"], e["col"]): e for e in doc["quantities"][name]["entries"] if not e["correct"]}


# ---------------------------------------------------------------- all right


def test_all_correct_exits_0_with_rounded_softmax(cli):
    r = cli("check", "backprop", ANSWERS / "backprop-correct.toml", "--format", "json")
    assert (r.code, r.err) == (0, "")
    doc = r.json()
    assert doc["correct"] is True
    assert all(q["correct"] for q in doc["quantities"].values())
    a3 = doc["quantities"]["A3"]
    assert a3["diagnosis"] == "rounded"
    assert [(e["row"], e["given"], e["diagnosis"], e["correct"]) for e in a3["entries"]] == [
        (1, "0.4955", "rounded", True), (2, "0.4955", "rounded", True), (3, "0.0091", "rounded", True)]
    assert a3["entries"][0]["expected"] == "exp(4)/(1 + 2*exp(4))"
    assert doc["quantities"]["Z1"]["entries"] == []  # exactly right entries are not listed
    assert (doc["right"], doc["total"]) == (104, 104)


def test_all_correct_text_report(cli):
    r = cli("check", "backprop", ANSWERS / "backprop-correct.toml")
    assert r.code == 0
    assert "A3      3/3  right (rounded)" in r.out
    assert r.out.rstrip().endswith("104/104 entries right in 24 quantities: all right.")


def test_fractions_and_decimals_mix_and_exact_decimals_are_not_rounded(cli, tmp_path):
    f = tmp_path / "a.toml"
    f.write_text('"dL/dZ3" = [0.50, "-1/2", "0"]\n"b3\'" = [-1.05, "-99/20", -7.000]\nL = "log(2)"\n')
    doc = cli("check", "backprop", f, "--format", "json", "--require", "answered").json()
    assert doc["correct"] is True
    assert all(q["entries"] == [] and q["diagnosis"] is None for q in doc["quantities"].values())


@pytest.mark.parametrize("given, ok", [
    ("0.4955", True), ("0.49546", True), ("0.495", True), ("0.50", True), ("0.5", True),
    ("0.4954", False), ("0.4956", False), ("0.49", False), ("0.496", False), ("1/2", False), ("0", False),
])
def test_decimal_is_right_when_the_exact_softmax_rounds_to_it(cli, tmp_path, given, ok):
    # e^4/(1+2e^4) = 0.4954626...: 0.4955 (4 places), 0.49546 (5), 0.495 (3), 0.50 and 0.5 (2 and 1 places)
    f = tmp_path / "a.toml"
    f.write_text(f'A3 = ["{given}", 0.4955, 0.0091]\n')
    r = cli("check", "backprop", f, "--format", "json", "--only", "A3")
    assert r.code == (0 if ok else 1)
    q = r.json()["quantities"]["A3"]
    e = q["entries"][0]
    assert (e["row"], e["col"], e["correct"]) == (1, 1, ok)
    # a decimal within two units of its last place is a rounding error (1/2 and 0 are other mistakes)
    assert e["diagnosis"] == ("rounded" if ok else "rounding_error" if "." in given else None)


def test_single_entry_quantity_may_be_a_scalar(cli, tmp_path):
    f = tmp_path / "a.toml"
    f.write_text("Z1 = -1\nA1 = [0]\n")
    r = cli("check", "single-neuron", f, "--format", "json")
    assert r.code == 0, r.out


def test_flat_list_answers_a_row_quantity(cli, tmp_path):
    f = tmp_path / "a.toml"
    f.write_text("Z7 = [-4, -18]\nA7 = [[-4, -18]]\n")  # SEEDS.md: output [-4, -18], one row, two samples
    assert cli("check", "mlp7", f, "--require", "Z7,A7").code == 0


# ---------------------------------------------------------------- each diagnosis, at the right entries

CASES = [
    # spec, answers file, quantity, code, wrong entries (row, col) with (expected, given) by hand from SEEDS.md
    ("four-neurons", "four-neurons-missing-bias", "Z1", "missing_bias",
     {(1, 1): ("-1", "4"), (3, 1): ("5", "4"), (4, 1): ("3", "5")}),
    ("hidden-layer", "hidden-layer-missing-activation", "A1", "missing_activation", {(1, 1): ("0", "-1")}),
    ("mlp7", "mlp7-transposed", "Z2", "transposed", {(1, 2): ("2", "1"), (2, 1): ("1", "2")}),
    ("backprop", "backprop-sign-flipped", "dL/dZ3", "sign_flipped", {(1, 1): ("1/2", "-0.5"), (2, 1): ("-1/2", "0.5")}),
    ("backprop", "backprop-unmasked", "dL/dZ1", "unmasked_gradient", {(1, 1): ("0", "1")}),
    ("backprop", "backprop-relu-on-gradient", "dL/dZ2", "relu_on_gradient", {(2, 1): ("-1", "0")}),
    ("backprop", "backprop-no-learning-rate", "W3'", "no_learning_rate",
     {(1, 1): ("19/10", "1"), (1, 2): ("-1/5", "-2"), (2, 1): ("1/10", "1"), (2, 2): ("11/5", "4")}),
    ("backprop", "backprop-no-learning-rate", "b3'", "no_learning_rate",
     {(1, 1): ("-21/20", "-1.5"), (2, 1): ("-99/20", "-4.5")}),
    ("backprop", "backprop-wrong-direction", "W3'", "wrong_update_direction",
     {(1, 1): ("19/10", "2.1"), (1, 2): ("-1/5", "0.2"), (2, 1): ("1/10", "-0.1"), (2, 2): ("11/5", "1.8")}),
    ("backprop", "backprop-wrong-direction", "b3'", "wrong_update_direction",
     {(1, 1): ("-21/20", "-0.95"), (2, 1): ("-99/20", "-5.05")}),
    # test specs (no built-in seed has a loss over a batch): Z = [1, 3; 1, 0], Ŷ − Y = [1, 2; 1, −1]
    (BATCH_MEAN, "batch-mean-summed", "dL/dZ1", "summed_over_batch",
     {(1, 1): ("1/2", "1"), (1, 2): ("1", "2"), (2, 1): ("1/2", "1"), (2, 2): ("-1/2", "-1")}),
    (BATCH_MEAN, "batch-mean-summed", "L", "summed_over_batch", {(1, 1): ("7/4", "7/2")}),
    (BATCH_SUM, "batch-sum-averaged", "dL/dZ1", "averaged_over_batch",
     {(1, 1): ("1", "0.5"), (1, 2): ("2", "1"), (2, 1): ("1", "0.5"), (2, 2): ("-1", "-0.5")}),
]


@pytest.mark.parametrize("spec, file, name, code, cells", CASES, ids=[f"{c[1]}:{c[2]}" for c in CASES])
def test_diagnosis_names_the_mistake_at_its_entries(cli, spec, file, name, code, cells):
    r = cli("check", spec, ANSWERS / f"{file}.toml", "--format", "json")
    assert r.code == 1 and r.err == ""
    doc = r.json()
    q = doc["quantities"][name]
    assert doc["correct"] is False and q["correct"] is False
    got = wrong(doc, name)
    assert set(got) == set(cells)
    for cell, (expected, given) in cells.items():
        e = got[cell]
        assert (e["expected"], e["given"], e["diagnosis"]) == (expected, given, code)
        assert e["feedback"] and e["feedback"].endswith(".")
    assert q["diagnosis"] == code and q["feedback"]
    assert q["right"] == q["total"] - len(cells)


SHAPES = [
    # answers file, quantity, shape given, shape expected, quantity diagnosis
    ("backprop-transposed", "dL/dW1", [3, 4], [4, 3], "transposed"),
    ("backprop-augmented-transposed", "dL/dW3", [3, 3], [3, 2], "transposed"),  # [A2 ; 1]·(dL/dZ3)ᵀ
    ("backprop-bias-column", "dL/dW3", [3, 3], [3, 2], "bias_column"),  # dL/d[W3 | b3]
]


@pytest.mark.parametrize("file, name, given, expected, code", SHAPES, ids=[s[0] for s in SHAPES])
def test_wrong_shape_with_quantity_diagnosis(cli, file, name, given, expected, code):
    r = cli("check", "backprop", ANSWERS / f"{file}.toml", "--format", "json")
    assert r.code == 1
    q = r.json()["quantities"][name]
    assert (q["correct"], q["shape_given"], q["shape_expected"], q["entries"]) == (False, given, expected, [])
    assert q["diagnosis"] == code and q["feedback"]
    assert q["right"] == 0


def test_bias_gradient_not_summed_over_the_batch(cli):
    r = cli("check", BATCH_MEAN, ANSWERS / "batch-mean-bias-not-summed.toml", "--format", "json")
    assert r.code == 1
    doc = r.json()
    assert doc["quantities"]["dL/dZ1"]["correct"] is True
    q = doc["quantities"]["dL/db1"]
    assert (q["shape_given"], q["shape_expected"], q["diagnosis"]) == ([2, 2], [2, 1], "bias_not_summed")


def test_scalar_for_matrix_and_matrix_for_scalar_are_shape_verdicts(cli, tmp_path):
    f = tmp_path / "a.toml"
    f.write_text("Z1 = 5\nL = [0.69, 0.69]\n")
    r = cli("check", "backprop", f, "--format", "json")
    assert r.code == 1
    q = r.json()["quantities"]
    assert (q["Z1"]["shape_given"], q["Z1"]["shape_expected"], q["Z1"]["entries"]) == ([], [4, 1], [])
    assert (q["L"]["shape_given"], q["L"]["shape_expected"], q["L"]["correct"]) == ([2, 1], [], False)
    assert "wrong shape: a scalar, expected 4×1" in cli("check", "backprop", f).out


# ---------------------------------------------------------------- carried errors


def test_carried_error_three_layers_deep_is_one_wrong_step(cli):
    # mlp7 with Z1[1,1] = 6 (SEEDS.md: 5), carried honestly: A1 = Z1, Z2 = W2·A1 → 7 at (1,1), Z3 = W3·A2 → 8, 6, 9
    r = cli("check", "mlp7", ANSWERS / "mlp7-carried.toml", "--format", "json")
    assert r.code == 1
    doc = r.json()
    first = wrong(doc, "Z1")
    assert set(first) == {(1, 1)} and first[(1, 1)]["diagnosis"] != "carried_error"
    carried = {"A1": {(1, 1)}, "Z2": {(1, 1)}, "A2": {(1, 1)}, "Z3": {(1, 1), (2, 1), (3, 1)}, "A3": {(1, 1), (2, 1), (3, 1)}}
    for name, cells in carried.items():
        got = wrong(doc, name)
        assert set(got) == cells, name
        assert all(e["diagnosis"] == "carried_error" and e["carried_from"] == "Z1" for e in got.values())
        q = doc["quantities"][name]
        assert (q["diagnosis"], q["carried_from"]) == ("carried_error", "Z1")
    assert [(e["given"], e["expected"]) for e in wrong(doc, "Z3").values()] == [("8", "7"), ("6", "5"), ("9", "8")]
    assert doc["quantities"]["Z4"]["correct"] is True  # 8 − 6 = 2 and 9 − 6 = 3: the slip cancels here
    text = cli("check", "mlp7", ANSWERS / "mlp7-carried.toml").out
    assert "carried_error in A1, Z2, A2, Z3, A3" in text
    assert "Mistakes: unexplained in Z1;" in text


def test_carried_error_from_a_diagnosed_mistake(cli):
    doc = cli("check", "backprop", ANSWERS / "backprop-unmasked.toml", "--format", "json").json()
    dW1 = wrong(doc, "dL/dW1")  # row 1 = dL/dZ1[1]·xᵀ = 1·[2, 1, 3]
    assert {k: e["given"] for k, e in dW1.items()} == {(1, 1): "2", (1, 2): "1", (1, 3): "3"}
    assert {e["carried_from"] for e in dW1.values()} == {"dL/dZ1"}
    assert wrong(doc, "dL/db1")[(1, 1)]["carried_from"] == "dL/dZ1"


def test_a_wrong_answer_that_is_not_carried_is_its_own_mistake(cli, tmp_path):
    f = tmp_path / "a.toml"
    f.write_text("Z1 = [-1, 3, 5, 3]\nA1 = [0, 3, 5, 4]\n")  # A1[4] = 4 does not follow from Z1[4] = 3
    doc = cli("check", "four-neurons", f, "--format", "json").json()
    assert wrong(doc, "A1")[(4, 1)]["diagnosis"] is None


# ---------------------------------------------------------------- reports


def test_text_report_of_a_student_with_two_mistakes(cli):
    r = cli("check", "backprop", ANSWERS / "backprop-student.toml")
    assert r.code == 1
    assert r.out.startswith("Backpropagation by hand — Ben\n")
    assert "dL/dZ1  3/4  wrong\n  (1, 1) expected 0, given 1  [unmasked_gradient]\n" in r.out
    assert "dL/dW1  9/12  wrong: carried from dL/dZ1\n" in r.out
    assert "(2, 1) expected 7/5, given 0.6  [wrong_update_direction]" in r.out
    assert "  → The update climbs the gradient: descent subtracts it, W′ = W − η·∂L/∂W.\n" in r.out
    assert r.out.rstrip().splitlines()[-1] == (
        "69/104 entries right in 24 quantities. Mistakes: unmasked_gradient in dL/dZ1; "
        "wrong_update_direction in W1', b1', W2', b2', W3', b3'; carried_error in dL/dW1, dL/db1.")


def test_json_answers_file(cli):
    r = cli("check", "backprop", ANSWERS / "class" / "cleo.json", "--format", "json")
    assert r.code == 1
    doc = r.json()
    assert doc["student"] == "Cleo"
    assert doc["quantities"]["A3"]["diagnosis"] == "rounded"
    assert doc["quantities"]["W3'"]["diagnosis"] == "no_learning_rate"


# ---------------------------------------------------------------- bad input: exit 2, one line


def one_error(r, *needles: str) -> None:
    assert r.code == 2 and r.out == ""
    lines = r.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("symnet: error: "), r.err
    for n in needles:
        assert n in lines[0], (n, lines[0])


def test_unknown_quantity_is_named(cli, tmp_path):
    f = tmp_path / "a.toml"
    f.write_text("Z1 = [-1, 3, 5, 3]\nZ4 = [1]\n")
    r = cli("check", "backprop", f)
    one_error(r, str(f), "Z4", "unknown quantity", "Z1, A1", "dL/dW3")


def test_unknown_quantity_suggests_the_close_name(cli, tmp_path):
    f = tmp_path / "a.toml"
    f.write_text('"dL/dw3" = [[1, 2], [-1, -2], [0, 0]]\n')
    one_error(cli("check", "backprop", f), "did you mean 'dL/dW3'?")


def test_non_utf8_answers_file(cli, tmp_path):
    f = tmp_path / "a.toml"
    f.write_bytes(b"Z1 = [-1, 3, 5, 3]\n# caf\xe9\n")
    one_error(cli("check", "backprop", f), str(f), "not UTF-8")


def test_missing_answers_file(cli, tmp_path):
    one_error(cli("check", "backprop", tmp_path / "nope.toml"), "nope.toml", "no such file")


@pytest.mark.parametrize("text, needles", [
    ("Z1 = [-1, 3, 5, 3\n", ("not valid TOML",)),
    ("dL/dW3 = [[1, 2]]\n", ("not valid TOML", "write quantity names in quotes")),
    ("Z1 = [1, 2, \"five\", 3]\n", ("Z1[3]", "unknown symbol 'five'")),
    ('Z1 = ["-1", "3", "five", "3"]\n', ("Z1[3]",)),
    ("Z1 = [[1, 2], [3]]\n", ("Z1", "row 2 has 1 entries")),
    ("[Z1]\nsymbol = \"z\"\n", ("Z1", "got a table")),
    ("Z1 = [true, 3, 5, 3]\n", ("Z1[1]",)),
    ("# only a comment\n", ("no answers",)),
    ('student = 3\nZ1 = [-1, 3, 5, 3]\n', ("student",)),
    ('Z1 = ["__import__(\'os\')", 3, 5, 3]\n', ("Z1[1]",)),
])
def test_malformed_answers_exit_2(cli, tmp_path, text, needles):
    f = tmp_path / "a.toml"
    f.write_text(text)
    one_error(cli("check", "backprop", f), str(f), *needles)


def test_bad_spec_exits_2(cli):
    one_error(cli("check", "no-such-seed", ANSWERS / "backprop-correct.toml"), "no-such-seed")


# ---------------------------------------------------------------- a class


# (the class table, the gradebook CSV and a broken file in a class: tests/test_grading.py)


def test_class_of_files_all_right_exits_0_and_json(cli, tmp_path):
    for name in ("x", "y"):
        (tmp_path / f"{name}.toml").write_text((ANSWERS / "backprop-correct.toml").read_text())
    r = cli("check", "backprop", tmp_path / "x.toml", tmp_path / "y.toml", "--format", "json")
    assert r.code == 0
    doc = r.json()
    assert doc["correct"] is True and [s["student"] for s in doc["students"]] == ["x", "y"]
    assert doc["common"] == []


def test_class_json_names_common_mistakes(cli):
    doc = cli("check", "backprop", ANSWERS / "class", "--format", "json").json()
    assert doc["correct"] is False
    assert doc["common"][0] == {"diagnosis": "unmasked_gradient", "students": 2}


def test_empty_folder_exits_2(cli, tmp_path):
    one_error(cli("check", "backprop", tmp_path), str(tmp_path), "no .toml or .json")


def test_csv_over_an_input_is_refused(cli, tmp_path):
    f = tmp_path / "a.toml"
    f.write_text((ANSWERS / "backprop-correct.toml").read_text())
    one_error(cli("check", "backprop", f, "--csv", f), "--csv")
    assert f.read_text() == (ANSWERS / "backprop-correct.toml").read_text()


# ---------------------------------------------------------------- more seeds and rounding carried forward


def test_matmul_right_and_transposed(cli, tmp_path):
    f = tmp_path / "a.toml"
    f.write_text("C = [[3, 9, 4], [1, -1, 0]]\n")  # SEEDS.md
    assert cli("check", "matmul", f).code == 0
    f.write_text("C = [[3, 1], [9, -1], [4, 0]]\n")
    q = cli("check", "matmul", f, "--format", "json").json()["quantities"]["C"]
    assert (q["shape_given"], q["shape_expected"], q["diagnosis"]) == ([3, 2], [2, 3], "transposed")


def test_parameter_count_is_a_quantity(cli, tmp_path):
    f = tmp_path / "a.toml"
    f.write_text("parameters = 26\nZ2 = [-2, 3]\nA2 = [0, 3]\n")  # SEEDS.md: 4·(3+1) + 2·(4+1) = 26
    assert cli("check", "hidden-layer", f, "--require", "answered").code == 0


def test_rounding_carried_forward_is_right(cli, tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('X = [1]\n[[layers]]\nW = [[1], [0]]\nactivation = "softmax"\n'
                    '[loss]\nkind = "cross_entropy"\nY = [1, 0]\n')
    # A1 = [e/(1+e), 1/(1+e)] = [0.731058…, 0.268941…]; dL/dZ1 = A1 − Y = [−0.268941…, 0.268941…].
    # Exactly, −0.2690 is wrong at 4 places (−0.2689); from the student's rounded A1 = [0.731, 0.269] it is right.
    f = tmp_path / "a.toml"
    f.write_text('A1 = [0.731, 0.269]\n"dL/dZ1" = [-0.2690, 0.2690]\n')
    doc = cli("check", spec, f, "--format", "json", "--require", "A1,dL/dZ1").json()
    e = doc["quantities"]["dL/dZ1"]["entries"][0]
    assert (e["row"], e["correct"], e["diagnosis"]) == (1, True, "rounded")
    assert doc["correct"] is True
    f.write_text('A1 = [0.731, 0.269]\n"dL/dZ1" = [-0.2691, 0.2690]\n')  # follows from nothing written
    assert cli("check", spec, f).code == 1


def test_csv_for_one_file(cli, tmp_path):
    out = tmp_path / "one.csv"
    r = cli("check", "backprop", ANSWERS / "backprop-student.toml", "--csv", out)
    assert r.code == 1 and r.out.startswith("Backpropagation by hand — Ben")
    rows = out.read_text().splitlines()
    assert len(rows) == 2 and rows[1].startswith(f"{ANSWERS / 'backprop-student.toml'},,Ben,")


def test_bounds_from_the_command_line_apply_to_answers(cli, tmp_path):
    f = tmp_path / "a.toml"
    f.write_text('Z1 = [-1, 3, 5, "123456"]\n')
    assert cli("check", "four-neurons", f).code == 1
    one_error(cli("check", "four-neurons", f, "--bound", "digits=5"), "Z1[4]", "bound: digits")
