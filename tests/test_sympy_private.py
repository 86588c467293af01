"""The private SymPy APIs symnet relies on (symnet/sympy_private.py): each still does what symnet takes it to do."""

from __future__ import annotations

import sympy as sp
from flint import fmpq, fmpq_mat

from symnet import sympy_private as private


def test_flint_rep_is_the_matrix_of_rationals_sympy_holds():
    m = sp.ImmutableMatrix([[1, sp.Rational(-3, 4)], [0, 5]])
    held = private.flint_rep(m)
    assert isinstance(held, fmpq_mat) and held.entries() == [fmpq(1), fmpq(-3, 4), fmpq(0), fmpq(5)]
    assert private.flint_rep(sp.ImmutableMatrix([[sp.Symbol("x")]])) is None  # not over the rationals


def test_from_flint_reads_back_as_the_same_rationals():
    q = fmpq_mat(2, 2, [fmpq(1, 2), fmpq(-7, 3), fmpq(0), fmpq(4)])
    m = private.from_flint(q)
    assert isinstance(m, sp.ImmutableMatrix)
    assert m == sp.ImmutableMatrix([[sp.Rational(1, 2), sp.Rational(-7, 3)], [0, 4]])
    assert all(isinstance(v, sp.Rational) for v in m)
    assert private.flint_rep(m) == q  # and back, at no cost


def test_rational_rows_print_as_sstr_prints_them():
    m = sp.ImmutableMatrix([[sp.Rational(-7, 3), 2], [0, sp.Rational(1, 10)]])
    rows = private.rational_rows(m)
    assert [[str(x) for x in r] for r in rows] == [[sp.sstr(v) for v in m.row(i)] for i in range(m.rows)]
    assert private.rational_rows(sp.ImmutableMatrix([[sp.E]])) is None


def test_ordered_terms_are_the_printer_s_order_and_print_term_its_text():
    x, y = sp.symbols("x y")
    v = sp.Add(y, -2 * x, 3, evaluate=True)
    terms = private.ordered_terms(v)
    assert sp.Add(*terms) == v and len(terms) == 3
    assert sp.latex(v, order="none").startswith(private.print_term(terms[0])[0].lstrip("-"))
    text, brackets = private.print_term(x + y)
    assert text == sp.latex(x + y, order="none") and brackets is True
    assert private.print_term(x)[1] is False
