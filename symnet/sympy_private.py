"""Every private SymPy API symnet relies on, in one place (tests/test_sympy_private.py pins each one)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import sympy as sp
from flint import fmpq, fmpq_mat, fmpz, fmpz_mat
from sympy import Basic, Integer, Tuple
from sympy.matrices.immutable import ImmutableDenseMatrix
from sympy.polys.domains import QQ, ZZ
from sympy.polys.matrices import DomainMatrix
from sympy.polys.matrices.sdm import SDM
from sympy.printing.latex import LatexPrinter


class QQMatrix(ImmutableDenseMatrix):
    """An ImmutableMatrix of rationals made from an `fmpq_mat` (`from_flint`): it holds its DomainMatrix over ZZ or
    QQ, as SymPy's own matrix of rationals does, but makes a SymPy Rational of an entry only when that entry is read,
    and its args (every entry: hashing, `xreplace`, `srepr`) only when they are first asked for. Equal to, and hashed
    as, the ImmutableMatrix of the same entries; SymPy's operations on it give matrices of its kind.

    Private: `ImmutableDenseMatrix._fromrep` (overridden, so that no Tuple of entries is made), the `_args` slot of
    `Basic` (a property here), `_rows`, `_cols`, `_rep`, `_mhash`, `_hashable_content`."""

    _mhash: int | None  # (Basic's slot: the hash, once made)

    @property
    def _args(self) -> tuple[Basic, ...]:
        made = self.__dict__.get("_made")
        if made is None:
            r, c = self._rep.shape
            made = self.__dict__["_made"] = (Integer(r), Integer(c),
                                             Tuple(*self._rep.to_sympy().to_list_flat(), sympify=False))
        return made

    @_args.setter
    def _args(self, v: tuple[Basic, ...]) -> None:
        if v:  # (Basic.__new__ sets no args: they are made when read)
            self.__dict__["_made"] = v

    def __hash__(self) -> int:
        h = self._mhash
        if h is None:  # as ImmutableDenseMatrix hashes, under its name: equal matrices hash alike
            h = self._mhash = hash(("ImmutableDenseMatrix",) + self._hashable_content())
        return h

    @classmethod
    def _fromrep(cls, rep: DomainMatrix) -> "QQMatrix":
        obj = Basic.__new__(cls)
        obj._rows, obj._cols = rep.shape
        obj._rep = rep
        return obj


def flint_rep(m: sp.MatrixBase) -> fmpq_mat | None:
    """The `fmpq_mat` a matrix of rationals already holds (SymPy on flint ground types keeps one), else None.

    Private: `MatrixBase._rep` (a DomainMatrix) and `DFM.rep` (the flint matrix of its dense form)."""
    held = m.__dict__.get("_flint") if isinstance(m, QQMatrix) else None
    if held is not None:  # made by `from_flint`: the very matrix it was made from
        return held
    rep = getattr(m, "_rep", None)
    if isinstance(rep, DomainMatrix) and rep.domain in (ZZ, QQ):
        dense = getattr(rep.to_dense().rep, "rep", None)
        if isinstance(dense, fmpq_mat):
            return dense
        if isinstance(dense, fmpz_mat):
            return fmpq_mat(dense)
    return None


def from_flint(m: fmpq_mat) -> sp.ImmutableMatrix:
    """An `fmpq_mat` as an ImmutableMatrix of rationals (a `QQMatrix`: no SymPy Rational is made until an entry is
    read), over ZZ when every entry is whole and QQ otherwise, sparse, as SymPy builds one; `flint_rep` gives m back.

    Private: `SDM` (the sparse form of a DomainMatrix: {row: {column: nonzero entry}}) and `QQMatrix._fromrep`."""
    r, c = m.nrows(), m.ncols()
    n, d = m.numer_denom()
    flat: list[Any]
    if d == 1:  # whole: over ZZ
        domain = ZZ
        flat = n.entries() if ZZ.dtype is fmpz else [ZZ(int(x)) for x in n.entries()]
    else:
        domain = QQ
        flat = m.entries() if QQ.dtype is fmpq else [QQ(int(x.p), int(x.q)) for x in m.entries()]
    rows: dict[int, dict[int, Any]] = {}
    for k, x in enumerate(flat):
        if x:
            i = k // c
            row = rows.get(i)
            if row is None:
                row = rows[i] = {}
            row[k - i * c] = x
    out = QQMatrix._fromrep(DomainMatrix.from_rep(SDM(rows, (r, c), domain)))
    out.__dict__["_flint"] = m
    return out


def rational_rows(m: sp.MatrixBase) -> list[list[Any]] | None:
    """The ground-type entries of a matrix of rationals, row by row (each `str()`s as `sstr` writes it), else None.

    Private: `MatrixBase._rep`."""
    rep = getattr(m, "_rep", None)
    if rep is not None and rep.domain in (ZZ, QQ):
        return rep.to_list()
    return None


def ordered_terms(value: sp.Add, order: str = "none") -> list[sp.Expr]:
    """The terms of a sum in the order the LaTeX printer writes them (private: `LatexPrinter._as_ordered_terms`)."""
    return list(LatexPrinter({"order": order})._as_ordered_terms(value, order=order))


def print_term(term: sp.Expr, order: str = "none") -> tuple[str, bool]:
    """One term's LaTeX and whether it needs brackets inside a sum (private: `_print`, `_needs_add_brackets`)."""
    printer = LatexPrinter({"order": order})
    return printer._print(term), bool(printer._needs_add_brackets(term))


class TermsPrinter(LatexPrinter):
    """SymPy's LaTeX printer with three hooks symnet's one printer (render/printer.py) sets: the order of a sum's
    terms (`term_key`, None: as SymPy stores them), the name of a symbol no table names (`symbol_tex`), and another
    text for a rational (`rational`, None: SymPy's). Private: `_as_ordered_terms`, `_print`, `_needs_add_brackets`,
    `_settings` (the `_print_<Class>` methods are SymPy's documented way to extend a printer)."""

    def __init__(self, names: Mapping[sp.Symbol, str], term_key: Callable[[sp.Expr], Any] | None,
                 symbol_tex: Callable[[str], str], rational: Callable[[sp.Rational], str | None]) -> None:
        super().__init__({"order": "none", "symbol_names": dict(names)})
        self.term_key, self.symbol_tex, self.rational = term_key, symbol_tex, rational

    def _as_ordered_terms(self, expr: Any, order: Any = None) -> list[Any]:
        terms = list(expr.args)
        return sorted(terms, key=self.term_key) if self.term_key and isinstance(expr, sp.Add) else terms

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        name = self._settings["symbol_names"].get(expr)
        return name if name is not None else self.symbol_tex(expr.name)

    def _print_Rational(self, expr: sp.Rational) -> str:
        text = self.rational(expr)
        return text if text is not None else super()._print_Rational(expr)

    def terms(self, value: sp.Add) -> list[str]:
        """The printed terms of a sum, each after the first with its sign ("+ x", "- y"): joined by spaces they are
        the sum's LaTeX, so a value too long for a line can be broken between its terms."""
        out = []
        for i, term in enumerate(self._as_ordered_terms(value)):
            sign = ""
            if i and term.could_extract_minus_sign():
                sign, term = "- ", -term
            elif i:
                sign = "+ "
            text = self._print(term)
            out.append(sign + (rf"\left({text}\right)" if self._needs_add_brackets(term) else text))
        return out
