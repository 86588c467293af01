"""Every error path of the spec loader: exit 2 and exactly one `symnet: error: FILE: field: ...` line."""

from __future__ import annotations

from pathlib import Path

import pytest

NET = 'X = [1, 2]\n[[layers]]\nW = [[1, 2]]\n'
LOSS = NET + '[loss]\nkind = "squared_error"\nY = [1]\n'

CASES = [
    ("typo.toml", 'X = [1, 2]\n[[layers]]\nW = [[1, 2]]\nactivaton = "relu"\n',
     "layers[1]: unknown key 'activaton' (did you mean 'activation'? allowed: type, W, b, bias, activation, alpha, exp_base, temperature, sample, round, skip)"),
    ("top.toml", 'titel = "x"\n' + NET,
     "unknown key 'titel' (did you mean 'title'? allowed: title, description, kind, X, layers, loss, train, count_parameters, grading)"),
    ("losskey.toml", LOSS + 'reduce = "sum"\n',
     "loss: unknown key 'reduce' (did you mean 'reduction'? allowed: kind, Y, reduction, predictions)"),
    ("shape.toml", 'X = [1, 2]\n[[layers]]\nW = [[1, 2], [3, 4]]\n[[layers]]\nW = [[1, 2, 3]]\n',
     "layers[2].W: W2 is 1×3 but A1 is 2×1: W2·A1 needs W2 to have 2 columns"),
    ("first.toml", 'X = [[1, 2], [3, 4], [5, 6]]\n[[layers]]\nW = [[1, 2]]\n',
     "layers[1].W: W1 is 1×2 but X is 3×2: W1·X needs W1 to have 3 columns"),
    ("bias.toml", 'X = [1, 2]\n[[layers]]\nW = [[1, 2]]\nb = [1, 2]\n',
     "layers[1].b: b1 is 2×1 but W1 is 1×2: b1 needs 1×1"),
    ("y.toml", NET + '[loss]\nkind = "squared_error"\nY = [1, 2]\n', "loss.Y: Y is 2×1 but the output is 1×1"),
    ("ragged.toml", 'X = [1, 2]\n[[layers]]\nW = [[1, 2], [3]]\n', "layers[1].W: row 2 has 1 entries, row 1 has 2"),
    ("number.toml", 'X = [1, "2x"]\n[[layers]]\nW = [[1, 2]]\n', "X[2]: unexpected 'x' (write 2*x for a product)"),
    ("div.toml", 'X = [1, "1/0"]\n[[layers]]\nW = [[1, 2]]\n', "X[2]: division by zero"),
    ("bool.toml", 'X = [1, true]\n[[layers]]\nW = [[1, 2]]\n', "X[2]: expected a number or expression, got true"),
    ("nan.toml", 'X = [1, nan]\n[[layers]]\nW = [[1, 2]]\n', "X[2]: nan is not a finite number"),
    ("act.toml", 'X = [1, 2]\n[[layers]]\nW = [[1, 2]]\nactivation = "rleu"\n',
     "layers[1].activation: unknown value 'rleu' (did you mean 'relu'? allowed: identity, relu, leaky_relu, sigmoid, tanh, softmax)"),
    ("alpha.toml", 'X = [1, 2]\n[[layers]]\nW = [[1, 2]]\nalpha = 0.2\n',
     'layers[1].alpha: alpha goes only with activation = "leaky_relu"'),
    ("lossless.toml", NET + '[train]\nlearning_rate = 0.1\n', "train: training needs a [loss] table"),
    ("steps.toml", LOSS + '[train]\nlearning_rate = 0.1\nsteps = 0\n', "train.steps: steps must be at least 1, got 0"),
    ("nolayers.toml", 'X = [1, 2]\n', "missing key 'layers'"),
    ("badtoml.toml", 'X = [1, 2\n', None),
    ("empty.toml", '', "the file is empty"),
    ("matmul.toml", 'kind = "matmul"\nA = [[1, 2]]\nB = [[1, 2]]\n',
     "B: A is 1×2 and B is 1×2: A·B needs as many columns in A as rows in B"),
]


@pytest.mark.parametrize("name,text,message", CASES, ids=[c[0] for c in CASES])
def test_bad_spec_is_one_line_exit_2(cli, tmp_path: Path, name: str, text: str, message: str | None) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    run = cli("solve", path, "--format", "json")
    assert run.code == 2 and run.out == ""
    lines = run.err.splitlines()
    assert len(lines) == 1 and "Traceback" not in run.err
    if message is None:
        assert lines[0].startswith(f"symnet: error: {path}: not valid TOML: ")
    else:
        prefix = f"symnet: error: {path}: "
        assert lines[0] == prefix + message


def test_missing_file(cli, tmp_path: Path) -> None:
    run = cli("solve", tmp_path / "nope.toml")
    assert (run.code, run.err) == (2, f"symnet: error: {tmp_path / 'nope.toml'}: no such file\n")


def test_unknown_builtin_suggests_the_nearest(cli) -> None:
    run = cli("solve", "backprp")
    assert run.code == 2
    from symnet.spec import builtin_names

    names = builtin_names()  # the seeds first, in teaching order, then the catalogue's built-ins
    assert names[:7] == ["matmul", "single-neuron", "four-neurons", "hidden-layer", "batch", "mlp7", "backprop"]
    assert run.err == ("symnet: error: backprp: no such file or built-in exercise (did you mean 'backprop'?); "
                       f"built-ins: {', '.join(names)}\n")


def test_non_utf8_file(cli, tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('title = "caf\xe9"\n'.encode("latin-1"))
    run = cli("solve", path)
    assert (run.code, run.err) == (2, f"symnet: error: {path}: not UTF-8 text (byte 13)\n")


def test_json_spec_with_the_same_checks(cli, tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    path.write_text('{"X": [1, 2], "layers": [{"W": [[1, 2]], "activaton": "relu"}]}', encoding="utf-8")
    run = cli("solve", path, "--format", "json")
    assert run.code == 2 and "layers[1]: unknown key 'activaton' (did you mean 'activation'?" in run.err


def test_usage_error_is_one_line(cli) -> None:
    run = cli("solve")
    assert run.code == 2 and len(run.err.splitlines()) == 1 and run.err.startswith("symnet: error: ")
