"""Exact comparison and rounding, against Python's own exact arithmetic (fractions, decimal) as the oracle."""

from __future__ import annotations

import decimal
from fractions import Fraction

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symnet.bounds import Bounds
from symnet.check.compare import decimal_places, equal, matches, rounds_to, zero

from .hostile.guard import alarm


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


# ---------------------------------------------------------------- bounded: huge values, undecided, no unbounded work

HUGE = sp.exp(sp.Integer(4398046511104))  # e^(4.4·10^12): a float of any exponent is cheap, its exact value is not
TINY = sp.exp(-sp.Integer(4398046511104))


def test_huge_and_tiny_values_compare_as_floats():
    with alarm():
        assert equal(HUGE, sp.log(2)) is False and equal(TINY, sp.Integer(0)) is False
        assert equal(HUGE, HUGE * (1 + TINY)) is None  # apart in the 10^12-th digit: beyond ℚ(e)'s degree bound
        assert rounds_to(HUGE, sp.Rational(1, 2), 1) is False
        assert rounds_to(TINY, sp.Integer(0), 3) is True and rounds_to(TINY, sp.Rational(1, 1000), 3) is False
        assert matches(sp.Rational(1, 2), 1, HUGE) is None


def test_equal_decides_exactly_in_e_and_in_logs_of_rationals():
    e = sp.exp
    assert equal(sp.log(6) - sp.log(3), sp.log(2)) is True  # log 6 = log 2 + log 3 (coprime basis {2, 3})
    assert equal(sp.log(sp.Rational(9, 4)), 2 * sp.log(3) - 2 * sp.log(2)) is True
    assert equal(sp.log(2 * e(4)) - 4, sp.log(2)) is True  # log(2e^4) = log 2 + 4
    assert equal(-sp.log(e(4) / (1 + 2 * e(4))), sp.log(1 + 2 * e(4)) - 4) is True
    assert equal(sp.log(2) + e(-4096), sp.log(2)) is False  # e^-4096 ≠ 0, though they agree to 1778 digits
    assert equal(e(sp.Rational(1, 3)) ** 3, sp.E) is True
    assert equal(1 / (1 + e(-3)), e(3) / (1 + e(3))) is True


def test_undecided_is_neither_equal_nor_different():
    # differences that agree to 400 digits but that no exact test within the bounds settles
    with alarm():
        hidden = sp.log(2) + sp.log(3) * sp.exp(-4096) + sp.sqrt(2) * sp.exp(-3968)
        assert equal(hidden, sp.log(2)) is None
        assert matches(hidden, None, sp.log(2)) == "undecided"
        x1, x2, w1, w2, c = sp.symbols("x1 x2 w1 w2 c")
        s = x1 + x2 + w1 + w2 + c  # (s)^64 expands to C(68, 4) = 814385 terms: beyond expression_nodes
        assert equal(s**64 * (x1 - 1), x1 * s**64 - s**64) is None
        assert equal(s**64 * (x1 - 1), x1 * s**64 - s**64 + 1) is None  # off by 1 in values near 10^56
        assert equal(s**64 * (x1 - 1), x1 * s**64 - 2 * s**64) is False  # apart at a rational point
        assert equal((x1 + x2) ** 2, x1**2 + 2 * x1 * x2 + x2**2) is True  # small: expanded exactly


def test_an_expression_beyond_the_node_bound_is_undecided():
    big = sp.Add(*(sp.sqrt(k) for k in range(2, 1500)))  # 3196 nodes: beyond expression_nodes (2000)
    same = big - sp.sqrt(3) + (sp.sqrt(2) + 1) * (sp.sqrt(2) - 1) * sp.sqrt(3)  # √3 written as (√2 + 1)(√2 − 1)√3
    assert equal(big, big + sp.Rational(1, 10**50)) is False  # a rational difference: decided at once
    assert equal(big, same, Bounds(expression_nodes=10**6)) is True
    assert equal(big, same) is None


def test_rounding_near_a_midpoint_is_exact():
    # 1/8 + e^-2000 is above the midpoint 0.125 by 10^-869: it rounds to 0.13 only; 1/8 − e^-2000 to 0.12 only
    eighth, tiny = sp.Rational(1, 8), sp.exp(-2000)
    assert rounds_to(eighth + tiny, sp.Rational(13, 100), 2) is True
    assert rounds_to(eighth + tiny, sp.Rational(12, 100), 2) is False
    assert rounds_to(eighth - tiny, sp.Rational(12, 100), 2) is True
    assert rounds_to(eighth - tiny, sp.Rational(13, 100), 2) is False


def test_zero_is_exact_or_undecided():
    assert zero(sp.log(6) - sp.log(2) - sp.log(3)) is True
    assert zero(sp.exp(-4096)) is False
    assert zero(sp.log(2) * sp.exp(-4096)) is None  # log 2 stands for an unknown: not proven non-zero this way
    assert zero(sp.exp(sp.Rational(1, 61)) + sp.exp(sp.Rational(1, 59)) - sp.exp(sp.Rational(1, 53))) is False
    # e^64 with e^(1/61), e^(1/59): t = e^(1/3599), e^64 = t^230336, a degree beyond exp_argument (10000)
    assert zero(sp.exp(64) + sp.exp(sp.Rational(1, 61)) - sp.exp(sp.Rational(1, 59))) is None
