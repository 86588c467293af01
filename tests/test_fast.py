"""The flint algebra: taken when all is rational, identical to the SymPy algebra, factored softmax with e, rounding."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from fractions import Fraction

import pytest
import sympy as sp

from symnet import engine, spec
from symnet.bounds import DEFAULT
from symnet.errors import BoundError, SymnetError
from symnet.export import to_json
from symnet.expr import parse_entry

SEEDS = ["single-neuron", "four-neurons", "hidden-layer", "batch", "mlp7", "backprop"]
RATIONAL_ACTS = ["identity", "relu", "leaky_relu"]
EXP_ACTS = ["sigmoid", "tanh", "softmax"]


def frac(rng: random.Random, whole: bool) -> str:
    """A small rational (a whole number when exponents must stay whole), as spec text."""
    if whole:
        return str(rng.randint(-2, 2))
    return str(Fraction(rng.randint(-12, 12), rng.choice([1, 2, 3, 4, 5, 10])))


def rational_spec(seed: int) -> dict:
    """A random all-rational network: rational activations, exp_base 2, 3 or 1/2, any loss, training."""
    rng = random.Random(f"fast:{seed}")
    depth = rng.randint(1, 3)
    widths = [rng.randint(1, 4) for _ in range(depth + 1)]
    batch = rng.randint(1, 4)
    loss = rng.choice(["squared_error", "mse", "cross_entropy", "bce"])
    out = {"cross_entropy": "softmax", "bce": "sigmoid"}.get(loss, rng.choice(RATIONAL_ACTS + EXP_ACTS))
    whole = out in EXP_ACTS  # keep Z whole (whole entries, identity and ReLU below) so that base^Z stays rational
    acts = [rng.choice(["identity", "relu"] if whole else RATIONAL_ACTS) for _ in range(depth - 1)] + [out]
    if out == "softmax":
        widths[-1] = max(2, widths[-1])
    layers = []
    for k, act in enumerate(acts):
        layer: dict = {"W": [[frac(rng, whole) for _ in range(widths[k])] for _ in range(widths[k + 1])],
                       "activation": act}
        if rng.random() < 0.8:
            layer["b"] = [frac(rng, whole) for _ in range(widths[k + 1])]
        if act == "leaky_relu":
            layer["alpha"] = rng.choice(["1/10", "1/5", "0.01"])
        if act in EXP_ACTS:
            layer["exp_base"] = rng.choice([2, 3, "1/2"])
        layers.append(layer)
    n, N = widths[-1], batch
    if loss == "cross_entropy":
        Y = [[str(Fraction(rng.randint(0, 4), 4)) for _ in range(N)] for _ in range(n)]
    elif loss == "bce":
        Y = [[rng.choice(["0", "1", "1/2"]) for _ in range(N)] for _ in range(n)]
    else:
        Y = [[frac(rng, False) for _ in range(N)] for _ in range(n)]
    data = {"X": [[frac(rng, whole) for _ in range(N)] for _ in range(widths[0])], "layers": layers,
            "loss": {"kind": loss, "Y": Y, "reduction": rng.choice(["mean", "sum"])}}
    if rng.random() < 0.6:
        data["train"] = {"learning_rate": rng.choice(["1/10", "1/2", "0.01"]), "steps": 1 if whole else rng.randint(1, 2)}
        if rng.random() < 0.3 and not whole:
            data["train"]["round"] = rng.choice([0, 2, 4])
    return data


def assert_same(a, b) -> None:
    """Two solutions record the same steps: kinds, names, layers, epochs, values and operands."""
    assert [(s.kind, s.name, s.layer, s.epoch) for s in a.steps] == [(s.kind, s.name, s.layer, s.epoch) for s in b.steps]
    for s, t in zip(a.steps, b.steps):
        assert s.value == t.value, (s.name, s.value, t.value)
        assert [k for k, _ in s.operands] == [k for k, _ in t.operands], s.name
        for (k, x), (_, y) in zip(s.operands, t.operands):
            assert x == y, (s.name, k)
    assert a.bits == b.bits


def both(ex, **kw):
    """The exercise solved by both backends (an error must be the same on both)."""
    try:
        a = engine.solve(ex, backend="auto", **kw)
    except SymnetError as e:
        with pytest.raises(type(e)) as info:
            engine.solve(ex, backend="sympy", **kw)
        assert str(info.value) == str(e)
        return None, None
    return a, engine.solve(ex, backend="sympy", **kw)


@pytest.mark.parametrize("name", SEEDS)
def test_seeds_take_the_fast_path_and_agree(name):
    ex = spec.load(name)
    a, b = both(ex)
    assert a.backend == "flint" and b.backend == "sympy"
    assert_same(a, b)
    assert to_json(a) == to_json(b)


def test_the_backend_is_named():
    assert engine.solve(spec.load("batch")).backend == "flint"
    assert engine.solve(spec.load("backprop"), backend="sympy").backend == "sympy"


def test_random_rational_networks_agree():
    taken = 0
    for seed in range(80):
        ex = spec.from_data(rational_spec(seed))
        a, b = both(ex)
        if a is None:
            continue
        assert b.backend == "sympy"
        taken += a.backend == "flint"
        assert_same(a, b)
    assert taken >= 75  # nearly all of them stay on flint (the rest raise the same error on both paths)


MISTAKES = ["missing_bias", "missing_activation", "unmasked_gradient", "relu_on_gradient", "no_learning_rate",
            "wrong_update_direction", "summed_over_batch", "averaged_over_batch"]


@pytest.mark.parametrize("code", MISTAKES)
def test_mistakes_agree(code):
    for seed in range(25):
        ex = spec.from_data(rational_spec(seed))
        a, b = both(ex, broken=frozenset({code}))
        if a is not None:
            assert_same(a, b)


def test_given_values_agree_and_carry_downstream():
    ex = spec.load("backprop")
    given = {"Z1": sp.ImmutableMatrix([[-1], [7], [5], [3]]), "L": sp.log(3)}
    a, b = both(ex, given=given)
    assert a.backend == "flint"
    assert_same(a, b)
    assert a["A1"] == sp.ImmutableMatrix([[0], [7], [5], [3]])  # computed from the given Z1


def test_symbolic_given_falls_back():
    ex = spec.load("batch")
    w = sp.Symbol("w")
    sol = engine.solve(ex, given={"Z1": sp.ImmutableMatrix(4, 3, [w] * 12)})
    assert sol.backend == "sympy"


def test_values_are_sympy_when_read():
    sol = engine.solve(spec.load("mlp7"))
    assert sol.backend == "flint"
    v = sol["Z3"]
    assert isinstance(v, sp.ImmutableMatrix)
    assert v == sp.ImmutableMatrix([[7, 9], [5, -5], [8, 16]])  # SEEDS.md
    assert all(isinstance(x, sp.Integer) for x in v)
    assert isinstance(sol.step("Z3").operand("W3"), sp.ImmutableMatrix)


# ---------------------------------------------------------------- softmax with e: factored gradients


def e_spec(seed: int, batch: int = 2, steps: int | None = 1) -> dict:
    rng = random.Random(f"e:{seed}")
    widths = [rng.randint(1, 3), rng.randint(1, 3), rng.randint(2, 3)]
    layers = [{"W": [[frac(rng, False) for _ in range(widths[k])] for _ in range(widths[k + 1])],
               "b": [frac(rng, False) for _ in range(widths[k + 1])],
               "activation": a} for k, a in enumerate([rng.choice(RATIONAL_ACTS), "softmax"])]
    Y = [[str(Fraction(rng.randint(0, 2), 2)) for _ in range(batch)] for _ in range(widths[-1])]
    data = {"X": [[frac(rng, False) for _ in range(batch)] for _ in range(widths[0])], "layers": layers,
            "loss": {"kind": "cross_entropy", "Y": Y}}
    if steps:
        data["train"] = {"learning_rate": "1/2", "steps": steps}
    return data


@pytest.mark.parametrize("seed", range(6))
def test_softmax_e_factored_matches_sympy_diff(seed):
    """Every gradient equals sympy.diff of the loss (the oracle) and the SymPy path's value."""
    ex = spec.from_data(e_spec(seed))
    a = engine.solve(ex)
    b = engine.solve(ex, backend="sympy")
    assert a.backend == "flint"
    names = [n for n in b if n.startswith("dL/") or n.endswith("'")]
    for name in names:
        assert sp.simplify(a[name] - b[name]) == sp.zeros(*b[name].shape), name
    # the oracle: differentiate L with respect to each weight symbol
    W = [sp.Matrix(l.W.rows, l.W.cols, lambda i, j, k=k: sp.Symbol(f"w{k}_{i}_{j}")) for k, l in enumerate(ex.layers, 1)]
    sym = spec.from_data(e_spec(seed))
    from dataclasses import replace

    sym = replace(sym, layers=tuple(replace(l, W=sp.ImmutableMatrix(w)) for l, w in zip(sym.layers, W)), train=None)
    L = engine.solve(sym, backend="sympy")["L"]
    subs = {s: v for w, l in zip(W, ex.layers) for s, v in zip(w, l.W)}
    for k, w in enumerate(W, 1):
        for idx, s in enumerate(w):
            want = sp.diff(L, s).subs(subs)
            got = a[f"dL/dW{k}"][idx]
            assert abs(sp.N(want - got, 40)) < sp.Float("1e-35"), (k, idx)


def test_softmax_e_json_parses_back_exactly():
    """Every JSON string reads back, by SymPy's parser (as a user would) and by symnet's own grammar (as
    `symnet check` does), to a value whose difference from the SymPy path's value expands to 0."""
    ex = spec.from_data(e_spec(3, batch=3))
    sol = engine.solve(ex)
    assert sol.backend == "flint"
    oracle = engine.solve(ex, backend="sympy")
    roomy = replace(DEFAULT, entry_length=10**5, expression_nodes=10**5)
    doc = json.loads(json.dumps(to_json(sol)))
    for name, rows in doc["quantities"].items():
        want = oracle[name]
        cells = rows if isinstance(rows, list) else [[rows]]
        entries = list(want) if isinstance(want, sp.MatrixBase) else [want]
        texts = [x for r in cells for x in r]
        assert len(texts) == len(entries), name
        for text, w in zip(texts, entries):
            assert sp.expand(sp.parse_expr(text) - w) == 0, (name, text)
            assert sp.expand(parse_entry(text, roomy) - w) == 0, (name, text)


def test_softmax_e_with_two_steps_is_left_to_sympy():
    ex = spec.from_data(e_spec(1, steps=2))
    roomy = replace(DEFAULT, expression_nodes=10**5, quantity_nodes=10**7)
    assert engine.solve(ex, bounds=roomy).backend == "sympy"  # step 2's Z holds e: the flint algebra gives way


# ---------------------------------------------------------------- bits and rounding


def test_bits_per_step_grow_and_are_reported():
    data = {"X": [["1/2", 1], [2, "-1/3"]],
            "layers": [{"W": [["1/3", "2/7"], ["5/11", "-1/13"]], "b": ["1/5", "1/9"], "activation": "relu"},
                       {"W": [["1/17", "3/19"], ["2/3", "-1/4"]], "activation": "leaky_relu"},
                       {"W": [["1/2", "-3/5"]]}],
            "loss": {"kind": "squared_error", "Y": [[5, 1]]}, "train": {"learning_rate": "1/3", "steps": 3}}
    ex = spec.from_data(data)
    a, b = both(ex)
    assert len(a.bits) == 3 and a.bits == b.bits
    want = max(max(abs(v.p).bit_length(), v.q.bit_length())
               for s in a.steps if s.kind == "update" and s.epoch == 3 for v in s.value)
    assert a.bits[-1] == want
    assert a.bits[0] < a.bits[1] < a.bits[2]  # exact descent grows the weights' bit length step by step


def test_bits_beyond_the_bound_are_refused():
    from dataclasses import replace

    data = {"X": [[1], [2]], "layers": [{"W": [["1/3", "2/7"], ["5/11", "-1/13"]], "activation": "relu"},
                                         {"W": [["1/17", "3/19"]]}],
            "loss": {"kind": "squared_error", "Y": [[5]]}, "train": {"learning_rate": "1/7", "steps": 8}}
    ex = spec.from_data(data)
    small = replace(ex.bounds, result_bits=200)
    with pytest.raises(BoundError, match="result_bits"):
        engine.solve(ex, bounds=small)
    with pytest.raises(BoundError, match="result_bits"):
        engine.solve(ex, bounds=small, backend="sympy")


def test_round_marks_approximations_and_rounds_half_away_from_zero():
    data = {"X": [[1]], "layers": [{"W": [["1/8"]], "b": ["-1/8"]}],
            "loss": {"kind": "squared_error", "Y": [[0]]}, "train": {"learning_rate": "1", "steps": 2, "round": 2}}
    ex = spec.from_data(data)
    a, b = both(ex)
    assert a.backend == "flint"
    assert_same(a, b)
    # Z = 0, so dW = db = 0 and W' = 1/8 = 0.125 → 0.13, b' = −0.125 → −0.13 (halves away from zero)
    assert a.step("W1'≈").kind == "round"
    assert a["W1'≈"] == sp.ImmutableMatrix([[sp.Rational(13, 100)]])
    assert a["b1'≈"] == sp.ImmutableMatrix([[sp.Rational(-13, 100)]])
    assert a.step("W1", 2).value == a["W1'≈"] if any(s.name == "W1" for s in a.steps) else True
    assert a.epoch(2)["Z1"] == sp.ImmutableMatrix([[0]])  # step 2 starts from the rounded weights


def test_round_of_e_weights_on_the_sympy_path():
    data = e_spec(2, steps=2)
    data["train"]["round"] = 3
    sol = engine.solve(spec.from_data(data))
    for s in sol.steps:
        if s.kind == "round":
            for v in s.value:
                assert v.is_Rational and (v * 1000).is_Integer
                exact = s.operands[0][1]
    assert exact is not None


@pytest.mark.parametrize("value, message", [("2", "whole number"), (-1, "from 0"), (41, "from 0")])
def test_bad_round_is_refused(value, message):
    data = rational_spec(1)
    data["train"] = {"learning_rate": "1/10", "round": value}
    with pytest.raises(SymnetError, match=message) as info:
        spec.from_data(data)
    assert "train.round" in str(info.value)


def test_round_shows_approximately_in_text(cli, tmp_path):
    p = tmp_path / "r.toml"
    p.write_text('X = [1]\n[[layers]]\nW = [["1/8"]]\n[loss]\nkind = "squared_error"\nY = [0]\n'
                 '[train]\nlearning_rate = "1/3"\nsteps = 2\nround = 2\n')
    r = cli("solve", p, "--format", "text")
    assert r.code == 0, r.err
    assert "≈" in r.out and "W1'≈" in r.out


@pytest.mark.parametrize("seed", range(20))
def test_integer_products_and_signs_match_fractions(seed):
    """The flint algebra's integer-over-one-denominator helpers against Python's Fraction arithmetic, entry by entry."""
    from flint import fmpq, fmpq_mat

    from symnet.algebra.rationals import Signs, linear, product

    rng = random.Random(f"qmat:{seed}")
    n, m, N = rng.randint(1, 5), rng.randint(1, 5), rng.randint(1, 4)

    big = seed % 2  # odd seeds: denominators beyond rationals.SMALL bits, where fmpq_mat's own product is taken

    def q() -> Fraction:
        den = rng.choice([1, 2, 3, 7, 10, 12, 1000]) * (rng.choice([1, 3**50, 2**70 + 1]) if big else 1)
        return Fraction(rng.choice([0, 0, rng.randint(-50, 50)]), den)

    W = [[q() for _ in range(m)] for _ in range(n)]
    A = [[q() for _ in range(N)] for _ in range(m)]
    b = [q() for _ in range(n)]

    def flint(rows: list[list[Fraction]]) -> fmpq_mat:
        return fmpq_mat(len(rows), len(rows[0]), [fmpq(x.numerator, x.denominator) for r in rows for x in r])

    def fractions(M: fmpq_mat) -> list[list[Fraction]]:
        return [[Fraction(int(M[i, j].p), int(M[i, j].q)) for j in range(M.ncols())] for i in range(M.nrows())]

    WA = [[sum((W[i][k] * A[k][j] for k in range(m)), Fraction(0)) for j in range(N)] for i in range(n)]
    Z = [[WA[i][j] + b[i] for j in range(N)] for i in range(n)]
    Wq, Aq, bq = flint(W), flint(A), flint([[x] for x in b])
    Wn, bn = Wq.numer_denom(), bq.numer_denom()
    assert fractions(linear(Wq, Aq, bq, Wn, bn)) == Z
    assert fractions(linear(Wq, Aq, None, Wn, bn)) == WA
    assert fractions(product(Wq, Aq)) == WA
    assert fractions(product(Wq, Aq, Wn)) == WA
    s = Signs(flint(Z))
    assert s.pos == [z > 0 for r in Z for z in r]
    assert s.off == [(i, j) for i in range(n) for j in range(N) if Z[i][j] <= 0]


def wide_e_spec(widths: list[int], batch: int, seed: int = 0) -> dict:
    """A ReLU network with an e-softmax output under cross-entropy, weights k/d with d in 20, 40, 50, 100."""
    rng = random.Random(f"wide:{seed}")

    def q() -> str:
        return str(Fraction(rng.randint(-9, 9), rng.choice([20, 40, 50, 100])))

    layers = [{"W": [[q() for _ in range(widths[k])] for _ in range(widths[k + 1])], "b": [q() for _ in range(widths[k + 1])],
               "activation": "relu" if k < len(widths) - 2 else "softmax"} for k in range(len(widths) - 1)]
    hot = [rng.randrange(widths[-1]) for _ in range(batch)]
    Y = [[1 if hot[j] == i else 0 for j in range(batch)] for i in range(widths[-1])]
    return {"X": [[q() for _ in range(batch)] for _ in range(widths[0])], "layers": layers,
            "loss": {"kind": "cross_entropy", "Y": Y}}


def sympy_nodes(value) -> tuple[int, int]:
    """(most nodes in one entry, in all) of a SymPy value, counted as bounds.check_nodes counts them."""
    sizes = [sum(1 for _ in sp.preorder_traversal(v)) for v in (value if isinstance(value, sp.MatrixBase) else [value])]
    return max(sizes), sum(sizes)


@pytest.mark.parametrize("seed", range(4))
def test_unwritten_e_values_bound_their_nodes_from_above(seed):
    """The factored values' node bounds (free and counted) are at least what SymPy writes: the oracle is SymPy's
    own count of the written values, as the SymPy path measures them."""
    from symnet.algebra.factored import Atoms, Factored
    from symnet.algebra.flint import Lazy

    ex = spec.from_data(wide_e_spec([3, 4, 3 + seed % 2], batch=2 + seed % 3, seed=seed))
    sol = engine.solve(ex)
    assert sol.backend == "flint"
    seen = 0
    for s in sol.steps:
        raw = s.raw
        if isinstance(raw, (Atoms, Factored)):
            top, total = sympy_nodes(s.value)
            bounds = [raw.nodes()] + ([raw.nodes(counted=True)] if isinstance(raw, Factored) else [])
            for b_top, b_total in bounds:
                assert b_top >= top and b_total >= total, (s.name, (b_top, b_total), (top, total))
            seen += 1
        elif isinstance(raw, Lazy):
            assert raw.nodes >= sympy_nodes(s.value)[0], s.name
            seen += 1
    assert seen >= 8


def test_e_softmax_beyond_the_node_bounds_is_refused_alike_by_both_backends():
    """Unwritten, the factored gradients are small; written, dL/dW1 passes quantity_nodes. The fast path hands the
    exercise to SymPy, which refuses it with its own message, as when SymPy is asked directly."""
    ex = spec.from_data(wide_e_spec([8, 12, 10], batch=5))
    with pytest.raises(BoundError) as auto:
        engine.solve(ex)
    with pytest.raises(BoundError) as direct:
        engine.solve(ex, backend="sympy")
    assert str(auto.value) == str(direct.value)
    assert "dL/dW1: its entries grow beyond 50000 nodes together (bound: quantity_nodes)" in str(auto.value)
    roomy = replace(DEFAULT, quantity_nodes=10**6)
    a, b = engine.solve(ex, bounds=roomy), engine.solve(ex, bounds=roomy, backend="sympy")
    assert a.backend == "flint"
    for name in ("dL/dW1", "dL/db1", "dL/dW2"):
        assert sp.expand(a[name] - b[name]) == sp.zeros(*b[name].shape), name
    assert sp.expand(a["L"] - b["L"]) == 0


@pytest.mark.parametrize("bound", ["expression_nodes=60", "expression_nodes=150", "quantity_nodes=400"])
def test_e_softmax_node_bounds_give_the_same_answer_on_both_backends(bound):
    ex = spec.from_data(wide_e_spec([3, 4, 3], batch=3, seed=1))
    a, b = both(ex, bounds=DEFAULT.raised([bound]))  # the same error on both, or the same steps
    if a is not None:
        assert_same(a, b)
