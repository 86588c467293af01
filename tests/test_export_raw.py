"""JSON and text written straight from the fast algebra's rationals (a step's `raw`) are the JSON and text written
from SymPy's values: of the same solve (sstr of each value read as SymPy), and of the solve forced onto SymPy."""

from __future__ import annotations

import sys

import pytest
import sympy as sp

from symnet import engine, spec
from symnet.export import dumps, raw_json, step_json, to_json, to_text, value_json, value_str
from symnet.sympy_private import from_flint

from .conftest import ROOT
from .nets import random_spec

sys.path.insert(0, str(ROOT / "bench"))
import peers  # noqa: E402  (bench/ is not a package)

CASES = [(name, lambda name=name: spec.load(name)) for name in spec.builtin_names()]
CASES += [(f"net{seed}", lambda seed=seed: spec.from_data(random_spec(seed))) for seed in (0, 1, 2, 3, 5, 6, 9, 12)]
CASES += [("mlp", lambda: spec.from_data(peers.network([6, 5, 4, 3], 4, seed=2))),
          ("trained", lambda: spec.from_data({**peers.network([3, 4, 2], 2, seed=5),
                                              "train": {"learning_rate": "1/10", "steps": 3}}))]


@pytest.mark.parametrize("name,make", CASES, ids=[c[0] for c in CASES])
def test_json_and_text_from_the_algebra_are_those_from_sympy(name, make):
    ex = make()
    fast, slow = engine.solve(ex), engine.solve(ex, backend="sympy")
    assert slow.backend == "sympy"
    assert dumps(to_json(fast)) == dumps(to_json(slow)) and to_text(fast) == to_text(slow)
    for s in fast.steps:  # each value as value_str writes it (sstr), read as SymPy
        want = [[value_str(x) for x in s.value.row(i)] for i in range(s.value.rows)] \
            if isinstance(s.value, sp.MatrixBase) else value_str(s.value)
        assert step_json(s) == want == value_json(s.value), s.name


def test_the_mlp_is_written_from_flint_without_a_sympy_number():
    ex = spec.from_data(peers.network([4, 5, 3], 3, seed=1))
    sol = engine.solve(ex)
    assert sol.backend == "flint"
    to_json(sol)
    from symnet.held import Deferred

    held = [s.__dict__["_value"] for s in sol.steps]
    assert all(d.value is None for d in held if isinstance(d, Deferred))  # no step's value made as SymPy
    assert all(raw_json(s.raw) is not None for s in sol.steps if s.name != "parameters")


def test_raw_json_writes_what_sstr_writes():
    from flint import fmpq, fmpq_mat

    m = fmpq_mat(2, 2, [fmpq(-7, 3), 0, fmpq(10**30 + 1, 10**20), 5])
    want = [["-7/3", "0"], ["1000000000000000000000000000001/100000000000000000000", "5"]]
    assert raw_json(m) == want == value_json(from_flint(m))
    assert raw_json(fmpq(-1, 2)) == "-1/2" == sp.sstr(sp.Rational(-1, 2)) and raw_json(sp.Integer(3)) is None


@pytest.mark.parametrize("value, text", [
    (2 * sp.Symbol("a") + 1, "2*a + 1"),  # rational and symbolic: SymPy's order, as the contract writes it
    (sp.Max(0, sp.Symbol("w11") * sp.Symbol("x1") + sp.Symbol("b1")), "Max(0, b1 + w11*x1)"),
    (sp.Rational(-7, 3), "-7/3"),
    (sp.exp(4) / (1 + 2 * sp.exp(4)), "exp(4)/(1 + 2*exp(4))"),  # irrational: SymPy's stored order (unsorted)
    (1 - sp.exp(2) / (1 + sp.E + sp.exp(2)), "1 - exp(2)/(1 + E + exp(2))"),  # sstr: -exp(2)/(1 + E + exp(2)) + 1
])
def test_value_strings(value, text):
    assert value_str(value) == text and sp.sympify(text) == value


def test_a_nested_e_value_is_written_without_evaluating_its_terms(monkeypatch):
    """Sorting a sum's terms the way sstr does evaluates each numeric factor (complex()): level by level over nested
    exponentials that was 90 % of a 20-step rounded sigmoid network's JSON."""
    v = 1 / (1 + sp.exp(-1 / (1 + sp.exp(-sp.Rational(3, 2))) + sp.exp(sp.Rational(1, 3))))

    def no_complex(self):
        raise AssertionError("a term evaluated numerically to be sorted")

    monkeypatch.setattr(sp.Expr, "__complex__", no_complex)
    assert sp.sympify(value_str(v)) == v
