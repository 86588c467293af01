"""The hostile-input corpus: (id, file name, file content) triples; content is text or bytes."""

from __future__ import annotations

import json

MARK = "touch marker"  # every payload that would run would create ./marker (the test's working folder)
RUN = f"__import__('os').system('{MARK}')"


def spec(x: str = "[1, 2]", w1: str = "[[1, 2], [3, 4]]", b1: str = "[0, 1]", act1: str = '"relu"',
         w2: str = "[[1, -1]]", act2: str = '"sigmoid"', loss: str = '"squared_error"', y: str = "[1]",
         extra_layer: str = "", extra_top: str = "", train: str = "", loss_extra: str = "") -> str:
    """A small valid spec with one field replaced by a payload."""
    return (f"{extra_top}X = {x}\n\n[[layers]]\nW = {w1}\nb = {b1}\nactivation = {act1}\n{extra_layer}\n"
            f"[[layers]]\nW = {w2}\nactivation = {act2}\n\n[loss]\nkind = {loss}\nY = {y}\n{loss_extra}{train}")


def q(text: str) -> str:
    """A TOML basic string holding `text`."""
    return json.dumps(text)


SPEC_JSON = {"X": [1, 2], "layers": [{"W": [[1, 2], [3, 4]], "activation": "relu"}, {"W": [[1, -1]]}]}


def jspec(**changes: object) -> str:
    """The JSON spec with top-level keys replaced."""
    return json.dumps({**SPEC_JSON, **changes})


CORPUS: list[tuple[str, str, str | bytes]] = [
    # ------------------------------------------------ code injection, field by field
    ("inject-X", "s.toml", spec(x=f"[{q(RUN)}, 2]")),
    ("inject-X-subclasses", "s.toml", spec(x=q("().__class__.__bases__[0].__subclasses__()"))),
    ("inject-W", "s.toml", spec(w1=f"[[{q('exec(' + repr(RUN) + ')')}, 2], [3, 4]]")),
    ("inject-W-eval", "s.toml", spec(w1=f"[[{q('eval(1)')}, 2], [3, 4]]")),
    ("inject-b-lambda", "s.toml", spec(b1=f"[{q('lambda: 1')}, 1]")),
    ("inject-b-semicolon", "s.toml", spec(b1=f"[{q('x; import os')}, 1]")),
    ("inject-attribute", "s.toml", spec(x=f"[{q('x.__class__')}, 2]")),
    ("inject-getattr", "s.toml", spec(x=f"[{q('getattr(x, 1)')}, 2]")),
    ("inject-Matrix", "s.toml", spec(x=f"[{q('Matrix(1)')}, 2]")),
    ("inject-S", "s.toml", spec(x=f"[{q('S(1)')}, 2]")),
    ("inject-format", "s.toml", spec(x=f"[{q('{0.__class__}')}, 2]")),
    ("inject-dunder-name", "s.toml", spec(x=f"[{q('__builtins__')}, 2]")),
    ("inject-activation", "s.toml", spec(act1=q(RUN))),
    ("inject-loss-kind", "s.toml", spec(loss=q(RUN))),
    ("inject-reduction", "s.toml", spec(loss_extra=f"reduction = {q(RUN)}\n")),
    ("inject-kind", "s.toml", "kind = " + q(RUN) + "\n" + spec()),
    ("inject-symbol-name", "s.toml", spec(w1='{ symbol = "__import__", shape = [2, 2] }')),
    ("inject-symbol-dotted", "s.toml", spec(w1='{ symbol = "os.system", shape = [2, 2] }')),
    ("inject-symbol-keyword", "s.toml", spec(w1='{ symbol = "lambda", shape = [2, 2] }')),
    ("inject-symbol-sympy-name", "s.toml", spec(w1='{ symbol = "Symbol", shape = [2, 2] }')),
    ("inject-alpha", "s.toml", spec(act1='"leaky_relu"', extra_layer=f"alpha = {q(RUN)}\n")),
    ("inject-exp-base", "s.toml", spec(act2='"softmax"', w2="[[1, -1], [0, 1]]", y="[0, 1]",
                                       loss='"cross_entropy"').replace('activation = "softmax"',
                                                                       f'activation = "softmax"\nexp_base = {q(RUN)}')),
    ("inject-learning-rate", "s.toml", spec(train=f"\n[train]\nlearning_rate = {q(RUN)}\n")),
    ("inject-steps", "s.toml", spec(train='\n[train]\nlearning_rate = "1/10"\nsteps = "1; rm -rf /"\n')),
    ("inject-Y", "s.toml", spec(y=f"[{q(RUN)}]")),
    ("inject-predictions", "s.toml", spec(loss_extra=f"predictions = [{q(RUN)}]\n")),
    ("inject-matmul", "s.toml", f'kind = "matmul"\nA = [[{q(RUN)}]]\nB = [[1]]\n'),
    ("inject-json-entry", "s.json", jspec(X=[RUN, 2])),
    ("inject-json-key", "s.json", json.dumps({**SPEC_JSON, RUN: 1})),
    # ------------------------------------------------ power towers, huge numbers, unbounded work
    ("tower-python", "s.toml", spec(x=f"[{q('9**9**9')}, 2]")),
    ("tower-caret", "s.toml", spec(x=f"[{q('2^2^2^2^2^2')}, 2]")),
    ("power-bits", "s.toml", spec(x=f"[{q('(2^64)^64')}, 2]")),
    ("power-symbolic", "s.toml", spec(x=f"[{q('(x^64)^64')}, 2]")),
    ("exp-tower", "s.toml", spec(x=f"[{q('exp(exp(exp(100)))')}, 2]")),
    ("exp-irrational-exponent", "s.toml", spec(x=f"[{q('2^exp(5)')}, 2]")),
    ("e-power", "s.toml", spec(x=f"[{q('e^1000000')}, 2]")),
    ("huge-toml-int", "s.toml", spec(x="[" + "9" * 5000 + ", 2]")),
    ("huge-toml-hex", "s.toml", spec(x="[0x" + "f" * 5000 + ", 2]")),
    ("long-toml-int", "s.toml", spec(x="[" + "9" * 41 + ", 2]")),
    ("huge-json-int", "s.json", '{"X": [' + "9" * 5000 + "]}"),
    ("toml-float-exponent", "s.toml", spec(x="[1e999999, 2]")),
    ("json-float-exponent", "s.json", jspec(X=[1, 2]).replace("[1, 2]", "[1e999999, 2]", 1)),
    ("string-float-exponent", "s.toml", spec(x=f"[{q('1e-999999')}, 2]")),
    ("many-digits", "s.toml", spec(x="[0." + "1" * 45 + ", 2]")),
    ("many-zeros-after-the-point", "s.toml", spec(x="[0." + "0" * 5000 + "1, 2]")),
    ("many-zeros-in-a-string", "s.toml", spec(x=f"[{q('0.' + '0' * 150 + '1')}, 2]")),
    ("exp-power-merged", "s.toml", spec(x=f"[{q('((exp(64)^64)^64)^64')}, 2]")),
    ("exp-product-merged", "s.toml", spec(x=f"[{q('exp(64)*exp(64)')}, 2]")),
    ("toml-nan", "s.toml", spec(x="[nan, 2]")),
    ("toml-inf", "s.toml", spec(x="[inf, 2]")),
    ("toml-minus-inf", "s.toml", spec(x="[-inf, 2]")),
    ("json-NaN", "s.json", '{"X": [NaN, 2]}'),
    ("json-Infinity", "s.json", '{"X": [-Infinity, 2]}'),
    ("string-nan", "s.toml", spec(x=f"[{q('nan')}, 2]")),
    ("string-Infinity", "s.toml", spec(x=f"[{q('Infinity')}, 2]")),
    ("complex-root", "s.toml", spec(x=f"[{q('(-8)^(1/3)')}, 2]")),
    ("sqrt-negative", "s.toml", spec(x=f"[{q('sqrt(-4)')}, 2]")),
    ("log-zero", "s.toml", spec(x=f"[{q('log(0)')}, 2]")),
    ("divide-zero", "s.toml", spec(x=f"[{q('1/(2-2)')}, 2]")),
    ("exp-base-power", "s.toml", spec(x=f"[{q('10^30')}, 0]", w2="[[1, 0], [0, 1]]", y="[0, 1]",
                                      loss='"cross_entropy"', act2='"softmax"\nexp_base = 3')),
    ("exp-argument", "s.toml", spec(x="[20000, 0]", w2="[[1, 0], [0, 1]]", y="[0, 1]", loss='"cross_entropy"',
                                    act2='"softmax"')),
    ("expression-growth", "s.toml", spec(act1='"sigmoid"', act2='"softmax"', w2="[[1, -1], [0, 1]]", y="[0, 1]",
                                         loss='"cross_entropy"', train='\n[train]\nlearning_rate = "1/2"\nsteps = 20\n')),
    ("steps-over-bound", "s.toml", spec(train='\n[train]\nlearning_rate = "1/10"\nsteps = 21\n')),
    ("steps-huge", "s.toml", spec(train='\n[train]\nlearning_rate = "1/10"\nsteps = ' + "9" * 30 + "\n")),
    ("entry-length", "s.toml", spec(x=f"[{q('1+' * 100 + '1')}, 2]")),
    ("entry-nesting", "s.toml", spec(x=f"[{q('(' * 30 + '1' + ')' * 30)}, 2]")),
    ("entry-signs", "s.toml", spec(x=f"[{q('-' * 30 + '1')}, 2]")),
    ("name-length", "s.toml", spec(x=f"[{q('x' * 33)}, 2]")),
    # ------------------------------------------------ giant shapes
    ("shape-symbol-giant", "s.toml", spec(w1='{ symbol = "w", shape = [100000, 100000] }')),
    ("shape-symbol-huge-int", "s.toml", spec(w1='{ symbol = "w", shape = [' + "9" * 30 + ", 2] }")),
    ("shape-from-long-bias", "s.toml", spec(w1='{ symbol = "w" }', b1="[" + "0, " * 100 + "0]")),
    ("rows-over-bound", "s.toml", spec(x="[" + "1, " * 64 + "1]")),
    ("cols-over-bound", "s.toml", spec(x="[[" + "1, " * 64 + "1]]")),
    ("layers-over-bound", "s.json", json.dumps({"X": [1], "layers": [{"W": [[1]]}] * 17})),
    ("entries-over-bound", "s.json", json.dumps({"X": [[1] * 64] * 64, "layers": [{"W": [[1] * 64] * 64}] * 16,
                                                   "loss": {"kind": "mse", "Y": [[0] * 64] * 64},
                                                   "train": {"learning_rate": "1/3", "steps": 3}})),
    ("file-over-bound", "s.toml", "# " + "x" * 1_000_001 + "\n" + spec()),
    # ------------------------------------------------ deep nesting
    ("toml-deep-array", "s.toml", "X = " + "[" * 5000 + "]" * 5000 + "\n"),
    ("toml-deep-table", "s.toml", "X = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n"),
    ("json-deep-array", "s.json", '{"X": ' + "[" * 100000 + "]" * 100000 + "}"),
    ("json-deep-object", "s.json", '{"X": ' + '{"a": ' * 100000 + "1" + "}" * 100000 + "}"),
    ("entry-in-lists", "s.toml", spec(x="[[[1]], [[2]]]")),
    # ------------------------------------------------ broken encodings and files
    ("empty", "s.toml", b""),
    ("blank", "s.json", b"  \n\t\n"),
    ("latin-1", "s.toml", 'title = "café"\n'.encode("latin-1") + spec().encode()),
    ("utf-16", "s.toml", spec().encode("utf-16")),
    ("nul-byte", "s.toml", spec().encode() + b"\x00"),
    ("overlong-utf8", "s.toml", b'title = "\xc0\xaf"\n'),
    ("surrogate-utf8", "s.toml", b'title = "\xed\xa0\x80"\n'),
    ("binary-garbage", "s.json", bytes(range(256))),
    ("toml-syntax", "s.toml", "X = [1, 2\n"),
    ("json-truncated", "s.json", '{"X": [1, 2'),
    ("json-top-list", "s.json", "[1, 2]"),
    ("wrong-extension", "s.txt", spec()),
    # ------------------------------------------------ wrong types and unknown keys
    ("bool-entry", "s.toml", spec(x="[true, 2]")),
    ("table-entry", "s.toml", spec(w1="[[{a = 1}, 2], [3, 4]]")),
    ("date-entry", "s.toml", spec(x="[1979-05-27, 2]")),
    ("title-number", "s.toml", "title = 3\n" + spec()),
    ("title-table", "s.toml", "title = {a = 1}\n" + spec()),
    ("activation-bool", "s.toml", spec(act1="true")),
    ("layers-string", "s.toml", 'X = [1]\nlayers = "relu"\n'),
    ("steps-float", "s.toml", spec(train='\n[train]\nlearning_rate = "1/10"\nsteps = 1.5\n')),
    ("steps-bool", "s.toml", spec(train='\n[train]\nlearning_rate = "1/10"\nsteps = true\n')),
    ("count-parameters-string", "s.toml", 'count_parameters = "yes"\n' + spec()),
    ("unknown-layer-key", "s.toml", spec(extra_layer='activaton = "relu"\n')),
    ("unknown-top-key", "s.toml", spec().replace("[[layers]]", "[[lyers]]", 1)),
    ("unknown-loss-key", "s.toml", spec(loss_extra='reducton = "sum"\n')),
    ("unknown-value", "s.toml", spec(act1='"rleu"')),
    ("long-unknown-key", "s.json", json.dumps({**SPEC_JSON, "k" * 10000: 1})),
    # ------------------------------------------------ shapes that do not fit
    ("shape-W-X", "s.toml", spec(x="[1, 2, 3]")),
    ("shape-b", "s.toml", spec(b1="[0, 1, 2]")),
    ("shape-Y", "s.toml", spec(y="[1, 2]")),
    ("shape-predictions", "s.toml", spec(loss_extra="predictions = [[1, 2]]\n")),
    ("shape-matmul", "s.toml", 'kind = "matmul"\nA = [[1, 2]]\nB = [[1, 2]]\n'),
    ("ragged-rows", "s.toml", spec(w1="[[1, 2], [3]]")),
    # ------------------------------------------------ control characters in text
    ("title-escape-sequence", "s.toml", 'title = "\\u001b[2J\\u001b]0;pwned\\u0007"\n' + spec()),
    ("title-bidi-override", "s.toml", 'title = "abc\\u202Etxt.exe"\n' + spec()),
]

# answers files for `symnet check backprop FILE`
ANSWERS: list[tuple[str, str, str | bytes]] = [
    ("answers-inject-name", "a.toml", f"{q(RUN)} = 1\n"),
    ("answers-inject-value", "a.toml", f"Z1 = [{q(RUN)}, 1, 1, 1]\n"),
    ("answers-inject-scalar", "a.toml", f"L = {q('eval(1)')}\n"),
    ("answers-inject-json", "a.json", json.dumps({"A3": [RUN, 0, 0]})),
    ("answers-student-name", "a.toml", 'student = {name = "x"}\nL = 1\n'),
    ("answers-other-exercise", "a.toml", "C = [[1, 2], [3, 4]]\n"),
    ("answers-case", "a.toml", "z1 = [1, 2, 3, 4]\n"),
    ("answers-tower", "a.toml", f"L = {q('9^9^9')}\n"),
    ("answers-huge-int", "a.toml", "L = " + "9" * 5000 + "\n"),
    ("answers-deep", "a.json", '{"L": ' + "[" * 100000 + "]" * 100000 + "}"),
    ("answers-nan", "a.toml", "L = nan\n"),
    ("answers-table", "a.toml", "[Z1]\na = 1\n"),
    ("answers-empty", "a.toml", b""),
    ("answers-not-utf8", "a.toml", b"L = \"\xff\"\n"),
    ("answers-unquoted-name", "a.toml", "dL/dW3 = [[1, 2]]\n"),
    ("answers-no-answers", "a.toml", 'student = "Ada"\n'),
    ("answers-unknown-symbol", "a.toml", f"L = {q('log(q)')}\n"),
]
