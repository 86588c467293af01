"""Exact comparison of one written entry with one exact value: equal, right when rounded, or neither."""

from __future__ import annotations

import math
import re
from functools import lru_cache

import sympy as sp

_DECIMAL = re.compile(r"^\s*[+-]?(?:\d[\d_]*)?\.(?P<frac>[\d_]*)(?:[eE](?P<exp>[+-]?\d{1,4}))?\s*$")
_PRECISIONS = (30, 60, 150, 400)  # significant digits tried, in turn, to tell two numbers apart
_HYPERBOLIC = (sp.tanh, sp.sinh, sp.cosh)


def decimal_places(text: str) -> int | None:
    """How many decimal places a decimal literal is written to (`0.4955` → 4, `1.5e3` → −2); None if not one."""
    m = _DECIMAL.match(text)
    if not m or not any(c.isdigit() for c in text.split(".")[0] + m["frac"]):
        return None
    return len(m["frac"].replace("_", "")) - int(m["exp"] or 0)


@lru_cache(maxsize=1 << 16)
def approx(v: sp.Expr, digits: int) -> sp.Rational | None:
    """`v` to `digits` significant digits, as an exact rational; None when it is not a real number."""
    x = v.evalf(digits)
    if not x.is_Number or x.is_real is False or (x.is_Float and x._prec < 3 * digits):
        return None  # complex, or evalf could not reach the precision (an unsimplified 0, for instance)
    return sp.Rational(x)


def _error(x: sp.Rational, digits: int) -> sp.Rational:
    """A bound, with room to spare, on the error of `approx` at `digits` significant digits."""
    return abs(x) * sp.Rational(1, 10 ** (digits - 3))


def equal(a: sp.Expr, b: sp.Expr) -> bool:
    """True when two exact values are the same number (or the same expression of symbols)."""
    if a == b:
        return True
    if a.is_Rational and b.is_Rational:
        return False
    d = a - b
    if d == 0:
        return True
    if d.free_symbols:
        return sp.expand(d) == 0 or _simplifies_to_zero(d)
    for digits in _PRECISIONS[:2]:
        xa, xb = approx(a, digits), approx(b, digits)
        if xa is None or xb is None:
            break
        if abs(xa - xb) > _error(xa, digits) + _error(xb, digits):
            return False  # clearly apart
    zero = _zero_in_exponentials(d)
    return zero if zero is not None else _simplifies_to_zero(d)


def _zero_in_exponentials(d: sp.Expr) -> bool | None:
    """Decide d = 0 exactly when d is a rational function, over ℚ, of powers e^r (r rational); None otherwise.

    With t = e^(1/q), e^r = t^(rq); t is transcendental, so d is 0 exactly when it is 0 as a function of t."""
    if d.has(*_HYPERBOLIC):
        d = d.rewrite(sp.exp)
    exps = d.atoms(sp.exp)
    if any(not p.exp.is_Rational for p in exps):
        return None
    q = math.lcm(1, *(int(p.exp.q) for p in exps))
    t = sp.Dummy("t", positive=True)
    f = d.xreplace({p: t ** (p.exp * q) for p in exps}).xreplace({sp.E: t**q})
    rational = all(a == t or a.is_Rational for a in f.atoms()) and not f.atoms(sp.Function)
    if not rational or not all(p.exp.is_Integer for p in f.atoms(sp.Pow)):
        return None
    try:
        return sp.QQ.frac_field(t).from_sympy(f) == 0  # exact arithmetic in ℚ(t)
    except (sp.polys.polyerrors.CoercionFailed, sp.polys.polyerrors.PolynomialError, ZeroDivisionError):
        return None


def _simplifies_to_zero(d: sp.Expr) -> bool:
    try:
        return bool(sp.simplify(d) == 0)
    except (ArithmeticError, ValueError, TypeError, RecursionError):
        return False  # too close to tell numerically and beyond simplification: not shown equal


def rounds_to(value: sp.Expr, given: sp.Rational, places: int) -> bool:
    """True when `value`, rounded to `places` decimals, gives `given`; an exact tie accepts either neighbour."""
    if value.free_symbols:
        return False
    half = sp.Rational(1, 2) * sp.Rational(10) ** (-places)
    if value.is_Rational:
        return abs(value - given) <= half
    rough = approx(value, 15)
    if rough is None:
        return abs(given) <= half and _simplifies_to_zero(value)  # an unsimplified 0, or not a real number
    magnitude = max(0, int(math.log10(float(abs(rough)) + 1)) + 1)  # digits before the point
    for digits in _PRECISIONS:
        n = digits + max(places, 0) + magnitude
        x = approx(value, n)
        if x is None:
            return False
        err = _error(x, n) + sp.Rational(1, 10 ** n)
        distance = abs(x - given)
        if distance + err < half:
            return True
        if distance - err > half:
            return False
    return True  # within 10^-395 of the midpoint: an exact tie, accepted either way


def matches(given: sp.Expr, places: int | None, value: sp.Expr) -> str | None:
    """"exact" when `given` is `value`, "rounded" when it is `value` rounded at the places written, else None."""
    if equal(given, value):
        return "exact"
    if places is not None and given.is_Rational and rounds_to(value, given, places):
        return "rounded"
    return None
