"""Grading a class: quantities asked and missing, follow-through points, rubrics, unreadable files, the gradebook CSV
and the class table. Every expected number below is worked by hand from the backprop seed's key (SEEDS.md) and the
answers files in tests/answers/grading-class, which were written by hand."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

ANSWERS = Path(__file__).resolve().parent / "answers"
CLASS = ANSWERS / "grading-class"
ALL = ["Z1", "A1", "Z2", "A2", "Z3", "A3", "L", "dL/dZ3", "dL/dW3", "dL/db3", "dL/dA2", "dL/dZ2", "dL/dW2",
       "dL/db2", "dL/dA1", "dL/dZ1", "dL/dW1", "dL/db1", "W1'", "b1'", "W2'", "b2'", "W3'", "b3'"]


def one_error(r, *needles: str) -> str:
    assert r.code == 2 and r.out == "", (r.code, r.out)
    lines = r.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("symnet: error: "), r.err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def score(cli, *args) -> dict:
    return cli("check", "backprop", *args, "--format", "json").json()["score"]


# ---------------------------------------------------------------- missing quantities, --require, --only


def test_a_partial_file_lists_what_is_missing_and_exits_1(cli):
    # Sam answered Z3, A3, L, dL/dZ3, dL/dW3, all right: 5 of the 24 quantities, so 5 of 24 points, not 100 %.
    r = cli("check", "backprop", CLASS / "s19-sam.toml", "--format", "json")
    assert r.code == 1
    doc = r.json()
    assert doc["correct"] is False
    assert all(q["correct"] for q in doc["quantities"].values())
    assert doc["missing"] == [n for n in ALL if n not in ("Z3", "A3", "L", "dL/dZ3", "dL/dW3")]
    assert (doc["score"]["points"], doc["score"]["maximum"], doc["score"]["percent"]) == (5, 24, 20.83)
    text = cli("check", "backprop", CLASS / "s19-sam.toml").out
    assert "all right" not in text
    assert "Not answered: Z1, A1, Z2, A2, dL/db3," in text
    assert "Score: 5 of 24 points (20.8 %)." in text
    assert text.rstrip().endswith("; 19 of 24 quantities not answered: Z1, A1, Z2, A2, dL/db3, dL/dA2, dL/dZ2, "
                                  "dL/dW2, dL/db2, dL/dA1, dL/dZ1, dL/dW1, dL/db1, W1', b1', W2', b2', W3', b3'.")


def test_require_says_what_was_asked(cli):
    r = cli("check", "backprop", CLASS / "s19-sam.toml", "--require", "Z3,A3", "--require", "L,dL/dZ3,dL/dW3")
    assert r.code == 0 and "Score: 5 of 5 points (100 %)." in r.out and r.out.rstrip().endswith("all right.")
    r = cli("check", "backprop", CLASS / "s19-sam.toml", "--require", "Z1,Z3", "--format", "json")
    assert r.code == 1 and r.json()["missing"] == ["Z1"] and r.json()["score"]["points"] == 1


def test_require_still_checks_the_other_answers_and_only_ignores_them(cli, tmp_path):
    f = tmp_path / "a.toml"
    f.write_text('Z1 = [4, 3, 4, 5]\nA3 = [0.4955, 0.4955, 0.0091]\n')  # Z1 without its bias; A3 right
    r = cli("check", "backprop", f, "--require", "A3", "--format", "json")
    assert r.code == 1  # not asked, but written and wrong
    doc = r.json()
    assert doc["quantities"]["Z1"]["correct"] is False and doc["missing"] == []
    assert doc["score"] == {"points": 1, "maximum": 1, "percent": 100, "quantities": {"A3": 1}}
    r = cli("check", "backprop", f, "--only", "A3", "--format", "json")
    assert r.code == 0 and list(r.json()["quantities"]) == ["A3"]


def test_require_refuses_unknown_and_given_quantities(cli):
    one_error(cli("check", "backprop", CLASS / "s19-sam.toml", "--require", "Z9"), "--require", "unknown quantity 'Z9'")
    one_error(cli("check", "backprop", CLASS / "s19-sam.toml", "--require", "A1,z3"), "did you mean 'Z3'?")
    one_error(cli("check", "backprop", CLASS / "s19-sam.toml", "--only", "X"), "--only", "X is given")
    one_error(cli("check", "backprop", CLASS / "s19-sam.toml", "--only", "L", "--require", "L"), "not both")


# ---------------------------------------------------------------- follow-through and points


def test_follow_through_a_carried_error_costs_only_its_root(cli):
    # Farah flipped the sign of dL/dZ3 (1 of its 3 entries, the 0, still right) and carried it correctly through
    # the whole backward pass and the update: 23 + 1/3 points.
    s = score(cli, CLASS / "s06-farah.toml")
    assert (s["points"], s["percent"]) == (23.33, 97.22)
    assert s["quantities"]["dL/dZ3"] == 0.33 and s["quantities"]["W1'"] == 1 and s["quantities"]["dL/dW1"] == 1
    # Gus skipped the mask at dL/dZ1 (1 entry of 4); dL/dW1, dL/db1, W1', b1' carry it: 23.75.
    assert score(cli, CLASS / "s07-gus.toml")["points"] == 23.75
    # Chen forgot the bias (Z1: 1 of 4 right, entry 2 where b = 0); A1, Z2, A2 follow; 20 left out: 3.25.
    assert score(cli, CLASS / "s03-chen.toml")["points"] == 3.25


def test_without_follow_through_carried_entries_cost(cli, tmp_path):
    rubric = tmp_path / "r.toml"
    rubric.write_text("[grading]\nfollow_through = false\n")
    # Farah without follow-through: the forward pass and L (7); a third of dL/dZ3, dL/dW3, dL/db3, W3', b3' (their
    # zero rows are right); a quarter of dL/dW2, dL/dZ1, dL/dW1, dL/db1, W1', b1', W2'; nothing of dL/dA2, dL/dZ2,
    # dL/db2, dL/dA1, b2': 7 + 5/3 + 7/4 = 10.4167.
    s = score(cli, CLASS / "s06-farah.toml", "--rubric", rubric)
    assert (s["points"], s["percent"]) == (10.42, 43.4)


def test_points_penalties_and_out_of(cli, tmp_path):
    rubric = tmp_path / "r.toml"
    rubric.write_text('[grading]\npoints = { "dL/dW1" = 4, L = 2 }\nout_of = 10\n'
                      'penalty = { sign_flipped = 0.5, missing_bias = "1/2" }\n')
    # 22 quantities of 1 point, dL/dW1 of 4, L of 2: 28, scaled to 10.
    # Chen: Z1 loses 1/2 for missing_bias (not its 3 spoiled entries); A1, Z2, A2 full: 3.5 of 28 = 1.25 of 10.
    s = score(cli, CLASS / "s03-chen.toml", "--rubric", rubric)
    assert (s["points"], s["maximum"], s["percent"]) == (1.25, 10, 12.5)
    assert s["quantities"]["Z1"] == round(0.5 * 10 / 28, 2) and s["quantities"]["dL/dW1"] == 0
    # Farah: dL/dZ3 loses 1/2 for sign_flipped; all the rest carried: 27.5 of 28 = 9.82 of 10.
    s = score(cli, CLASS / "s06-farah.toml", "--rubric", rubric)
    assert (s["points"], s["percent"]) == (9.82, 98.21)


def test_all_or_nothing(cli, tmp_path):
    rubric = tmp_path / "r.toml"
    rubric.write_text("[grading]\npartial_credit = false\n")
    assert score(cli, CLASS / "s07-gus.toml", "--rubric", rubric)["points"] == 23  # dL/dZ1 earns nothing
    assert score(cli, CLASS / "s08-hana.toml", "--rubric", rubric)["points"] == 18  # no update is whole


def test_a_grading_table_in_the_spec(cli, tmp_path):
    spec = tmp_path / "backprop.toml"
    from symnet.spec import builtin_text

    spec.write_text(builtin_text("backprop") + '\n[grading]\neach = 2\nasked = ["Z1", "A1", "Z2", "A2"]\n')
    r = cli("check", spec, CLASS / "s03-chen.toml", "--format", "json")
    # Chen: Z1 a quarter of 2 points, the rest carried: 6.5 of 8; nothing else was asked, so nothing is missing.
    assert r.json()["score"]["points"] == 6.5 and r.json()["score"]["maximum"] == 8 and r.json()["missing"] == []
    assert cli("check", spec, "--format", "json", CLASS / "s01-amara.toml").code == 0
    assert cli("solve", spec, "--format", "json").code == 0  # the spec's other commands take it too


@pytest.mark.parametrize("table, needles", [
    ("[grading]\npoint = 2\n", ["grading: unknown key 'point' (did you mean 'points'?"]),
    ("[grading]\npoints = { Z11 = 2 }\n", ["grading.points.Z11: unknown quantity 'Z11' (did you mean 'Z1'?"]),
    ("[grading]\npoints = { X = 2 }\n", ["grading.points.X: X is given by the exercise"]),
    ("[grading]\npoints = 2\n", ["grading.points: expected a table of quantity = points, got a number"]),
    ("[grading]\neach = -1\n", ["grading.each: expected points from 0 to 10^12, got -1"]),
    ('[grading]\neach = "two"\n', ["grading.each: expected points as a number ≥ 0"]),
    ("[grading]\neach = 0\n", ["grading.points: no quantity asked is worth any points"]),
    ('[grading]\npartial_credit = "yes"\n', ["grading.partial_credit: expected true or false, got a string"]),
    ("[grading]\npenalty = { sign_flip = 1 }\n", ["grading.penalty: unknown mistake 'sign_flip' (did you mean "
                                                   "'sign_flipped'?"]),
    ("[grading]\npenalty = { carried_error = 1 }\n", ["follow_through = false makes carried errors cost"]),
    ("[grading]\nout_of = 0\n", ["grading.out_of: expected more than 0 points"]),
    ('[grading]\nasked = ["Z1", "Z8"]\n', ["grading.asked[2]: unknown quantity 'Z8'"]),
    ("grading = 3\n", ["grading: expected a [grading] table, got a number"]),
    ("[grading]\n[other]\n", ["other: a rubric file holds one [grading] table, not 'other'"]),
    ("[grading\n", ["not valid TOML"]),
])
def test_rubric_errors_are_one_line(cli, tmp_path, table, needles):
    rubric = tmp_path / "rubric.toml"
    rubric.write_text(table)
    out = tmp_path / "out.csv"
    one_error(cli("check", "backprop", CLASS, "--rubric", rubric, "--csv", out), f"{rubric}: ", *needles)
    assert not out.exists()


# ---------------------------------------------------------------- a class: unreadable files, the CSV, the table


def test_a_broken_file_in_a_class_is_its_own_row(cli, tmp_path):
    out = tmp_path / "grades.csv"
    r = cli("check", "backprop", CLASS, "--csv", out, "--format", "json")
    assert r.code == 1 and r.err == ""
    students = {Path(s["source"]).name: s for s in r.json()["students"]}
    assert len(students) == 22
    kofi, lena = students["s11-kofi.toml"], students["s12-lena.toml"]
    assert kofi["correct"] is False and "not valid TOML" in kofi["unreadable"]
    assert "write quantity names in quotes" in kofi["unreadable"]
    assert lena["student"] == "Lena Fischer"  # read from the file, though it could not be graded
    assert lena["unreadable"].startswith("dL/dw3: unknown quantity 'dL/dw3' (did you mean 'dL/dW3'?")
    assert students["s01-amara.toml"]["score"]["points"] == 24
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 23
    by_file = {Path(row[0]).name: dict(zip(rows[0], row)) for row in rows[1:]}
    assert by_file["s11-kofi.toml"]["status"].startswith("unreadable: not valid TOML")
    assert by_file["s11-kofi.toml"]["points"] == "" and by_file["s11-kofi.toml"]["percent"] == ""


def test_a_single_broken_file_is_still_bad_input(cli):
    one_error(cli("check", "backprop", CLASS / "s12-lena.toml"), "s12-lena.toml", "dL/dw3")


def test_gradebook_csv_columns(cli, tmp_path):
    out = tmp_path / "grades.csv"
    cli("check", "backprop", CLASS, "--csv", out)
    raw = out.read_bytes().decode("utf-8")
    assert raw.count("\r\n") == 23  # RFC 4180 line ends, one row per student and the header
    rows = list(csv.reader(io.StringIO(raw)))
    assert rows[0] == (["file", "id", "student", "points", "maximum", "percent"] + [f"{n} (of 1)" for n in ALL]
                       + ["mistakes", "mistakes in", "not answered", "status"])
    row = {Path(r[0]).name: dict(zip(rows[0], r)) for r in rows[1:]}
    hana = row["s08-hana.toml"]
    # Hana: updates uphill; W1' keeps its first row (dL/dW1's is 0), b1' its first entry, W2' its first column,
    # W3' and b3' their last row: 18 + 1/4 + 1/4 + 1/4 + 0 + 1/3 + 1/3 = 19.4167.
    assert (hana["id"], hana["student"], hana["points"], hana["maximum"], hana["percent"]) == (
        "s1008", "Hana Sato", "19.42", "24", "80.9")
    assert (hana["W1' (of 1)"], hana["b2' (of 1)"], hana["W3' (of 1)"], hana["Z1 (of 1)"]) == ("0.25", "0", "0.33", "1")
    assert hana["mistakes"] == "wrong_update_direction"
    assert hana["mistakes in"] == "wrong_update_direction: W1' b1' W2' b2' W3' b3'"
    assert (hana["not answered"], hana["status"]) == ("", "graded")
    chen = row["s03-chen.toml"]
    assert chen["Z3 (of 1)"] == "" and chen["not answered"].startswith("Z3 A3 L dL/dZ3")
    rosa = row["s18-rosa.toml"]
    assert rosa["mistakes"] == "sign_flipped unmasked_gradient" and rosa["points"] == "17.08"
    tomas = row["s20-tomas.json"]
    assert (tomas["id"], tomas["student"], tomas["points"]) == ("1020", "Tomás Ruiz", "24")


def test_gradebook_csv_is_safe_for_spreadsheets(cli, tmp_path):
    out = tmp_path / "grades.csv"
    cli("check", "backprop", CLASS, "--csv", out)
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    nadia = next(r for r in rows if r[0].endswith("s14-nadia.toml"))
    assert nadia[1] == "'+4915112345" and nadia[2] == "'=HYPERLINK(\"http://example.invalid\",\"Nadia\")"
    for r in rows:
        for cell in r:
            assert cell.lstrip()[:1] not in ("=", "+", "-", "@") and "\x1b" not in cell and "\n" not in cell
    mateo = next(r for r in rows if r[0].endswith("s13-mateo.toml"))
    assert mateo[2] == "Mateo[2J Ramos"


def test_class_table_fits_the_terminal_or_is_transposed(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    wide = cli("check", "backprop", CLASS).out.splitlines()
    assert wide[0].split() == ["student"] + ALL + ["points", "of", "%"]  # in the order of the computation
    amara = next(l for l in wide if l.startswith("Amara Obi"))
    assert amara.split()[-3:] == ["24", "24", "100"]
    monkeypatch.setenv("COLUMNS", "80")
    narrow = cli("check", "backprop", CLASS).out.split("\n\n")
    blocks = [b for b in narrow if b.startswith("quantity")]
    assert len(blocks) >= 3
    for b in blocks:
        lines = b.splitlines()
        assert all(len(l) <= 80 for l in lines)
        assert [l.split()[0] for l in lines[2:26]] == ALL
    assert "Amara Obi" in blocks[0].splitlines()[0]


def test_columns_follow_the_computation_not_the_files(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    (tmp_path / "a.toml").write_text('"dL/dW3" = [[1, 2], [-1, -2], [0, 0]]\nA1 = [0, 3, 5, 3]\n')
    (tmp_path / "b.toml").write_text('L = 0.693\nZ1 = [-1, 3, 5, 3]\n')
    head = cli("check", "backprop", tmp_path, "--require", "answered").out.splitlines()[0].split()
    assert head == ["student", "Z1", "A1", "L", "dL/dW3", "points", "of", "%"]


def test_names_and_file_names_lose_their_control_characters(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    r = cli("check", "backprop", CLASS)
    assert "\x1b" not in r.out and "Mateo[2J Ramos" in r.out
    bad = tmp_path / "evil\x1b[2J\u202ename.toml"
    bad.write_text('student = "Zoe\\u202e\\u0007"\nZ1 = [-1, 3, 5, 3]\n')
    (tmp_path / "ok.toml").write_text("Z1 = [-1, 3, 5, 3]\n")
    for fmt in ("text", "json"):
        out = cli("check", "backprop", tmp_path, "--format", fmt).out
        assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    doc = cli("check", "backprop", tmp_path, "--format", "json").json()
    assert {s["student"] for s in doc["students"]} == {"Zoe", "ok"}
    assert any(s["source"].endswith("evil[2Jname.toml") for s in doc["students"])


def test_one_file_json_keeps_the_contract(cli):
    doc = cli("check", "backprop", ANSWERS / "backprop-student.toml", "--format", "json").json()
    e = doc["quantities"]["dL/dZ1"]["entries"][0]
    assert set(e) >= {"row", "col", "given", "expected", "correct", "diagnosis"}
    assert doc["missing"] == [] and doc["correct"] is False


def test_the_old_class_folder(cli, tmp_path):
    # Ada all right; Ben (unmasked dL/dZ1, updates uphill) 18 + 2/3; Cleo (11 answered, no η in W3', b3') 9 + 2/3;
    # Dana (Y − Ŷ, the mask skipped; 9 answered) 8 + 1/12.
    out = tmp_path / "c.csv"
    r = cli("check", "backprop", ANSWERS / "class", "--csv", out)
    assert r.code == 1
    rows = {r[2]: r for r in csv.reader(io.StringIO(out.read_text()))}
    assert [rows[n][3] for n in ("Ada", "Ben", "Cleo", "Dana")] == ["24", "18.67", "9.67", "8.08"]
    assert "1 of 4 students all right." in r.out
    common = r.out.split("Most common mistakes:\n")[1].splitlines()
    assert common[0].startswith("  unmasked_gradient (2 students): ")


def test_points_may_ask_an_intermediate_quantity_in_its_place(cli, tmp_path):
    rubric = tmp_path / "r.toml"
    rubric.write_text('[grading]\neach = 0\npoints = { "dA1/dZ1" = 2, Z1 = 1 }\n')
    f = tmp_path / "a.toml"
    f.write_text('"dA1/dZ1" = [0, 1, 1, 1]\nZ1 = [-1, 3, 5, 3]\n')  # the ReLU mask of Z1 = [-1, 3, 5, 3]
    s = score(cli, f, "--rubric", rubric)
    assert s == {"points": 3, "maximum": 3, "percent": 100, "quantities": {"Z1": 1, "dA1/dZ1": 2}}
