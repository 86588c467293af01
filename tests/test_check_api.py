"""`Exercise.check(answers)`: the same verdicts as the JSON, as frozen objects; symbolic exercises too."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import mpmath
import pytest
import sympy as sp

from symnet import AnswersError, load
from symnet.check import EntryVerdict, QuantityVerdict, Verdict
from symnet.check.report import text_report, to_json
from symnet.spec import from_data

from .hostile.guard import alarm

ANSWERS = Path(__file__).resolve().parent / "answers"


def test_check_returns_frozen_verdicts():
    v = load("backprop").check({"A3": [0.4955, 0.4955, 0.0091], "dL/dA1": [1, -2, 2, -1], "dL/dZ1": [1, -2, 2, -1]})
    assert isinstance(v, Verdict) and v.correct is False
    assert isinstance(v["dL/dZ1"], QuantityVerdict)
    assert v["A3"].correct and v["A3"].diagnosis == "rounded"
    assert v["A3"].entries[0].written == "0.4955"  # a Python float counts the digits it is written with
    assert v["dL/dZ1"].entries == (EntryVerdict(1, 1, sp.Integer(1), None, sp.Integer(0), False, "unmasked_gradient"),)
    assert (v["dL/dZ1"].right, v["dL/dZ1"].total) == (3, 4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        v["A3"].correct = False  # type: ignore[misc]


def test_api_verdicts_are_the_json_verdicts(cli):
    r = cli("check", "backprop", ANSWERS / "backprop-student.toml", "--format", "json")
    from symnet.check.answers import read_file

    ex = load("backprop")
    v = ex.check(read_file(ANSWERS / "backprop-student.toml", ex.solve()))
    assert to_json(v) == r.json()


def test_api_accepts_exact_values_and_strings():
    v = load("four-neurons").check({"Z1": sp.Matrix([-1, 3, 5, 3]), "A1": ["0", "3", "10/2", "3"]})
    assert v.correct


def test_api_unknown_quantity_raises():
    with pytest.raises(AnswersError, match="unknown quantity 'Z2'"):
        load("four-neurons").check({"Z2": [1]})


SYMBOLIC = {
    "X": ["x1", "x2"],
    "layers": [{"W": {"symbol": "w", "shape": [1, 2]}, "b": ["c"], "activation": "identity"}],
}


def test_symbolic_answers_compare_as_expressions():
    ex = from_data(SYMBOLIC)
    assert ex.check({"Z1": "x1*w1 + c + w2*x2"})["Z1"].correct  # (A1, not answered, is missing)
    v = ex.check({"Z1": "w1*x1 + w2*x2"})
    assert v["Z1"].entries[0].diagnosis == "missing_bias"
    with pytest.raises(AnswersError, match="unknown symbol 'w3'"):
        ex.check({"Z1": "w3"})


# ---------------------------------------------------------------- exact values from Python: the same bounds as files

FLOAT = 'a SymPy Float is not exact: give the decimal as text ("0.4955") or as a Python float'


@pytest.mark.parametrize("value, message", [
    (sp.Float("0.5"), FLOAT),
    (sp.Float(mpmath.mpf("1e999999")), FLOAT),  # never turned into a rational (SymPy's Float("1e999999") takes 45 s)
    (sp.Integer(10) ** 100000, "a number of more than 65536 bits (bound: result_bits)"),
    # e^(10^12) = 10^434294481903.2518 = 1.79·10^434294481903
    (sp.exp(sp.Integer(10) ** 12), "about 1.79e+434294481903, more than 2^65536 (bound: result_bits)"),
    (sp.Add(*(sp.sqrt(k) for k in range(2, 1500))), "an expression of more than 2000 nodes (bound: expression_nodes)"),
    (sp.nan, "nan is not a finite value"),
    (sp.zoo, "zoo is not a finite value"),
    (1 + sp.I, "1 + I is not a real number"),
])
def test_api_values_beyond_the_bounds_are_refused(value, message):
    with alarm(), pytest.raises(AnswersError) as e:
        load("backprop").check({"L": value})
    assert str(e.value) == f"<answers>: L: {message}"


def test_api_matrix_beyond_the_shape_bounds_is_refused():
    with pytest.raises(AnswersError) as e:
        load("backprop").check({"Z1": sp.zeros(100, 1)})
    assert str(e.value) == "<answers>: Z1: a 100×1 matrix, beyond 64×64 (bounds: rows, cols)"


def test_api_matrix_entry_is_located():
    with pytest.raises(AnswersError) as e:
        load("backprop").check({"Z1": sp.Matrix([-1, 3, sp.Float("5.0"), 3])})
    assert str(e.value) == f"<answers>: Z1[3][1]: {FLOAT}"


def test_an_exact_integer_too_long_for_str_is_reported():
    # 2^20000 is within result_bits; it has ⌊20000·log10 2⌋ + 1 = 6021 digits, more than Python prints by default
    limit = sys.get_int_max_str_digits()
    v = load("backprop").check({"L": sp.Integer(2) ** 20000})
    given = to_json(v)["quantities"]["L"]["entries"][0]["given"]
    assert len(given) == 6021 and given[-4:] == f"{pow(2, 20000, 10**4):04d}"
    assert "given " + given[:20] in text_report(v)
    assert sys.get_int_max_str_digits() == limit  # lifted for the report only
