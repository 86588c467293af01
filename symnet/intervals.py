"""Exact floors and rounding of real numbers by interval arithmetic (mpmath.iv), each distinct subtree once."""

from __future__ import annotations

from typing import Any

import mpmath
import sympy as sp
from mpmath import libmp

iv = mpmath.iv
_PRECISIONS = (64, 256, 1024)  # bits beyond the value's own size, tried in turn


class Undecided(ArithmeticError):
    """A number no enclosure decides: a denominator or a log's argument that may be 0 (a disguised 0), or a value
    within 2^-1024 of the integer in question."""


class _Unknown(Exception):
    """A node the walk has no interval rule for (then SymPy's own `floor` decides)."""


def enclose(e: sp.Expr, prec: int) -> Any:
    """An interval (mpmath.iv) certainly holding the real number e, computed at `prec` bits. Raises `Undecided`
    when e may not be finite (a denominator holding 0), `_Unknown` for a function without a rule here."""
    before = iv.prec
    iv.prec = prec
    try:
        return _walk(e, {})
    finally:
        iv.prec = before


def _walk(e: sp.Expr, memo: dict) -> Any:
    x = memo.get(e)
    if x is None:
        try:
            x = memo[e] = _enclose(e, memo)
        except (ValueError, ZeroDivisionError, OverflowError):
            raise Undecided(f"{e} cannot be enclosed") from None
    return x


def _ends(x: Any) -> tuple:
    """The two ends of an interval as mpmath's raw binary floats (exact, at any precision)."""
    return x._mpi_


def _holds_zero(x: Any) -> bool:
    a, b = _ends(x)
    return libmp.mpf_le(a, libmp.fzero) and libmp.mpf_ge(b, libmp.fzero)


def _enclose(e: sp.Expr, memo: dict) -> Any:
    if e.is_Rational:
        return iv.mpf(int(e.p)) / int(e.q)
    if e is sp.E:
        return iv.e
    if e is sp.pi:
        return iv.pi
    if e.is_Atom:
        raise _Unknown(e)
    args = [_walk(a, memo) for a in e.args]
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
            if e.exp < 0 and _holds_zero(base):
                raise Undecided(f"{e.base} may be 0")
            return base ** int(e.exp)
        if not libmp.mpf_gt(_ends(base)[0], libmp.fzero):
            raise Undecided(f"{e.base} may not be positive")
        return iv.exp(exp * iv.log(base))
    if isinstance(e, sp.exp):
        return iv.exp(args[0])
    if isinstance(e, sp.log):
        if not libmp.mpf_gt(_ends(args[0])[0], libmp.fzero):
            raise Undecided(f"{e.args[0]} may not be positive")
        return iv.log(args[0])
    if isinstance(e, sp.tanh):
        return 1 - 2 / (iv.exp(2 * args[0]) + 1)  # increasing in e^(2x): the enclosure stays tight
    raise _Unknown(e)


def _bits(a: tuple) -> int:
    """The binary exponent just above |a| (a raw mpf: sign, mantissa, exponent, bit count)."""
    return 0 if a == libmp.fzero else a[2] + a[3]


def excludes_zero(d: sp.Expr) -> bool:
    """True when an enclosure of the number d (at 64, 256, then 1024 bits) leaves out 0: d is certainly not 0."""
    for prec in _PRECISIONS:
        try:
            if not _holds_zero(enclose(d, prec)):
                return True
        except (Undecided, _Unknown):
            return False
    return False


def _floor_int(a: tuple) -> int | None:
    if a in (libmp.finf, libmp.fninf, libmp.fnan):
        return None
    return int(libmp.to_int(a, libmp.round_floor))


def floor(v: sp.Expr) -> int:
    """⌊v⌋ exactly for a real number v, from an enclosure whose two ends have the same floor (at 64, 256, then
    1024 bits beyond v's size). `Undecided` when none has; SymPy's own `floor` for a function without a rule."""
    if v.is_Rational:
        return int(v.p // v.q)
    try:
        a, b = _ends(enclose(v, 53))
        if _floor_int(a) is None or _floor_int(b) is None:
            raise Undecided(f"{v} is not finite here")
        size = max(_bits(a), _bits(b), 0)  # bits before the point
        for extra in _PRECISIONS:
            a, b = _ends(enclose(v, size + extra))
            low, high = _floor_int(a), _floor_int(b)
            if low is not None and low == high:
                return low
    except _Unknown:
        n = sp.floor(v)
        if n.is_Integer:
            return int(n)
        raise Undecided(f"{v} has no integer part SymPy can find") from None
    raise Undecided(f"{v} is too close to an integer to tell its floor")


def round_half_away(v: sp.Expr, decimals: int) -> sp.Rational:
    """v rounded to `decimals` places, halves away from zero, exactly (the engine's `[train] round`)."""
    scale = 10**decimals
    if v.is_Rational:
        n = (2 * abs(v.p) * scale + v.q) // (2 * v.q)
        return sp.Rational(-n if v.p < 0 else n, scale)
    return sp.Rational(floor(v * scale + sp.Rational(1, 2)), scale)  # (an irrational v is never a half)


def round_half_even(v: sp.Expr, decimals: int) -> int:
    """The integer n with n / 10^decimals the value v rounded half to even (only a rational v can be a half)."""
    scale = 10**decimals
    if v.is_Rational:
        n, r = divmod(v.p * scale, v.q)
        return n + (1 if 2 * r > v.q or 2 * r == v.q and n % 2 else 0)
    return floor(v * scale + sp.Rational(1, 2))
