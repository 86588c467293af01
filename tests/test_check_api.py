"""`Exercise.check(answers)`: the same verdicts as the JSON, as frozen objects; symbolic exercises too."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import sympy as sp

from symnet import AnswersError, load
from symnet.check import EntryVerdict, QuantityVerdict, Verdict
from symnet.check.report import to_json
from symnet.spec import from_data

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
    assert ex.check({"Z1": "x1*w1 + c + w2*x2"}).correct
    v = ex.check({"Z1": "w1*x1 + w2*x2"})
    assert v["Z1"].entries[0].diagnosis == "missing_bias"
    with pytest.raises(AnswersError, match="unknown symbol 'w3'"):
        ex.check({"Z1": "w3"})
