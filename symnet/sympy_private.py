"""Every private SymPy API symnet relies on, in one place (tests/test_sympy_private.py pins each one)."""

from __future__ import annotations

from typing import Any

import sympy as sp
from flint import fmpq, fmpq_mat, fmpz_mat
from sympy.polys.domains import QQ, ZZ
from sympy.polys.matrices import DomainMatrix
from sympy.printing.latex import LatexPrinter


def flint_rep(m: sp.MatrixBase) -> fmpq_mat | None:
    """The `fmpq_mat` a matrix of rationals already holds (SymPy on flint ground types keeps one), else None.

    Private: `MatrixBase._rep` (a DomainMatrix) and `DFM.rep` (the flint matrix of its dense form)."""
    rep = getattr(m, "_rep", None)
    if isinstance(rep, DomainMatrix) and rep.domain in (ZZ, QQ):
        dense = getattr(rep.to_dense().rep, "rep", None)
        if isinstance(dense, fmpq_mat):
            return dense
        if isinstance(dense, fmpz_mat):
            return fmpq_mat(dense)
    return None


def from_flint(m: fmpq_mat) -> sp.ImmutableMatrix:
    """An `fmpq_mat` as an ImmutableMatrix over QQ, its entries made SymPy rationals only when read.

    Private: `ImmutableMatrix._fromrep` (a matrix from a DomainMatrix, without a Rational per entry)."""
    shape = (m.nrows(), m.ncols())
    flat = m.entries() if QQ.dtype is fmpq else [QQ(int(x.p), int(x.q)) for x in m.entries()]
    return sp.ImmutableMatrix._fromrep(DomainMatrix.from_list_flat(flat, shape, QQ).to_sparse())


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
