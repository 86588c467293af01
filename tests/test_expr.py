"""The entry grammar: exact values built straight into SymPy objects."""

from __future__ import annotations

import pytest
import sympy as sp

from symnet.errors import BoundError, EntryError
from symnet.expr import FloatText, parse_entry

x, w11, x_1, alpha = sp.symbols("x w11 x_1 alpha")

VALUES = [
    (3, sp.Integer(3)),
    (-7, sp.Integer(-7)),
    ("0.1", sp.Rational(1, 10)),
    (FloatText("0.1"), sp.Rational(1, 10)),
    (FloatText("-2.5e-3"), sp.Rational(-1, 400)),
    (FloatText("1_000.5"), sp.Rational(2001, 2)),
    ("-3/4", sp.Rational(-3, 4)),
    ("1/3 + 1/6", sp.Rational(1, 2)),
    ("2^-1", sp.Rational(1, 2)),
    ("2**10", sp.Integer(1024)),
    ("2^3^2", sp.Integer(512)),  # right-associative
    ("-2^2", sp.Integer(-4)),  # the power binds tighter than the sign
    ("(1 + 2) * x", 3 * x),
    ("2*x + 1", 2 * x + 1),
    ("w11", w11),
    ("x_1", x_1),
    ("alpha/2", alpha / 2),
    ("exp(2)", sp.exp(2)),
    ("e^2", sp.exp(2)),
    ("E/(E + 2)", sp.E / (sp.E + 2)),  # as SymPy prints it
    ("log(3)", sp.log(3)),
    ("ln(3)", sp.log(3)),
    ("sqrt(8)", 2 * sp.sqrt(2)),
    (".5", sp.Rational(1, 2)),
    ("1e-3", sp.Rational(1, 1000)),
]


@pytest.mark.parametrize("text,expected", VALUES, ids=[str(v[0]) for v in VALUES])
def test_entry_reads_as_the_exact_value(text: object, expected: sp.Expr) -> None:
    value = parse_entry(text)
    assert value == expected and type(value) is type(expected) or sp.simplify(value - expected) == 0
    assert not value.has(sp.Float)


ERRORS = [
    ("1/0", EntryError, "division by zero"),
    ("2x", EntryError, "unexpected 'x' (write 2*x for a product)"),
    ("__import__('os')", EntryError, "unexpected character '_' in \"__import__('os')\""),
    ("os.system", EntryError, "unexpected character '.' in 'os.system'"),
    ("gamma", EntryError, "'gamma' is a reserved name; choose another symbol name"),
    ("lambda", EntryError, "'lambda' is a reserved name; choose another symbol name"),
    ("foo(2)", EntryError, "unknown function 'foo' (allowed: exp, ln, log, sqrt)"),
    ("exp", EntryError, "'exp' is a function: write exp(...)"),
    ("log(0)", EntryError, "log of 0, which is not positive"),
    ("", EntryError, "empty entry"),
    ("(1", EntryError, "unexpected end of entry"),
    ("9^9^9", BoundError, "exponent 387420489 beyond ±64 (bound: exponent)"),
    ("1e999999", BoundError, "'1e999999': decimal exponent beyond ±40 (bound: decimal_exponent)"),
    ("(" * 30 + "1" + ")" * 30, BoundError, "nested deeper than 20 levels (bound: nesting)"),
    (True, EntryError, "expected a number or expression, got true"),
    (FloatText("inf"), EntryError, "inf is not a finite number"),
]


@pytest.mark.parametrize("text,error,message", ERRORS, ids=[str(e[0])[:20] for e in ERRORS])
def test_bad_entry_is_refused_with_its_reason(text: object, error: type, message: str) -> None:
    with pytest.raises(error) as info:
        parse_entry(text)
    assert info.value.message == message
