"""The private SymPy APIs symnet relies on (symnet/sympy_private.py): each still does what symnet takes it to do; a
SymPy upgrade that changes one fails here."""

from __future__ import annotations

import pickle
import random

import sympy as sp
from flint import fmpq, fmpq_mat, fmpz_mat
from sympy.polys.domains import QQ, ZZ

from symnet import sympy_private as private
from symnet.sympy_private import QQMatrix, flint_rep, from_flint, ordered_terms, print_term, rational_rows


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


x = sp.Symbol("x")


def pair(rng: random.Random, rows: int, cols: int, whole: bool = False) -> tuple[fmpq_mat, sp.ImmutableMatrix]:
    """A random rational matrix as an fmpq_mat and as SymPy builds it from Rationals (zeros now and then)."""
    def q() -> tuple[int, int]:
        return (0, 1) if rng.random() < 0.2 else (rng.randint(-10**20, 10**20), 1 if whole else rng.choice([1, 3, 10**12 + 39]))
    qs = [q() for _ in range(rows * cols)]
    return fmpq_mat(rows, cols, [fmpq(*t) for t in qs]), sp.ImmutableMatrix(rows, cols, [sp.Rational(*t) for t in qs])


def test_from_flint_is_the_immutable_matrix_sympy_builds():
    rng = random.Random(1)
    for k in range(40):
        m, want = pair(rng, rng.randint(1, 5), rng.randint(1, 5), whole=k % 4 == 0)
        got = from_flint(m)
        assert isinstance(got, sp.ImmutableMatrix) and isinstance(got, QQMatrix)
        assert got == want and want == got and not (got != want)
        assert got._rep == want._rep and got._rep.domain == want._rep.domain  # ZZ when whole, QQ otherwise; sparse
        assert got._rep.rep == want._rep.rep
        assert hash(got) == hash(want) and {want: 1}[got] == 1
        assert got.args == want.args and sp.srepr(got).replace("QQMatrix", "ImmutableDenseMatrix") == sp.srepr(want)
        assert sp.latex(got) == sp.latex(want) and sp.sstr(got) == sp.sstr(want) and str(got) == str(want)
        assert list(got) == list(want) and got.T == want.T and 2 * got == 2 * want and got.free_symbols == set()


def test_from_flint_makes_no_rational_until_an_entry_is_read():
    m = from_flint(fmpq_mat(2, 2, [fmpq(1, 2), 0, 3, fmpq(-7, 3)]))
    assert "_made" not in m.__dict__  # no Tuple of entries (SymPy's _fromrep makes one)
    assert m[0, 0] == sp.Rational(1, 2) and m[1, 1] == sp.Rational(-7, 3) and m.shape == (2, 2)
    assert "_made" not in m.__dict__
    hash(m)  # the args, made once when asked for
    assert m.__dict__["_made"] == (2, 2, sp.Tuple(sp.Rational(1, 2), 0, 3, sp.Rational(-7, 3)))


def test_sympy_operations_on_it_give_matrices_of_its_kind_with_the_same_values():
    m, want = pair(random.Random(2), 3, 2)
    got = from_flint(m)
    for f in (lambda a: a * a.T, lambda a: a + a, lambda a: a.applyfunc(lambda v: v + x), lambda a: a.subs(x, 1),
              lambda a: a.xreplace({sp.Integer(0): x}), lambda a: a.row(1), lambda a: -a, lambda a: a / 3):
        assert f(got) == f(want)
    assert sp.ImmutableMatrix(got) is got and sp.Matrix(got) == sp.Matrix(want)
    assert pickle.loads(pickle.dumps(got)) == want  # (a class set's worker processes)
    assert type(got.func(*got.args)) is QQMatrix and got.func(*got.args) == want


def test_flint_rep_reads_back_the_fmpq_mat():
    m, want = pair(random.Random(3), 3, 4)
    assert flint_rep(from_flint(m)) is m  # the very matrix it was made from
    assert flint_rep(want) == m and isinstance(flint_rep(want), fmpq_mat)  # from SymPy's DomainMatrix (over QQ)
    whole = sp.ImmutableMatrix([[1, -2], [3, 0]])
    assert whole._rep.domain == ZZ and flint_rep(whole) == fmpq_mat(fmpz_mat(2, 2, [1, -2, 3, 0]))
    assert flint_rep(sp.ImmutableMatrix([[x, 1]])) is None and flint_rep(sp.ImmutableMatrix([[sp.E]])) is None
    assert flint_rep(sp.Matrix([[sp.Rational(1, 2)]])) == fmpq_mat(1, 1, [fmpq(1, 2)])


def test_rational_rows_are_sympys_ground_types():
    m, want = pair(random.Random(4), 2, 3)
    rows = rational_rows(want)
    assert rows == [[QQ(int(v.p), int(v.q)) for v in want.row(i)] for i in range(2)]
    assert [[str(v) for v in r] for r in rows] == [[sp.sstr(v) for v in want.row(i)] for i in range(2)]
    assert rational_rows(from_flint(m)) == rows
    assert rational_rows(sp.ImmutableMatrix([[x]])) is None


def test_the_latex_printers_terms():
    s = sp.Add(x**2, -3 * x, sp.Rational(1, 2), evaluate=False)
    assert ordered_terms(s) == [x**2, -3 * x, sp.Rational(1, 2)]
    assert print_term(x + 1) == ("1 + x", True) and print_term(-3 * x) == ("- 3 x", False)  # (as SymPy orders x + 1)
    assert print_term(x**2) == ("x^{2}", False)


def test_the_terms_printer_s_hooks():
    """TermsPrinter: terms sorted by its key (x before y before the number, whatever SymPy stores), a symbol's name
    from its table or the fallback, a rational's text from the hook; its terms join to its LaTeX."""
    from symnet.sympy_private import TermsPrinter

    x, y = sp.symbols("x y")
    order = {y: 0, x: 1}
    p = TermsPrinter({x: "w_{1,1}"}, lambda t: min((order[s] for s in t.free_symbols), default=9),
                     lambda name: "<" + name + ">", lambda v: "half" if v == sp.Rational(1, 2) else None)
    v = 3 + x - 2 * y
    assert p.terms(v) == ["- 2 <y>", "+ w_{1,1}", "+ 3"]
    assert p.doprint(v) == "- 2 <y> + w_{1,1} + 3"
    assert p.doprint(sp.Rational(1, 2)) == "half" and p.doprint(sp.Rational(1, 3)) == "\\frac{1}{3}"
    assert TermsPrinter({}, None, str, lambda v: None).terms(x - y) == ["x", "- y"]  # as SymPy stores them
