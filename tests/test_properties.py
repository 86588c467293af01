"""Property-based tests (hypothesis): the entry grammar and the spec structure never escape as a traceback.

Random text and random well-formed expressions go through `parse_entry`; random spec structures go through
`symnet.load(dict)`, `Exercise.solve()` and the CLI. Each example runs under its own hang guard."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from fractions import Fraction
from pathlib import Path

import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symnet import Exercise, SymnetError, load
from symnet.cli import main
from symnet.exercise import ACTIVATIONS, LOSSES
from symnet.expr import parse_entry

from .hostile.guard import alarm

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _finite_real(value: sp.Expr) -> bool:
    return not value.has(sp.zoo, sp.oo, -sp.oo, sp.nan, sp.I) and (not value.is_number or value.is_extended_real)


# ---------------------------------------------------------------- the entry grammar

GRAMMAR_CHARS = "0123456789.eE+-*/^()_ abcxyzwlogexpsqrtn,;'\"[]{}=<>!@#$%&|~`\\\t\n"


@SETTINGS
@given(st.one_of(st.text(max_size=300), st.text(alphabet=GRAMMAR_CHARS, max_size=120)))
def test_any_text_is_an_expression_or_a_symnet_error(text):
    with alarm():
        try:
            value = parse_entry(text)
        except SymnetError as e:
            assert str(e) and "\n" not in str(e)
            return
    assert isinstance(value, sp.Expr) and _finite_real(value)


@st.composite
def expressions(draw, depth: int = 0) -> tuple[str, Fraction | None]:
    """A well-formed entry and, when it is rational, its value computed here with fractions (None otherwise)."""
    leaf = depth >= 4 or draw(st.booleans())
    if leaf:
        kind = draw(st.sampled_from(["int", "decimal", "fraction", "symbol", "e"]))
        if kind == "int":
            n = draw(st.integers(0, 10**6))
            return str(n), Fraction(n)
        if kind == "decimal":
            whole, frac = draw(st.integers(0, 999)), draw(st.integers(0, 999))
            text = f"{whole}.{frac:03d}"
            return text, Fraction(text)
        if kind == "fraction":
            p, q = draw(st.integers(0, 99)), draw(st.integers(1, 99))
            return f"{p}/{q}", Fraction(p, q)
        if kind == "symbol":
            return draw(st.sampled_from(["x", "y1", "w_12", "alpha", "b2"])), None
        return "e", None
    op = draw(st.sampled_from(["+", "-", "*", "/", "^", "neg", "exp", "log", "sqrt"]))
    a, va = draw(expressions(depth + 1))
    if op in ("exp", "log", "sqrt"):
        return f"{op}({a})", None
    if op == "neg":
        return f"-({a})", None if va is None else -va
    if op == "^":
        n = draw(st.integers(-3, 3))
        value = None if va is None or (va == 0 and n < 0) else va**n
        return f"({a})^{n}" if n >= 0 else f"({a})^({n})", value
    b, vb = draw(expressions(depth + 1))
    value = None
    if va is not None and vb is not None:
        if op == "+":
            value = va + vb
        elif op == "-":
            value = va - vb
        elif op == "*":
            value = va * vb
        elif vb != 0:
            value = va / vb
    return f"({a}) {op} ({b})", value


@SETTINGS
@given(expressions())
def test_well_formed_expressions_parse_exactly_and_round_trip(case):
    text, expected = case
    with alarm():
        try:
            value = parse_entry(text)
        except SymnetError as e:  # division by zero, log of a non-positive number, a bound: said on one line
            assert "\n" not in str(e)
            return
    assert isinstance(value, sp.Expr) and _finite_real(value)
    if expected is not None:  # the oracle: Python's fractions on the same tree
        assert value == sp.Rational(expected.numerator, expected.denominator)
    # Printed values read back: SymPy's own parser on our printed text (the test controls that text).
    back = sp.parse_expr(str(value))
    assert back == value or sp.simplify(back - value) == 0


# ---------------------------------------------------------------- the spec structure

ENTRIES = st.one_of(
    st.integers(-5, 5),
    st.sampled_from(["1/2", "-3/4", "x", "w11", "exp(1)", "log(2)", "0.5", "2^3", "9^9^9", "nan", "", "1/0"]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=8),
    st.integers(),
)


def matrices(entries: st.SearchStrategy = ENTRIES) -> st.SearchStrategy:
    rows = st.integers(1, 3)
    return st.one_of(
        entries,
        st.lists(entries, min_size=0, max_size=4),
        rows.flatmap(lambda c: st.lists(st.lists(entries, min_size=c, max_size=c), min_size=1, max_size=3)),
        st.fixed_dictionaries({"symbol": st.sampled_from(["w", "v1", "x", "_", "exp"])},
                              optional={"shape": st.lists(st.integers(-1, 4), min_size=0, max_size=3)}),
    )


JUNK = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5)),
                    lambda inner: st.one_of(st.lists(inner, max_size=3),
                                            st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                    max_leaves=10)

LAYER = st.fixed_dictionaries(
    {"W": matrices()},
    optional={"b": matrices(), "activation": st.sampled_from(ACTIVATIONS + ("relu ", "Relu", "")),
              "alpha": ENTRIES, "exp_base": st.one_of(st.just(3), ENTRIES), "activaton": JUNK},
)

SPECS = st.fixed_dictionaries(
    {"X": matrices(), "layers": st.one_of(st.lists(LAYER, min_size=1, max_size=3), JUNK)},
    optional={
        "loss": st.fixed_dictionaries({"kind": st.sampled_from(LOSSES + ("mae",)), "Y": matrices()},
                                      optional={"reduction": st.sampled_from(["mean", "sum", "avg"]),
                                                "predictions": matrices()}),
        "train": st.fixed_dictionaries({"learning_rate": ENTRIES},
                                       optional={"steps": st.one_of(st.integers(0, 2), ENTRIES)}),
        "title": st.one_of(st.text(max_size=20), JUNK),
        "count_parameters": st.one_of(st.booleans(), JUNK),
        "kind": st.sampled_from(["network", "matmul", "mlp"]),
        "A": matrices(), "B": matrices(), "extra": JUNK,
    },
)


def _json_safe(data: object) -> object:
    """The spec as JSON would carry it (integers beyond the JSON reader's digit limit kept: they are refused)."""
    return json.loads(json.dumps(data))


@SETTINGS
@given(st.one_of(SPECS, JUNK.filter(lambda d: isinstance(d, dict))))
def test_any_spec_structure_loads_and_solves_or_is_a_symnet_error(data):
    with alarm():
        try:
            exercise = load(data)
            assert isinstance(exercise, Exercise)
            exercise.solve()
        except SymnetError as e:
            assert "\n" not in str(e)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SPECS)
def test_the_cli_never_prints_a_traceback(data):
    with tempfile.TemporaryDirectory() as tmp, alarm():
        path = Path(tmp) / "s.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["solve", str(path), "--format", "json"])
        assert code in (0, 2), err.getvalue()
        if code == 2:
            assert err.getvalue().startswith("symnet: error: ") and err.getvalue().count("\n") == 1
            assert out.getvalue() == ""
        else:
            assert err.getvalue() == "" and json.loads(out.getvalue())["quantities"]
        assert not list(Path(tmp).glob(".*.tmp"))
