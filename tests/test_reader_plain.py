"""The plain-number reader (symnet/reader.py `plain_entry`, `plain_matrix`) gives exactly the grammar's values
(`expr.parse_entry`, the oracle here), and every refusal at the edges of the bounds is the grammar's line, unchanged."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symnet import spec
from symnet.bounds import DEFAULT
from symnet.errors import SymnetError
from symnet.expr import FloatText, parse_entry
from symnet.reader import grammar_matrix, matrix, plain_entry, plain_matrix
from symnet.sympy_private import QQMatrix

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def grammar(value: object, bounds=DEFAULT) -> sp.Expr | None:
    """The grammar's value of an entry, or None when it refuses it."""
    try:
        return parse_entry(value, bounds)
    except SymnetError:
        return None


def as_sympy(q) -> sp.Rational | None:
    return None if q is None else sp.Rational(int(q.p), int(q.q))


# ---------------------------------------------------------------- plain numbers, as a spec writes them

digits = st.text(alphabet="0123456789", min_size=1, max_size=44)  # beyond the 40-digit bound, sometimes
sign = st.sampled_from(["", "-", "+"])
integers = st.integers(min_value=-(10**42), max_value=10**42)
floats = st.builds(  # a TOML or JSON float's text: sign, digits, a fraction, an exponent (beyond ±40 sometimes)
    lambda s, w, f, e: FloatText(s + w + (("." + f) if f is not None else "") + e),
    st.sampled_from(["", "-", "+"]), digits, st.none() | digits,
    st.sampled_from(["", "e5", "E-3", "e+40", "e-40", "e41", "e-41", "e0", "e-79", "e007"]))
fractions = st.builds(lambda s, p, q: f"{s}{p}/{q}", sign, digits, digits)
decimals = st.builds(lambda s, w, f: f"{s}{w}.{f}", sign, digits, st.text(alphabet="0123456789", max_size=44))
plain = st.one_of(integers, floats, fractions, decimals, st.builds(lambda s, p: s + p, sign, digits),
                  st.builds(lambda f, q: f"{f}/{q}", decimals, digits))


@SETTINGS
@given(plain)
def test_a_plain_number_reads_as_the_grammar_reads_it(value):
    want = grammar(value)
    got = plain_entry(value)
    assert as_sympy(got) == want  # None for both exactly when the grammar refuses it


@SETTINGS
@given(st.one_of(st.text(alphabet="0123456789+-/._eE x()^*", max_size=30), st.text(max_size=12)))
def test_whatever_it_reads_the_grammar_reads_the_same(text):
    """On any text (and any float text) the plain reader gives a value only where the grammar gives that value."""
    for value in (text, FloatText(text)):
        got = plain_entry(value)
        if got is not None:
            assert grammar(value) == as_sympy(got), value


@SETTINGS
@given(plain, st.sampled_from([1, 2, 5, 40]), st.sampled_from([0, 1, 3, 40]), st.sampled_from([1, 8, 65536]),
       st.sampled_from([0, 1, 20]), st.sampled_from([3, 12, 200]))
def test_other_bounds_are_kept_as_the_grammar_keeps_them(value, d, e, bits, nesting, length):
    bounds = replace(DEFAULT, digits=d, decimal_exponent=e, result_bits=bits, nesting=nesting, entry_length=length)
    assert as_sympy(plain_entry(value, bounds)) == grammar(value, bounds)


def test_what_is_not_a_plain_number_is_left_to_the_grammar():
    for value in ["x", "2*3", "3/-5", " 3", "3 ", "- 3", "1e3", "2^3", "(3)", "3//4", "", "٣", "−3", "1/0", "0/0",
                  FloatText("nan"), FloatText("-inf"), True, None, 1.5, [1], {"a": 1}]:
        assert plain_entry(value) is None, value


# ---------------------------------------------------------------- whole matrices

entry = st.one_of(plain, st.sampled_from(["x", "w_1", "1/0", "2*x", FloatText("inf"), True]))


@st.composite
def matrices(draw):
    """A matrix entry as a spec writes it: rows, a flat column, one number; now and then a ragged row or a symbol."""
    form = draw(st.sampled_from(["rows", "flat", "one", "ragged"]))
    if form == "one":
        return draw(plain)
    r, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    if form == "flat":
        return draw(st.lists(plain, min_size=r, max_size=r))
    rows = [draw(st.lists(st.one_of(plain, plain, plain, entry), min_size=c, max_size=c)) for _ in range(r)]
    if form == "ragged":
        rows[-1] = rows[-1] + [1]
    return rows


def read(reader, value):
    try:
        return reader(value, "X")
    except SymnetError as e:
        return str(e)


@SETTINGS
@given(matrices())
def test_a_matrix_reads_as_the_grammar_reads_it(value):
    fast, slow = read(matrix, value), read(grammar_matrix, value)
    assert fast == slow  # the same entries, or the same refusal
    if plain_matrix(value) is not None:
        assert isinstance(fast, QQMatrix) and fast.shape == slow.shape
        assert [fast[i, j] for i in range(fast.rows) for j in range(fast.cols)] == list(slow)


def test_plain_matrices_take_the_shapes_the_grammar_takes():
    assert plain_matrix([[1, "1/2"], [FloatText("0.25"), -3]]).entries() == [1, sp.Rational(1, 2), sp.Rational(1, 4), -3]
    assert (plain_matrix([1, 2, 3]).nrows(), plain_matrix([1, 2, 3]).ncols()) == (3, 1)  # a flat list: a column
    assert (plain_matrix("7/2").nrows(), plain_matrix("7/2").ncols()) == (1, 1)
    for value in [[], [[]], [[1, 2], [3]], [[1], 2], [1, [2]], [{"a": 1}], {"symbol": "w", "shape": [2, 2]},
                  [[1] * 65], [[1]] * 65, [1] * 65]:
        assert plain_matrix(value) is None, value


# ---------------------------------------------------------------- the refusals at the bounds' edges, by hand

NINES = "9" * 40
EDGES = [  # (the entry as written in X = [1, ENTRY], a --bound or none, the value it reads as, or the error line)
    (NINES, (), 10**40 - 1),
    ("1" + "0" * 40, (), "X[2]: integer of more than 40 digits (bound: digits)"),
    (f'"{NINES}/7"', (), sp.Rational(10**40 - 1, 7)),
    (f'"1{"0" * 40}/7"', (), "X[2]: 10000000000000000000...: more than 40 digits (bound: digits)"),
    (f'"7/1{"0" * 40}"', (), "X[2]: 10000000000000000000...: more than 40 digits (bound: digits)"),
    ("1." + "2" * 39, (), sp.Rational(int("1" + "2" * 39), 10**39)),
    ("1." + "2" * 40, (), "X[2]: 1.222222222222222222...: more than 40 digits (bound: digits)"),
    ("0." + "0" * 79 + "1", (), sp.Rational(1, 10**80)),  # 80 places: digits + decimal_exponent
    ("0." + "0" * 80 + "1", (), "X[2]: 0.000000000000000000...: 81 decimal places, more than 80 (bounds: digits, decimal_exponent)"),
    ("1e40", (), sp.Integer(10**40)),
    ("1e41", (), "X[2]: '1e41': decimal exponent beyond ±40 (bound: decimal_exponent)"),
    ("1e-40", (), sp.Rational(1, 10**40)),
    ('"0.' + "0" * 79 + '5"', (), sp.Rational(1, 2 * 10**79)),
    ('"0.' + "0" * 80 + '5"', (), "X[2]: 0.000000000000000000...: 81 decimal places, more than 80 (bounds: digits, decimal_exponent)"),
    ('"3/0"', (), "X[2]: division by zero"),
    ('"' + "0" * 199 + '1"', (), sp.Integer(1)),
    ('"' + "0" * 200 + '1"', (), "X[2]: entry longer than 200 characters (bound: entry_length)"),
    ('"65535/3"', ("result_bits=16",), sp.Rational(65535, 3)),
    ('"65536/3"', ("result_bits=16",), "X[2]: '65536/3'... is a number of more than 16 bits (bound: result_bits)"),
    ('"-1/65536"', ("result_bits=16",), "X[2]: '-1/65536'... is a number of more than 16 bits (bound: result_bits)"),
    ("999", ("digits=3",), sp.Integer(999)),
    ("-1000", ("digits=3",), "X[2]: integer of more than 3 digits (bound: digits)"),
    ('"-3"', ("nesting=1",), sp.Integer(-3)),
]


@pytest.mark.parametrize("text,bound,want", EDGES, ids=range(len(EDGES)))
def test_the_edges_of_the_bounds(cli, tmp_path: Path, text: str, bound: tuple[str, ...], want) -> None:
    path = tmp_path / "edge.toml"
    path.write_text(f'X = [1, {text}]\n[[layers]]\nW = [[1, 0]]\n', encoding="utf-8")
    run = cli("solve", path, "--format", "json", *[a for b in bound for a in ("--bound", b)])
    if isinstance(want, str):
        assert (run.code, run.out, run.err) == (2, "", f"symnet: error: {path}: {want}\n")
    else:
        assert run.code == 0 and run.json()["quantities"]["X"] == [["1"], [sp.sstr(want)]]


def test_a_sign_is_a_level_of_nesting():
    """nesting = 0 (only through the API: --bound takes 1 and up) refuses "-3", as the grammar does."""
    bounds = replace(DEFAULT, nesting=0)
    assert plain_entry("-3", bounds) is None and plain_entry("3", bounds) == 3 and plain_entry(-3, bounds) == -3
    with pytest.raises(SymnetError, match=r"^<dict>: X\[1\]: nested deeper than 0 levels \(bound: nesting\)$"):
        spec.from_data({"X": ["-3"], "layers": [{"W": [[1]]}]}, "<dict>", bounds)


@pytest.mark.parametrize("rows,cols,line", [(64, 1, None), (65, 1, "X: more than 64 rows (bound: rows)"),
                                            (1, 64, None), (1, 65, "X: more than 64 columns (bound: cols)")])
def test_the_edges_of_the_shape_bounds(rows: int, cols: int, line: str | None) -> None:
    data = {"X": [["1/2"] * cols for _ in range(rows)], "layers": [{"W": [[1] * rows]}]}
    if line is None:
        assert spec.from_data(data).X == sp.ImmutableMatrix(rows, cols, [sp.Rational(1, 2)] * (rows * cols))
    else:
        with pytest.raises(SymnetError) as e:
            spec.from_data(data, "<dict>")
        assert str(e.value) == f"<dict>: {line}"
