"""Decimal approximations of exact values for the float oracles (independent of the checker's own comparison)."""

from __future__ import annotations

from collections.abc import Mapping

import mpmath
import sympy as sp

_FUNCS = {sp.exp: mpmath.exp, sp.log: mpmath.log, sp.tanh: mpmath.tanh}


def approx(expr: sp.Expr, digits: int = 30, max_digits: int = 5000, at: Mapping[sp.Symbol, sp.Rational] | None = None) -> mpmath.mpf:
    """The value of a numeric SymPy expression, correct to about `digits` significant digits.

    Each distinct subexpression is evaluated once, so deep expressions that share subtrees cost
    their DAG size, not their tree size. The working precision doubles until two evaluations
    agree, so cancellation (1 − e⁹⁹/(1 + e⁹⁹)) costs precision, not correctness; a value below
    10^(−2·digits) in size (an exact 0 written as a − a, say) is given as that tiny difference.
    Symbols take their rational values from `at`; Max, Min, Heaviside and Piecewise are evaluated
    by comparing their evaluated arguments.
    """
    work, last = digits + 10, None
    while work <= max_digits:
        with mpmath.workdps(work):
            try:
                value = _eval(expr, dict(at or {}))
            except ZeroDivisionError:
                value = None
            if value is not None and last is not None and (
                value == last or abs(value - last) <= max(abs(value), mpmath.mpf(10) ** -digits) * mpmath.mpf(10) ** (-digits - 2)
            ):
                with mpmath.workdps(digits):
                    return +value
        last, work = value, work * 2
    raise ArithmeticError(f"no {digits}-digit approximation within {max_digits} digits of precision")


def _eval(e: sp.Basic, memo: dict) -> mpmath.mpf:
    hit = memo.get(e)
    if hit is not None:
        return hit
    if e.is_Rational:
        v = mpmath.mpf(e.p) / e.q
    elif e.is_Symbol:
        raise ValueError(f"no value for the symbol {e}")
    elif e is sp.E:
        v = mpmath.e
    elif e.is_Add:
        v = mpmath.fsum(_eval(a, memo) for a in e.args)
    elif e.is_Mul:
        v = mpmath.fprod(_eval(a, memo) for a in e.args)
    elif e.is_Pow:
        b, x = e.args
        v = mpmath.power(_eval(b, memo), _eval(x, memo)) if not x.is_Integer else _eval(b, memo) ** int(x)
    elif e.func in _FUNCS:
        v = _FUNCS[e.func](_eval(e.args[0], memo))
    elif isinstance(e, (sp.Max, sp.Min)):
        v = (max if isinstance(e, sp.Max) else min)(_eval(a, memo) for a in e.args)
    elif isinstance(e, sp.Heaviside):
        x = _eval(e.args[0], memo)
        v = mpmath.mpf(1) if x > 0 else mpmath.mpf(0) if x < 0 else _eval(e.args[1], memo)
    elif isinstance(e, sp.Piecewise):
        v = next(_eval(x, memo) for x, cond in e.args if _holds(cond, memo))
    else:
        v = mpmath.mpf(sp.N(e, mpmath.mp.dps))
    memo[e] = v
    return v


_RELATIONS = {sp.StrictGreaterThan: lambda a, b: a > b, sp.GreaterThan: lambda a, b: a >= b,
              sp.StrictLessThan: lambda a, b: a < b, sp.LessThan: lambda a, b: a <= b}


def _holds(cond: sp.Basic, memo: dict) -> bool:
    if cond is sp.true:
        return True
    if cond is sp.false:
        return False
    if type(cond) in _RELATIONS:
        return _RELATIONS[type(cond)](_eval(cond.lhs, memo), _eval(cond.rhs, memo))
    if isinstance(cond, sp.ITE):
        a, b, c = cond.args
        return _holds(b, memo) if _holds(a, memo) else _holds(c, memo)
    if isinstance(cond, sp.And):
        return all(_holds(a, memo) for a in cond.args)
    if isinstance(cond, sp.Or):
        return any(_holds(a, memo) for a in cond.args)
    if isinstance(cond, sp.Not):
        return not _holds(cond.args[0], memo)
    raise ValueError(f"cannot decide {cond}")
