"""The command line and the Python API of the core: help, output files, text, `python -m symnet`."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

import symnet
from tests.conftest import ROOT


@pytest.mark.parametrize("command", ["solve", "worksheet", "check", "generate", "examples"])
def test_every_command_has_help(cli, command: str, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        symnet.cli.main([command, "--help"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: symnet {command}")


def test_python_dash_m_runs_the_cli() -> None:
    run = subprocess.run([sys.executable, "-m", "symnet", "solve", "matmul", "--format", "json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["quantities"]["C"] == [["3", "9", "4"], ["1", "-1", "0"]]


@pytest.mark.parametrize("to_file", [False, True])
def test_the_command_exits_at_once_with_its_output_whole(cli, tmp_path: Path, to_file: bool) -> None:
    """`python -m symnet` skips the interpreter's teardown (os._exit): standard output, a written file and the exit
    status are still whole, as `main` gives them in this process."""
    want = cli("solve", "backprop", "--format", "markdown")
    out = tmp_path / "key.md"
    args = [sys.executable, "-m", "symnet", "solve", "backprop", "--format", "markdown"] + (["-o", str(out)] if to_file else [])
    run = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert (run.returncode, run.stderr) == (0, "")
    assert (out.read_text(encoding="utf-8") if to_file else run.stdout) == want.out
    check = subprocess.run([sys.executable, "-m", "symnet", "check", "backprop", str(ROOT / "tests/answers/backprop-student.toml")],
                           capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert check.returncode == 1 and check.stdout.rstrip().endswith("carried_error in dL/dW1, dL/db1.")


def test_output_file_is_written_whole(cli, tmp_path: Path) -> None:
    out = tmp_path / "key.json"
    run = cli("solve", "backprop", "--format", "json", "-o", out)
    assert (run.code, run.out, run.err) == (0, "", "")
    assert json.loads(out.read_text())["quantities"]["dL/db2"] == [["1"], ["-1"]]
    assert [p.name for p in tmp_path.iterdir()] == ["key.json"]  # no temporary file left behind


def test_output_over_the_input_is_refused(cli, tmp_path: Path) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_text('X = [1]\n[[layers]]\nW = [[2]]\n', encoding="utf-8")
    before = spec.read_bytes()
    run = cli("solve", spec, "--format", "json", "-o", spec)
    assert run.code == 2 and run.err.startswith("symnet: error: ") and "input" in run.err
    assert spec.read_bytes() == before


def test_failing_run_leaves_an_existing_output_untouched(cli, tmp_path: Path) -> None:
    out = tmp_path / "key.json"
    out.write_text("the old key", encoding="utf-8")
    run = cli("solve", tmp_path / "missing.toml", "--format", "json", "-o", out)
    assert run.code == 2 and out.read_text() == "the old key"


def test_text_format_lists_every_quantity(cli) -> None:
    run = cli("solve", "backprop", "--format", "text")
    assert run.code == 0
    for line in ["W3' =", "  [ 19/10  -1/5 ]", "L = log(2)", "Yhat ≈"]:
        assert any(l.startswith(line) for l in run.out.splitlines()), line


def test_load_accepts_name_path_and_dict(tmp_path: Path) -> None:
    by_name = symnet.load("four-neurons").solve()
    path = tmp_path / "four.toml"
    path.write_text(symnet.spec.builtin_text("four-neurons"), encoding="utf-8")
    by_path = symnet.load(path).solve()
    by_dict = symnet.load({"X": [2, 1, 3], "layers": [{"W": [[1, -1, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1]],
                                                        "b": [-5, 0, 1, -2], "activation": "relu"}]}).solve()
    expected = sp.Matrix([0, 3, 5, 3])
    assert by_name["A1"] == by_path["A1"] == by_dict["A1"] == expected


def test_solution_values_are_immutable() -> None:
    solution = symnet.load("backprop").solve()
    with pytest.raises(TypeError):
        solution["Z1"][0, 0] = 7
    with pytest.raises(TypeError):
        solution["Z1"] = sp.ImmutableMatrix([1])  # a Mapping, not a dict
    with pytest.raises(dataclasses.FrozenInstanceError):
        solution.steps[0].value = None
    with pytest.raises(dataclasses.FrozenInstanceError):
        solution.exercise.layers[0].W = None


def test_decimal_entries_are_exact_rationals() -> None:
    solution = symnet.load({"X": [0.1, 0.2], "layers": [{"W": [[1, 1]]}]}).solve()
    assert solution["Z1"][0, 0] == sp.Rational(3, 10)  # not 0.30000000000000004


def test_symbol_matrix_names_its_entries() -> None:
    ex = symnet.load({"X": {"symbol": "x", "shape": [2, 1]},
                      "layers": [{"W": {"symbol": "w", "shape": [2, 2]}, "b": {"symbol": "b"}, "activation": "relu"}]})
    assert [str(s) for s in ex.layers[0].W] == ["w11", "w12", "w21", "w22"]
    assert [str(s) for s in ex.layers[0].b] == ["b1", "b2"] and [str(s) for s in ex.X] == ["x1", "x2"]
    assert str(ex.solve()["A1"][0, 0]) == "Max(0, b1 + w11*x1 + w12*x2)"


def test_exp_base_three_makes_softmax_rational() -> None:
    spec = {"X": [1], "layers": [{"W": [[1], [0]], "activation": "softmax", "exp_base": 3}],
            "loss": {"kind": "cross_entropy", "Y": [1, 0]}}
    solution = symnet.load(spec).solve()
    assert list(solution["A1"]) == [sp.Rational(3, 4), sp.Rational(1, 4)]
    assert list(solution["dL/dZ1"]) == [sp.Rational(-1, 4), sp.Rational(1, 4)]  # Ŷ − Y, the usual form


def test_several_steps_are_all_kept(cli, tmp_path: Path) -> None:
    spec = tmp_path / "train.toml"
    spec.write_text('X = [1]\n[[layers]]\nW = [[2]]\nb = [0]\n[loss]\nkind = "squared_error"\nY = [0]\n'
                    '[train]\nlearning_rate = "1/4"\nsteps = 3\n', encoding="utf-8")
    doc = cli("solve", spec, "--format", "json").json()
    # z = w + b, dL/dw = dL/db = z; (w, b): (2, 0) → (3/2, −1/2) → (5/4, −3/4) → (9/8, −7/8)
    assert [s["W1'"] for s in doc["steps"]] == [[["3/2"]], [["5/4"]], [["9/8"]]]
    assert [s["b1'"] for s in doc["steps"]] == [[["-1/2"]], [["-3/4"]], [["-7/8"]]]
    assert doc["quantities"]["W1'"] == [["3/2"]]


@pytest.mark.parametrize("backend", ["auto", "sympy"])
def test_a_layer_without_bias_trains_no_bias(backend: str) -> None:
    """`bias = false`: no bias at all, like PyTorch's Linear(bias=False)."""
    from symnet.engine import solve

    spec = {"X": [1], "layers": [{"W": [[2]], "bias": False}], "loss": {"kind": "squared_error", "Y": [0]},
            "train": {"learning_rate": "1/4", "steps": 2}}
    solution = solve(symnet.load(spec), backend=backend)
    # z = w: dL/dw = w, w' = 3w/4: 2 → 3/2 → 9/8
    assert [solution.epoch(k)["W1'"][0, 0] for k in (1, 2)] == [sp.Rational(3, 2), sp.Rational(9, 8)]
    assert "b1'" not in solution and "dL/db1" not in solution and solution.epoch(2)["Z1"][0, 0] == sp.Rational(3, 2)
    assert solution.exercise.parameters == 1


@pytest.mark.parametrize("backend", ["auto", "sympy"])
def test_a_layer_given_without_b_trains_a_zero_bias(backend: str) -> None:
    """No `b`: a bias of zeros that is trained like any other (the contract)."""
    from symnet.engine import solve

    spec = {"X": [1], "layers": [{"W": [[2]]}], "loss": {"kind": "squared_error", "Y": [0]},
            "train": {"learning_rate": "1/4", "steps": 2}}
    solution = solve(symnet.load(spec), backend=backend)
    # z = w + b, dL/dw = z·1, dL/db = z: (w, b) = (2, 0) → z 2 → (3/2, −1/2) → z 1 → (5/4, −3/4)
    one, two = solution.epoch(1), solution.epoch(2)
    assert (one["W1'"][0, 0], one["b1'"][0, 0]) == (sp.Rational(3, 2), sp.Rational(-1, 2))
    assert two["Z1"][0, 0] == 1 and (two["W1'"][0, 0], two["b1'"][0, 0]) == (sp.Rational(5, 4), sp.Rational(-3, 4))
    assert solution.exercise.parameters == 2


def test_bias_false_with_b_is_refused(cli, tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text("X = [1]\n[[layers]]\nW = [[2]]\nb = [1]\nbias = false\n", encoding="utf-8")
    run = cli("solve", path)
    assert run.code == 2 and run.err == f"symnet: error: {path}: layers[1].bias: b is given but bias = false\n"


LONG_TRAINING = """X = [[1], [2]]
[[layers]]
W = [["1/3", "2/7"], ["5/11", "-1/13"]]
activation = "relu"
[[layers]]
W = [["1/2", "-3/5"]]
[loss]
kind = "squared_error"
Y = [[5]]
[train]
learning_rate = "1/7"
steps = 8
"""


@pytest.mark.parametrize("fmt", ["json", "text", "markdown"])
def test_numbers_beyond_4300_digits_are_written_whole(cli, tmp_path: Path, fmt: str) -> None:
    """Python refuses str() of an integer beyond 4300 digits by default; within result_bits symnet writes them."""
    path = tmp_path / "long.toml"
    path.write_text(LONG_TRAINING)
    r = cli("solve", path, "--format", fmt)
    assert r.code == 0 and r.err == ""
    value = symnet.load(str(path)).solve().epoch(8)["W1'"][0, 0]
    assert value.q.bit_length() > 4300 * 3.33  # more than 4300 digits
    from symnet.bounds import long_numbers

    with long_numbers():  # (int() of a long text, and str() of a long int, are refused by default too)
        if fmt == "json":
            p, q = json.loads(r.out)["steps"][7]["W1'"][0][0].split("/")
            assert sp.Rational(int(p), int(q)) == value
        else:
            assert str(abs(value.p)) in r.out and str(value.q) in r.out


def test_error_messages_shorten_huge_numbers() -> None:
    from symnet.bounds import DEFAULT, check_powers
    from symnet.errors import BoundError

    huge = sp.Integer(2) ** 20000 + sp.Rational(1, 3)
    with pytest.raises(BoundError) as info:
        check_powers(sp.ImmutableMatrix([[huge]]), sp.E, DEFAULT)
    assert str(info.value) == "e^z with |z| up to about 3.98e+6020, beyond 10000 (bound: exp_argument); choose smaller weights"


def test_json_reports_the_bits_of_each_step_as_its_own_strings_show(cli, tmp_path: Path) -> None:
    """"bits" per step is the largest numerator or denominator among that step's updated weights and biases,
    measured here from the JSON strings themselves."""
    path = tmp_path / "train.toml"
    path.write_text(LONG_TRAINING.replace("steps = 8", "steps = 3"))
    doc = json.loads(cli("solve", path, "--format", "json").out)

    def size(text: str) -> int:
        p, _, q = text.partition("/")
        return max(abs(int(p)).bit_length(), int(q or 1).bit_length())

    want = [max(size(x) for name, rows in step.items() if name.endswith("'") for row in rows for x in row)
            for step in doc["steps"]]
    assert doc["bits"] == want and len(want) == 3 and want[0] < want[1] < want[2]


def test_json_writes_rational_matrices_as_sympy_prints_them() -> None:
    """value_json reads rational matrices from SymPy's ground types without making Rationals; the text is sstr's."""
    import random

    from symnet.export import value_json

    rng = random.Random(7)
    for _ in range(50):
        rows, cols = rng.randint(1, 4), rng.randint(1, 4)
        m = sp.ImmutableMatrix(rows, cols, lambda i, j: sp.Rational(rng.randint(-10**25, 10**25), rng.choice([1, 3, 10**18 + 9])))
        assert value_json(m) == [[sp.sstr(x) for x in m.row(i)] for i in range(rows)]
    x = sp.Symbol("x")
    assert value_json(sp.ImmutableMatrix([[x + 1, sp.Rational(1, 2)]])) == [["x + 1", "1/2"]]
