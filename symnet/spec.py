"""Reading exercise specs (TOML, JSON, a dict or a built-in name) into an `Exercise`, with one-line errors."""

from __future__ import annotations

import difflib
import json
import os
import stat
import tomllib
import unicodedata
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import sympy as sp

from .bounds import DEFAULT, Bounds
from .errors import BoundError, SpecError, SymnetError
from .exercise import ACTIVATIONS, LOSSES, REDUCTIONS, Exercise, Layer, Loss, Train
from .expr import FloatText, check_name, parse_entry, symbol

TOP_KEYS = ("title", "description", "kind", "X", "layers", "loss", "train", "count_parameters")
MATMUL_KEYS = ("title", "description", "kind", "A", "B")
LAYER_KEYS = ("W", "b", "activation", "alpha", "exp_base")
LOSS_KEYS = ("kind", "Y", "reduction", "predictions")
TRAIN_KEYS = ("learning_rate", "steps", "round")


# ---------------------------------------------------------------- files and built-ins


def builtin_names() -> list[str]:
    """The names of the built-in exercises, in teaching order."""
    order = ["matmul", "single-neuron", "four-neurons", "hidden-layer", "batch", "mlp7", "backprop"]
    found = sorted(p.name[:-5] for p in resources.files("symnet.examples").iterdir() if p.name.endswith(".toml"))
    return [n for n in order if n in found] + [n for n in found if n not in order]


def builtin_text(name: str) -> str:
    """The TOML text of a built-in exercise."""
    return (resources.files("symnet.examples") / f"{name}.toml").read_text(encoding="utf-8")


def read_data(path: str | Path, what: str = "spec", bounds: Bounds = DEFAULT) -> dict:
    """The parsed TOML or JSON data of a file, with floats kept as their decimal text."""
    p = Path(path)
    src = str(path)
    try:
        mode = os.stat(p).st_mode
        if stat.S_ISDIR(mode):
            raise SpecError(f"is a folder, not a {what} file", source=src)
        if not stat.S_ISREG(mode):  # a FIFO or device would block or never end
            raise SpecError("not a regular file", source=src)
        with open(p, "rb") as f:
            raw = f.read(bounds.file_bytes + 1)
    except FileNotFoundError:
        raise SpecError("no such file", source=src) from None
    except IsADirectoryError:
        raise SpecError(f"is a folder, not a {what} file", source=src) from None
    except OSError as e:
        raise SpecError(f"cannot read: {e.strerror}", source=src) from None
    except ValueError:  # an embedded NUL in the path
        raise SpecError("not a valid file name", source=src) from None
    if len(raw) > bounds.file_bytes:
        raise BoundError(f"file larger than {bounds.file_bytes} bytes (bound: file_bytes)", source=src)
    return parse_text(raw, src, json_format=p.suffix.lower() == ".json", bounds=bounds)


def parse_text(raw: bytes | str, source: str, json_format: bool = False, bounds: Bounds = DEFAULT) -> dict:
    """Decode TOML (or JSON) text into plain data; floats become `FloatText`. A UTF-8 BOM is allowed."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise SpecError(f"not UTF-8 text (byte {e.start + 1})", source=source) from None
    else:
        text = raw.removeprefix("\ufeff")
    if not text.strip():
        raise SpecError("the file is empty", source=source)
    if "\x00" in text:
        raise SpecError("the file holds a NUL character", source=source)
    try:
        if json_format:
            data = json.loads(text, parse_float=FloatText, parse_int=lambda t: _json_int(t, bounds),
                              parse_constant=_no_constant)
        else:
            data = tomllib.loads(text, parse_float=FloatText)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
        raise SpecError(f"not valid {'JSON' if json_format else 'TOML'}: {e}", source=source) from None
    except RecursionError:
        raise BoundError("nested too deeply to read", source=source) from None
    except ValueError:  # tomllib's int() of a number longer than Python's 4300-digit limit
        raise BoundError(f"an integer of more than {bounds.digits} digits (bound: digits)", source=source) from None
    except SymnetError as e:
        raise e.located(source) from None
    if not isinstance(data, dict):
        raise SpecError("the top level must be a table of keys", source=source)
    return data


def _json_int(text: str, bounds: Bounds = DEFAULT) -> int:
    if len(text.lstrip("-")) > bounds.digits:
        raise BoundError(f"integer of more than {bounds.digits} digits (bound: digits)")
    return int(text)


def _no_constant(name: str) -> None:
    raise SpecError(f"{name} is not a finite number")


def load(spec: str | Path | Mapping, *, bounds: Bounds = DEFAULT) -> Exercise:
    """An exercise from a path (.toml or .json), a built-in name, or a dict of the spec's structure."""
    if isinstance(spec, Mapping):
        return from_data(spec, "<dict>", bounds)
    text = str(spec)
    p = Path(text)
    if _exists(p) or p.suffix.lower() in (".toml", ".json") or "/" in text or "\\" in text:
        if _exists(p) and p.suffix.lower() not in (".toml", ".json"):
            raise SpecError("a spec file must end in .toml or .json", source=text)
        return from_data(read_data(p, "spec", bounds), text, bounds)
    names = builtin_names()
    if text not in names:
        hint = difflib.get_close_matches(text, names, n=1)
        meant = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise SpecError(f"no such file or built-in exercise{meant}; built-ins: {', '.join(names)}", source=text)
    return from_data(parse_text(builtin_text(text), text), text, bounds)


def _exists(p: Path) -> bool:
    """Path.exists that is False for a name the system refuses (too long, an embedded NUL)."""
    try:
        return p.exists()
    except (OSError, ValueError):
        return False


# ---------------------------------------------------------------- structure


def from_data(data: Mapping, source: str = "<dict>", bounds: Bounds = DEFAULT) -> Exercise:
    """Validate spec data and build the `Exercise`; every problem raises a located `SpecError`."""
    try:
        refuse_huge_ints(data, bounds)
        return _build(data, bounds, source)
    except SymnetError as e:
        raise e.located(source) from None


def refuse_huge_ints(data: object, bounds: Bounds = DEFAULT) -> None:
    """Refuse any integer of more than `bounds.digits` digits anywhere in the data (walked without recursion)."""
    stack: list[tuple[str, object]] = [("", data)]
    while stack:
        field, value = stack.pop()
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**bounds.digits:
            raise BoundError(f"integer of more than {bounds.digits} digits (bound: digits)", field=field or None)
        if isinstance(value, Mapping):
            stack.extend((f"{field}.{_cut(str(k))}" if field else _cut(str(k)), v) for k, v in value.items())
        elif isinstance(value, (list, tuple)):
            stack.extend((f"{field}[{i}]", v) for i, v in enumerate(value, 1))


def _keys(table: object, allowed: tuple[str, ...], field: str | None, required: tuple[str, ...] = ()) -> Mapping:
    if not isinstance(table, Mapping):
        raise SpecError(f"expected a table, got {_kind(table)}", field=field)
    for key in table:
        if key not in allowed:
            hint = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            meant = f"did you mean {hint[0]!r}? " if hint else ""
            raise SpecError(f"unknown key {_cut(str(key))!r} ({meant}allowed: {', '.join(allowed)})", field=field)
    for key in required:
        if key not in table:
            raise SpecError(f"missing key {key!r}", field=field)
    return table


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    return {dict: "a table", list: "a list", str: "a string", int: "a number", FloatText: "a number"}.get(
        type(value), f"a {type(value).__name__}"
    )


def _cut(text: str, width: int = 40) -> str:
    """Text quoted in an error message, cut to `width` characters."""
    return text if len(text) <= width else text[: width - 3] + "..."


def _text(value: object, field: str, limit: int = 300, bound: str | None = None) -> str:
    if not isinstance(value, str) or isinstance(value, FloatText):
        raise SpecError(f"expected a string, got {_kind(value)}", field=field)
    if len(value) > limit:
        raise BoundError(f"longer than {limit} characters{f' (bound: {bound})' if bound else ''}", field=field)
    for c in value:  # terminal escapes, bidi overrides and the like never reach a document or a terminal
        if c not in "\n\t" and unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            raise SpecError(f"holds the control character U+{ord(c):04X}", field=field)
    return value


def _choice(value: object, choices: tuple[str, ...], field: str) -> str:
    text = _text(value, field)
    if text not in choices:
        hint = difflib.get_close_matches(text, choices, n=1)
        meant = f"did you mean {hint[0]!r}? " if hint else ""
        raise SpecError(f"unknown value {_cut(text)!r} ({meant}allowed: {', '.join(choices)})", field=field)
    return text


def scalar(value: object, field: str, bounds: Bounds = DEFAULT) -> sp.Expr:
    """One entry of a spec, located at `field` in any error."""
    try:
        return parse_entry(value, bounds)
    except SymnetError as e:
        raise e.located(field=field) from None


def matrix(value: object, field: str, bounds: Bounds = DEFAULT, shape: tuple[int, int] | None = None) -> sp.ImmutableMatrix:
    """A matrix entry: a list of rows, a flat list (a column), one scalar (1×1), or {symbol, shape}."""
    if isinstance(value, Mapping):
        return _symbol_matrix(value, field, bounds, shape)
    if not isinstance(value, list):
        return sp.ImmutableMatrix([[scalar(value, field, bounds)]])
    if not value:
        raise SpecError("empty matrix", field=field)
    if len(value) > bounds.rows:
        raise BoundError(f"more than {bounds.rows} rows (bound: rows)", field=field)
    if all(not isinstance(r, list) for r in value):
        if any(isinstance(r, Mapping) for r in value):
            raise SpecError("expected numbers or lists of numbers, got a table", field=field)
        return sp.ImmutableMatrix([[scalar(v, f"{field}[{i}]", bounds)] for i, v in enumerate(value, 1)])
    if not all(isinstance(r, list) for r in value):
        raise SpecError("mixes numbers and rows: write every row as a list", field=field)
    width = len(value[0])
    if width == 0:
        raise SpecError("empty row", field=f"{field}[1]")
    if width > bounds.cols:
        raise BoundError(f"more than {bounds.cols} columns (bound: cols)", field=field)
    rows = []
    for i, row in enumerate(value, 1):
        if len(row) != width:
            raise SpecError(f"row {i} has {len(row)} entries, row 1 has {width}", field=field)
        rows.append([scalar(v, f"{field}[{i}][{j}]", bounds) for j, v in enumerate(row, 1)])
    return sp.ImmutableMatrix(rows)


def _symbol_matrix(value: Mapping, field: str, bounds: Bounds, shape: tuple[int, int] | None) -> sp.ImmutableMatrix:
    table = _keys(value, ("symbol", "shape"), field, required=("symbol",) if shape else ("symbol", "shape"))
    name = _text(table["symbol"], f"{field}.symbol", bounds.name_length, "name_length")
    try:
        check_name(name, bounds)
    except SymnetError as e:
        raise e.located(field=f"{field}.symbol") from None
    if "shape" in table:
        given = table["shape"]
        if not (isinstance(given, list) and len(given) == 2 and all(type(n) is int for n in given)):
            raise SpecError("shape must be two whole numbers [rows, columns]", field=f"{field}.shape")
        r, c = given
        if r < 1 or c < 1:
            raise SpecError(f"shape [{r}, {c}] is empty", field=f"{field}.shape")
        shape = (r, c)
    r, c = shape
    if r > bounds.rows or c > bounds.cols:
        raise BoundError(f"shape [{r}, {c}] beyond {bounds.rows}×{bounds.cols} "
                         "(bounds: rows, cols)", field=f"{field}.shape")
    sep = "_" if name[-1].isdigit() else ""

    def entry(i: int, j: int) -> sp.Symbol:
        if c == 1:
            suffix = f"{i}"
        elif r == 1:
            suffix = f"{j}"
        else:
            suffix = f"{i}{j}" if r < 10 and c < 10 else f"{i}_{j}"
        return symbol(f"{name}{sep}{suffix}")

    return sp.ImmutableMatrix(r, c, lambda i, j: entry(i + 1, j + 1))


def _build(data: Mapping, bounds: Bounds, source: str) -> Exercise:
    kind = _choice(data.get("kind", "network"), ("network", "matmul"), "kind")
    title = _text(data.get("title", ""), "title", bounds.text_length, "text_length")
    description = _text(data.get("description", ""), "description", bounds.text_length, "text_length")
    if kind == "matmul":
        _keys(data, MATMUL_KEYS, None, required=("A", "B"))
        A, B = matrix(data["A"], "A", bounds), matrix(data["B"], "B", bounds)
        if A.cols != B.rows:
            raise SpecError(
                f"A is {_shape(A)} and B is {_shape(B)}: A·B needs as many columns in A as rows in B", field="B"
            )
        return Exercise(kind=kind, title=title, description=description, source=source, A=A, B=B, bounds=bounds)
    _keys(data, TOP_KEYS, None, required=("X", "layers"))
    X = matrix(data["X"], "X", bounds)
    raw_layers = data["layers"]
    if not isinstance(raw_layers, list) or not raw_layers:
        raise SpecError("expected a list of layer tables ([[layers]])", field="layers")
    if len(raw_layers) > bounds.layers:
        raise BoundError(f"more than {bounds.layers} layers (bound: layers)", field="layers")
    layers, A_rows, prev = [], X.rows, "X"
    for k, raw in enumerate(raw_layers, 1):
        layer = _layer(raw, k, (A_rows, X.cols), prev, bounds)
        layers.append(layer)
        A_rows, prev = layer.W.rows, f"A{k}"
    out_shape = (layers[-1].W.rows, X.cols)
    loss = _loss(data["loss"], out_shape, bounds) if "loss" in data else None
    train = None
    if "train" in data:
        if loss is None:
            raise SpecError("training needs a [loss] table", field="train")
        train = _train(data["train"], bounds)
    count = data.get("count_parameters", False)
    if not isinstance(count, bool):
        raise SpecError(f"expected true or false, got {_kind(count)}", field="count_parameters")
    return Exercise(
        kind=kind, title=title, description=description, source=source, X=X, layers=tuple(layers),
        loss=loss, train=train, count_parameters=count, bounds=bounds,
    )


def _shape(M: sp.MatrixBase) -> str:
    return f"{M.rows}×{M.cols}"


def _layer(raw: object, k: int, below: tuple[int, int], prev: str, bounds: Bounds) -> Layer:
    field = f"layers[{k}]"
    inputs = below[0]
    table = _keys(raw, LAYER_KEYS, field, required=("W",))
    raw_W = table["W"]
    implied = (_need_rows(table, field), inputs) if isinstance(raw_W, Mapping) and "shape" not in raw_W else None
    W = matrix(raw_W, f"{field}.W", bounds, shape=implied)
    if W.cols != inputs:
        raise SpecError(
            f"W{k} is {_shape(W)} but {prev} is {inputs}×{below[1]}: W{k}·{prev} needs W{k} to have {inputs} columns",
            field=f"{field}.W",
        )
    has_bias = "b" in table
    b = matrix(table["b"], f"{field}.b", bounds, shape=(W.rows, 1)) if has_bias else sp.zeros(W.rows, 1).as_immutable()
    if b.shape != (W.rows, 1):
        raise SpecError(f"b{k} is {_shape(b)} but W{k} is {_shape(W)}: b{k} needs {W.rows}×1", field=f"{field}.b")
    activation = _choice(table.get("activation", "identity"), ACTIVATIONS, f"{field}.activation")
    alpha = sp.Rational(1, 10)
    if "alpha" in table:
        if activation != "leaky_relu":
            raise SpecError("alpha goes only with activation = \"leaky_relu\"", field=f"{field}.alpha")
        alpha = scalar(table["alpha"], f"{field}.alpha", bounds)
    exp_base = sp.E
    if "exp_base" in table:
        if activation not in ("sigmoid", "tanh", "softmax"):
            raise SpecError("exp_base goes only with sigmoid, tanh or softmax", field=f"{field}.exp_base")
        exp_base = scalar(table["exp_base"], f"{field}.exp_base", bounds)
        if exp_base.is_number and not exp_base.is_positive or exp_base == 1:
            raise SpecError(f"exp_base must be a positive number other than 1, got {exp_base}", field=f"{field}.exp_base")
    return Layer(W=W, b=b, activation=activation, alpha=alpha, exp_base=exp_base, has_bias=has_bias)


def _need_rows(table: Mapping, field: str) -> int:
    b = table.get("b")
    if isinstance(b, list) and b:
        return len(b)
    raise SpecError("a symbol matrix needs shape = [rows, columns] (only the columns follow from the layer below)",
                    field=f"{field}.W.shape")


def _loss(raw: object, shape: tuple[int, int], bounds: Bounds) -> Loss:
    table = _keys(raw, LOSS_KEYS, "loss", required=("kind", "Y"))
    kind = _choice(table["kind"], LOSSES, "loss.kind")
    Y = matrix(table["Y"], "loss.Y", bounds, shape=shape)
    out = f"{shape[0]}×{shape[1]}"
    if Y.shape != shape:
        raise SpecError(f"Y is {_shape(Y)} but the output is {out}", field="loss.Y")
    reduction = _choice(table.get("reduction", "mean"), REDUCTIONS, "loss.reduction")
    predictions = None
    if "predictions" in table:
        predictions = matrix(table["predictions"], "loss.predictions", bounds, shape=shape)
        if predictions.shape != shape:
            raise SpecError(f"predictions are {_shape(predictions)} but the output is {out}", field="loss.predictions")
    return Loss(kind=kind, Y=Y, reduction=reduction, predictions=predictions)


def _train(raw: object, bounds: Bounds) -> Train:
    table = _keys(raw, TRAIN_KEYS, "train", required=("learning_rate",))
    eta = scalar(table["learning_rate"], "train.learning_rate", bounds)
    steps = table.get("steps", 1)
    if type(steps) is not int:
        raise SpecError(f"expected a whole number, got {_kind(steps)}", field="train.steps")
    if steps < 1:
        raise SpecError(f"steps must be at least 1, got {steps}", field="train.steps")
    if steps > bounds.steps:
        raise BoundError(f"{steps} steps, more than {bounds.steps} (bound: steps)", field="train.steps")
    decimals = table.get("round")
    if decimals is not None:
        if type(decimals) is not int:
            raise SpecError(f"expected a whole number of decimals, got {_kind(decimals)}", field="train.round")
        if not 0 <= decimals <= bounds.digits:
            raise SpecError(f"round must be from 0 to {bounds.digits} decimals, got {decimals}", field="train.round")
    return Train(learning_rate=eta, steps=steps, round=decimals)
