"""Issue 12's examples, each with its exact expected line or result: tracebacks, disguised zeros, names, keys,
runaway nesting and expansion. Every test runs under the hang guard; none asserts a speed."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import mpmath
import pytest
import sympy as sp

from .hostile import guard

hang_guard = guard.hang_guard
PREFIX = "symnet: error: "


def one_error_line(r) -> str:
    assert r.code == 2, (r.code, r.err)
    assert r.out == "" and r.err.startswith(PREFIX) and r.err.count("\n") == 1, r.err
    assert "Traceback" not in r.err
    return r.err[len(PREFIX):-1]


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def put(folder: Path, name: str, text: str) -> str:
    (folder / name).write_text(text)
    return name


def chain(k: int, act: str, x: str = "2", w: str = "2", b: str = "1", tail: str = "") -> str:
    """A spec of k one-neuron layers."""
    layers = "".join(f'[[layers]]\nW = [[{w}]]\nb = [{b}]\nactivation = "{act}"\n' for _ in range(k))
    return f"X = [{x}]\n{layers}{tail}"


# ---------------------------------------------------------------- tracebacks


SYMBOLIC_ROUND = 'X = ["x"]\n[[layers]]\nW = [[1]]\nactivation = "sigmoid"\n[loss]\nkind = "bce"\nY = [1]\n' \
                 '[train]\nlearning_rate = "1/10"\nround = 2\n'


@pytest.mark.parametrize("argv", [("solve",), ("solve", "--format", "latex"), ("worksheet",),
                                  ("worksheet", "--format", "latex"), ("solve", "--decimals", "3")])
def test_a_rounded_symbolic_value_renders_exactly(cli, work, argv):
    put(work, "s.toml", SYMBOLIC_ROUND)
    r = cli(argv[0], "s.toml", *argv[1:])
    assert (r.code, r.err) == (0, "")  # (a decimal.InvalidOperation traceback before)
    if argv[0] == "solve" and "latex" not in argv:
        assert r"\frac{1}{10} - \frac{1}{10}" not in r.out  # no half-made numbers either
        assert "x" in r.out


def test_decimals_of_values_beyond_28_digits(cli, work):
    put(work, "s.toml", 'X = ["10^30 + 1/3", "sqrt(2)"]\n[[layers]]\nW = [[1, "exp(3)"]]\n')
    for fmt in ("markdown", "latex"):
        r = cli("solve", "s.toml", "--decimals", "4", "--format", fmt)
        assert (r.code, r.err) == (0, "")  # (decimal.InvalidOperation: 35 digits beyond Decimal's 28)


def _unsigned_zero(text: str) -> str:
    """Decimal's text without the sign of a rounded zero (symnet writes 0.00, never -0.00)."""
    return text.lstrip("-") if not text.strip("-0.") else text


def test_the_decimal_filter_against_exact_and_mpmath_oracles():
    from decimal import ROUND_HALF_EVEN, Decimal, localcontext

    from symnet.render.env import decimal

    from .numeric import approx

    for p, q, places in [(1, 8, 2), (3, 8, 2), (-1, 8, 2), (-5, 2, 0), (7, 2, 0), (10**40 + 1, 3, 5), (-2, 3, 0)]:
        with localcontext() as ctx:
            ctx.prec = 100
            want = (Decimal(p) / Decimal(q)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
        assert decimal(sp.Rational(p, q), places) == _unsigned_zero(str(want))
    for v in [sp.exp(4) / (1 + 2 * sp.exp(4)), sp.exp(100) + sp.sqrt(2), -sp.log(3) / 7, sp.tanh(sp.tanh(2) + 1)]:
        for places in (0, 3, 12):
            want = mpmath.nstr(approx(v, 80), 80, strip_zeros=False)
            with localcontext() as ctx:
                ctx.prec = 200
                want = str(Decimal(want).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN))
            assert decimal(v, places) == _unsigned_zero(want), (v, places)
    x = sp.Symbol("x")
    assert decimal(1 / (1 + sp.exp(-x)), 2) == r"\frac{1}{1 + e^{- x}}"
    assert decimal(sp.zoo, 2) == r"\tilde{\infty}" and decimal(sp.I, 2) == "i"


def test_a_disguised_zero_in_a_denominator_is_refused(cli, work):
    put(work, "s.toml", 'X = ["1/(log(6)-log(2)-log(3))"]\n[[layers]]\nW = [[1]]\nactivation = "relu"\n')
    for argv in (("solve", "--format", "json"), ("solve", "--format", "latex"), ("worksheet",)):
        assert one_error_line(cli(argv[0], "s.toml", *argv[1:])) == (
            "s.toml: X[1]: '1/(log(6)-log(2)-log(3))' divides by -log(3) - log(2) + log(6), which is 0: "
            "not a finite value")  # (ReLU(+∞) was A1 = [0], exit 0; the printer raised ZeroDivisionError)


@pytest.mark.parametrize("entry, line", [
    ("x/(log(4)-2*log(2))", "'x/(log(4)-2*log(2))' divides by -2*log(2) + log(4), which is 0: not a finite value"),
    ("(log(6)-log(2)-log(3))^(-2)",
     "'(log(6)-log(2)-log(3))^(-2)' divides by -log(3) - log(2) + log(6), which is 0: not a finite value"),
    ("1/(log(2)^2 - log(4)*log(2)/2)",
     "'1/(log(2)^2 - log(4)*log(2)/2)' divides by -log(2)*log(4)/2 + log(2)**2, which is 0: not a finite value"),
    ("1/(exp(1/3)^3 - e)", "division by zero"),
])
def test_disguised_zeros_in_entries(cli, work, entry, line):
    put(work, "s.toml", f'X = ["{entry}"]\n[[layers]]\nW = [[1]]\n')
    assert one_error_line(cli("solve", "s.toml")) == f"s.toml: X[1]: {line}"


def test_a_tiny_nonzero_denominator_is_kept(cli, work):
    put(work, "s.toml", 'X = ["1/(sqrt(2)-1.41421356237309504880168872420969807)"]\n[[layers]]\nW = [[1]]\n')
    r = cli("solve", "s.toml", "--format", "json")
    assert r.code == 0 and r.json()["quantities"]["Z1"] == [
        ["1/(-141421356237309504880168872420969807/100000000000000000000000000000000000 + sqrt(2))"]]


def test_an_infinite_loss_from_a_disguised_zero_is_refused(cli, work):
    put(work, "s.toml", 'X = ["log(6)", "log(2)+log(3)"]\n[[layers]]\nW = [[1, -1]]\n'
                        '[loss]\nkind = "cross_entropy"\nY = [1]\n')
    assert one_error_line(cli("solve", "s.toml")) == (
        "s.toml: L: takes the log of -log(3) - log(2) + log(6), which is 0: the value is not a finite number")


def test_relu_of_a_disguised_zero_is_zero(cli, work):
    put(work, "s.toml", 'X = ["log(6)", "log(2)+log(3)"]\n[[layers]]\nW = [[1, -1]]\nactivation = "relu"\n')
    r = cli("solve", "s.toml", "--format", "json")
    assert r.code == 0 and r.json()["quantities"]["A1"] == [["0"]]  # ReLU(0) = 0, rightly


def test_a_file_named_like_a_student_folder_is_one_line(cli, work):
    (work / "set").mkdir()
    (work / "set" / "student-001").write_text("not a folder\n")
    assert one_error_line(cli("generate", "backprop", "--count", "2", "--out", "set")) == (
        "set/student-001: is a file, not a folder: move it away to make this student")
    assert (work / "set" / "student-001").read_text() == "not a folder\n"


# ---------------------------------------------------------------- names, keys, files named


def test_symbol_names_print_one_way():
    from symnet.render.env import tex
    from symnet.render.printer import symbol_tex

    x12, omicron, nabs, xprime = sp.symbols("x_1_2 omicron nabs xprime")
    assert tex(x12) == "x_{1,2}"  # SymPy: x_{1 2}
    assert tex(omicron) == "omicron"  # SymPy: o
    assert tex(nabs + xprime) in ("nabs + xprime", "xprime + nabs")  # SymPy: |n| + x'
    assert [symbol_tex(n) for n in ("w11", "x1", "alpha_1", "lamda", "Omega2", "w1_10_3", "Alpha")] == [
        "w_{11}", "x_{1}", r"\alpha_{1}", r"\lambda", r"\Omega_{2}", "w_{1,10,3}", "Alpha"]


@pytest.mark.parametrize("name", ["x__y", "x_"])
def test_names_printers_misread_are_refused(cli, work, name):
    put(work, "s.toml", f'X = ["{name}"]\n[[layers]]\nW = [[1]]\n')
    assert one_error_line(cli("solve", "s.toml")) == (
        f"s.toml: X[1]: '{name}' is not a symbol name (an underscore must be followed by a letter or digit)")


def test_a_symbol_matrix_base_misread_is_refused(cli, work):
    put(work, "s.toml", 'X = [1]\n[[layers]]\nW = { symbol = "w__", shape = [1, 1] }\n')
    assert one_error_line(cli("solve", "s.toml")) == (
        "s.toml: layers[1].W.symbol: 'w__' is not a symbol name (an underscore must be followed by a letter or digit)")


def test_duplicate_json_keys_are_refused(cli, work):
    put(work, "s.json", '{"X": [1], "layers": [{"W": [[1]], "W": [[2]]}]}')
    assert one_error_line(cli("solve", "s.json")) == "s.json: not valid JSON: the key 'W' appears twice in one object"
    put(work, "a.json", '{"L": 1, "L": 2}')
    assert one_error_line(cli("check", "backprop", "a.json")) == (
        "a.json: not valid JSON: the key 'L' appears twice in one object")


BITS = 'X = [1, 2]\n[[layers]]\nW = [[1, 2], [3, 4]]\nb = [1, -1]\nactivation = "sigmoid"\nexp_base = 2\n' \
       '[loss]\nkind = "squared_error"\nY = [1, 0]\n[train]\nlearning_rate = "1/7"\nsteps = 3\n'


def test_the_result_bits_refusal_names_the_file(cli, work):
    put(work, "s.toml", BITS)
    assert one_error_line(cli("solve", "s.toml", "--bound", "result_bits=30")) == (
        "s.toml: train.steps: gradient-descent step 1: an updated weight of layer 1 needs 35 bits, more than 30 "
        "(bound: result_bits); use fewer steps or round the weights ([train] round = 4)")


def test_the_result_bits_refusal_names_the_file_from_python(work):
    import symnet
    from symnet.bounds import DEFAULT
    from symnet.errors import BoundError

    put(work, "s.toml", BITS)
    with pytest.raises(BoundError) as e:
        symnet.load("s.toml", bounds=DEFAULT.raised(["result_bits=30"])).solve()
    assert e.value.source == "s.toml"


def test_two_layers_with_the_same_symbol_base_do_not_share_symbols(cli, work):
    put(work, "s.toml", 'X = [1, 2]\n[[layers]]\nW = { symbol = "w", shape = [2, 2] }\nactivation = "relu"\n'
                        '[[layers]]\nW = { symbol = "w", shape = [2, 2] }\n')
    assert one_error_line(cli("solve", "s.toml")) == (
        "s.toml: layers[2].W.symbol: 'w' is already the symbol of layers[1].W; choose another (for example w2)")
    put(work, "t.toml", 'X = [1, 2]\n[[layers]]\nW = { symbol = "w", shape = [2, 2] }\nactivation = "relu"\n'
                        '[[layers]]\nW = { symbol = "v", shape = [2, 2] }\n')
    assert cli("solve", "t.toml").code == 0  # distinct bases: w11 … and v11 …


# ---------------------------------------------------------------- runaway nesting, expansion, rounding


def test_sixteen_one_neuron_tanh_layers_are_refused_at_once(cli, work):
    put(work, "s.toml", chain(16, "tanh", tail='[loss]\nkind = "bce"\nY = [1]\n[train]\nlearning_rate = "1/10"\n'))
    assert one_error_line(cli("solve", "s.toml", "--format", "json")) == (
        "s.toml: layers[7]: its input nests 6 exponentials, logs or tanh, and this activation one more, beyond 6 "
        "(bound: function_depth); use fewer sigmoid, tanh or softmax layers, or exp_base = 3")


def test_the_depth_bound_counts_symbols_and_can_be_raised(cli, work):
    put(work, "s.toml", chain(10, "tanh", x='"x"', w="1", b="0"))  # symbolic: 18 s before, doubling per layer
    assert one_error_line(cli("solve", "s.toml", "--format", "json")).startswith(
        "s.toml: layers[7]: its input nests 6 exponentials, logs or tanh, and this activation one more")
    put(work, "t.toml", chain(7, "tanh", x='"x"', w="1", b="0"))
    r = cli("solve", "t.toml", "--format", "json", "--bound", "function_depth=7")
    assert r.code == 0 and r.json()["quantities"]["A7"] == [["tanh(" * 7 + "x" + ")" * 7]]


def test_check_powers_never_evaluates_with_sympy(monkeypatch):
    """A wide tanh chain made the powers guard hang in SymPy's evalf (exponential in the depth): it sizes z in
    floats now. The oracle: 60-digit values of the same entries."""
    from symnet.bounds import check_powers, estimate

    from .numeric import approx

    n = 8
    Z = sp.ImmutableMatrix([sp.Rational(i + 1, 3) for i in range(n)])
    W = sp.ImmutableMatrix(n, n, lambda i, j: (i + 2 * j) % 5 - 2)
    for _ in range(4):
        Z = W * Z.applyfunc(sp.tanh) + sp.ImmutableMatrix([1] * n)
    memo: dict = {}
    for z in Z:
        assert abs(estimate(z, memo) - float(approx(z, 20))) <= 1e-9 * max(1, abs(float(approx(z, 20))))

    def no_evalf(*args, **kwargs):
        raise AssertionError("check_powers called SymPy's evalf")

    monkeypatch.setattr(sp.Expr, "evalf", no_evalf)
    check_powers(Z, sp.E)


def test_a_power_of_a_long_sum_through_tanh_is_refused(cli, work):
    put(work, "s.toml", 'X = ["(a+b+c+d+e1+f+g+h)^64"]\n[[layers]]\nW = [[1]]\nactivation = "tanh"\n'
                        '[[layers]]\nW = [[1]]\nactivation = "tanh"\n')
    assert one_error_line(cli("solve", "s.toml", "--format", "json")) == (
        "s.toml: X[1]: '(a+b+c+d+e1+f+g+h)^64': a power that multiplies out to more than 2000 terms "
        "(bound: expression_nodes)")
    put(work, "t.toml", 'X = ["(a+b)^8"]\n[[layers]]\nW = [[1]]\nactivation = "tanh"\n')
    assert cli("solve", "t.toml", "--format", "json").code == 0


def test_a_numeric_power_of_a_long_sum_is_refused(cli, work):
    """Found by the fuzzer: SymPy expands (log(6) − log(2) − log(3) − 1)^64 (47905 terms) to split the sigmoid's
    e^z into real and imaginary parts, in some runs and not others (the order of its assumption queries varies)."""
    entry = "(log(6)-log(2)-log(3))^64 - (-1 + log(6)-log(2)-log(3))^64 - e"
    put(work, "s.toml", f'X = [1, 2]\n[[layers]]\nW = [["{entry}", -1]]\nactivation = "sigmoid"\n')
    assert one_error_line(cli("solve", "s.toml", "--format", "json")) == (
        "s.toml: layers[1].W[1][1]: '(log(6)-log(2)-log(3))^64 - (-1 + log...': a power that multiplies out to more "
        "than 2000 terms (bound: expression_nodes)")


def test_a_computed_power_of_a_long_sum_is_refused_before_an_activation():
    from symnet.bounds import check_powers
    from symnet.errors import BoundError

    a, b, c = sp.symbols("a b c")
    check_powers(sp.ImmutableMatrix([(a + b + c) ** 8]), sp.E)  # 45 terms
    with pytest.raises(BoundError, match=r"^layers\[2\]: a power in its input multiplies out to more than 2000 terms"):
        check_powers(sp.ImmutableMatrix([(a + b + c + 1) ** 30]), sp.E, field="layers[2]")  # C(33, 3) = 5456 terms


def test_an_exp_base_near_zero_finishes(cli, work):
    base = '\nexp_base = "1/(10^40 - 1)"\n'
    layer = '[[layers]]\nW = [[1, 1], [1, -1]]\nactivation = "{}"' + base
    put(work, "s.toml", 'X = ["1/2", 1]\n' + layer.format("sigmoid") + layer.format("tanh") + layer.format("softmax")
        + '[loss]\nkind = "cross_entropy"\nY = [0, 1]\n[train]\nlearning_rate = "1/10"\n')
    r = cli("solve", "s.toml", "--format", "json")
    assert r.code in (0, 2), r.err
    assert r.code == 0 or "(bound: " in r.err


def _oracle_training(steps: int) -> list[list[str]]:
    """The sigmoid → softmax net below trained in 60-digit floats, rounded to 4 decimals (halves away from 0)."""
    mpmath.mp.dps = 60
    X, Y = mpmath.matrix([[1, 2], [2, -1], [0, 1]]), mpmath.matrix([[0, 1], [1, 0]])
    W1, b1 = mpmath.matrix([[1, -1, 1], [2, 1, 0], [0, 1, -1]]), mpmath.matrix([0, 1, -1])
    W2, b2 = mpmath.matrix([[1, 2, -1], [-1, 1, 2]]), mpmath.matrix([1, 0])

    def rounded(M):
        out = [[Fraction(int(mpmath.floor(abs(M[i, j]) * 10**4 + mpmath.mpf(1) / 2)) * (1 if M[i, j] >= 0 else -1),
                         10**4) for j in range(M.cols)] for i in range(M.rows)]
        return out, mpmath.matrix([[mpmath.mpf(f.numerator) / f.denominator for f in r] for r in out])

    ones = mpmath.ones(1, 2)
    for _ in range(steps):
        A1 = (W1 * X + b1 * ones).apply(lambda z: 1 / (1 + mpmath.exp(-z)))
        E = (W2 * A1 + b2 * ones).apply(mpmath.exp)
        A2 = mpmath.matrix([[E[i, j] / (E[0, j] + E[1, j]) for j in range(2)] for i in range(2)])
        dZ2 = (A2 - Y) / 2
        dA1 = W2.T * dZ2
        dZ1 = mpmath.matrix([[dA1[i, j] * A1[i, j] * (1 - A1[i, j]) for j in range(2)] for i in range(3)])
        eta = mpmath.mpf(1) / 10
        (w1, W1), (c1, b1) = rounded(W1 - eta * dZ1 * X.T), rounded(b1 - eta * dZ1 * ones.T)
        (w2, W2), (c2, b2) = rounded(W2 - eta * dZ2 * A1.T), rounded(b2 - eta * dZ2 * ones.T)
    mpmath.mp.dps = 15
    return [[str(f) for r in m for f in r] for m in (w1, c1, w2, c2)]


ROUNDED_NET = """X = [[1, 2], [2, -1], [0, 1]]
[[layers]]
W = [[1, -1, 1], [2, 1, 0], [0, 1, -1]]
b = [0, 1, -1]
activation = "sigmoid"
[[layers]]
W = [[1, 2, -1], [-1, 1, 2]]
b = [1, 0]
activation = "softmax"
[loss]
kind = "cross_entropy"
Y = [[0, 1], [1, 0]]
[train]
learning_rate = "1/10"
steps = 3
round = 4
"""


def test_round_4_on_a_sigmoid_softmax_net_rounds_without_sympy_floor(cli, work, monkeypatch):
    def no_floor(*args, **kwargs):
        raise AssertionError("SymPy's floor of an exact e-value: precision raised level by level")

    put(work, "s.toml", ROUNDED_NET)
    monkeypatch.setattr(sp, "floor", no_floor)
    r = cli("solve", "s.toml", "--format", "json")
    assert r.code == 0, r.err
    last = r.json()["steps"][-1]
    got = [[v for row in last[name] for v in row] for name in ("W1'≈", "b1'≈", "W2'≈", "b2'≈")]
    assert got == _oracle_training(3)


def test_interval_rounding_agrees_with_the_exact_engine_and_an_mpmath_oracle():
    import random

    from symnet.algebra.sympy import round_value
    from symnet.intervals import Undecided, floor, round_half_away

    from .numeric import approx

    rng = random.Random(12)
    values = [sp.exp(4) / (1 + 2 * sp.exp(4)), sp.tanh(sp.tanh(2) + 1), -sp.sqrt(2), sp.E**sp.pi, -sp.exp(-40)]
    for _ in range(30):
        a, b = sp.Rational(rng.randint(-50, 50), rng.randint(1, 9)), sp.Rational(rng.randint(-50, 50), rng.randint(1, 9))
        values.append(a * sp.exp(b) + sp.tanh(a) - sp.log(rng.randint(1, 20)))
    for v in values:
        assert floor(v) == int(mpmath.floor(approx(v, 60)))
        for d in (0, 4, 30):
            assert round_half_away(v, d) == round_value(v, d)
    with pytest.raises(Undecided):
        floor(1 / (sp.log(6) - sp.log(2) - sp.log(3)))


def test_a_pdf_too_large_to_set_in_time_is_refused_before_pdflatex_runs(cli, work, monkeypatch):
    from symnet.render import pdf

    def no_pdflatex(*args, **kwargs):
        raise AssertionError("pdflatex ran")

    monkeypatch.setattr(pdf.shutil, "which", lambda name: "/usr/bin/pdflatex")
    monkeypatch.setattr(pdf.subprocess, "run", no_pdflatex)
    monkeypatch.setattr(pdf, "RATE", 100)  # as if pdflatex set 100 bytes a second: backprop's key is far more
    assert one_error_line(cli("solve", "backprop", "--format", "pdf", "-o", "key.pdf")) == (
        "backprop: --format pdf: the LaTeX is 0 MB, more than pdflatex sets in 60 s (about 1 MB a second); use "
        "--format latex and compile it yourself, or a smaller exercise")
    assert not (work / "key.pdf").exists()


EXP_BASE_NET = """X = ["1/2", 1]
[[layers]]
W = [[1, 1], [1, -1]]
activation = "sigmoid"
exp_base = "1/(10^40 - 1)"
[[layers]]
W = [[1, 1], [1, -1]]
activation = "sigmoid"
exp_base = "1/(10^40 - 1)"
[[layers]]
W = [[1, 1], [1, -1]]
activation = "softmax"
exp_base = "1/(10^40 - 1)"
[loss]
kind = "cross_entropy"
Y = [0, 1]
[train]
learning_rate = "1/10"
"""


def test_an_exp_base_near_zero_writes_its_json(work):
    """exp_base = 1/(10^40 − 1) through three e-layers (it hung factoring the base, then took 43 s sorting the
    JSON's terms): its JSON is written, each value the exact one the solution holds."""
    import symnet
    from symnet.export import to_json

    put(work, "s.toml", EXP_BASE_NET)
    solution = symnet.load("s.toml").solve()
    a3 = to_json(solution)["quantities"]["A3"]
    assert len(a3) == 2 and all(len(row) == 1 for row in a3)
    from .numeric import approx

    assert abs(approx(sum(solution["A3"]), 60) - 1) < mpmath.mpf(10) ** -50  # a softmax column sums to 1


def test_the_layout_measures_what_the_printer_prints():
    from symnet.render.env import tex
    from symnet.render.layout import tex_width, value_width

    for name in ("nabs", "x_1_2", "xhat", "omicron"):
        assert value_width(sp.Symbol(name)) == tex_width(tex(sp.Symbol(name)))


def test_found_by_the_fuzz_a_leaky_relu_of_a_leaky_relu_s_piecewise(cli, work):
    """Training a symbolic leaky-ReLU network puts a Piecewise in a later z: SymPy folding the condition z > 0 over it
    raised TypeError (a traceback). The same function without a condition: Max(0, z) + slope·Min(0, z)."""
    from symnet.algebra.sympy import SYMPY

    x = sp.Symbol("x")
    inner = SYMPY.relu(sp.ImmutableMatrix([[x - 1]]), sp.Rational(1, 100))[0, 0]  # Piecewise((x − 1, x > 1), …)
    assert inner.has(sp.Piecewise)
    outer = SYMPY.relu(sp.ImmutableMatrix([[inner - sp.E]]), sp.Rational(1, 10))[0, 0]
    slope = SYMPY.step(sp.ImmutableMatrix([[inner - sp.E]]), sp.Rational(1, 10))[0, 0]
    for v in (-3, 0, 2, sp.Rational(7, 2), 10):  # worked by hand: leaky(leaky(v − 1, 1/100) − e, 1/10)
        a = v - 1 if v > 1 else sp.Rational(1, 100) * (v - 1)
        want = a - sp.E if a - sp.E > 0 else sp.Rational(1, 10) * (a - sp.E)
        assert sp.simplify(outer.subs(x, v) - want) == 0
        assert slope.subs(x, v) == (1 if a - sp.E > 0 else sp.Rational(1, 10))
    put(work, "s.json", '{"X": [[3]], "layers": [{"W": [[1], ["0.5"], [-2]], "b": [[3], ["log(2)"], [-3]], '
        '"activation": "leaky_relu"}, {"W": [["1/2", "exp(1)", "x"], ["1/2", -3, "exp(1)"], [-3, -2, "log(2)"]], '
        '"b": [[-2], ["1/2"], ["1/2"]], "activation": "leaky_relu"}], "loss": {"kind": "bce", "Y": [[0], [0], [0]], '
        '"reduction": "mean"}, "train": {"learning_rate": -1, "steps": 3}}')
    assert one_error_line(cli("solve", "s.json", "--format", "json")) == (
        "s.json: L: an entry grows beyond 2000 nodes (bound: expression_nodes); use fewer steps, exp_base = 3, or "
        "fewer symbols")
