"""Exact rounding of real numbers by interval arithmetic (mpmath.iv), each distinct subtree evaluated once."""

from __future__ import annotations

import mpmath
import sympy as sp

iv = mpmath.iv
_PRECISIONS = (64, 256, 1024)  # bits beyond the value's own size, tried in turn before SymPy's exact floor


def enclose(e: sp.Expr, prec: int) -> object | None:
    """An interval (mpmath.iv) certainly holding the number e, computed at `prec` bits; None when e holds a
    symbol or a function this walk does not know, or is not real there."""
    before = iv.prec
    iv.prec = prec
    try:
        return _walk(e, {})
    finally:
        iv.prec = before


def _walk(e: sp.Expr, memo: dict) -> object | None:
    if e not in memo:
        try:
            memo[e] = _enclose(e, memo)
        except (ValueError, ZeroDivisionError, TypeError, OverflowError):
            memo[e] = None
    return memo[e]


def _enclose(e: sp.Expr, memo: dict) -> object | None:
    if e.is_Rational:
        return iv.mpf(int(e.p)) / int(e.q)
    if e is sp.E:
        return iv.e
    if e is sp.pi:
        return iv.pi
    args = [_walk(a, memo) for a in e.args]
    if not args or any(a is None for a in args):
        return None
    if e.is_Add:
        return sum(args[1:], args[0])
    if e.is_Mul:
        out = args[0]
        for a in args[1:]:
            out = out * a
        return out
    if e.is_Pow:
        base, exp = args
        if e.exp.is_Integer:
            if base.a <= 0 <= base.b and e.exp < 0:
                return None  # an interval holding 0, to a negative power
            return base ** int(e.exp)
        if base.a <= 0:
            return None
        return iv.exp(exp * iv.log(base))
    if isinstance(e, sp.exp):
        return iv.exp(args[0])
    if isinstance(e, sp.log):
        return iv.log(args[0]) if args[0].a > 0 else None
    if isinstance(e, sp.tanh):
        return 1 - 2 / (iv.exp(2 * args[0]) + 1)  # increasing in e^(2x): the enclosure stays tight
    if isinstance(e, (sp.Max, sp.Min)):
        pick = max if isinstance(e, sp.Max) else min
        return iv.mpf([pick(a.a for a in args), pick(a.b for a in args)])
    if isinstance(e, sp.Abs):
        a = args[0]
        low = 0 if a.a <= 0 <= a.b else min(abs(a.a), abs(a.b))
        return iv.mpf([low, max(abs(a.a), abs(a.b))])
    return None


def floor(v: sp.Expr) -> int:
    """⌊v⌋ exactly for a real number v: from an enclosure whose ends have the same floor (at 64, 256, then 1024
    bits beyond v's size), else SymPy's own `floor` (which may take long: only for a value within 2^-1024 of an
    integer)."""
    if v.is_Rational:
        return int(v.p // v.q)
    rough = enclose(v, 53)
    if rough is not None and mpmath.isfinite(rough.a) and mpmath.isfinite(rough.b):
        size = max(int(mpmath.mag(max(abs(rough.a), abs(rough.b)))), 0)
        for extra in _PRECISIONS:
            x = enclose(v, size + extra)
            if x is None:
                break
            low, high = mpmath.floor(x.a), mpmath.floor(x.b)
            if low == high and mpmath.isfinite(low):
                return int(low)
    return int(sp.floor(v))


def round_half_away(v: sp.Expr, decimals: int) -> sp.Rational:
    """v rounded to `decimals` places, halves away from zero, exactly (engine's `[train] round`)."""
    scale = 10**decimals
    if v.is_Rational:
        n = (2 * abs(v.p) * scale + v.q) // (2 * v.q)
        return sp.Rational(-n if v.p < 0 else n, scale)
    x = v * scale
    n = floor(x + sp.Rational(1, 2))  # for v < 0 this rounds halves up, but an irrational v is never a half
    return sp.Rational(n, scale)


def round_half_even(v: sp.Expr, decimals: int) -> int:
    """The integer n with n / 10^decimals the value v rounded half to even (only a rational v can be a half)."""
    scale = 10**decimals
    if v.is_Rational:
        n, r = divmod(v.p * scale, v.q)
        return n + (1 if 2 * r > v.q or 2 * r == v.q and n % 2 else 0)
    return floor(v * scale + sp.Rational(1, 2))
