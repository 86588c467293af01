"""Hostile answers for the comparison: refused with one located line naming the bound, or judged, never hanging.

The cases live in tests/hostile/answers_compare.py; each outcome here is written by hand. Every test runs under
the hang guard (SIGALRM), not against a clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from .hostile.answers_compare import BIG, JUDGED, REFUSED
from .hostile.guard import hang_guard

pytestmark = pytest.mark.usefixtures(hang_guard.__name__)  # every test under the hang guard

PREFIX = "symnet: error: "
UNDECIDED = ("Not decided: this entry could not be compared exactly with the answer within the checker's bounds; "
             "write it more simply, as a fraction, a decimal or a shorter expression.")

ERRORS = {
    "float-100000-zeros": "L: 0.000000000000000000...: 100001 decimal places, more than 80 (bounds: digits, decimal_exponent)",
    "float-5000-zeros-only": "A3[1]: 0.000000000000000000...: 5000 decimal places, more than 80 "
                             "(bounds: digits, decimal_exponent)",
    "float-4200-zeros": "L: 0.000000000000000000...: 4201 decimal places, more than 80 (bounds: digits, decimal_exponent)",
    "string-150-zeros": "L: 0.000000000000000000...: 151 decimal places, more than 80 (bounds: digits, decimal_exponent)",
    "nested-places": "W3'[1][2]: 0.000000000000000000...: 101 decimal places, more than 80 "
                     "(bounds: digits, decimal_exponent)",
    "float-exponent": "L: '1e999999': decimal exponent beyond ±40 (bound: decimal_exponent)",
    "float-100000-digits": "L: 1.111111111111111111...: more than 40 digits (bound: digits)",
    # exp(64)^64 is e^4096 as SymPy writes it: beyond the exponent bound, as exp(4096) written out is
    "exp-power-tower": "L: exponent 4096 beyond ±64 (bound: exponent)",
    "exp-power-tiny": "L: exponent 4096 beyond ±64 (bound: exponent)",
    "exp-power-in-log": "L: exponent 4096 beyond ±64 (bound: exponent)",
    # about (1 + √2)^(64^6) (the +1s are lost at this size): 64^6·log10(2.41421...) = 26304144803.68
    "root-power-tower": "L: about 4.81e+26304144803, more than 2^65536 (bound: result_bits)",
    # (E^64)^64 is e^4096 too
    "E-power-in-matrix": "A3[2]: exponent 4096 beyond ±64 (bound: exponent)",
}


def _put(folder: Path, name: str, content: str) -> Path:
    path = folder / name
    path.write_text(content, encoding="utf-8")
    return path


def test_every_case_has_an_outcome():
    assert set(ERRORS) == {c[0] for c in REFUSED}
    assert len({c[0] for c in REFUSED + JUDGED}) == len(REFUSED + JUDGED)


@pytest.mark.parametrize("case", REFUSED, ids=[c[0] for c in REFUSED])
def test_refused_with_one_located_line(cli, tmp_path, case):
    cid, name, content = case
    path = _put(tmp_path, name, content)
    r = cli("check", "backprop", path)
    assert (r.code, r.out) == (2, "")
    assert r.err == f"{PREFIX}{path}: {ERRORS[cid]}\n"


def _judge(cli, tmp_path, cid: str, *args: str):
    name, content = next((n, c) for i, n, c in JUDGED if i == cid)
    r = cli("check", "backprop", _put(tmp_path, name, content), "--require", "answered", *args)
    assert r.err == "" and r.code in (0, 1)
    return r


def test_a_number_too_long_to_print_is_judged_from_its_text(cli, tmp_path):
    doc = _judge(cli, tmp_path, "big-integer-in-z", "--format", "json").json()
    q = doc["quantities"]["Z1"]
    assert (q["correct"], q["right"], q["total"]) == (False, 3, 4)
    assert [(e["row"], e["given"], e["expected"], e["diagnosis"]) for e in q["entries"]] == [(1, BIG, "-1", None)]


def test_a_tiny_difference_is_a_difference(cli, tmp_path):
    q = _judge(cli, tmp_path, "log-plus-tiny", "--format", "json").json()["quantities"]["L"]
    assert q["correct"] is False
    assert [(e["expected"], e["diagnosis"]) for e in q["entries"]] == [("log(2)", None)]


def test_an_answer_too_involved_to_decide_is_undecided(cli, tmp_path):
    r = _judge(cli, tmp_path, "log-plus-tiny-terms")
    given = next(c for i, _, c in JUDGED if i == "log-plus-tiny-terms").split('"')[1]  # as written
    assert r.code == 1
    assert r.out.splitlines()[2:5] == [
        "L  0/1  wrong",
        f"  expected log(2) ≈ 0.6931, given {given}  [undecided]",
        f"  → {UNDECIDED}"]
    assert r.out.rstrip().endswith("0/1 entries right in 1 quantities. Mistakes: undecided in L.")
    q = _judge(cli, tmp_path, "log-plus-tiny-terms", "--format", "json").json()["quantities"]["L"]
    assert (q["correct"], q["diagnosis"], q["feedback"]) == (False, "undecided", UNDECIDED)


@pytest.mark.parametrize("cid", ["log-forms", "log-of-product", "softmax-forms"])
def test_the_same_value_written_otherwise_is_exactly_right(cli, tmp_path, cid):
    r = _judge(cli, tmp_path, cid, "--format", "json")
    assert r.code == 0
    assert all(q["correct"] and q["entries"] == [] for q in r.json()["quantities"].values())
