"""Reading the fields of a spec: tables, text, choices, numbers and matrices, each error located at its field."""

from __future__ import annotations

import contextlib
import difflib
import functools
import re
import unicodedata
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from dataclasses import field as dataclass_field

import sympy as sp
from flint import fmpq, fmpq_mat

from .algebra.rationals import from_flint, rational
from .bounds import DEFAULT, Bounds
from .errors import BoundError, SpecError, SymnetError
from .expr import FloatText, check_name, parse_entry, symbol
from .held import Deferred


def keys(table: object, allowed: tuple[str, ...], field: str | None, required: tuple[str, ...] = ()) -> Mapping:
    if not isinstance(table, Mapping):
        raise SpecError(f"expected a table, got {kind(table)}", field=field)
    for key in table:
        if key not in allowed:
            hint = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            meant = f"did you mean {hint[0]!r}? " if hint else ""
            raise SpecError(f"unknown key {cut(str(key))!r} ({meant}allowed: {', '.join(allowed)})", field=field)
    for key in required:
        if key not in table:
            raise SpecError(f"missing key {key!r}", field=field)
    return table


def kind(value: object) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    return {dict: "a table", list: "a list", str: "a string", int: "a number", FloatText: "a number"}.get(
        type(value), f"a {type(value).__name__}"
    )


def cut(words: str, width: int = 40) -> str:
    """Text quoted in an error message, cut to `width` characters."""
    return words if len(words) <= width else words[: width - 3] + "..."


def text(value: object, field: str, limit: int = 300, bound: str | None = None) -> str:
    if not isinstance(value, str) or isinstance(value, FloatText):
        raise SpecError(f"expected a string, got {kind(value)}", field=field)
    if len(value) > limit:
        raise BoundError(f"longer than {limit} characters{f' (bound: {bound})' if bound else ''}", field=field)
    for c in value:  # terminal escapes, bidi overrides and the like never reach a document or a terminal
        if c not in "\n\t" and unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            raise SpecError(f"holds the control character U+{ord(c):04X}", field=field)
    return value


def choice(value: object, choices: tuple[str, ...], field: str) -> str:
    word = text(value, field)
    if word not in choices:
        hint = difflib.get_close_matches(word, choices, n=1)
        meant = f"did you mean {hint[0]!r}? " if hint else ""
        raise SpecError(f"unknown value {cut(word)!r} ({meant}allowed: {', '.join(choices)})", field=field)
    return word


def scalar(value: object, field: str, bounds: Bounds = DEFAULT) -> sp.Expr:
    """One entry of a spec, located at `field` in any error."""
    try:
        return parse_entry(value, bounds)
    except SymnetError as e:
        raise e.located(field=field) from None


def matrix(value: object, field: str, bounds: Bounds = DEFAULT,
           shape: tuple[int, int] | None = None) -> sp.ImmutableMatrix:
    """A matrix entry: a list of rows, a flat list (a column), one scalar (1×1), or {symbol, shape}."""
    plain = plain_matrix(value, bounds)
    if plain is not None:  # plain numbers, read straight into flint (no SymPy number made until one is read)
        return from_flint(plain)
    return grammar_matrix(value, field, bounds, shape)


class Plain(Deferred):
    """A matrix of plain numbers as read, an fmpq_mat, and its shape: SymPy's matrix of it is made when first read
    (an exercise's `Held` field keeps it so; the fast algebra takes the fmpq_mat as it is)."""

    __slots__ = ()

    def __init__(self, m: fmpq_mat) -> None:
        super().__init__(from_flint, m)

    @property
    def rows(self) -> int:
        return self.raw.nrows()

    @property
    def cols(self) -> int:
        return self.raw.ncols()

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows, self.cols


def held_scalar(value: object, field: str, bounds: Bounds = DEFAULT) -> Deferred | sp.Expr:
    """`scalar`, a plain number kept as read (a `Deferred` of its fmpq: no SymPy until it is read as SymPy)."""
    q = plain_entry(value, bounds)
    return Deferred(rational, q) if q is not None else scalar(value, field, bounds)


def held_matrix(value: object, field: str, bounds: Bounds = DEFAULT,
                shape: tuple[int, int] | None = None) -> Plain | sp.ImmutableMatrix:
    """`matrix`, its plain numbers kept as read (a `Plain`: no SymPy until a value is read as SymPy)."""
    plain = plain_matrix(value, bounds)
    return Plain(plain) if plain is not None else grammar_matrix(value, field, bounds, shape)


def grammar_matrix(value: object, field: str, bounds: Bounds = DEFAULT,
                   shape: tuple[int, int] | None = None) -> sp.ImmutableMatrix:
    """`matrix` with every entry read by the grammar (and every refusal made here)."""
    if isinstance(value, Mapping):
        return symbol_matrix(value, field, bounds, shape)
    if not isinstance(value, list):
        return sp.ImmutableMatrix([[scalar(value, field, bounds)]])
    if not value:
        raise SpecError("empty matrix", field=field)
    if len(value) > bounds.rows:
        raise BoundError(f"more than {bounds.rows} rows (bound: rows)", field=field)
    if all(not isinstance(r, list) for r in value):
        if any(isinstance(r, Mapping) for r in value):
            raise SpecError("expected numbers or lists of numbers, got a table", field=field)
        return sp.ImmutableMatrix([[scalar(v, f"{field}[{i}]", bounds)] for i, v in enumerate(value, 1)])
    if not all(isinstance(r, list) for r in value):
        raise SpecError("mixes numbers and rows: write every row as a list", field=field)
    width = len(value[0])
    if width == 0:
        raise SpecError("empty row", field=f"{field}[1]")
    if width > bounds.cols:
        raise BoundError(f"more than {bounds.cols} columns (bound: cols)", field=field)
    rows = []
    for i, row in enumerate(value, 1):
        if len(row) != width:
            raise SpecError(f"row {i} has {len(row)} entries, row 1 has {width}", field=field)
        rows.append([scalar(v, f"{field}[{i}][{j}]", bounds) for j, v in enumerate(row, 1)])
    return sp.ImmutableMatrix(rows)


# ---------------------------------------------------------------- plain numbers, read without the grammar
#
# An integer, a decimal (a TOML or JSON float's text) or a string "p", "p/q" or "1.5": read here straight into an
# fmpq, with exactly the checks the grammar makes of it (expr.parse_entry, parse_number). Anything else, and
# anything a check would refuse, gives None: the grammar reads it, and refuses it with its own message.

_FLOAT = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?")  # a float's text, its _ taken out
_TEXT = re.compile(r"([+-]?)([0-9]+\.?[0-9]*|\.[0-9]+)(?:/([0-9]+))?")  # "-3", "3/5", "0.25", "1.5/2"


@functools.cache
def _limit(digits: int) -> int:
    """10**digits, the least integer of digits + 1 digits (made once per bound)."""
    return 10**digits


def _literal(whole: str, frac: str | None, exp: str | None, bounds: Bounds) -> fmpq | None:
    """A decimal literal's exact value, if `expr.parse_number` reads it without refusing it (else None)."""
    if not (whole or frac):
        return None
    frac = frac or ""
    digits = (whole + frac).lstrip("0")
    if len(digits) > bounds.digits:
        return None
    e = int(exp) if exp and len(exp) <= 8 else (0 if not exp else 10**9)
    if abs(e) > bounds.decimal_exponent:
        return None
    e -= len(frac)
    if -e > bounds.digits + bounds.decimal_exponent:
        return None
    n = int(digits or "0")
    return fmpq(n * 10**e) if e >= 0 else fmpq(n, 10**-e)


def plain_entry(value: object, bounds: Bounds = DEFAULT) -> fmpq | None:
    """A plain number of a spec as the exact fmpq the grammar reads it as; None for anything else (an expression,
    a symbol, a value the grammar refuses): `expr.parse_entry` gives that one its value or its error."""
    if type(value) is int:  # (not a bool)
        limit = _limit(bounds.digits)
        return fmpq(value) if -limit < value < limit else None
    if type(value) is FloatText:
        m = _FLOAT.fullmatch(value.replace("_", ""))
        if m is None:
            return None  # nan, inf (refused by the grammar)
        q = _literal(m[2], m[3], m[4], bounds)
        return None if q is None else (-q if m[1] == "-" else q)
    if type(value) is not str or len(value) > bounds.entry_length:
        return None
    m = _TEXT.fullmatch(value)
    if m is None or (m[1] and bounds.nesting < 1):  # a sign is one level of nesting
        return None
    whole, _, frac = m[2].partition(".")
    q = _literal(whole, frac, None, bounds)
    if q is None:
        return None
    if m[3] is not None:
        d = _literal(m[3], None, None, bounds)
        if d is None or d == 0:
            return None  # (division by zero)
        q = q / d
    if max(abs(q.p).bit_length(), q.q.bit_length()) > bounds.result_bits:
        return None
    return -q if m[1] == "-" else q


def plain_matrix(value: object, bounds: Bounds = DEFAULT) -> fmpq_mat | None:
    """A matrix entry of plain numbers (a list of rows, a flat list, one number), of a shape `grammar_matrix`
    accepts, as an fmpq_mat; None when anything in it is not a plain number or its shape is refused."""
    if not isinstance(value, list):
        q = plain_entry(value, bounds)
        return None if q is None else fmpq_mat(1, 1, [q])
    if not value or len(value) > bounds.rows:
        return None
    if isinstance(value[0], list):
        width = len(value[0])
        if width == 0 or width > bounds.cols or any(type(r) is not list or len(r) != width for r in value):
            return None
        flat = [x for r in value for x in r]
        shape = (len(value), width)
    else:
        flat, shape = value, (len(value), 1)
    seen: dict[tuple[type, object], fmpq | None] = {}  # a matrix repeats its few numbers
    out = []
    for x in flat:
        key = (type(x), x)
        try:
            q = seen[key]
        except KeyError:
            q = seen[key] = plain_entry(x, bounds)
        except TypeError:  # an unhashable entry (a list, a table): not a plain number
            return None
        if q is None:
            return None
        out.append(q)
    return fmpq_mat(*shape, out)


_BASES: ContextVar[dict[str, str] | None] = ContextVar("symnet_symbol_bases", default=None)


@contextlib.contextmanager
def symbol_bases() -> Iterator[None]:
    """Within the block (one spec being read) each {symbol} matrix's base names one matrix only: two matrices of
    one base would share their entries' symbols (w11 of W1 would be w11 of W2) and every derivative would mix them."""
    token = _BASES.set({})
    try:
        yield
    finally:
        _BASES.reset(token)


def symbol_matrix(value: Mapping, field: str, bounds: Bounds, shape: tuple[int, int] | None) -> sp.ImmutableMatrix:
    table = keys(value, ("symbol", "shape"), field, required=("symbol",) if shape else ("symbol", "shape"))
    name = text(table["symbol"], f"{field}.symbol", bounds.name_length, "name_length")
    try:
        check_name(name, bounds)
    except SymnetError as e:
        raise e.located(field=f"{field}.symbol") from None
    used = _BASES.get()
    if used is not None:
        if name in used:
            raise SpecError(f"'{name}' is already the symbol of {used[name]}; choose another (for example {name}2)",
                            field=f"{field}.symbol")
        used[name] = field
    if "shape" in table:
        given = table["shape"]
        if not (isinstance(given, list) and len(given) == 2 and all(type(n) is int for n in given)):
            raise SpecError("shape must be two whole numbers [rows, columns]", field=f"{field}.shape")
        r, c = given
        if r < 1 or c < 1:
            raise SpecError(f"shape [{r}, {c}] is empty", field=f"{field}.shape")
        shape = (r, c)
    assert shape is not None  # with no shape passed, `keys` required the table's
    r, c = shape
    if r > bounds.rows or c > bounds.cols:
        raise BoundError(f"shape [{r}, {c}] beyond {bounds.rows}×{bounds.cols} "
                         "(bounds: rows, cols)", field=f"{field}.shape")
    sep = "_" if name[-1].isdigit() else ""

    def entry(i: int, j: int) -> sp.Symbol:
        if c == 1:
            suffix = f"{i}"
        elif r == 1:
            suffix = f"{j}"
        else:
            suffix = f"{i}{j}" if r < 10 and c < 10 else f"{i}_{j}"
        return symbol(f"{name}{sep}{suffix}")

    return sp.ImmutableMatrix(r, c, lambda i, j: entry(i + 1, j + 1))


def whole(value: object, field: str) -> int:
    """A whole number (not a bool, not a decimal)."""
    if type(value) is not int:
        raise SpecError(f"expected a whole number, got {kind(value)}", field=field)
    return value


def boolean(value: object, field: str) -> bool:
    """true or false."""
    if not isinstance(value, bool):
        raise SpecError(f"expected true or false, got {kind(value)}", field=field)
    return value


def shape_text(m: sp.MatrixBase | Plain) -> str:
    """A matrix's shape as a message writes it: 4×3."""
    return f"{m.rows}×{m.cols}"


@dataclass(frozen=True)
class Reader:
    """Reads one layer table: layer k, its field (layers[k]), the quantity below it (`prev`, its shape), the shapes of
    every quantity named so far (for a skip), the bounds, and the input's maps when it holds maps."""

    table: Mapping
    k: int
    prev: str
    below: tuple[int, int]  # (rows, columns) of the input: (features, batch) for a dense network
    shapes: Mapping[str, tuple[int, int]] = dataclass_field(default_factory=dict)
    bounds: Bounds = DEFAULT
    maps: tuple[int, int, int] | None = dataclass_field(default=None, kw_only=True)  # (channels, height, width), one
    # map per row, row-major, of the input; None: its input is not maps

    @property
    def field(self) -> str:
        """The layer's field in messages: layers[k]."""
        return f"layers[{self.k}]"

    def at(self, key: str) -> str:
        """The field of one key: layers[k].key."""
        return f"{self.field}.{key}"

    def keys(self, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> None:
        """Refuse a key not in `allowed` (with a hint) and a missing required one."""
        keys(self.table, ("type",) + allowed, self.field, required)

    def matrix(self, key: str, shape: tuple[int, int] | None = None) -> sp.ImmutableMatrix:
        """A matrix key (`shape` implied for a {symbol} matrix)."""
        return matrix(self.table[key], self.at(key), self.bounds, shape=shape)

    def held_matrix(self, key: str, shape: tuple[int, int] | None = None) -> Plain | sp.ImmutableMatrix:
        """A matrix key, its plain numbers kept as read (`held_matrix`), for a `Held` field."""
        return held_matrix(self.table[key], self.at(key), self.bounds, shape=shape)

    def scalar(self, key: str) -> sp.Expr:
        """A number or small expression."""
        return scalar(self.table[key], self.at(key), self.bounds)

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        """One of `choices` (the default when the key is absent)."""
        return choice(self.table.get(key, default), choices, self.at(key))

    def whole(self, key: str, default: int) -> int:
        """A whole number (the default when absent)."""
        return whole(self.table.get(key, default), self.at(key))

    def boolean(self, key: str, default: bool) -> bool:
        """true or false (the default when absent)."""
        return boolean(self.table.get(key, default), self.at(key))

    def quantity(self, key: str) -> str:
        """The name of a quantity computed below this layer, or X."""
        name = text(self.table[key], self.at(key), self.bounds.name_length, "name_length")
        if name not in self.shapes:
            known = ", ".join(self.shapes)
            raise SpecError(f"{cut(name)!r} is not a quantity computed before layer {self.k} (known: {known})",
                            field=self.at(key))
        return name
