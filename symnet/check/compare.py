"""Exact comparison of one written entry with one exact value: equal, right when rounded, or neither."""

from __future__ import annotations

import re

import sympy as sp

_DECIMAL = re.compile(r"^\s*[+-]?(?:\d[\d_]*)?\.(?P<frac>[\d_]*)(?:[eE](?P<exp>[+-]?\d{1,4}))?\s*$")
_PRECISIONS = (30, 60, 150, 400)  # significant digits tried, in turn, to decide a rounding


def decimal_places(text: str) -> int | None:
    """How many decimal places a decimal literal is written to (`0.4955` → 4, `1.5e3` → −2); None if not one."""
    m = _DECIMAL.match(text)
    if not m or not any(c.isdigit() for c in text.split(".")[0] + m["frac"]):
        return None
    return len(m["frac"].replace("_", "")) - int(m["exp"] or 0)


def equal(a: sp.Expr, b: sp.Expr) -> bool:
    """True when two exact values are the same number (or the same expression of symbols)."""
    d = a - b
    if d == 0:
        return True
    if d.is_Rational:
        return False
    if d.free_symbols:
        return sp.expand(d) == 0 or sp.simplify(d) == 0
    x = d.evalf(30)
    scale = max(abs(a.evalf(5)), abs(b.evalf(5)), sp.S.One)
    if x.is_Number and abs(x) > scale * sp.Rational(1, 10**20):
        return False
    return sp.simplify(d) == 0


def rounds_to(value: sp.Expr, given: sp.Rational, places: int) -> bool:
    """True when `value`, rounded to `places` decimals, gives `given`; an exact tie accepts either neighbour."""
    if value.free_symbols:
        return False
    half = sp.Rational(1, 2) * sp.Rational(10) ** (-places)
    d = value - given
    if d.is_Rational:
        return abs(d) <= half
    for digits in _PRECISIONS:
        n = max(places, 0) + digits
        x = d.evalf(n)
        if not x.is_Number or not x.is_real:
            return False
        r = abs(sp.Rational(x))
        error = max(r, half) * sp.Rational(1, 10 ** (digits - 5))  # far beyond evalf's relative error at n digits
        if abs(r - half) > error:
            return r < half
    return True  # within 10^-395 of the midpoint: an exact tie, accepted either way


def matches(given: sp.Expr, places: int | None, value: sp.Expr) -> str | None:
    """"exact" when `given` is `value`, "rounded" when it is `value` rounded at the places written, else None."""
    if equal(given, value):
        return "exact"
    if places is not None and given.is_Rational and rounds_to(value, given, places):
        return "rounded"
    return None
