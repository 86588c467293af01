"""A command on plain rationals runs on flint end to end and never imports SymPy (symnet.lazy), and every command,
SymPy imported when first used, writes what `main` writes in a process where SymPy was imported first."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import symnet

ROOT = Path(__file__).resolve().parent.parent

# Integers, TOML decimals, fractions and decimals as strings, negatives; a layer without b (zeros, trained), one
# without bias at all; ReLU and identity; the parameter count.
MLP = """
title = "Plain numbers"
count_parameters = true
X = [[1, 0.5, "-3/4"], ["2/3", -2, 0], [0.25, "1.5", 3]]
[[layers]]
W = [[1, -1, 0.5], ["1/3", 2, -0.25], [0, 1, 1], [-2, "3/5", 1]]
b = [0.1, -1, "1/2", 0]
activation = "relu"
[[layers]]
W = [[1, 2, -1, 0.5], [0, -1, "2/7", 1]]
activation = "relu"
[[layers]]
W = [[2, -1], [0.5, 1]]
bias = false
[loss]
kind = "{kind}"
reduction = "{reduction}"
Y = [[1, 0, -1], ["1/2", 2, 0]]
"""

MATMUL = 'kind = "matmul"\nA = [[1, 0.5], ["-2/3", 4]]\nB = [[3, -1, 0], [0.25, 2, "7/8"]]\n'


def fresh(*argv: str, importtime: bool = False) -> subprocess.CompletedProcess[str]:
    """`python -m symnet ARGV` in a new process (SymPy stood in for, as the command does)."""
    head = [sys.executable] + (["-X", "importtime"] if importtime else []) + ["-m", "symnet"]
    return subprocess.run(head + list(argv), capture_output=True, text=True, cwd=ROOT, timeout=300)


def imported(stderr: str) -> set[str]:
    """The modules `python -X importtime` lists."""
    return {m[1] for m in re.finditer(r"^import time:\s+\d+ \|\s+\d+ \|\s+(\S+)$", stderr, re.M)}


# Appended to the [loss] table: a worksheet's rounded predictions; gradient descent, rounded.
MORE = ('predictions = [[0.5, 0, -1], [1, "3/2", 0]]\n'
        '[train]\nlearning_rate = 0.1\nsteps = 2\nround = 3\n')


@pytest.mark.parametrize("fmt", ["json", "text"])
@pytest.mark.parametrize("kind,reduction,more", [("squared_error", "mean", ""), ("mse", "sum", ""),
                                                 ("squared_error", "mean", MORE)], ids=["se", "mse-sum", "trained"])
def test_a_plain_network_never_imports_sympy(cli, tmp_path: Path, fmt: str, kind: str, reduction: str,
                                             more: str) -> None:
    path = tmp_path / "plain.toml"
    path.write_text(MLP.replace("{kind}", kind).replace("{reduction}", reduction) + more, encoding="utf-8")
    run = fresh("solve", str(path), "--format", fmt, importtime=True)
    modules = imported(run.stderr)
    assert run.returncode == 0 and {"flint.types.fmpq_mat", "symnet.ops.loss"} <= modules  # (importtime lists
    # what import statements import, not `from . import x`; SymPy's own modules import each other by statements)
    assert not {m for m in modules if m.split(".")[0] in ("sympy", "mpmath", "jinja2")}
    assert run.stdout == cli("solve", path, "--format", fmt).out  # as written with SymPy imported first


def test_a_plain_matmul_never_imports_sympy(cli, tmp_path: Path) -> None:
    path = tmp_path / "matmul.toml"
    path.write_text(MATMUL, encoding="utf-8")
    run = fresh("solve", str(path), "--format", "json", importtime=True)
    assert run.returncode == 0 and not {m for m in imported(run.stderr) if m.startswith("sympy")}
    assert run.stdout == cli("solve", path, "--format", "json").out
    # Row 1: 1·3 + ½·¼ = 25/8, 1·(−1) + ½·2 = 0, ½·⅞ = 7/16; row 2: −⅔·3 + 4·¼ = −1, ⅔ + 8 = 26/3, 4·⅞ = 7/2.
    assert json.loads(run.stdout)["quantities"]["C"] == [["25/8", "0", "7/16"], ["-1", "26/3", "7/2"]]


def test_a_plain_network_writes_what_raw_flint_by_hand_writes(tmp_path: Path) -> None:
    """bench/raw_mlp.py, the benchmark's reference (tomllib and python-flint, the forward and backward pass written
    out by hand), gives the same bytes."""
    path = tmp_path / "plain.toml"
    text = MLP.replace("{kind}", "squared_error").replace("{reduction}", "mean").replace("bias = false", "b = [1, -1]")
    path.write_text(text.replace("activation = \"relu\"\n[[layers]]\nW = [[2", "b = [0, 0.5]\nactivation = \"relu\"\n"
                                 "[[layers]]\nW = [[2"), encoding="utf-8")
    run = fresh("solve", str(path), "--format", "json", importtime=True)
    raw = subprocess.run([sys.executable, str(ROOT / "bench" / "raw_mlp.py"), str(path)], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == raw.returncode == 0 and not {m for m in imported(run.stderr) if m.startswith("sympy")}
    assert run.stdout == raw.stdout


@pytest.mark.parametrize("name", symnet.builtin_names())
def test_every_builtin_as_a_command_writes_what_main_writes(cli, name: str) -> None:
    """SymPy imported midway (its stand-in read when a value first leaves the rationals, or when an op's module
    needs it): the JSON is what `main` writes with SymPy imported from the start."""
    run = fresh("solve", name, "--format", "json")
    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout == cli("solve", name, "--format", "json").out


@pytest.mark.parametrize("argv", [("solve", "backprop", "--format", "markdown"),
                                  ("worksheet", "cnn", "--format", "latex"),
                                  ("solve", "transformer", "--format", "text")])
def test_documents_as_commands_are_what_main_writes(cli, argv: tuple[str, ...]) -> None:
    run = fresh(*argv)
    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout == cli(*argv).out


@pytest.mark.parametrize("name", ["matmul", "single-neuron", "four-neurons", "hidden-layer", "batch", "mlp7",
                                  "autoencoder"])
def test_the_plain_builtins_never_import_sympy(name: str) -> None:
    """The seed exercises on plain numbers (all but backprop, whose cross-entropy takes a log) and the autoencoder."""
    run = fresh("solve", name, "--format", "json", importtime=True)
    assert run.returncode == 0 and not {m for m in imported(run.stderr) if m.startswith("sympy")}
