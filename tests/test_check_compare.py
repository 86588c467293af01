"""Exact comparison and rounding, against Python's own exact arithmetic (fractions, decimal) as the oracle."""

from __future__ import annotations

import decimal
from fractions import Fraction

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symnet.check.compare import decimal_places, equal, matches, rounds_to


@pytest.mark.parametrize("text, places", [
    ("0.4955", 4), ("-0.5", 1), ("0.50", 2), ("3.", 0), (".25", 2), ("1.5e3", -2), ("2.50e-2", 4), ("1_000.0", 1),
    ("3", None), ("1/2", None), ("1e-3", None), ("exp(2)", None), ("0.5*x", None), (".", None),
])
def test_decimal_places(text, places):
    assert decimal_places(text) == places


def _half_even(x: Fraction, k: int) -> Fraction:
    return Fraction(round(x * 10**k), 10**k)


@settings(max_examples=300, deadline=None)
@given(st.integers(-10**6, 10**6), st.integers(1, 10**4), st.integers(0, 6))
def test_rational_rounding_agrees_with_fractions(p, q, k):
    x = Fraction(p, q)
    g = _half_even(x, k)
    ulp = Fraction(1, 10**k)
    assert rounds_to(sp.Rational(p, q), sp.Rational(g.numerator, g.denominator), k)
    for n in (g - ulp, g + ulp):
        tie = abs(x - n) == ulp / 2
        assert rounds_to(sp.Rational(p, q), sp.Rational(n.numerator, n.denominator), k) == tie


def test_exact_ties_accept_either_neighbour():
    eighth = sp.Rational(1, 8)
    assert rounds_to(eighth, sp.Rational(12, 100), 2) and rounds_to(eighth, sp.Rational(13, 100), 2)
    assert not rounds_to(eighth, sp.Rational(11, 100), 2)
    hidden = (sp.sqrt(2) + 1) * (sp.sqrt(2) - 1) / 8  # exactly 1/8, but not a Rational until simplified
    assert not hidden.is_Rational
    assert rounds_to(hidden, sp.Rational(12, 100), 2) and rounds_to(hidden, sp.Rational(13, 100), 2)
    assert not rounds_to(hidden, sp.Rational(14, 100), 2)


def _softmax_decimal(places: int) -> decimal.Decimal:
    with decimal.localcontext() as ctx:
        ctx.prec = 80
        e4 = decimal.Decimal(4).exp()
        return (e4 / (1 + 2 * e4)).quantize(decimal.Decimal(1).scaleb(-places), rounding=decimal.ROUND_HALF_EVEN)


@pytest.mark.parametrize("places", range(1, 40))
def test_softmax_rounds_like_the_decimal_module(places):
    value = sp.exp(4) / (1 + 2 * sp.exp(4))
    d = _softmax_decimal(places)
    g = sp.Rational(str(d))
    ulp = sp.Rational(1, 10**places)
    assert rounds_to(value, g, places)
    assert not rounds_to(value, g + ulp, places) and not rounds_to(value, g - ulp, places)


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 10**6).filter(lambda n: int(n**0.5) ** 2 != n), st.integers(0, 25))
def test_square_roots_round_like_the_decimal_module(n, k):
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        d = decimal.Decimal(n).sqrt().quantize(decimal.Decimal(1).scaleb(-k), rounding=decimal.ROUND_HALF_EVEN)
    g, ulp = sp.Rational(str(d)), sp.Rational(1, 10**k)
    assert rounds_to(sp.sqrt(n), g, k)
    assert not rounds_to(sp.sqrt(n), g + ulp, k) and not rounds_to(sp.sqrt(n), g - ulp, k)


def test_equal_is_exact():
    assert equal(sp.Rational(1, 2), sp.Rational(2, 4))
    assert not equal(sp.Rational(1, 3), sp.Rational(333333, 1000000))
    assert equal(sp.exp(4) / (1 + 2 * sp.exp(4)), 1 / (2 + sp.exp(-4)))
    assert not equal(sp.exp(4) / (1 + 2 * sp.exp(4)), sp.Rational(4955, 10000))
    assert equal(sp.tanh(2), (sp.exp(4) - 1) / (sp.exp(4) + 1))  # decided exactly in ℚ(e), not numerically
    assert equal(sp.exp(sp.Rational(1, 2)) * sp.exp(sp.Rational(1, 2)) / (1 + sp.E), 1 - 1 / (1 + sp.E))
    assert equal(sp.log(2) + sp.log(3), sp.log(6))
    assert not equal(sp.exp(-1000), sp.S.Zero)  # tiny is not zero
    x, y = sp.symbols("x y")
    assert equal(x * (y + 1), x * y + x)
    assert not equal(x * y, x + y)


def test_matches_says_exact_or_rounded():
    half = sp.Rational(1, 2)
    assert matches(half, 1, half) == "exact"  # 0.5 for 1/2 is exact, not rounded
    assert matches(sp.Rational(4955, 10000), 4, sp.exp(4) / (1 + 2 * sp.exp(4))) == "rounded"
    assert matches(sp.Rational(4955, 10000), None, sp.exp(4) / (1 + 2 * sp.exp(4))) is None  # a fraction is exact
    assert matches(sp.Rational(3, 10), 1, sp.Rational(1, 3)) == "rounded"
    assert matches(sp.Rational(3, 10), None, sp.Rational(1, 3)) is None
