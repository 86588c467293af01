"""Named bounds on input size and work, each quoted in the error it raises."""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from fractions import Fraction
from typing import Any

import sympy as sp

from .errors import BoundError, SpecError, UsageError
from .held import Kept, kept


@dataclass(frozen=True)
class Bounds:
    """Limits that keep every piece of work small; raise one with `dataclasses.replace`."""

    entry_length: int = 200  # characters in one entry
    digits: int = 40  # digits in one number literal
    decimal_exponent: int = 40  # |n| in a literal like 1e-n
    exponent: int = 64  # |p| and |q| of a numeric exponent p/q
    power_bits: int = 4096  # bits of an exact power a^n computed from the input
    nesting: int = 20  # depth of parentheses, signs and powers in one entry
    name_length: int = 32  # characters in a symbol name
    rows: int = 64  # rows of any matrix
    cols: int = 64  # columns of any matrix
    layers: int = 16  # layers in a network
    steps: int = 20  # gradient-descent steps
    file_bytes: int = 1_000_000  # size of a spec or answers file
    result_bits: int = 65536  # bits in the largest numerator/denominator of a result
    expression_nodes: int = 2000  # nodes in the expression tree of one entry of a computed quantity
    text_length: int = 2000  # characters in a title or description
    entries: int = 600000  # entries of all computed quantities of a solve, estimated from shapes, layers and steps
    quantity_nodes: int = 50000  # nodes in all the entries of one computed quantity together
    exp_argument: int = 10000  # |z| in e^z computed by sigmoid, tanh or softmax (the spread, for softmax)
    function_depth: int = 6  # exp, log, tanh or b^z nested in a number an e-activation is computed from

    def raised(self, settings: list[str]) -> "Bounds":
        """These bounds with `NAME=VALUE` settings applied (the CLI's --bound); a bad setting is a UsageError."""
        names = [f.name for f in fields(self)]
        changes: dict[str, int] = {}
        for setting in settings:
            name, sep, value = setting.partition("=")
            name = name.strip().replace("-", "_")
            if not sep or name not in names:
                raise UsageError(f"--bound {setting!r}: expected NAME=VALUE with NAME one of {', '.join(names)}")
            value = value.strip().replace("_", "")
            if not (value.isascii() and value.isdigit() and 0 < len(value) <= 12 and int(value) > 0):
                raise UsageError(f"--bound {setting!r}: the value must be a whole number from 1 to 999999999999")
            changes[name] = int(value)
        return replace(self, **changes)


DEFAULT = Bounds()


def check_nodes(name: str, value: object, bounds: Bounds = DEFAULT, source: str | None = None) -> None:
    """Refuse a computed quantity with an entry of more than `bounds.expression_nodes` nodes, or more than
    `bounds.quantity_nodes` in all its entries together.

    Several gradient-descent steps through e-based activations nest expressions exponentially, and wide layers of
    sigmoids feed e^(a long sum) to the next layer; this stops both before SymPy spends minutes on them. An entry
    that is not finite (it divides by, or takes the log of, a number equal to 0 in disguise) is refused too."""
    entries = value if isinstance(value, sp.MatrixBase) else [value]
    total, sizes = 0, dict[sp.Basic, int]()  # of the subtrees met: a subtree shared by many entries is walked once
    for v in entries:
        n = tree_size(v, bounds.expression_nodes, sizes) if isinstance(v, sp.Basic) else 1
        if n > bounds.expression_nodes:
            raise BoundError(f"an entry grows beyond {bounds.expression_nodes} nodes (bound: expression_nodes); "
                             "use fewer steps, exp_base = 3, or fewer symbols", source=source, field=name)
        total += n
        if total > bounds.quantity_nodes:
            raise BoundError(f"its entries grow beyond {bounds.quantity_nodes} nodes together (bound: quantity_nodes); "
                             "use smaller layers, exp_base = 3, or fewer symbols", source=source, field=name)
    problem = infinite(entries, bounds)
    if problem:
        raise _not_finite(problem, source, name)


def subtrees(roots: list[sp.Basic]) -> Iterator[sp.Basic]:
    """Every distinct subexpression of the roots that is not an atom, each once (a DAG's nodes, not its tree's)."""
    seen: set = set()
    stack = list(roots)
    while stack:
        e = stack.pop()
        if e.is_Atom or e in seen:
            continue
        seen.add(e)
        stack.extend(e.args)
        yield e


def _not_finite(problem: str, source: str | None, field: str) -> SpecError:
    return SpecError(f"{problem}: the value is not a finite number", source=source, field=field)


def infinite(values: object, bounds: Bounds = DEFAULT) -> str | None:
    """What makes a value (or any of several) not finite: "divides by d, which is 0" (or "takes the log of d,
    which ...", "... which cannot be told from 0"), for a number d without symbols; None when every denominator
    and log argument is a number shown not to be 0. SymPy does not see that 1/(log(6) − log(2) − log(3)) is
    infinite: a key would print a wrong finite value for it."""
    roots = [v for v in (values if isinstance(values, (list, tuple, sp.MatrixBase)) else [values])
             if isinstance(v, sp.Basic)]
    for e in subtrees(roots):
        if e.is_Pow and e.exp.is_negative and e.base.is_number and not e.base.is_Rational:
            what, d = "divides by", e.base
        elif isinstance(e, sp.log) and e.args[0].is_number and not e.args[0].is_Rational:
            what, d = "takes the log of", e.args[0]
        else:
            continue
        decided = nonzero(d, bounds)
        if decided is not True:
            return f"{what} {_cut(str(d))}, which {'is 0' if decided is False else 'cannot be told from 0'}"
    return None


@functools.lru_cache(maxsize=4096)
def nonzero(d: sp.Expr, bounds: Bounds = DEFAULT) -> bool | None:
    """True when the number d is certainly not 0, False when it is 0 (in disguise), None when neither is shown:
    interval arithmetic at rising precision, then an exact decision (`symnet.check.compare.zero`)."""
    from .intervals import excludes_zero

    if excludes_zero(d):
        return True
    from .check.compare import number, zero  # (imported late: the checker reads answers through the grammar)

    if zero(d, bounds):
        return False
    estimate = number(d, 30)
    return True if estimate is not None and not estimate.is_zero else None


def _cut(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def tree_size(e: sp.Basic, cap: int, sizes: dict) -> int:
    """The nodes of e as a tree (what `sympy.preorder_traversal` walks), counted once per distinct subtree; a
    count past `cap` stops there (it is then only known to be more than `cap`)."""
    if e.is_Atom:
        return 1
    n = sizes.get(e)
    if n is None:
        n = 1
        for a in e.args:
            n += tree_size(a, cap, sizes)
            if n > cap:
                break
        sizes[e] = n
    return n


def check_powers(Z: object, base: sp.Expr, bounds: Bounds = DEFAULT, source: str | None = None,
                 field: str | None = None) -> None:
    """Refuse base**z for the entries z of Z (an activation's input) when it would run away.

    With e, |z| beyond `bounds.exp_argument` (e^(10**39) is exact, but every decimal of it costs 10**39 bits);
    with a number base (3 for e), an exact power beyond `bounds.power_bits` (3**(10**30) never finishes).
    An irrational z is sized by `estimate`, in floats, in one walk over its distinct subtrees. A z nesting
    `bounds.function_depth` functions already is refused too: SymPy decides the sign of each new one (a number)
    by evaluating it at rising precision, and whether it is real (symbols) by splitting it into real and
    imaginary parts, level by level, at a cost that doubles with every level (16 tanh layers: minutes). So is a z
    holding a power of a sum that multiplies out to more than `bounds.expression_nodes` terms: SymPy expands it to
    split e^z into its real and imaginary parts ((log(6) − log(2) − log(3) − 1)^64: 47905 terms)."""
    entries = Z if isinstance(Z, sp.MatrixBase) else [Z]
    if max((expansion_terms(z, bounds.expression_nodes) for z in entries if isinstance(z, sp.Basic)),
           default=0) > bounds.expression_nodes:
        raise BoundError(f"a power in its input multiplies out to more than {bounds.expression_nodes} terms "
                         "(bound: expression_nodes): SymPy would expand it to take the activation",
                         source=source, field=field)
    depths: dict = {}
    deepest = max((function_depth(z, depths) for z in entries if isinstance(z, sp.Expr)), default=0)
    if deepest >= bounds.function_depth:
        raise BoundError(f"its input nests {deepest} exponentials, logs or tanh, and this activation one more, beyond "
                         f"{bounds.function_depth} (bound: function_depth); use fewer sigmoid, tanh or softmax "
                         "layers, or exp_base = 3", source=source, field=field)
    if not isinstance(base, sp.Expr) or base.free_symbols:
        return  # x**z stays symbolic: nothing is computed
    memo: dict = {}
    found = [z if z.is_Rational else _sized(z, memo) for z in entries if isinstance(z, sp.Expr) and z.is_number]
    sizes: list[Any] = [z for z in found if z is not None]
    if not sizes:
        return
    low, high = min(sizes), max(sizes)
    size = max(abs(low), abs(high), high - low)  # |z| for sigmoid and tanh, the spread for softmax
    if base == sp.E:
        if size > bounds.exp_argument:
            raise BoundError(f"e^z with |z| up to about {_short(size)}, beyond {bounds.exp_argument} "
                             "(bound: exp_argument); choose smaller weights", source=source, field=field)
        return
    if base.is_Rational:
        per_unit = max(abs(base.p).bit_length(), base.q.bit_length(), 1)
    else:  # sqrt(2)**z is 2**(z/2), computed: judge by log2 of the base
        per_unit = int(abs(math.log2(abs(estimate(base, memo))))) + 1
    if size > sp.Rational(bounds.power_bits, per_unit):
        raise BoundError(f"{base}^z with |z| up to about {_short(size)} needs more than {bounds.power_bits} bits "
                         "(bound: power_bits); choose smaller weights", source=source,
                         field=f"{field}.exp_base" if field else "exp_base")


@functools.cache
def _transcendental() -> tuple[type, ...]:
    return sp.exp, sp.log, sp.tanh, sp.sinh, sp.cosh


def function_depth(e: sp.Basic, memo: dict | None = None) -> int:
    """The most exp, log, tanh (or powers with an irrational exponent) nested in e along one path from its root."""
    memo = {} if memo is None else memo
    if e.is_Atom:
        return 0
    d = memo.get(e)
    if d is None:
        inner = max((function_depth(a, memo) for a in e.args), default=0)
        own = isinstance(e, _transcendental()) or (e.is_Pow and not e.exp.is_Rational)
        d = memo[e] = inner + (1 if own else 0)
    return d


def expansion_terms(e: sp.Basic, cap: int) -> int:
    """The most terms (capped just above `cap`) a power of a sum in e, (a + b + …)^k with k ≥ 2, multiplies out to:
    what SymPy expands when it splits a function of e into real and imaginary parts ((a + … + h)^64 has 10^9).
    1 when e holds no such power."""
    sizes: dict = {}
    top = 1
    for x in subtrees([e]):
        if x.is_Pow and x.exp.is_Integer and abs(x.exp) >= 2:
            top = max(top, _power_terms(_terms(x.base, cap, sizes), abs(int(x.exp)), cap + 1))
            if top > cap:
                return top
    return top


def _terms(e: sp.Basic, cap: int, sizes: dict) -> int:
    """An upper bound (capped) on the terms of e multiplied out: sums add, products multiply, powers multinomially."""
    if e.is_Atom:
        return 1
    n = sizes.get(e)
    if n is None:
        if e.is_Add:
            n = sum(_terms(a, cap, sizes) for a in e.args)
        elif e.is_Mul:
            n = math.prod(_terms(a, cap, sizes) for a in e.args)
        elif e.is_Pow and e.exp.is_Integer:
            n = _power_terms(_terms(e.base, cap, sizes), abs(int(e.exp)), cap + 1)
        else:
            n = 1
        n = sizes[e] = min(n, cap + 1)
    return n


def _power_terms(n: int, k: int, top: int) -> int:
    """Terms of (a sum of n terms)^k: C(n + k − 1, k), the monomials of degree k in n variables, capped at top."""
    c = 1
    for i in range(1, k + 1):
        c = c * (n + i - 1) // i
        if c >= top:
            return top
    return c


def _sized(z: sp.Expr, memo: dict) -> sp.Expr | float | None:
    """The size estimate of an irrational number z: a float (inf when beyond floats); 15 digits of SymPy's evalf
    where the float walk cannot tell (NaN); None when even that gives no number."""
    x = estimate(z, memo)
    if x == x:
        return x
    value = z.evalf(15)
    return value if value.is_Number else None


@functools.cache
def _float_functions() -> dict[Any, Callable[[float], float]]:
    return {sp.exp: math.exp, sp.log: math.log, sp.tanh: math.tanh, sp.sinh: math.sinh, sp.cosh: math.cosh,
            sp.Abs: abs}


def estimate(e: sp.Expr, memo: dict | None = None) -> float:
    """A number without symbols, in floats: each distinct subtree evaluated once (SymPy's evalf raises its
    precision level by level, which is exponential in the depth of tanh(tanh(...)) chains). inf beyond floats,
    NaN where it cannot tell (not real, or inf − inf). Only to size an exponent: a float is far more precise than
    any bound needs."""
    memo = {} if memo is None else memo
    x = memo.get(e)
    if x is None:
        x = _estimate(e, memo)
        memo[e] = x
    return x


def _estimate(e: sp.Expr, memo: dict) -> float:
    try:
        if e.is_Rational:
            return float(Fraction(int(e.p), int(e.q)))
        if e.is_Number or e.is_NumberSymbol:
            return float(e)
        args = [estimate(a, memo) for a in e.args]
        if e.is_Add:
            return math.fsum(args)
        if e.is_Mul:
            return math.prod(args)
        if e.is_Pow:
            return math.pow(args[0], args[1])
        f = _float_functions().get(e.func)
        if f is not None and len(args) == 1:
            return f(args[0])
        if isinstance(e, (sp.Max, sp.Min)):
            return (max if isinstance(e, sp.Max) else min)(args)
        value = e.func(*(sp.Float(a, 15) for a in args)).evalf(15)  # anything else, on float arguments
        return float(value) if value.is_Number else math.nan
    except OverflowError:
        return math.inf
    except (ValueError, TypeError, ZeroDivisionError):
        return math.nan


def _short(value: sp.Expr | float) -> str:
    if isinstance(value, float):
        return "infinity" if math.isinf(value) else str(sp.Float(value, 3))
    if value.is_Rational and max(abs(value.p).bit_length(), value.q.bit_length()) > 40:
        return str(sp.Float(value, 3))  # (str() of a 5000-digit integer raises, and is long)
    text = str(value)
    return text if len(text) <= 12 else str(sp.Float(value, 3))


@contextmanager
def long_numbers() -> Iterator[None]:
    """Let Python write integers of any length meanwhile (by default it refuses beyond 4300 digits). The bounds
    (digits, power_bits, result_bits) keep every number symnet computes finite, and writing it quick; only for
    writing results, never around reading input (reading a long integer is quadratic)."""
    before = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else None
    if before:
        sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        if before:
            sys.set_int_max_str_digits(before)


def check_entries(exercise: object, bounds: Bounds = DEFAULT) -> None:
    """Refuse, before any work, an exercise whose quantities would hold more than `bounds.entries` entries.

    Per step and layer k (n neurons, m inputs, batch N): about six n×N quantities (Z, A, their derivatives)
    and two n×(m+1) (∂L/∂W with ∂L/∂b, and the update)."""
    layers = getattr(exercise, "layers", ())
    X = kept(exercise, "X") if layers else None
    if X is None:
        return
    from .ops import op

    train = getattr(exercise, "train", None)
    steps = train.steps if train is not None else 1
    total, shape = 0, X.shape
    for l in layers:
        o, params = op(l.type), Kept(l)  # (shapes only: plain numbers stay as read)
        total += o.entries(params, *shape)
        shape = o.out_shape(params, shape)
    total *= steps
    if total > bounds.entries:
        field = "train.steps" if steps > 1 else "layers"
        raise BoundError(f"about {total} entries to compute, more than {bounds.entries} (bound: entries); "
                         "use fewer or smaller layers, or fewer steps", source=getattr(exercise, "source", None),
                         field=field)
