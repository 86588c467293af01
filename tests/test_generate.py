"""`symnet generate`: byte-identical across processes, and the hand-friendly guarantees over 200 seeds per KIND,
checked on the engine's exact solution of the printed TOML by rules written out here, not by the generator's own check."""

from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction
from functools import cache

import pytest
import sympy as sp

import symnet
from symnet.expr import FloatText
from symnet.generate import DENSE_KINDS as KINDS
from symnet.generate import generate, options
from symnet.spec import parse_text

from .conftest import ROOT

SEEDS = range(200)
MASKED = ("relu", "leaky_relu")


@cache
def made(kind: str, seed: int, **kw) -> tuple[str, dict, symnet.Solution]:
    """The printed TOML, its parsed data, and the engine's solution of that data."""
    text = generate(options(kind, seed=seed, **kw)).toml()
    data = parse_text(text, "<generated>")
    return text, data, symnet.load(data).solve()


def _entries(v) -> list:
    return list(v) if isinstance(v, sp.MatrixBase) else [v]


def _raw_numbers(value) -> list:
    """The numbers of a spec matrix as written in the TOML (nested lists flattened)."""
    if isinstance(value, list):
        return [x for v in value for x in _raw_numbers(v)]
    return [value]


def _nets(data: dict) -> list[tuple[str, list[dict]]]:
    """(name prefix, layer tables) of each network: the exercise's, or a GAN's generator (G.) and discriminator (D.)."""
    if data.get("kind") == "gan":
        return [("G.", data["generator"]["layers"]), ("D.", data["discriminator"]["layers"])]
    return [("", data.get("layers", []))]


def assert_friendly(data: dict, solution: symnet.Solution, g: int = 3) -> None:
    """The issue's guarantees, checked on the TOML data and the exact solution."""
    givens = [data.get("X"), data.get("A"), data.get("B"), data.get("noise"), data.get("loss", {}).get("Y")]
    givens += [layer.get(key) for _, layers in _nets(data) for layer in layers for key in ("W", "b", "kernels")]
    for value in filter(None, givens):
        for x in _raw_numbers(value):
            assert type(x) is int and -g <= x <= g, f"given {x!r} is not an integer in [-{g}, {g}]"
    layers = data.get("layers", [])
    loss = data.get("loss", {})
    for layer in layers:
        if layer.get("activation") == "softmax":
            assert layer.get("exp_base") == 3 or "predictions" in loss, "a softmax output needs exp_base = 3 or predictions"
    exempt = {"L", "X", "Y", "A", "B", "Yhat", "real"} | {f"{p}{k}" for p in "WbK" for k in range(1, 9)}
    if "predictions" in loss:
        exempt.add(f"A{len(layers)}")  # the exact e-softmax; the worksheet works from the rounded predictions
        exact = solution[f"A{len(layers)}"]
        for p, a in zip(solution["Yhat"], exact):
            assert abs(sp.N(a - p, 30)) <= sp.Rational(1, 20), "predictions are the exact softmax rounded to 0.1"
    for name, value in solution.items():
        if name.rsplit(".", 1)[-1] in exempt or name == "parameters":  # (a GAN's G.X, D.L, G.D.L, …)
            continue
        for x in _entries(value):
            assert x.is_Rational, f"{name} holds {x}"
            assert x.q <= 100 and abs(x) <= 100, f"{name} holds {x}"
    if "L" in solution and solution["L"].is_Rational:
        assert solution["L"].q <= 100 and abs(solution["L"]) <= 100
    for prefix, net in _nets(data):
        for k, layer in enumerate(net, 1):
            if layer.get("activation") not in MASKED:
                continue
            pre = f"{prefix}Z{k}" if layer.get("type") != "activation" else ("X" if k == 1 else f"{prefix}A{k - 1}")
            Z = _entries(solution[pre])
            assert all(z != 0 for z in Z), f"a ReLU input of layer {k} is 0"
            if (len(layer["W"]) if "W" in layer else len(Z)) >= 2:  # two neurons (a convolution: two outputs)
                assert any(z < 0 for z in Z) and any(z > 0 for z in Z), f"layer {k}'s ReLU does not both cut and pass"


# ---------------------------------------------------------------- determinism


def test_same_seed_same_bytes_in_two_processes():
    """Two fresh interpreters (with different hash seeds) print byte-identical specs, equal to the in-process one."""
    argv = [sys.executable, "-m", "symnet", "generate", "backprop", "--seed", "41", "--batch", "2"]
    outs = []
    for hashseed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hashseed, PYTHONPATH=str(ROOT))
        done = subprocess.run(argv, capture_output=True, env=env, cwd=ROOT, timeout=120)
        assert done.returncode == 0, done.stderr
        outs.append(done.stdout)
    assert outs[0] == outs[1]
    assert outs[0].decode() == generate(options("backprop", seed=41, batch=2)).toml()


def test_different_seeds_differ():
    texts = {made("hidden-layer", s)[0].split("\ntitle")[1] for s in range(20)}
    assert len(texts) == 20


# ---------------------------------------------------------------- the guarantees


@pytest.mark.parametrize("kind", KINDS)
def test_guarantees_over_200_seeds(kind):
    for seed in SEEDS:
        text, data, solution = made(kind, seed)
        assert text.startswith("# Generated by: symnet generate ") and f"kind = {kind}, seed = {seed}" in text
        assert_friendly(data, solution)


VARIANTS = [
    ("single-neuron", {"activation": "sigmoid"}),
    ("single-neuron", {"activation": "leaky_relu", "sizes": "4"}),
    ("four-neurons", {"activation": "tanh"}),
    ("four-neurons", {"activation": "sigmoid", "batch": 2}),
    ("four-neurons", {"sizes": "2,5", "batch": 3}),
    ("hidden-layer", {"activation": "leaky_relu"}),
    ("hidden-layer", {"max_given": 1}),
    ("batch", {"batch": 4, "max_given": 5}),
    ("mlp", {"sizes": "3,5,2,3,2,2,2,1"}),
    ("mlp", {"activation": "leaky_relu", "sizes": "3,4,3,2"}),
    ("matmul", {"sizes": "3,4,2", "max_given": 2}),
    ("backprop", {"softmax": "base3"}),
    ("backprop", {"softmax": "base3", "batch": 3}),
    ("backprop", {"batch": 3}),
    ("backprop", {"loss": "squared_error", "sizes": "2,3,2"}),
    ("backprop", {"loss": "mse", "batch": 2}),
    ("backprop", {"activation": "identity", "sizes": "3,3,3"}),
    ("backprop", {"sizes": "2,4,4,3,2"}),
]


@pytest.mark.parametrize("kind,kw", VARIANTS, ids=[f"{k}-{'-'.join(map(str, v.values()))}" for k, v in VARIANTS])
def test_guarantees_with_options(kind, kw):
    g = kw.get("max_given", 3)
    for seed in range(25):
        text, data, solution = made(kind, seed, **kw)
        assert_friendly(data, solution, g)


def test_approximations_are_said_in_the_header():
    predictions = made("backprop", 0)[0]
    assert "worksheet-style predictions" in predictions and "predictions = [" in predictions
    base3 = made("backprop", 0, softmax="base3")[0]
    assert "exp_base = 3" in base3.split("title =")[0] and "\nexp_base = 3\n" in base3
    sigmoid = made("single-neuron", 0, activation="sigmoid")[0]
    assert "sigmoid with exp_base = 3" in sigmoid
    assert "Approximations: none" in made("mlp", 0)[0]


def test_backprop_mirrors_the_seed_shape():
    data = made("backprop", 7)[1]
    assert [len(l["W"]) for l in data["layers"]] == [4, 2, 3]
    assert [l["activation"] for l in data["layers"]] == ["relu", "relu", "softmax"]
    assert data["loss"]["kind"] == "cross_entropy" and data["train"] == {"learning_rate": "1/10", "steps": 1}
    assert sorted(_raw_numbers(data["loss"]["Y"])) == [0, 0, 1]


def test_mlp_widths_follow_sizes():
    data = made("mlp", 3, sizes="2,5,4,3,1")[1]
    shapes = [(len(l["W"]), len(l["W"][0])) for l in data["layers"]]
    assert shapes == [(5, 2), (4, 5), (3, 4), (1, 3)]
    assert data["layers"][-1]["activation"] == "identity"


def test_a_gradient_reaches_the_first_layer():
    for seed in range(40):
        assert any(x != 0 for x in made("backprop", seed)[2]["dL/dW1"])


# ---------------------------------------------------------------- solves, renders, checks


def _key_answers(solution: symnet.Solution) -> dict:
    """The answer key as a student would copy it: exact numbers, irrational ones to 4 decimals."""
    def entry(x):
        if x.is_Integer:
            return int(x)
        if x.is_Rational:
            return f"{x.p}/{x.q}"
        return FloatText(f"{float(sp.N(x, 20)):.4f}")

    out = {}
    for name, v in solution.items():
        if name == "Yhat":
            continue
        out[name] = [[entry(x) for x in v.row(i)] for i in range(v.rows)] if isinstance(v, sp.MatrixBase) else entry(v)
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_every_spec_renders_and_its_key_checks(kind):
    render = pytest.importorskip("symnet.render").render
    for seed in range(20):
        text, data, solution = made(kind, seed)
        key, sheet = render(solution, "markdown"), render(solution, "markdown", worksheet=True)
        assert key and sheet and key != sheet
        verdict = symnet.load(data).check(_key_answers(solution))
        assert verdict.correct, [q for q in verdict.quantities if not q.correct]
    render(made(kind, 0)[2], "latex", worksheet=True)


def _answers_toml(answers: dict) -> str:
    def value(v) -> str:
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return f'"{v}"' if isinstance(v, str) and not isinstance(v, FloatText) else str(v)

    return "".join(f'"{name}" = {value(v)}\n' for name, v in answers.items())


def test_check_cli_accepts_a_generated_key(cli, tmp_path):
    """`symnet check SPEC ANSWERS` on a generated spec and its own key exits 0; one wrong entry exits 1."""
    text, data, solution = made("backprop", 11)
    spec = tmp_path / "spec.toml"
    spec.write_text(text)
    answers = _key_answers(solution)
    (tmp_path / "key.toml").write_text(_answers_toml(answers))
    assert cli("check", spec, tmp_path / "key.toml").code == 0
    answers["Z1"][0][0] += 1
    (tmp_path / "wrong.toml").write_text(_answers_toml(answers))
    assert cli("check", spec, tmp_path / "wrong.toml").code == 1


def test_printed_toml_and_data_give_the_same_solution():
    for kind in KINDS:
        g = generate(options(kind, seed=5))
        assert dict(symnet.load(g.spec).solve()) == dict(made(kind, 5)[2])


# ---------------------------------------------------------------- command line


def test_cli_prints_the_spec(cli):
    run = cli("generate", "batch", "--seed", "9")
    assert run.code == 0 and run.err == ""
    assert run.out == generate(options("batch", seed=9)).toml()
    assert symnet.load(parse_text(run.out, "<stdout>")).solve()["Z1"].shape == (4, 3)


@pytest.mark.parametrize("argv,message", [
    (["nonsense"], "KIND: unknown kind 'nonsense'; kinds: matmul, single-neuron, four-neurons, hidden-layer, batch, mlp, backprop"),
    (["backprp"], "did you mean 'backprop'?"),
    (["mlp", "--sizes", "3,x"], "--sizes: expected whole numbers"),
    (["mlp", "--sizes", "3,40,2"], "--sizes: every width must be from 1 to 6"),
    (["mlp", "--sizes", "3,2"], "--sizes: mlp takes 3 to 8 sizes"),
    (["hidden-layer", "--sizes", "3,4"], "--sizes: hidden-layer takes 3 sizes"),
    (["matmul", "--sizes", "2,2"], "--sizes: matmul takes three sizes"),
    (["single-neuron", "--sizes", "3,2"], "--sizes: a single neuron has one output"),
    (["backprop", "--sizes", "3,4,1"], "--sizes: a softmax output needs at least 2 classes"),
    (["matmul", "--batch", "2"], "--batch: matmul takes no batch"),
    (["batch", "--batch", "9"], "--batch: must be from 1 to 4"),
    (["matmul", "--activation", "relu"], "--activation: matmul takes no activation"),
    (["mlp", "--activation", "softmax"], "--activation: 'softmax' is not offered for mlp"),
    (["mlp", "--activation", "leaky_relu", "--sizes", "3,3,3,3,3"], "--activation: leaky_relu over more than two"),
    (["hidden-layer", "--loss", "mse"], "--loss: hidden-layer takes no loss"),
    (["backprop", "--loss", "bce"], "--loss: 'bce' is not offered for backprop"),
    (["backprop", "--softmax", "e"], "--softmax: unknown value 'e'"),
    (["backprop", "--loss", "mse", "--softmax", "base3"], "--softmax: goes only with KIND backprop and --loss cross_entropy"),
    (["mlp", "--max-given", "0"], "--max-given: must be from 1 to 9"),
    (["mlp", "--seed", "-1"], "--seed: seed must be a whole number"),
    (["mlp", "--count", "3"], "--count: --count needs --out DIR"),
    (["mlp", "--out", "somewhere"], "--out: --out makes a class set and needs --count N"),
    (["mlp", "--jobs", "2"], "--count: --format and --jobs go with a class set"),
    (["mlp", "--count", "0", "--out", "x"], "--count: must be from 1 to 10000"),
    (["mlp", "--count", "2", "--out", "x", "--jobs", "0"], "--jobs: must be from 1 to 64"),
    (["four-neurons", "--activation", "tanh", "--sizes", "6,6", "--batch", "4"], "found no hand-friendly numbers"),
])
def test_nonsense_is_one_line_exit_2(cli, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    run = cli("generate", *argv)
    assert run.code == 2 and run.out == ""
    assert run.err.startswith("symnet: error: ") and run.err.count("\n") == 1, run.err
    assert message in run.err, run.err
    assert not (tmp_path / "x").exists()


def test_exact_fractions_survive_toml():
    """Predictions are written as TOML decimals and read back as exact tenths."""
    data = made("backprop", 2)[1]
    preds = _raw_numbers(data["loss"]["predictions"])
    assert sum(Fraction(str(p)) for p in preds) == 1
    assert all(Fraction(str(p)).denominator in (1, 2, 5, 10) for p in preds)


def test_same_bytes_as_on_the_machine_that_wrote_this_test():
    """Any machine and Python make these exact bytes (string-seeded RNG, exact decimals): a digest pinned here.

    A deliberate change to the generator changes it; update the digest then, and say so in the commit."""
    import hashlib

    digest = hashlib.sha256()
    for kind in KINDS:
        for seed in range(30):
            digest.update(made(kind, seed)[0].encode())
    assert digest.hexdigest() == "1caa928292770ff509104083139d119e2ca8087de5eb079ba1e761cf69fd51cc"


def test_the_help_names_every_kind():
    import re

    from symnet.cli import GENERATE_HELP
    from symnet.generate import KINDS as ALL

    named = re.findall(r"[a-z0-9-]+(?=[,;]|$)", GENERATE_HELP.split(": ", 1)[1])
    assert sorted(named) == sorted(ALL)
