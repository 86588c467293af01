"""The one LaTeX printer of values: symbols as the sheets write them (w_{1,1}), terms in the order written, and on
request terminating fractions as decimals; the document being rendered sets it (`use`), the layout measures with it."""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any

import sympy as sp

from ..held import values
from ..sympy_private import TermsPrinter

MAX_PLACES = 10  # --decimals-shown writes a terminating fraction with at most this many decimals as a decimal


def _sheet(names: Mapping[sp.Symbol, str], order: Mapping[sp.Symbol, int], decimals: bool) -> TermsPrinter:
    """SymPy's LaTeX printer with the sheets' symbol names, a sum's terms in the order written (each by the first
    place its symbols are written; a number, the bias, last), and terminating fractions as decimals when asked."""
    far = len(order) + 1

    def written(t: sp.Expr) -> tuple[int, ...]:
        found = sorted(order.get(s, far) for s in t.free_symbols)
        return tuple(found) if found else (far + 1,)

    return TermsPrinter(names, written if order else None, symbol_tex,
                        decimal_text if decimals else (lambda v: None))


# Greek letters by name, where LaTeX has a glyph of their own (omicron, Alpha, Beta ... print as Latin letters:
# those names stay words). "lamda" is SymPy's spelling (lambda is a Python keyword).
GREEK = frozenset("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho sigma tau upsilon "
                  "phi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega".split())
_HEAD = re.compile(r"([A-Za-z]+)([0-9]+)")


@functools.lru_cache(maxsize=4096)
def symbol_tex(name: str) -> str:
    """A symbol name as LaTeX, one way only: the letters (a Greek name as its letter), then every part after an
    underscore, and digits that end the first part, as one subscript separated by commas: `w12` is w_{12},
    `x_1_2` is x_{1,2}, `alpha_1` is \\alpha_{1}. No other reading: `xhat`, `nabs`, `xprime`, `omicron` print as
    written (SymPy's printer would make them x̂, |n|, x′ and o), and `x__y` is no power (the grammar refuses it)."""
    head, *subs = name.split("_")
    m = _HEAD.fullmatch(head)
    if m:
        head, subs = m[1], [m[2], *subs]
    return _word(head) + ("_{" + ",".join(_word(s) for s in subs) + "}" if subs else "")


def _word(word: str) -> str:
    word = {"lamda": "lambda", "Lamda": "Lambda"}.get(word, word)
    return "\\" + word if word in GREEK else word


def decimal_text(v: sp.Rational) -> str | None:
    """A fraction whose decimal expansion ends (denominator 2^a·5^b) within MAX_PLACES places, as a decimal
    ("-0.8"); None otherwise (and for an integer, printed as it is). Whole-number arithmetic only."""
    p, q = int(v.p), int(v.q)
    if q == 1:
        return None
    rest, twos, fives = q, 0, 0
    while rest % 2 == 0:
        rest, twos = rest // 2, twos + 1
    while rest % 5 == 0:
        rest, fives = rest // 5, fives + 1
    places = max(twos, fives)
    if rest != 1 or places > MAX_PLACES:
        return None
    digits = str(abs(p) * 10**places // q).rjust(places + 1, "0")
    return ("-" if p < 0 else "") + digits[:-places] + "." + digits[-places:]


def fixed(v: sp.Expr, places: int) -> str | None:
    """A rounded value (a rational with at most `places` decimals) written as a decimal ("0.5", as the rest of a
    rounded exercise's numbers); None for any other value."""
    if not v.is_Rational or (v * 10**places).q != 1:
        return None
    return str(v.p) if v.q == 1 else decimal_text(v)


class Printer:
    """How one document prints values (and how the layout measures them): `tex(value)`, `terms(value)`."""

    def __init__(self, names: Mapping[sp.Symbol, str] | None = None, order: Mapping[sp.Symbol, int] | None = None,
                 decimals: bool = False) -> None:
        self.names, self.order, self.decimals = dict(names or {}), dict(order or {}), decimals
        self._printer = _sheet(self.names, self.order, decimals)
        self._cache: dict[Any, str] = {}
        self.key = (tuple(sorted((s.name, n) for s, n in self.names.items())),
                    tuple(sorted((s.name, p) for s, p in self.order.items())), decimals)

    def tex(self, value: sp.Basic) -> str:
        """The LaTeX of a value (memoised: a key prints its few distinct values many times)."""
        try:
            hit = self._cache.get(value)
        except TypeError:  # an unhashable (mutable) value
            return self._printer.doprint(value)
        if hit is None:
            hit = self._cache[value] = self._printer.doprint(value)
            if len(self._cache) > 8192:
                self._cache.clear()
        return hit

    def terms(self, value: sp.Expr) -> list[str]:
        """The printed terms of a sum, each after the first with its sign ("+ x", "- y"): joined by spaces they are
        `tex(value)`, so a value too long for a line can be broken between its terms. One term otherwise."""
        if not isinstance(value, sp.Add):
            return [self.tex(value)]
        return self._printer.terms(value)

    def fixed(self, value: sp.Expr, places: int) -> str:
        """A rounded value as a decimal ("0.5"), or its LaTeX when it is not one."""
        text = fixed(value, int(places))
        return text if text is not None else self.tex(value)

    def plain(self, value: sp.Expr) -> bool:
        """True when a value prints without a fraction: an integer, a symbol, or (decimals shown) a decimal."""
        return bool(value.is_Integer or value.is_Symbol
                    or (self.decimals and value.is_Rational and decimal_text(value) is not None))


DEFAULT = Printer()
_CURRENT: ContextVar[Printer] = ContextVar("symnet_printer", default=DEFAULT)


def current() -> Printer:
    """The printer of the document being rendered (the default one outside a render)."""
    return _CURRENT.get()


@contextlib.contextmanager
def use(printer: Printer) -> Iterator[Printer]:
    """Render (and measure) with `printer` inside the block."""
    token = _CURRENT.set(printer)
    try:
        yield printer
    finally:
        _CURRENT.reset(token)


def sheet_names(matrices: list[sp.MatrixBase]) -> dict[sp.Symbol, str]:
    """The sheets' names of the entries of symbol matrices ({symbol = "w", shape = [2, 3]}: w11 … w23): each w_{i,j}
    by its row and column (a column's or a row's entries by their one index, as SymPy prints them already)."""
    out: dict[sp.Symbol, str] = {}
    for m in matrices:
        if m.rows < 2 or m.cols < 2:
            continue
        for i in range(m.rows):
            for j in range(m.cols):
                s = m[i, j]
                if not isinstance(s, sp.Symbol):
                    continue
                suffix = f"{i + 1}{j + 1}" if m.rows < 10 and m.cols < 10 else f"{i + 1}_{j + 1}"
                if not s.name.endswith(suffix):
                    continue
                base = s.name[: -len(suffix)].rstrip("_") if s.name != suffix else ""
                if base and re.fullmatch(r"[A-Za-z]+", base):
                    out[s] = f"{base}_{{{i + 1},{j + 1}}}"
    return out


def written_order(values: list[Any]) -> dict[sp.Symbol, int]:
    """Each symbol's place in the order the exercise writes its values (matrices row by row)."""
    out: dict[sp.Symbol, int] = {}
    for v in values:
        entries = list(v) if isinstance(v, sp.MatrixBase) else [v]
        for e in entries:
            if isinstance(e, sp.Basic):
                for s in sorted(e.free_symbols, key=lambda s: s.name):
                    out.setdefault(s, len(out))
    return out


# The layer types whose `round` rounds their values as they go (an attention's weights, an LSTM's every gate and
# state), as an activation's does; a normalisation's rounds only its statistics.
VALUE_ROUNDING = frozenset({"attention", "multi_head_attention", "lstm"})


def rounds(ex: Any) -> bool:
    """True when the exercise rounds values as it goes ([train] round or round_activations, an activation's round,
    an attention's or an LSTM's): its numbers are then decimals, and printed as such."""
    train = ex.train
    return bool((train is not None and (train.round is not None or train.round_activations is not None))
                or any(getattr(layer, "round", None) is not None for layer in ex.layers
                       if hasattr(layer, "activation") or getattr(layer, "type", "") in VALUE_ROUNDING))


def for_exercise(ex: Any, decimals: bool | None = None) -> Printer:
    """The printer of an exercise's documents: its symbol matrices' entries as w_{i,j}, sums in the order its values
    are written (X, then each layer's parameters), terminating fractions as decimals when asked (None: when the
    exercise rounds)."""
    given: list[Any] = [ex.X, ex.A, ex.B]
    for layer in ex.layers:
        fields = values(layer)
        given += [v for v in fields if isinstance(v, sp.MatrixBase)]
        given += [v for v in fields if isinstance(v, sp.Basic) and not isinstance(v, sp.MatrixBase)]
    if ex.loss is not None:
        given += [ex.loss.Y, ex.loss.predictions]
    if ex.train is not None:
        given.append(ex.train.learning_rate)
    known = [v for v in given if v is not None]
    names = sheet_names([v for v in known if isinstance(v, sp.MatrixBase)])
    return Printer(names, written_order(known), rounds(ex) if decimals is None else decimals)
