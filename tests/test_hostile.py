"""Hostile and broken input: one located line and exit 2 for every bad file, nothing run, nothing lost.

The corpus lives in tests/hostile/corpus.py; each case asserts the exact error line and that the payload's
side effect (a file named `marker` in the working folder) did not happen. Every test runs under a hang guard."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from .conftest import require_tool
from .hostile import guard
from .hostile.corpus import ANSWERS, CORPUS, RUN, spec

hang_guard = guard.hang_guard  # the autouse fixture, in this module's namespace so that pytest runs it
PREFIX = "symnet: error: "

SPEC_ERRORS = {
    'inject-X': 's.toml: X[1]: unexpected character \'_\' in "__import__(\'os\').system(\'touch marker\')"',
    'inject-X-subclasses': "s.toml: X: unexpected character '.' in '().__class__.__bases__[0].__subclasses__()'",
    'inject-W': 's.toml: layers[1].W[1][1]: unexpected character \'"\' in \'exec("__import__(\\\'os\\\').system(\\\'touch marker\\\')")\'',
    'inject-W-eval': "s.toml: layers[1].W[1][1]: unknown function 'eval' (allowed: exp, ln, log, sqrt)",
    'inject-b-lambda': "s.toml: layers[1].b[1]: unexpected character ':' in 'lambda: 1'",
    'inject-b-semicolon': "s.toml: layers[1].b[1]: unexpected character ';' in 'x; import os'",
    'inject-attribute': "s.toml: X[1]: unexpected character '.' in 'x.__class__'",
    'inject-getattr': "s.toml: X[1]: unexpected character ',' in 'getattr(x, 1)'",
    'inject-Matrix': "s.toml: X[1]: unknown function 'Matrix' (allowed: exp, ln, log, sqrt)",
    'inject-S': "s.toml: X[1]: unknown function 'S' (allowed: exp, ln, log, sqrt)",
    'inject-format': "s.toml: X[1]: unexpected character '{' in '{0.__class__}'",
    'inject-dunder-name': "s.toml: X[1]: unexpected character '_' in '__builtins__'",
    'inject-activation': 's.toml: layers[1].activation: unknown value "__import__(\'os\').system(\'touch marker\')" (allowed: identity, relu, leaky_relu, sigmoid, tanh, softmax)',
    'inject-loss-kind': 's.toml: loss.kind: unknown value "__import__(\'os\').system(\'touch marker\')" (allowed: cross_entropy, squared_error, mse, bce)',
    'inject-reduction': 's.toml: loss.reduction: unknown value "__import__(\'os\').system(\'touch marker\')" (allowed: mean, sum)',
    'inject-kind': 's.toml: kind: unknown value "__import__(\'os\').system(\'touch marker\')" (allowed: network, matmul, gan)',
    'inject-symbol-name': "s.toml: layers[1].W.symbol: '__import__' is not a symbol name (a letter, then letters, digits or _)",
    'inject-symbol-dotted': "s.toml: layers[1].W.symbol: 'os.system' is not a symbol name (a letter, then letters, digits or _)",
    'inject-symbol-keyword': "s.toml: layers[1].W.symbol: 'lambda' is a reserved name; choose another symbol name",
    'inject-symbol-sympy-name': "s.toml: layers[1].W.symbol: 'Symbol' is a reserved name; choose another symbol name",
    'inject-alpha': 's.toml: layers[1].alpha: unexpected character \'_\' in "__import__(\'os\').system(\'touch marker\')"',
    'inject-exp-base': 's.toml: layers[2].exp_base: unexpected character \'_\' in "__import__(\'os\').system(\'touch marker\')"',
    'inject-learning-rate': 's.toml: train.learning_rate: unexpected character \'_\' in "__import__(\'os\').system(\'touch marker\')"',
    'inject-steps': 's.toml: train.steps: expected a whole number, got a string',
    'inject-Y': 's.toml: loss.Y[1]: unexpected character \'_\' in "__import__(\'os\').system(\'touch marker\')"',
    'inject-predictions': 's.toml: loss.predictions[1]: unexpected character \'_\' in "__import__(\'os\').system(\'touch marker\')"',
    'inject-matmul': 's.toml: A[1][1]: unexpected character \'_\' in "__import__(\'os\').system(\'touch marker\')"',
    'inject-json-entry': 's.json: X[1]: unexpected character \'_\' in "__import__(\'os\').system(\'touch marker\')"',
    'inject-json-key': 's.json: unknown key "__import__(\'os\').system(\'touch marker\')" (allowed: title, description, kind, X, layers, loss, train, count_parameters, grading)',
    'tower-python': 's.toml: X[1]: exponent 387420489 beyond ±64 (bound: exponent)',
    'tower-caret': 's.toml: X[1]: exponent 65536 beyond ±64 (bound: exponent)',
    'power-bits': 's.toml: X[1]: power of about 4160 bits, beyond 4096 (bound: power_bits)',
    'power-symbolic': 's.toml: X[1]: exponent 4096 beyond ±64 (bound: exponent)',
    'exp-tower': 's.toml: X[1]: exponent 100 beyond ±64 (bound: exponent)',
    'exp-irrational-exponent': 's.toml: X[1]: exponent exp(5) beyond ±64 (bound: exponent)',
    'e-power': 's.toml: X[1]: exponent 1000000 beyond ±64 (bound: exponent)',
    'huge-toml-int': 's.toml: an integer of more than 40 digits (bound: digits)',
    'huge-toml-hex': 's.toml: X[1]: integer of more than 40 digits (bound: digits)',
    'long-toml-int': 's.toml: X[1]: integer of more than 40 digits (bound: digits)',
    'huge-json-int': 's.json: integer of more than 40 digits (bound: digits)',
    'toml-float-exponent': "s.toml: X[1]: '1e999999': decimal exponent beyond ±40 (bound: decimal_exponent)",
    'json-float-exponent': "s.json: X[1]: '1e999999': decimal exponent beyond ±40 (bound: decimal_exponent)",
    'string-float-exponent': "s.toml: X[1]: '1e-999999': decimal exponent beyond ±40 (bound: decimal_exponent)",
    'many-digits': 's.toml: X[1]: 0.111111111111111111...: more than 40 digits (bound: digits)',
    'many-zeros-after-the-point': 's.toml: X[1]: 0.000000000000000000...: 5001 decimal places, more than 80 (bounds: digits, decimal_exponent)',
    'many-zeros-in-a-string': 's.toml: X[1]: 0.000000000000000000...: 151 decimal places, more than 80 (bounds: digits, decimal_exponent)',
    'exp-power-merged': 's.toml: X[1]: exponent 4096 beyond ±64 (bound: exponent)',
    'exp-product-merged': 's.toml: X[1]: exponent 128 beyond ±64 (bound: exponent)',
    'toml-nan': 's.toml: X[1]: nan is not a finite number',
    'toml-inf': 's.toml: X[1]: inf is not a finite number',
    'toml-minus-inf': 's.toml: X[1]: -inf is not a finite number',
    'json-NaN': 's.json: NaN is not a finite number',
    'json-Infinity': 's.json: -Infinity is not a finite number',
    'string-nan': 's.toml: X[1]: nan is not a finite number',
    'string-Infinity': 's.toml: X[1]: Infinity is not a finite number',
    'complex-root': 's.toml: X[1]: (-8)^(1/3) is not a real number',
    'sqrt-negative': 's.toml: X[1]: sqrt of -4, which is negative',
    'log-zero': 's.toml: X[1]: log of 0, which is not positive',
    'divide-zero': 's.toml: X[1]: division by zero',
    'exp-base-power': 's.toml: layers[2].exp_base: 3^z with |z| up to about 3.00e+30 needs more than 4096 bits (bound: power_bits); choose smaller weights',
    'exp-argument': 's.toml: layers[2]: e^z with |z| up to about 60001, beyond 10000 (bound: exp_argument); choose smaller weights',
    'expression-growth': "s.toml: dL/dZ1: an entry grows beyond 2000 nodes (bound: expression_nodes); use fewer steps, exp_base = 3, or fewer symbols",
    'steps-over-bound': 's.toml: train.steps: 21 steps, more than 20 (bound: steps)',
    'steps-huge': 's.toml: train.steps: 999999999999999999999999999999 steps, more than 20 (bound: steps)',
    'entry-length': 's.toml: X[1]: entry longer than 200 characters (bound: entry_length)',
    'entry-nesting': 's.toml: X[1]: nested deeper than 20 levels (bound: nesting)',
    'entry-signs': 's.toml: X[1]: nested deeper than 20 levels (bound: nesting)',
    'name-length': 's.toml: X[1]: symbol name longer than 32 characters (bound: name_length)',
    'shape-symbol-giant': 's.toml: layers[1].W.shape: shape [100000, 100000] beyond 64×64 (bounds: rows, cols)',
    'shape-symbol-huge-int': 's.toml: layers[1].W.shape: shape [999999999999999999999999999999, 2] beyond 64×64 (bounds: rows, cols)',
    'shape-from-long-bias': 's.toml: layers[1].W.shape: shape [101, 2] beyond 64×64 (bounds: rows, cols)',
    'rows-over-bound': 's.toml: X: more than 64 rows (bound: rows)',
    'cols-over-bound': 's.toml: X: more than 64 columns (bound: cols)',
    'layers-over-bound': 's.json: layers: more than 16 layers (bound: layers)',
    'entries-over-bound': 's.json: train.steps: about 1579008 entries to compute, more than 600000 (bound: entries); use fewer or smaller layers, or fewer steps',
    'file-over-bound': 's.toml: file larger than 1000000 bytes (bound: file_bytes)',
    'toml-deep-array': 's.toml: nested too deeply to read',
    'toml-deep-table': 's.toml: nested too deeply to read',
    'json-deep-array': 's.json: nested too deeply to read',
    'json-deep-object': 's.json: nested too deeply to read',
    'entry-in-lists': 's.toml: X[1][1]: expected a number or expression, got a list',
    'empty': 's.toml: the file is empty',
    'blank': 's.json: the file is empty',
    'latin-1': 's.toml: not UTF-8 text (byte 13)',
    'utf-16': 's.toml: not UTF-8 text (byte 1)',
    'nul-byte': 's.toml: the file holds a NUL character',
    'overlong-utf8': 's.toml: not UTF-8 text (byte 10)',
    'surrogate-utf8': 's.toml: not UTF-8 text (byte 10)',
    'binary-garbage': 's.json: not UTF-8 text (byte 129)',
    'toml-syntax': 's.toml: not valid TOML: Unclosed array (at end of document)',
    'json-truncated': "s.json: not valid JSON: Expecting ',' delimiter: line 1 column 12 (char 11)",
    'json-top-list': 's.json: the top level must be a table of keys',
    'wrong-extension': 's.txt: a spec file must end in .toml or .json',
    'bool-entry': 's.toml: X[1]: expected a number or expression, got true',
    'table-entry': 's.toml: layers[1].W[1][1]: expected a number or expression, got a table',
    'date-entry': 's.toml: X[1]: expected a number or expression, got a date',
    'title-number': 's.toml: title: expected a string, got a number',
    'title-table': 's.toml: title: expected a string, got a table',
    'activation-bool': 's.toml: layers[1].activation: expected a string, got true',
    'layers-string': 's.toml: layers: expected a list of layer tables ([[layers]])',
    'steps-float': 's.toml: train.steps: expected a whole number, got a number',
    'steps-bool': 's.toml: train.steps: expected a whole number, got true',
    'count-parameters-string': 's.toml: count_parameters: expected true or false, got a string',
    'unknown-layer-key': "s.toml: layers[1]: unknown key 'activaton' (did you mean 'activation'? allowed: type, W, b, bias, activation, alpha, exp_base, temperature, sample, round, skip)",
    'unknown-top-key': "s.toml: unknown key 'lyers' (did you mean 'layers'? allowed: title, description, kind, X, layers, loss, train, count_parameters, grading)",
    'unknown-loss-key': "s.toml: loss: unknown key 'reducton' (did you mean 'reduction'? allowed: kind, Y, reduction, predictions)",
    'unknown-value': "s.toml: layers[1].activation: unknown value 'rleu' (did you mean 'relu'? allowed: identity, relu, leaky_relu, sigmoid, tanh, softmax)",
    'long-unknown-key': "s.json: unknown key 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...' (allowed: title, description, kind, X, layers, loss, train, count_parameters, grading)",
    'shape-W-X': 's.toml: layers[1].W: W1 is 2×2 but X is 3×1: W1·X needs W1 to have 3 columns',
    'shape-b': 's.toml: layers[1].b: b1 is 3×1 but W1 is 2×2: b1 needs 2×1',
    'shape-Y': 's.toml: loss.Y: Y is 2×1 but the output is 1×1',
    'shape-predictions': 's.toml: loss.predictions: predictions are 1×2 but the output is 1×1',
    'shape-matmul': 's.toml: B: A is 1×2 and B is 1×2: A·B needs as many columns in A as rows in B',
    'ragged-rows': 's.toml: layers[1].W: row 2 has 1 entries, row 1 has 2',
    'title-escape-sequence': 's.toml: title: holds the control character U+001B',
    'title-bidi-override': 's.toml: title: holds the control character U+202E',
}

ANSWERS_ERRORS = {
    'answers-inject-name': 'a.toml: __import__(\'os\').system(\'touch marker\'): unknown quantity "__import__(\'os\').system(\'touch marker\')" (quantities of this exercise: X, Z1, A1, Z2, A2, Z3, A3, Yhat, Y, L, dL/dZ3, dL/dW3, dL/db3, dL/dA2, dA2/dZ2, dL/dZ2, dL/dW2, dL/db2, dL/dA1, dA1/dZ1, dL/dZ1, dL/dW1, dL/db1, W1\', b1\', W2\', b2\', W3\', b3\')',
    'answers-inject-value': 'a.toml: Z1[1]: unexpected character \'_\' in "__import__(\'os\').system(\'touch marker\')"',
    'answers-inject-scalar': "a.toml: L: unknown function 'eval' (allowed: exp, ln, log, sqrt)",
    'answers-inject-json': 'a.json: A3[1]: unexpected character \'_\' in "__import__(\'os\').system(\'touch marker\')"',
    'answers-student-name': "a.toml: student: expected the student's name as a string of at most 100 characters",
    'answers-other-exercise': "a.toml: C: unknown quantity 'C' (quantities of this exercise: X, Z1, A1, Z2, A2, Z3, A3, Yhat, Y, L, dL/dZ3, dL/dW3, dL/db3, dL/dA2, dA2/dZ2, dL/dZ2, dL/dW2, dL/db2, dL/dA1, dA1/dZ1, dL/dZ1, dL/dW1, dL/db1, W1', b1', W2', b2', W3', b3')",
    'answers-case': "a.toml: z1: unknown quantity 'z1' (did you mean 'Z1'? quantities of this exercise: X, Z1, A1, Z2, A2, Z3, A3, Yhat, Y, L, dL/dZ3, dL/dW3, dL/db3, dL/dA2, dA2/dZ2, dL/dZ2, dL/dW2, dL/db2, dL/dA1, dA1/dZ1, dL/dZ1, dL/dW1, dL/db1, W1', b1', W2', b2', W3', b3')",
    'answers-tower': 'a.toml: L: exponent 387420489 beyond ±64 (bound: exponent)',
    'answers-huge-int': 'a.toml: an integer of more than 40 digits (bound: digits)',
    'answers-deep': 'a.json: nested too deeply to read',
    'answers-nan': 'a.toml: L: nan is not a finite number',
    'answers-table': 'a.toml: Z1: expected a number or a list of rows, got a table',
    'answers-empty': 'a.toml: the file is empty',
    'answers-not-utf8': 'a.toml: not UTF-8 text (byte 6)',
    'answers-unquoted-name': 'a.toml: not valid TOML: Expected \'=\' after a key in a key/value pair (at line 1, column 3); write quantity names in quotes: "dL/dW3" = ..., "W1\'" = ...',
    'answers-no-answers': 'a.toml: no answers: write quantity = value lines, for example Z1 = [[-1], [3]]',
    'answers-unknown-symbol': "a.toml: L: unknown symbol 'q' (symbols of this exercise: none: every answer is a number)",
}


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private working folder (the current directory), where a payload that ran would leave `marker`."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    assert not (tmp_path / "marker").exists(), "a payload ran"
    assert not list(tmp_path.glob(".*.tmp")), "a temporary output file was left behind"


def put(folder: Path, name: str, content: str | bytes) -> Path:
    """Write a corpus file (text as UTF-8, bytes as they are)."""
    path = folder / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def one_error_line(r) -> str:
    """The message of a run that must have failed as bad input: exit 2, nothing on stdout, one line on stderr."""
    assert r.code == 2, (r.code, r.err)
    assert r.out == ""
    assert r.err.startswith(PREFIX) and r.err.endswith("\n") and r.err.count("\n") == 1, r.err
    assert "Traceback" not in r.err
    return r.err[len(PREFIX):-1]


def test_corpus_is_large_and_names_are_unique():
    ids = [c[0] for c in CORPUS + ANSWERS]
    assert len(ids) == len(set(ids)) >= 60
    assert set(SPEC_ERRORS) == {c[0] for c in CORPUS} and set(ANSWERS_ERRORS) == {c[0] for c in ANSWERS}


@pytest.mark.parametrize("case", CORPUS, ids=[c[0] for c in CORPUS])
def test_hostile_spec_is_one_located_line(cli, work, case):
    cid, name, content = case
    put(work, name, content)
    assert one_error_line(cli("solve", name, "--format", "json")) == SPEC_ERRORS[cid]


@pytest.mark.parametrize("case", ANSWERS, ids=[c[0] for c in ANSWERS])
def test_hostile_answers_are_one_located_line(cli, work, case):
    cid, name, content = case
    put(work, name, content)
    assert one_error_line(cli("check", "backprop", name)) == ANSWERS_ERRORS[cid]


@pytest.mark.parametrize("command", [("worksheet",), ("solve", "--format", "markdown"), ("check",)])
@pytest.mark.parametrize("cid", ["inject-X", "tower-caret", "huge-toml-int", "toml-deep-array", "latin-1",
                                 "unknown-layer-key", "shape-W-X", "exp-base-power"])
def test_every_command_reads_specs_the_same_way(cli, work, command, cid):
    name, content = next((n, c) for i, n, c in CORPUS if i == cid)
    put(work, name, content)
    put(work, "a.toml", "L = 1\n")
    args = [command[0], name, *(["a.toml"] if command[0] == "check" else []), *command[1:]]
    assert one_error_line(cli(*args)) == SPEC_ERRORS[cid]


# ---------------------------------------------------------------- files: BOM, folders, devices


@pytest.mark.parametrize("name", ["s.toml", "s.json"])
def test_a_utf8_bom_is_accepted(cli, work, name):
    text = spec() if name.endswith(".toml") else json.dumps({"X": [1, 2], "layers": [{"W": [[1, 2]]}]})
    put(work, "plain" + name[1:], text)
    put(work, name, b"\xef\xbb\xbf" + text.encode())
    with_bom, plain = cli("solve", name, "--format", "json"), cli("solve", "plain" + name[1:], "--format", "json")
    assert (with_bom.code, with_bom.err) == (0, "")
    assert with_bom.json()["quantities"] == plain.json()["quantities"]


def test_a_folder_a_fifo_and_a_device_are_refused(cli, work):
    (work / "d.toml").mkdir()
    assert one_error_line(cli("solve", "d.toml")) == "d.toml: is a folder, not a spec file"
    if hasattr(os, "mkfifo"):
        os.mkfifo(work / "f.toml")  # opening it would block for ever
        assert one_error_line(cli("solve", "f.toml")) == "f.toml: not a regular file"
    (work / "z.toml").symlink_to("/dev/zero")  # reading it would never end
    assert one_error_line(cli("solve", "z.toml")) == "z.toml: not a regular file"


def test_missing_and_unreadable_names(cli, work):
    assert one_error_line(cli("solve", "nope.toml")) == "nope.toml: no such file"
    long = "a" * 5000
    assert one_error_line(cli("solve", long)).startswith(long[:100])
    assert one_error_line(cli("solve", "backprp")).startswith("backprp: no such file or built-in exercise "
                                                              "(did you mean 'backprop'?)")


def test_error_lines_never_carry_control_characters(cli, work):
    put(work, "a.json", json.dumps({"L\n\u001b[2Jx": 1}))
    message = one_error_line(cli("check", "backprop", "a.json"))
    assert "\x1b" not in message and message.startswith("a.json: L\\n\\x1b[2Jx: unknown quantity")


# ---------------------------------------------------------------- nothing is lost


def test_output_equal_to_the_input_is_refused(cli, work):
    path = put(work, "s.toml", spec())
    before = path.read_bytes()
    for out in ("s.toml", "./s.toml", str(path)):
        assert one_error_line(cli("solve", "s.toml", "-o", out)) == f"{out}: -o {out} is an input file; choose another output"
    os.symlink("s.toml", work / "link.toml")
    assert "is an input file" in one_error_line(cli("solve", "s.toml", "-o", "link.toml"))
    assert path.read_bytes() == before


@pytest.mark.parametrize("fmt", ["json", "markdown"])
def test_a_failing_run_never_truncates_an_existing_key(cli, work, fmt):
    key = put(work, "key.out", "THE KEY\n")
    put(work, "bad.toml", spec(x='["9^9^9", 2]'))
    assert one_error_line(cli("solve", "bad.toml", "--format", fmt, "-o", "key.out")) == (
        "bad.toml: X[1]: exponent 387420489 beyond ±64 (bound: exponent)")
    assert key.read_text() == "THE KEY\n"


def test_a_failing_write_leaves_the_old_file_and_no_temporary(cli, work, monkeypatch):
    key = put(work, "key.md", "THE KEY\n")

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    assert one_error_line(cli("solve", "backprop", "-o", "key.md")) == "key.md: cannot write: No space left on device"
    assert key.read_text() == "THE KEY\n"


def test_output_is_written_whole(cli, work):
    shown = cli("solve", "backprop", "--format", "json")
    put(work, "key.json", "old")
    r = cli("solve", "backprop", "--format", "json", "-o", "key.json")
    assert (r.code, r.out, r.err) == (0, "", "")
    assert (work / "key.json").read_text() == shown.out
    assert sorted(p.name for p in work.iterdir()) == ["key.json"]


def test_output_into_a_missing_folder_is_one_line(cli, work):
    assert one_error_line(cli("solve", "backprop", "-o", "no/such/key.md")) == (
        "no/such/key.md: cannot write: No such file or directory")


# ---------------------------------------------------------------- output is escaped for where it goes

TEX_TITLE = r"\input{/etc/passwd} \write18{touch marker} 100% #1 $x$ ^^5c ~ \ & _ {} \def\x{y} \catcode`\^=7"
TEX_DESCRIPTION = r"\immediate\write18{touch marker}\openin5=/etc/passwd \csname end\endcsname ^^M"
HTML_TITLE = "<script>alert(1)</script><img src=x onerror=alert(1)>[a](javascript:alert(1)) *b* `c` <!-- x -->"
HTML_DESCRIPTION = '1. not a list <iframe src="javascript:alert(1)"></iframe> $x$ | t |'


def titled(title: str, description: str) -> str:
    return f"title = {json.dumps(title)}\ndescription = {json.dumps(description)}\n" + spec()


def test_json_keeps_a_hostile_title_as_plain_text(cli, work):
    put(work, "s.toml", titled(RUN, TEX_TITLE))
    r = cli("solve", "s.toml", "--format", "json")
    assert r.code == 0 and r.json()["title"] == RUN


def test_latex_prints_tex_primitives_as_text(cli, work):
    put(work, "s.toml", titled(TEX_TITLE, TEX_DESCRIPTION))
    r = cli("solve", "s.toml", "--format", "latex")
    assert r.code == 0
    for primitive in (r"\input{", r"\write18", r"\openin", r"\csname", r"\def\x", r"\catcode", "^^5c", "^^M", " % "):
        assert primitive not in r.out


def test_pdf_shows_tex_primitives_as_text_and_runs_none(cli, work):
    require_tool("pdflatex")
    pdftotext = require_tool("pdftotext")
    put(work, "s.toml", titled(TEX_TITLE, TEX_DESCRIPTION))
    r = cli("solve", "s.toml", "--format", "pdf", "-o", "s.pdf")
    assert (r.code, r.err) == (0, "")
    text = subprocess.run([pdftotext, "s.pdf", "-"], capture_output=True, text=True, check=True).stdout
    text = " ".join(text.translate(str.maketrans("ˆ˜‘", "^~`")).split())  # TeX's accent glyphs, as typed
    for piece in (r"\input{/etc/passwd} \write18{touch marker} 100% #1 $x$ ^^5c ~ \ &", r"{} \def\x{y} \catcode`\^=7",
                  r"\immediate\write18{touch marker}\openin5=/etc/passwd \csname end\endcsname ^^M"):
        assert piece in text
    assert "root:" not in text  # /etc/passwd was not read


def _escaped_everywhere(line: str, chars: str) -> bool:
    """True when every occurrence of each of `chars` in `line` is backslash-escaped (literal in CommonMark)."""
    return all(line[i - 1] == "\\" for i, ch in enumerate(line) if ch in chars and i > 0) and line[:1] not in chars


def test_markdown_makes_html_and_markup_inert(cli, work):
    put(work, "s.toml", titled(HTML_TITLE, HTML_DESCRIPTION))
    r = cli("solve", "s.toml", "--format", "markdown")
    assert r.code == 0
    lines = r.out.splitlines()
    title = next(l for l in lines if l.startswith("# "))[2:]
    description = next(l for l in lines if "not a list" in l)
    for line in (title, description):
        assert "<" not in line and ">" not in line  # no tag of any kind survives
        assert _escaped_everywhere(line, "[]`*$|")
    assert title.startswith("&lt;script&gt;alert(1)&lt;/script&gt;")
    assert re.match(r"1\\\. ", description)  # not an ordered list


def test_worksheet_escapes_too(cli, work):
    put(work, "s.toml", titled(HTML_TITLE, TEX_TITLE))
    md = cli("worksheet", "s.toml")
    tex = cli("worksheet", "s.toml", "--format", "latex")
    assert md.code == tex.code == 0
    assert "<script" not in md.out and r"\input{" not in tex.out and "<script" not in tex.out


# ---------------------------------------------------------------- bounds can be raised where a user needs more


def test_a_bound_can_be_raised_on_the_command_line(cli, work):
    put(work, "s.toml", spec(x='["2^65", 1]', act2='"identity"'))
    assert one_error_line(cli("solve", "s.toml")) == "s.toml: X[1]: exponent 65 beyond ±64 (bound: exponent)"
    r = cli("solve", "s.toml", "--format", "json", "--bound", "exponent=65")
    assert r.code == 0 and r.json()["quantities"]["X"] == [["36893488147419103232"], ["1"]]
    row = "[" + "1, " * 64 + "1]"
    rows = spec(x=row, w1=f"[{row}, {row}]")
    put(work, "rows.toml", rows)
    assert cli("worksheet", "rows.toml", "--bound", "rows=65", "--bound", "cols=65").code == 0


@pytest.mark.parametrize("setting, message", [
    ("nope=3", "--bound 'nope=3': expected NAME=VALUE with NAME one of "),
    ("rows", "--bound 'rows': expected NAME=VALUE with NAME one of "),
    ("rows=-1", "--bound 'rows=-1': the value must be a whole number from 1 to 999999999999"),
    ("rows=1e9", "--bound 'rows=1e9': the value must be a whole number from 1 to 999999999999"),
    ("rows=" + "9" * 5000, "--bound 'rows=999"),
])
def test_a_bad_bound_setting_is_one_line(cli, work, setting, message):
    assert one_error_line(cli("solve", "backprop", "--bound", setting)).startswith(message)


def test_the_engine_keeps_the_bounds_it_was_read_with(work):
    from symnet import load
    from symnet.bounds import DEFAULT
    from symnet.errors import BoundError

    put(work, "s.toml", spec(x='["10^30", 0]', w2="[[1, 0], [0, 1]]", y="[0, 1]", loss='"cross_entropy"',
                             act2='"softmax"\nexp_base = 3'))
    with pytest.raises(BoundError, match=r"\(bound: power_bits\)"):
        load("s.toml").solve()
    put(work, "t.toml", spec(x='["40", 0]', w2="[[1, 0], [0, 1]]", y="[0, 1]", loss='"cross_entropy"',
                             act2='"softmax"\nexp_base = 3'))
    small = DEFAULT.raised(["power_bits=10"])
    with pytest.raises(BoundError, match=r"t.toml: layers\[2\].exp_base: 3\^z .* more than 10 bits"):
        load("t.toml", bounds=small).solve()
    assert load("t.toml").solve()["A2"].shape == (2, 1)


def test_check_honours_a_raised_bound(cli, work):
    put(work, "s.toml", spec(x='["2^65", 1]', act2='"identity"'))
    put(work, "a.toml", "Z1 = [1, 2]\n")
    assert cli("check", "s.toml", "a.toml", "--bound", "exponent=65").code == 1


# ---------------------------------------------------------------- no input text reaches Python evaluation

SOURCE = Path(__file__).resolve().parent.parent / "symnet"
FORBIDDEN = {
    "sympify (parses strings with eval) unless strict=True": re.compile(r"sympify\((?![^)]*strict\s*=\s*True)"),
    "parse_expr": re.compile(r"\bparse_expr\b|sympy\.parsing|from sympy\.parsing"),
    "S(...) (sympify)": re.compile(r"(?<![\w.])(?:sp\.|sympy\.)?S\("),
    "nsimplify": re.compile(r"\bnsimplify\("),
    "Matrix from a string": re.compile(r"Matrix\(\s*(?:f?['\"]|str\()"),
    ".subs with a string": re.compile(r"\.subs\(\s*f?['\"]"),
    "eval/exec/compile": re.compile(r"(?<![\w.])(?:eval|exec|compile)\("),
    "__import__": re.compile(r"__import__"),
    "lambdify": re.compile(r"\blambdify\b"),
    "pickle/marshal/shelve": re.compile(r"\b(?:pickle|marshal|shelve)\b"),
}


def test_no_string_parsing_sympy_call_or_eval_in_the_package():
    hits = []
    for path in sorted(SOURCE.rglob("*.py")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            for what, pattern in FORBIDDEN.items():
                if pattern.search(code):
                    hits.append(f"{path.relative_to(SOURCE.parent)}:{n}: {what}: {line.strip()}")
    assert not hits, "\n".join(hits)


def test_the_forbidden_patterns_catch_what_they_name():
    samples = {
        "sympify (parses strings with eval) unless strict=True": "x = sp.sympify(text)",
        "parse_expr": "from sympy.parsing.sympy_parser import parse_expr",
        "S(...) (sympify)": "v = sp.S(text)",
        "nsimplify": "sp.nsimplify(t)",
        "Matrix from a string": "sp.Matrix('[[1]]')",
        ".subs with a string": "e.subs('x', t)",
        "eval/exec/compile": "eval(t)",
        "__import__": "__import__('os')",
        "lambdify": "sp.lambdify(x, e)",
        "pickle/marshal/shelve": "import pickle",
    }
    for what, line in samples.items():
        assert FORBIDDEN[what].search(line), what
    for fine in ("sp.S.One", "re.compile(r'x')", "sp.sympify(v, strict=True)", "e.subs(x, 1)", "sp.Matrix(rows)"):
        assert not any(p.search(fine) for p in FORBIDDEN.values()), fine
