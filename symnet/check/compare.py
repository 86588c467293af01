"""Comparison of one written entry with one exact value: equal, right when rounded, neither, or undecided."""

from __future__ import annotations

import math
import random
import re
from functools import lru_cache

import mpmath
import sympy as sp

from ..bounds import DEFAULT, Bounds
from .verdict import ROUNDED, UNDECIDED

# Every decision is bounded, whatever the student wrote. In turn:
#
# 1. two rationals are compared exactly;
# 2. both sides are evaluated numerically (SymPy's evalf, with its error control) at 30 and then 60 significant
#    digits (with symbols: at 30, at three fixed rational points): values clearly apart are different. The
#    numbers stay binary floats of any exponent here (e^(4·10^12) is cheap as a float, not as a rational);
# 3. the difference is decided exactly as a rational function over ℚ of e^(1/q), the symbols, and unknowns for
#    everything else (logs, split over a coprime basis of the rationals in them; roots; functions): zero there is
#    zero; not zero there is not zero when no unknown was needed (e^(1/q) is transcendental). Only differences
#    whose expansion stays within `expression_nodes` terms and whose degree in e^(1/q) stays within
#    `exp_argument` are tried;
# 4. numbers are evaluated at 150 and 400 digits: clearly apart is different;
# 5. a small difference (at most `expression_nodes` / 20 nodes, integers of at most 128 bits, at most
#    `expression_nodes` terms once expanded) is given to `sympy.simplify`, which may show it is zero;
# 6. otherwise the entry is undecided, a verdict of its own (not right, not a known mistake).

EXACT = "exact"
RIGHT = (EXACT, ROUNDED)  # the outcomes of `matches` that make an entry right

_DECIMAL = re.compile(r"^\s*[+-]?(?:\d[\d_]*)?\.(?P<frac>[\d_]*)(?:[eE](?P<exp>[+-]?\d{1,4}))?\s*$")
_PRECISIONS = (30, 60, 150, 400)  # significant digits tried, in turn, to tell two numbers apart
_HYPERBOLIC = (sp.tanh, sp.sinh, sp.cosh)
_POINTS = 3  # rational points at which expressions with symbols are compared numerically
_SIMPLIFY_SHARE = 20  # sympy.simplify only for differences of at most expression_nodes / this many nodes
_SIMPLIFY_BITS = 128  # ... whose integers have at most this many bits


def decimal_places(text: str) -> int | None:
    """How many decimal places a decimal literal is written to (`0.4955` → 4, `1.5e3` → −2); None if not one."""
    m = _DECIMAL.match(text)
    if not m or not any(c.isdigit() for c in text.split(".")[0] + m["frac"]):
        return None
    return len(m["frac"].replace("_", "")) - int(m["exp"] or 0)


def nodes(v: sp.Basic, limit: int) -> int:
    """The nodes of `v`'s expression tree, counted up to `limit` + 1 (a larger tree is not walked further)."""
    n = 0
    for n, _ in enumerate(sp.preorder_traversal(v), 1):
        if n > limit:
            break
    return n


# ---------------------------------------------------------------- numbers


@lru_cache(maxsize=1 << 16)
def number(v: sp.Expr, digits: int, point: tuple[tuple[sp.Symbol, sp.Rational], ...] = ()) -> sp.Float | None:
    """`v` to `digits` significant digits (its symbols replaced by `point`'s rationals), as a SymPy Float of any
    exponent; None when it is not a real number or evalf cannot reach the precision (an unsimplified 0)."""
    try:
        x = v.evalf(digits, subs=dict(point)) if point else v.evalf(digits)
    except (ArithmeticError, ValueError, TypeError, RecursionError):
        return None
    if not x.is_Number or x.is_real is False:
        return None
    if x.is_zero:
        return sp.Float(0, digits)
    if not x.is_Float:
        x = sp.Float(x, digits)
    elif x._prec < 3 * digits:  # evalf could not reach the precision
        return None
    return x


def _apart(x: sp.Float, y: sp.Float, digits: int) -> bool:
    """True when two values known to `digits` significant digits (with 3 to spare) are certainly different."""
    return bool(abs(x - y) > (abs(x) + abs(y)) * sp.Float(10, 15) ** (3 - digits))


def _digits_before_point(x: sp.Float) -> int:
    """An upper bound on the decimal digits of |x| before the point (0 for |x| < 1), for any exponent."""
    if x.is_zero:
        return 0
    return max(0, int(mpmath.mag(mpmath.mpf(x._mpf_)) * 0.30103) + 2)


def _points(symbols: list[sp.Symbol]) -> list[tuple[tuple[sp.Symbol, sp.Rational], ...]]:
    """Fixed positive rational points (the same on every run) for the symbols of a difference."""
    if not symbols:
        return [()]
    rng = random.Random(len(symbols))
    return [tuple((s, sp.Rational(rng.randint(1, 997), rng.randint(2, 991))) for s in symbols) for _ in range(_POINTS)]


# ---------------------------------------------------------------- exact zero tests


class _Unknown(Exception):
    """The difference cannot be put in the form `_as_fraction` makes (too many terms, or too high a degree)."""


def _coprime_basis(numbers: set[int]) -> list[int]:
    """Pairwise coprime integers > 1 of which each given integer > 1 is a product of powers (by gcds only)."""
    basis: list[int] = []
    for n in sorted(numbers):
        todo = [n]
        while todo:
            m = todo.pop()
            if m <= 1:
                continue
            for k, b in enumerate(basis):
                g = math.gcd(m, b)
                if g > 1:
                    basis.pop(k)
                    todo += [g, b // g, m // g] if g != b else [g, m // g]
                    break
            else:
                basis.append(m)
        basis = sorted(set(basis))
    return basis


def _log_rationals(d: sp.Expr) -> dict[sp.Expr, sp.Expr]:
    """log(r) for the positive rationals r in `d`'s logs, as sums k·ℓ_b over a coprime basis b (ℓ_b an unknown
    standing for log(b)), so that log(6) − log(2) − log(3) is seen to be 0. Numbers of more than 64 bits are
    left alone (the gcds stay cheap)."""
    logs = [g for g in d.atoms(sp.log) if g.args[0].is_Rational and g.args[0].is_positive
            and max(g.args[0].p.bit_length(), g.args[0].q.bit_length()) <= 64]
    if not logs:
        return {}
    basis = _coprime_basis({n for g in logs for n in (g.args[0].p, g.args[0].q)})
    unknown = {b: sp.Dummy(f"log_{b}") for b in basis}
    out = {}
    for g in logs:
        r, terms = g.args[0], []
        for n, sign in ((r.p, 1), (r.q, -1)):
            for b in basis:
                k = 0
                while n % b == 0:
                    n //= b
                    k += 1
                terms.append(sign * k * unknown[b])
            if n != 1:  # (cannot happen: every input is a product of powers of the basis)
                return {}
        out[g] = sp.Add(*terms)
    return out


def _split_logs(d: sp.Expr) -> sp.Expr:
    """log(a·b^k) as log(a) + k·log(b) for positive real numbers a, b, and log(e^r) as r: valid, exact rewrites."""
    def split(g: sp.Expr) -> sp.Expr:
        u = g.args[0]
        if u.free_symbols or not u.is_Mul and not u.is_Pow:
            return g
        parts = []
        for f, k in u.as_powers_dict().items():
            if not k.is_Rational or f.is_positive is not True:
                return g
            parts.append(k * (f.args[0] if isinstance(f, sp.exp) and f.args[0].is_real else sp.log(f)))
        return sp.Add(*parts)

    return d.replace(lambda e: isinstance(e, sp.log), split) if d.has(sp.log) else d


def _as_fraction(d: sp.Expr, bounds: Bounds) -> tuple[sp.Expr, list[sp.Symbol], bool]:
    """`d` as a rational function of generators: t = e^(1/q), the symbols, and unknowns standing for every other
    atom (a log, a root, a function). Returns the function, its generators, and whether no unknown was needed."""
    exps = [p for p in d.atoms(sp.exp) if p.args[0].is_Rational]
    q = math.lcm(1, *(int(p.args[0].q) for p in exps))
    if max([abs(p.args[0]) * q for p in exps] + [q if d.has(sp.E) else 0]) > bounds.exp_argument:
        raise _Unknown("a power of e of too high a degree")
    t = sp.Dummy("t", positive=True)
    unknowns: dict[sp.Expr, sp.Dummy] = {}

    def walk(e: sp.Expr) -> sp.Expr:
        if e.is_Rational or e.is_Symbol:
            return e
        if e is sp.E:
            return t**q
        if isinstance(e, sp.exp) and e.args[0].is_Rational:
            return t ** int(e.args[0] * q)
        if e.is_Add or e.is_Mul:
            return e.func(*(walk(a) for a in e.args))
        if e.is_Pow and e.exp.is_Integer:
            return walk(e.base) ** e.exp
        if e not in unknowns:
            unknowns[e] = sp.Dummy("u")
        return unknowns[e]

    f = walk(d)
    numer, denom = _terms(f, bounds.expression_nodes)
    if max(numer, denom) > bounds.expression_nodes:
        raise _Unknown("too many terms once expanded")
    gens = sorted((f.free_symbols - {t} - set(unknowns.values())), key=str) + [t] + list(unknowns.values())
    return f, gens, not unknowns


def _terms(e: sp.Expr, cap: int) -> tuple[int, int]:
    """Upper bounds (capped just above `cap`) on the terms of the numerator and denominator of `e` expanded."""
    top = cap + 1
    if e.is_Add:
        groups: dict[sp.Expr, list[int]] = {}  # terms over one denominator add their numerators
        for a in e.args:
            numer, denom = _terms(a, cap)
            group = groups.setdefault(sp.fraction(a)[1], [0, denom])
            group[0] += numer
        denom = math.prod(d for _, d in groups.values())
        numer = sum(n * (denom // d) for n, d in groups.values())  # Σ n_i Π_{j≠i} d_j
        return min(numer, top), min(denom, top)
    if e.is_Mul:
        parts = [_terms(a, cap) for a in e.args]
        return min(math.prod(n for n, _ in parts), top), min(math.prod(d for _, d in parts), top)
    if e.is_Pow and e.exp.is_Integer:
        numer, denom = _terms(e.base, cap)
        k = abs(int(e.exp))
        if e.exp < 0:
            numer, denom = denom, numer
        return _power_terms(numer, k, top), _power_terms(denom, k, top)
    return 1, 1


def _power_terms(n: int, k: int, top: int) -> int:
    """Terms of (a sum of n terms)^k, at most the monomials of degree k in n variables, C(n + k − 1, k), capped."""
    if n <= 1:
        return 1
    c = 1
    for i in range(1, k + 1):  # C(n + i − 1, i) from C(n + i − 2, i − 1)
        c = c * (n + i - 1) // i
        if c >= top:
            return top
    return c


def zero(d: sp.Expr, bounds: Bounds = DEFAULT) -> bool | None:
    """Decide d = 0 exactly: True, False, or None when it cannot be decided within the bounds."""
    if d.is_Rational:
        return d == 0
    if d.has(*_HYPERBOLIC):
        d = d.rewrite(sp.exp)
    d = _split_logs(d)
    logs = _log_rationals(d)
    if logs:
        d = d.xreplace(logs)
    try:
        f, gens, complete = _as_fraction(d, bounds)
        value = sp.QQ.frac_field(*gens).from_sympy(f)  # exact arithmetic in ℚ(gens)
    except (_Unknown, sp.polys.polyerrors.PolynomialError, sp.polys.polyerrors.CoercionFailed,
            ZeroDivisionError, RecursionError):
        return None
    if value == 0:
        return True
    return False if complete and not logs else None  # (e and the logs are not known to be independent)


def _simplifies_to_zero(d: sp.Expr, bounds: Bounds) -> bool | None:
    """True when `sympy.simplify` shows a small d is 0; None otherwise (too large to try, or not shown)."""
    if nodes(d, bounds.expression_nodes) > bounds.expression_nodes // _SIMPLIFY_SHARE:
        return None
    if any(max(abs(r.p).bit_length(), r.q.bit_length()) > _SIMPLIFY_BITS for r in d.atoms(sp.Rational)):
        return None
    if max(_terms(d, bounds.expression_nodes)) > bounds.expression_nodes:
        return None  # simplify would expand it: (x1 + x2 + w1 + w2 + c)^64 has 814385 terms
    try:
        return True if sp.simplify(d) == 0 else None
    except (ArithmeticError, ValueError, TypeError, RecursionError):
        return None


# ---------------------------------------------------------------- equal, rounded, matches


@lru_cache(maxsize=1 << 16)
def equal(a: sp.Expr, b: sp.Expr, bounds: Bounds = DEFAULT) -> bool | None:
    """True when two exact values are the same number (or the same expression of symbols), False when they are
    not, None when that cannot be decided within the bounds."""
    if a == b:
        return True
    if a.is_Rational and b.is_Rational:
        return False
    d = a - b
    if d.is_Rational:
        return d == 0
    if nodes(a, bounds.expression_nodes) + nodes(b, bounds.expression_nodes) > 2 * bounds.expression_nodes:
        return None
    symbols = sorted(d.free_symbols, key=str)
    points = _points(symbols)
    for digits in _PRECISIONS[:2] if not symbols else _PRECISIONS[:1]:
        for point in points:
            xa, xb = number(a, digits, point), number(b, digits, point)
            if xa is not None and xb is not None and _apart(xa, xb, digits):
                return False  # clearly apart
    decided = zero(d, bounds)
    if decided is not None:
        return decided
    if not symbols:
        for digits in _PRECISIONS[2:]:
            xa, xb = number(a, digits), number(b, digits)
            if xa is not None and xb is not None and _apart(xa, xb, digits):
                return False
    return _simplifies_to_zero(d, bounds)


def rounds_to(value: sp.Expr, given: sp.Rational, places: int, bounds: Bounds = DEFAULT) -> bool | None:
    """True when `value`, rounded to `places` decimals, gives `given` (an exact tie accepts either neighbour);
    None when that cannot be decided within the bounds."""
    if value.free_symbols:
        return False
    half = sp.Rational(1, 2) * sp.Rational(10) ** (-places)
    if value.is_Rational:
        return abs(value - given) <= half
    rough = number(value, 15)
    if rough is None:  # an unsimplified 0, or not a real number
        is_zero = zero(value, bounds)
        return None if is_zero is None else is_zero and abs(given) <= half
    g = sp.Float(given, 30)
    if abs(rough - g) - (abs(rough) + abs(g)) * sp.Float(10, 15) ** -12 > sp.Float(half, 30) * 2:
        return False  # far from it: and now |value| is at most about |given|, a number written with bounded digits
    magnitude = _digits_before_point(rough)
    for digits in _PRECISIONS:  # in floats, never as a rational (e^-(10^12) would be one of 10^12 bits)
        n = digits + max(places, 0) + magnitude
        x = number(value, n)
        if x is None:
            return None
        g, h = sp.Float(given, n + 10), sp.Float(half, n + 10)
        err = abs(x) * sp.Float(10, 15) ** (3 - n) + sp.Float(10, 15) ** -n
        distance = abs(x - g)
        if distance + err < h:
            return True
        if distance - err > h:
            return False
    midpoint = given + half if x > given else given - half  # the value is within 10^-395 of it
    if equal(value, midpoint, bounds):
        return True  # an exact tie, accepted either way
    side = number(value - midpoint, 15)  # (SymPy may cancel the difference exactly: 1/8 + e^-2000 − 1/8)
    if side is None or side.is_zero:
        return None
    return bool((side < 0) == (midpoint > given))  # on the given's side of the midpoint


def matches(given: sp.Expr, places: int | None, value: sp.Expr, bounds: Bounds = DEFAULT) -> str | None:
    """EXACT when `given` is `value`, ROUNDED when it is `value` rounded at the places written, UNDECIDED when
    that cannot be decided within the bounds, else None (different)."""
    same = equal(given, value, bounds)
    if same:
        return EXACT
    if places is not None and given.is_Rational:
        rounded = rounds_to(value, given, places, bounds)
        if rounded:
            return ROUNDED
        if rounded is None:
            return UNDECIDED
    return UNDECIDED if same is None else None


# ---------------------------------------------------------------- what a value rounds to


def rounded_at(value: sp.Expr, places: int) -> tuple[sp.Rational, sp.Rational | None] | None:
    """`value` rounded to `places` decimals: (the rounding, None), or at an exact tie (the neighbour away from
    zero, the one towards zero), both right; None when it cannot be told (symbols, not a real number)."""
    if value.free_symbols:
        return None
    scale = sp.Integer(10) ** places
    if value.is_Rational:
        scaled = value * scale
    else:
        x = number(value, 30 + max(places, 0) + _digits_before_point(number(value, 15) or sp.Float(0)))
        if x is None:
            return None
        scaled = sp.Rational(str(x)) * scale  # (an irrational value is no tie; 30 digits to spare decide the side)
    low = sp.floor(abs(scaled))
    sign = -1 if scaled < 0 else 1
    if abs(scaled) - low == sp.Rational(1, 2):
        return sign * (low + 1) / scale, sign * low / scale
    n = sp.floor(abs(scaled) + sp.Rational(1, 2))
    return sign * n / scale, None


def near_miss(given: sp.Rational, places: int, value: sp.Expr) -> bool:
    """True when a decimal written to `places` places is off its exact value by less than two units in its last
    place, and the value itself needs more places than that (a rounding slip, not another mistake)."""
    if places < 1 or value.free_symbols or not given.is_Rational:
        return False
    unit = sp.Rational(1, 10) ** places
    if value.is_Rational:
        if (value / unit).is_Integer:
            return False  # the value is exact at these places: a different number is a different answer
        return abs(value - given) < 2 * unit
    x = number(value, 30)
    return x is not None and abs(x - sp.Float(given, 30)) < sp.Float(2 * unit, 30)


def decimal_text(x: sp.Rational, places: int) -> str:
    """A rational that is a whole number of 10^-places, written with exactly `places` decimals: −1.10."""
    if places <= 0:
        return str(x)
    n = int(abs(x) * sp.Integer(10) ** places)
    whole, frac = divmod(n, 10**places)
    return f"{'-' if x < 0 else ''}{whole}.{frac:0{places}d}"
