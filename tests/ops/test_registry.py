"""Over every op of the registry: backward equals sympy.diff of forward, both algebras record the same steps, every
built-in group of steps has its op's template, every declared mistake changes some quantity.

Each layer op has a test file tests/ops/test_<op>.py with `example(seed) -> dict`, a small random rational exercise
using it (after a dense layer, so its input's gradient is checked through that layer's weights)."""

from __future__ import annotations

import importlib
from pathlib import Path

import mpmath
import pytest
import sympy as sp

from symnet import engine, spec
from symnet.bounds import DEFAULT
from symnet.ops import layer_types, mistakes, registry
from symnet.render import render
from symnet.render.document import groups
from tests.numeric import approx

ROOT = Path(__file__).resolve().parents[2]
LAYER_OPS = sorted(layer_types())
ROOMY = DEFAULT.raised(["expression_nodes=20000", "quantity_nodes=400000"])


def examples(name: str):
    """The op's test module's `example`."""
    module = importlib.import_module(f"tests.ops.test_{name}")
    return module.example


def test_every_layer_op_has_a_test_file_with_examples():
    for name in LAYER_OPS:
        assert (ROOT / "tests" / "ops" / f"test_{name}.py").is_file(), name
        assert callable(examples(name)), name


def test_every_op_has_a_template():
    for name in registry():
        assert (ROOT / "templates" / "ops" / f"{name}.j2").is_file(), name


def exact_equal(a: sp.Expr, b: sp.Expr) -> bool:
    """Equal exactly (rationals), or to 45 digits: evaluated over the expression's DAG (tests.numeric), so a large
    difference that is exactly 0 costs a few evaluations, not sympy.N's search for 60 digits of a zero."""
    if a.is_Rational and b.is_Rational:
        return a == b
    return abs(approx(a - b, 30)) < mpmath.mpf(10) ** -45


def with_e(ex):
    """The exercise with e wherever a layer uses another base: 3 for e is an approximation in the values only (the
    derivatives keep their e-forms), so the chain rule equals sympy.diff only with e itself."""
    from dataclasses import replace

    return replace(ex, layers=tuple(replace(l, exp_base=sp.E) if getattr(l, "exp_base", sp.E) != sp.E else l
                                    for l in ex.layers))


def symbolic(ex):
    """The exercise with every trainable parameter entry a symbol, and the symbol → value map."""
    from dataclasses import replace

    values, layers = {}, []
    for k, layer in enumerate(ex.layers, 1):
        op = registry()[layer.type]
        new = {}
        for p, v in op.trainable(layer).items():
            syms = sp.ImmutableMatrix(v.rows, v.cols, lambda i, j: sp.Symbol(f"p{k}_{p}_{i}_{j}"))
            values.update(zip(syms, v))
            new[p] = syms
        layers.append(op.with_trained(layer, new))
    return replace(ex, layers=tuple(layers), train=None), values


@pytest.mark.parametrize("name", LAYER_OPS)
@pytest.mark.parametrize("seed", range(4))
def test_backward_is_sympy_diff_of_forward(name, seed):
    """Every dL/dP of every layer equals ∂L/∂P of the symbolic loss (parameters made symbols), at the exercise's values."""
    ex = with_e(spec.from_data(examples(name)(seed), f"<{name} {seed}>", ROOMY))
    sol = engine.solve(ex, backend="sympy")
    sym, values = symbolic(ex)
    L = engine.solve(sym, backend="sympy")["L"]
    # a hand base (exp_base = 3) replaces e in the values only; the derivatives keep their usual forms (σ(1 − σ),
    # s(δ − s)), which are sympy.diff's with log(base) taken as 1
    hand = {sp.log(b): 1 for l in ex.layers if (b := getattr(l, "exp_base", sp.E)) != sp.E}
    checked = 0
    for k, layer in enumerate(ex.layers, 1):
        for p, v in registry()[layer.type].trainable(layer).items():
            got = sol[f"dL/d{p}{k}"]
            for i in range(v.rows):
                for j in range(v.cols):
                    want = sp.diff(L, sp.Symbol(f"p{k}_{p}_{i}_{j}")).subs(hand).subs(values)
                    assert exact_equal(sp.nsimplify(want) if want.is_Float else want, got[i, j]), (k, p, i, j)
                    checked += 1
    assert checked > 0


def assert_same(a, b) -> None:
    assert [(s.op, s.phase, s.kind, s.name, s.node, s.epoch) for s in a.steps] == \
           [(s.op, s.phase, s.kind, s.name, s.node, s.epoch) for s in b.steps]
    for s, t in zip(a.steps, b.steps):
        assert s.value == t.value, (s.name, s.value, t.value)
        assert s.inputs == t.inputs, s.name
    assert a.bits == b.bits


@pytest.mark.parametrize("name", LAYER_OPS)
def test_both_algebras_record_the_same_steps(name):
    share = getattr(importlib.import_module(f"tests.ops.test_{name}"), "FLINT_SHARE", 0.5)
    flint = 0
    for seed in range(50):
        ex = spec.from_data(examples(name)(seed), f"<{name} {seed}>", ROOMY)
        a, b = engine.solve(ex), engine.solve(ex, backend="sympy")
        flint += a.backend == "flint"
        assert b.backend == "sympy"
        assert_same(a, b)
    assert flint >= 50 * share, f"{name}: only {flint} of 50 examples stayed on flint"


def test_no_builtin_falls_back_to_the_generic_block():
    for n in spec.builtin_names():
        sol = spec.load(n).solve()
        for (_, _, op, _), _ in groups(sol.steps):
            assert (ROOT / "templates" / "ops" / f"{op}.j2").is_file(), (n, op)
        render(sol, "markdown")  # and it renders


# ReLU at an exact 0: where relu_derivative_at_zero makes a difference
RELU_AT_ZERO = {"X": [1, -1], "layers": [{"W": [[1, 1], [1, 0]], "activation": "relu"}, {"W": [[1, 1]]}],
                "loss": {"kind": "squared_error", "Y": [0]}}


def corpus():
    out = [spec.load(n) for n in spec.builtin_names()] + [spec.from_data(RELU_AT_ZERO)]
    for name in LAYER_OPS:
        out += [spec.from_data(examples(name)(seed), f"<{name} {seed}>", ROOMY) for seed in range(6)]
    return out


def test_every_declared_mistake_changes_some_quantity():
    exercises = corpus()
    for m in mistakes():
        changed = False
        for ex in exercises:
            if not m.applies(ex):
                continue
            right = engine.solve(ex)
            if m.overrides is None:
                try:
                    wrong = engine.solve(ex, broken=frozenset({m.code}))
                except Exception:
                    continue
                changed = any(right.get(n) != v for n, v in wrong.items() if n in right)
            else:
                changed = bool(m.overrides(ex, right, {}))
            if changed:
                break
        assert changed, f"{m.code} changes nothing in any exercise it applies to"


def test_mistakes_have_distinct_codes_and_ranks():
    codes = [m.code for m in mistakes()]
    ranks = [m.rank for m in mistakes()]
    assert len(set(codes)) == len(codes) and len(set(ranks)) == len(ranks)


def test_every_op_key_is_documented():
    for o in registry().values():
        for key in o.keys:
            assert key.doc and key.holds, (o.name, key.name)


def test_every_op_generator_kind_makes_friendly_exercises_that_render():
    from symnet.friendly import problems
    from symnet.generate import generate, options
    from symnet.ops import generator_kinds

    for kind in generator_kinds():
        for seed in range(10):
            made = generate(options(kind, seed=seed))
            again = spec.parse_text(made.toml(), "<generated>")
            sol = spec.from_data(again, "<generated>").solve()
            assert not problems(sol, made.options.max_given), (kind, seed)
            render(sol, "markdown", worksheet=True)
        assert generate(options(kind, seed=3)).toml() == generate(options(kind, seed=3)).toml()
