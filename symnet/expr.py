"""Our own grammar for spec entries, built straight into SymPy objects; nothing is evaluated as code."""

from __future__ import annotations

import functools
import keyword
import re
from collections.abc import Callable

import sympy as sp

from .bounds import DEFAULT, Bounds, expansion_terms, infinite
from .errors import BoundError, EntryError, SymnetError


class FloatText(str):
    """The decimal text of a TOML or JSON float, kept so `0.1` reads as exactly 1/10."""


FUNCTIONS = ("exp", "log", "ln", "sqrt")  # the functions an entry may call
CONSTANTS = ("e", "E")  # Euler's number (E: as SymPy prints it, so printed values read back)


@functools.cache
def _function(name: str) -> Callable[[sp.Expr], sp.Expr]:
    return {"exp": sp.exp, "log": sp.log, "ln": sp.log, "sqrt": sp.sqrt}[name]


@functools.cache
def reserved() -> frozenset[str]:
    """Names SymPy's parser would read as something else, so that a value printed with them would not read back."""
    return frozenset(n for n in dir(sp) if not n.startswith("_")) | frozenset(keyword.kwlist) | {"oo", "zoo", "nan"}


NOT_FINITE = frozenset({"nan", "inf", "infinity"})  # (any case) names a reader would take for a non-finite float

_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z][A-Za-z0-9_]*)|(?P<op>\*\*|[-+*/^()]))",
    re.ASCII,
)
_NUMBER = re.compile(r"^(?P<int>\d*)(?:\.(?P<frac>\d*))?(?:[eE](?P<exp>[+-]?\d+))?$", re.ASCII)


def symbol(name: str) -> sp.Symbol:
    """The SymPy symbol for a name in a spec (no assumptions, so printed values read back the same)."""
    return sp.Symbol(name)


def parse_number(text: str, bounds: Bounds = DEFAULT) -> sp.Rational:
    """The exact rational a decimal literal reads as: `0.1` is 1/10, `2.5e-3` is 1/400."""
    m = _NUMBER.match(text)
    if not m or not (m["int"] or m["frac"]):
        raise EntryError(f"{text!r} is not a number")
    digits = ((m["int"] or "") + (m["frac"] or "")).lstrip("0")
    if len(digits) > bounds.digits:
        raise BoundError(f"{text[:20]}...: more than {bounds.digits} digits (bound: digits)")
    e = int(m["exp"]) if m["exp"] and len(m["exp"]) <= 8 else (0 if not m["exp"] else 10**9)
    if abs(e) > bounds.decimal_exponent:
        raise BoundError(f"{text[:20]!r}: decimal exponent beyond ±{bounds.decimal_exponent} (bound: decimal_exponent)")
    e -= len(m["frac"] or "")
    limit = bounds.digits + bounds.decimal_exponent
    if -e > limit:  # 0.000…01: few digits, but a denominator of 10^(places)
        raise BoundError(f"{text[:20]}...: {-e} decimal places, more than {limit} (bounds: digits, decimal_exponent)")
    n = sp.Integer(int(digits or "0"))
    return n * sp.Integer(10) ** e if e >= 0 else n / sp.Integer(10) ** (-e)


class _Parser:
    """Recursive descent over the tokens of one entry: expr, term, unary, power, atom."""

    def __init__(self, text: str, bounds: Bounds) -> None:
        self.bounds = bounds
        self.tokens = self._tokenize(text)
        self.i = 0
        self.depth = 0

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str]]:
        tokens, pos, text = [], 0, text.rstrip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                bad = text[pos:].lstrip(" \t\r\n\f\v")[:1]
                raise EntryError(f"unexpected character {bad!r} in {text!r}")
            kind = m.lastgroup
            assert kind is not None  # every alternative of _TOKEN is a named group
            tokens.append((kind, m[kind]))
            pos = m.end()
        return tokens

    def peek(self) -> str | None:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        if self.i >= len(self.tokens):
            raise EntryError("unexpected end of entry")
        self.i += 1
        return self.tokens[self.i - 1]

    def expect(self, op: str) -> None:
        kind, tok = self.take()
        if tok != op:
            raise EntryError(f"expected {op!r}, found {tok!r}")

    def nest(self) -> None:
        self.depth += 1
        if self.depth > self.bounds.nesting:
            raise BoundError(f"nested deeper than {self.bounds.nesting} levels (bound: nesting)")

    def parse(self) -> sp.Expr:
        if not self.tokens:
            raise EntryError("empty entry")
        value = self.expr()
        if self.i != len(self.tokens):
            kind, tok = self.tokens[self.i]
            after_number = self.i > 0 and self.tokens[self.i - 1][0] == "num" and kind == "name"
            hint = f" (write {self.tokens[self.i - 1][1]}*{tok} for a product)" if after_number else ""
            raise EntryError(f"unexpected {tok!r}{hint}")
        return value

    def expr(self) -> sp.Expr:
        value = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()[1]
            rhs = self.term()
            value = value + rhs if op == "+" else value - rhs
        return value

    def term(self) -> sp.Expr:
        value = self.unary()
        while self.peek() in ("*", "/"):
            op = self.take()[1]
            rhs = self.unary()
            if op == "*":
                value = value * rhs
            else:
                if rhs.is_zero:
                    raise EntryError("division by zero")
                value = value / rhs
        return value

    def unary(self) -> sp.Expr:
        if self.peek() in ("+", "-"):
            op = self.take()[1]
            self.nest()
            value = self.unary()
            self.depth -= 1
            return -value if op == "-" else value
        return self.power()

    def power(self) -> sp.Expr:
        base = self.atom()
        if self.peek() not in ("^", "**"):
            return base
        self.take()
        self.nest()
        exponent = self.unary()  # right-associative: 2^3^2 is 2^(3^2)
        self.depth -= 1
        return self.checked_power(base, exponent)

    def checked_power(self, base: sp.Expr, exponent: sp.Expr) -> sp.Expr:
        b = self.bounds
        if exponent.is_Rational:
            p, q = exponent.p, exponent.q
            if abs(p) > b.exponent or q > b.exponent:
                raise BoundError(f"exponent {_short(exponent)} beyond ±{b.exponent} (bound: exponent)")
            if base.is_Rational:
                if base.is_zero and p < 0:
                    raise EntryError("division by zero (0 to a negative power)")
                if base.is_negative and q != 1:
                    raise EntryError(f"({base})^({exponent}) is not a real number")
                bits = max(abs(base.p).bit_length(), base.q.bit_length()) * abs(p) / q
                if bits > b.power_bits:
                    raise BoundError(f"power of about {int(bits)} bits, beyond {b.power_bits} (bound: power_bits)")
        elif exponent.is_number:  # an irrational exponent (2^sqrt(2)) stays symbolic, but its size is bounded
            check_magnitude(exponent, "exponent", b)
        value = sp.Pow(base, exponent)
        if value.is_Pow and value.exp.is_Rational and abs(value.exp.p) > b.exponent:
            raise BoundError(f"exponent {_short(value.exp)} beyond ±{b.exponent} (bound: exponent)")  # (x^64)^64
        check_exponentials(value, b)  # exp(64)^64 is exp(4096)
        return value

    def atom(self) -> sp.Expr:
        kind, tok = self.take()
        if tok == "(":
            self.nest()
            value = self.expr()
            self.expect(")")
            self.depth -= 1
            return value
        if kind == "num":
            return parse_number(tok, self.bounds)
        if kind == "name":
            if self.peek() == "(":
                if tok not in FUNCTIONS:
                    raise EntryError(f"unknown function {tok!r} (allowed: {', '.join(sorted(FUNCTIONS))})")
                self.take()
                self.nest()
                arg = self.expr()
                self.expect(")")
                self.depth -= 1
                return self.checked_function(tok, arg)
            if tok in FUNCTIONS:
                raise EntryError(f"{tok!r} is a function: write {tok}(...)")
            if tok.lower() in NOT_FINITE:
                raise EntryError(f"{tok} is not a finite number")
            return sp.E if tok in CONSTANTS else symbol(check_name(tok, self.bounds))
        raise EntryError(f"unexpected {tok!r}")

    def checked_function(self, name: str, arg: sp.Expr) -> sp.Expr:
        if name == "exp" and arg.is_number:  # exp(a) is e^a: the same bound as a written exponent
            check_magnitude(arg, "exponent", self.bounds)
        if name in ("log", "ln") and arg.is_number and not arg.is_positive:
            raise EntryError(f"log of {arg}, which is not positive")
        if name == "sqrt" and arg.is_number and arg.is_negative:
            raise EntryError(f"sqrt of {arg}, which is negative")
        return _function(name)(arg)


def check_finite(result: sp.Expr, text: str, bounds: Bounds = DEFAULT) -> None:
    """Refuse an entry that divides by a number equal to 0 in disguise (1/(log(6) − log(2) − log(3))), or takes
    its log: SymPy does not see it is infinite (see `symnet.bounds.infinite`)."""
    problem = infinite(result, bounds)
    if problem:
        raise EntryError(f"{_short(text)!r} {problem}: not a finite value")


def check_exponentials(value: sp.Expr, bounds: Bounds = DEFAULT) -> None:
    """Refuse an exp(a), a a number, beyond ±`bounds.exponent`: SymPy merges exp(64)^64 and exp(64)·exp(64) into one."""
    for f in value.atoms(sp.exp):
        if f.args[0].is_number:
            check_magnitude(f.args[0], "exponent", bounds)


def check_magnitude(value: sp.Expr, bound: str, bounds: Bounds = DEFAULT) -> None:
    """Refuse a number (no symbols) beyond ±`bounds.<bound>`, or not real; judged at 15 digits."""
    limit = getattr(bounds, bound)
    if value.is_Rational:
        size = abs(value)
    else:
        size = sp.Abs(value).evalf(15)  # its parts are already bounded, so this is a small computation
        if value.is_extended_real is False or not size.is_Number:
            raise EntryError(f"{_short(value)} is not a real number")
    if size > limit:
        raise BoundError(f"{bound} {_short(value)} beyond ±{limit} (bound: {bound})")


def _short(value: object, width: int = 40) -> str:
    """A value's text for an error message, cut to `width` characters."""
    text = str(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def check_name(name: str, bounds: Bounds = DEFAULT) -> str:
    """Return `name` if it may be a symbol, else raise (too long, or read otherwise by SymPy)."""
    if len(name) > bounds.name_length:
        raise BoundError(f"symbol name longer than {bounds.name_length} characters (bound: name_length)")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
        raise EntryError(f"{name!r} is not a symbol name (a letter, then letters, digits or _)")
    if name in FUNCTIONS or name in CONSTANTS or name in reserved():
        raise EntryError(f"{name!r} is a reserved name; choose another symbol name")
    if "__" in name or name.endswith("_"):  # SymPy's printers read x__y as a power x^y, and x_ as x with a blank
        raise EntryError(f"{name!r} is not a symbol name (an underscore must be followed by a letter or digit)")
    return name


def parse_entry(value: object, bounds: Bounds = DEFAULT) -> sp.Expr:
    """One spec entry (int, TOML/JSON float text, or string) as an exact SymPy value."""
    if isinstance(value, bool) or value is None:
        raise EntryError(f"expected a number or expression, got {str(value).lower()}")
    if isinstance(value, FloatText):
        if value.lower().lstrip("+-") in ("nan", "inf", "infinity"):
            raise EntryError(f"{value} is not a finite number")
        text = value.replace("_", "")
        negative = text.startswith("-")
        number = parse_number(text.lstrip("+-"), bounds)
        return -number if negative else number
    if isinstance(value, int):
        if abs(value) >= 10**bounds.digits:  # (not len(str(...)): str() of a 5000-digit int raises)
            raise BoundError(f"integer of more than {bounds.digits} digits (bound: digits)")
        return sp.Integer(value)
    if isinstance(value, float):  # a float that did not come through our loaders: read its shortest text
        if value != value or value in (float("inf"), float("-inf")):
            raise EntryError(f"{value} is not a finite number")
        return parse_entry(FloatText(repr(value)), bounds)
    if not isinstance(value, str):
        raise EntryError(f"expected a number or expression, got a {_type_name(value)}")
    if len(value) > bounds.entry_length:
        raise BoundError(f"entry longer than {bounds.entry_length} characters (bound: entry_length)")
    try:
        result = _Parser(value, bounds).parse()
    except SymnetError:
        raise
    except (RecursionError, OverflowError, MemoryError, ValueError, ZeroDivisionError) as e:  # SymPy on bounded input
        raise BoundError(f"{value!r} is too large to compute ({type(e).__name__}; bounds: exponent, power_bits)") \
            from None
    if result.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
        raise EntryError(f"{value!r} is not a finite value")
    check_finite(result, value, bounds)
    expandable = result.free_symbols or result.has(sp.log, sp.exp)  # (nothing SymPy multiplies back together)
    if expandable and expansion_terms(result, bounds.expression_nodes) > bounds.expression_nodes:
        raise BoundError(f"{_short(value)!r}: a power that multiplies out to more than {bounds.expression_nodes} "
                         "terms (bound: expression_nodes)")
    check_exponentials(result, bounds)
    if result.is_number and (result.has(sp.I) or result.is_extended_real is False):
        raise EntryError(f"{value!r} is not a real number")
    if result.is_Rational and max(abs(result.p).bit_length(), result.q.bit_length()) > bounds.result_bits:
        raise BoundError(f"{value[:20]!r}... is a number of more than {bounds.result_bits} bits (bound: result_bits)")
    return result


def _type_name(value: object) -> str:
    names: dict[type, str] = {dict: "table", list: "list"}
    return names.get(type(value), type(value).__name__)
