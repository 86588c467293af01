"""JSON and text written straight from the fast algebra's rationals (a step's `raw`) are the JSON and text written
from SymPy's values: of the same solve (sstr of each value read as SymPy), and of the solve forced onto SymPy."""

from __future__ import annotations

import sys

import pytest
import sympy as sp

from symnet import engine, spec
from symnet.export import dumps, raw_json, step_json, to_json, to_text, value_json
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
    for s in fast.steps:  # each value as sstr writes it, read as SymPy
        want = [[sp.sstr(x) for x in s.value.row(i)] for i in range(s.value.rows)] \
            if isinstance(s.value, sp.MatrixBase) else sp.sstr(s.value)
        assert step_json(s) == want == value_json(s.value), s.name


def test_the_mlp_is_written_from_flint_without_a_sympy_number():
    ex = spec.from_data(peers.network([4, 5, 3], 3, seed=1))
    sol = engine.solve(ex)
    assert sol.backend == "flint"
    to_json(sol)
    from symnet.record import Deferred

    held = [s.__dict__["_value"] for s in sol.steps]
    assert all(d.value is None for d in held if isinstance(d, Deferred))  # no step's value made as SymPy
    assert all(raw_json(s.raw) is not None for s in sol.steps if s.name != "parameters")


def test_raw_json_writes_what_sstr_writes():
    from flint import fmpq, fmpq_mat

    m = fmpq_mat(2, 2, [fmpq(-7, 3), 0, fmpq(10**30 + 1, 10**20), 5])
    want = [["-7/3", "0"], ["1000000000000000000000000000001/100000000000000000000", "5"]]
    assert raw_json(m) == want == value_json(from_flint(m))
    assert raw_json(fmpq(-1, 2)) == "-1/2" == sp.sstr(sp.Rational(-1, 2)) and raw_json(sp.Integer(3)) is None
