"""Reading exercise specs (TOML, JSON, a dict or a built-in name) into an `Exercise`, with one-line errors."""

from __future__ import annotations

import difflib
import json
import os
import stat
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from .bounds import DEFAULT, Bounds
from .errors import BoundError, SpecError, SymnetError
from .exercise import Exercise
from .expr import FloatText
from .held import Kept
from .ops import layer_op, layer_types
from .ops.loss import parse as parse_loss
from .ops.update import parse as parse_train
from .reader import Reader, choice, cut, held_matrix, keys, shape_text, symbol_bases, text
from .reader import kind as kind_of

TOP_KEYS = ("title", "description", "kind", "X", "layers", "loss", "train", "count_parameters", "grading")
# grading: read by `symnet check` (check/grading.py)
MATMUL_KEYS = ("title", "description", "kind", "A", "B", "grading")


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
                              parse_constant=_no_constant, object_pairs_hook=_unique_keys)
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


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object as a dict, refusing a key given twice (JSON readers keep the last silently; TOML refuses)."""
    data: dict = {}
    for key, value in pairs:
        if key in data:
            raise SpecError(f"not valid JSON: the key {cut(key)!r} appears twice in one object")
        data[key] = value
    return data


def _no_constant(name: str) -> None:
    raise SpecError(f"{name} is not a finite number")


def load(spec: str | Path | Mapping, *, bounds: Bounds = DEFAULT) -> Exercise:
    """An exercise from a path (.toml or .json), a built-in name, or a dict of the spec's structure."""
    if isinstance(spec, Mapping):
        return from_data(spec, "<dict>", bounds)
    name = str(spec)
    p = Path(name)
    if _exists(p) or p.suffix.lower() in (".toml", ".json") or "/" in name or "\\" in name:
        if _exists(p) and p.suffix.lower() not in (".toml", ".json"):
            raise SpecError("a spec file must end in .toml or .json", source=name)
        return from_data(read_data(p, "spec", bounds), name, bounds)
    names = builtin_names()
    if name not in names:
        hint = difflib.get_close_matches(name, names, n=1)
        meant = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise SpecError(f"no such file or built-in exercise{meant}; built-ins: {', '.join(names)}", source=name)
    return from_data(parse_text(builtin_text(name), name), name, bounds)


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
        with symbol_bases():
            return _build(data, bounds, source)
    except SymnetError as e:
        raise e.located(source) from None


def refuse_huge_ints(data: object, bounds: Bounds = DEFAULT) -> None:
    """Refuse any integer of more than `bounds.digits` digits anywhere in the data (walked without recursion)."""
    limit, values = 10**bounds.digits, [data]
    while values:  # first without the fields' names (a spec of 10,000 numbers has none too large)
        value = values.pop()
        if isinstance(value, (list, tuple)):
            values.extend(value)
        elif isinstance(value, Mapping):
            values.extend(value.values())
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= limit:
            break
    else:
        return
    stack: list[tuple[str, object]] = [("", data)]  # one is: found again with its field
    while stack:
        field, value = stack.pop()
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**bounds.digits:
            raise BoundError(f"integer of more than {bounds.digits} digits (bound: digits)", field=field or None)
        if isinstance(value, Mapping):
            stack.extend((f"{field}.{cut(str(k))}" if field else cut(str(k)), v) for k, v in value.items())
        elif isinstance(value, (list, tuple)):
            stack.extend((f"{field}[{i}]", v) for i, v in enumerate(value, 1))


def _build(data: Mapping, bounds: Bounds, source: str) -> Exercise:
    kind = choice(data.get("kind", "network"), ("network", "matmul", "gan"), "kind")
    title = text(data.get("title", ""), "title", bounds.text_length, "text_length")
    description = text(data.get("description", ""), "description", bounds.text_length, "text_length")
    if kind == "matmul":
        keys(data, MATMUL_KEYS, None, required=("A", "B"))
        A, B = held_matrix(data["A"], "A", bounds), held_matrix(data["B"], "B", bounds)
        if A.cols != B.rows:
            raise SpecError(
                f"A is {shape_text(A)} and B is {shape_text(B)}: A·B needs as many columns in A as rows in B", field="B"
            )
        return Exercise(kind=kind, title=title, description=description, source=source, A=A, B=B, bounds=bounds)
    if kind == "gan":
        from .ops.gan import parse as parse_gan

        return parse_gan(data, bounds, source, title, description)
    keys(data, TOP_KEYS, None, required=("X", "layers"))
    X = held_matrix(data["X"], "X", bounds)
    layers, out_shape = network(data["layers"], X, bounds)
    loss = parse_loss(data["loss"], out_shape, {"X": X}, bounds) if "loss" in data else None
    train = None
    if "train" in data:
        if loss is None:
            raise SpecError("training needs a [loss] table", field="train")
        train = parse_train(data["train"], bounds)
    count = data.get("count_parameters", False)
    if not isinstance(count, bool):
        raise SpecError(f"expected true or false, got {kind_of(count)}", field="count_parameters")
    return Exercise(
        kind=kind, title=title, description=description, source=source, X=X, layers=layers,
        loss=loss, train=train, count_parameters=count, bounds=bounds,
    )


def network(raw_layers: object, X: Any, bounds: Bounds) -> tuple[tuple[Any, ...], tuple[int, int]]:
    """The [[layers]] tables read on an input shaped like X: each layer's parameters, and the output's shape."""
    if not isinstance(raw_layers, list) or not raw_layers:
        raise SpecError("expected a list of layer tables ([[layers]])", field="layers")
    if len(raw_layers) > bounds.layers:
        raise BoundError(f"more than {bounds.layers} layers (bound: layers)", field="layers")
    layers, shape, prev = [], X.shape, "X"
    maps: tuple[int, int, int] | None = (1, X.rows, X.cols)  # X, to a layer that reads maps: one image
    shapes: dict[str, tuple[int, int]] = {"X": X.shape}
    for k, raw in enumerate(raw_layers, 1):
        field = f"layers[{k}]"
        if not isinstance(raw, Mapping):
            raise SpecError(f"expected a table, got {kind_of(raw)}", field=field)
        name = raw.get("type", "dense")
        op = layer_op(name) if type(name) is str else None
        if op is None:
            choice(name, tuple(layer_types()), f"{field}.type")  # refuses it, naming the types
            raise AssertionError("unreachable")
        layer = op.parse(raw, Reader(raw, k, prev, shape, dict(shapes), bounds, maps=maps))
        layers.append(layer)
        held = Kept(layer)  # (shapes only: plain numbers stay as read)
        maps, shape, prev = op.out_maps(held, maps, shape), op.out_shape(held, shape), f"A{k}"
        for q in op.outputs(k):
            shapes.setdefault(q, shape)
    return tuple(layers), shape
