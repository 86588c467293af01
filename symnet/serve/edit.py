"""Where each given number of a key is written in its spec: the path the page edits in place."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

import sympy as sp

from ..exercise import Exercise
from ..expr import FloatText
from .boxes import Namer

Path = list[str | int]
_PARAMETER = re.compile(r"([A-Za-z_]+?)(\d+)")  # a layer's parameter: its key, then the layer's number (W1, gamma2)


def editable(data: Mapping, exercise: Exercise, namer: Namer) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The spec's structure with every given number the key shows at a path of its own (a matrix of symbols, a
    broadcast number or a bias left out written out entry by entry), and per given its id, entry, path and text."""
    spec = copy.deepcopy(dict(data))
    out = []
    for entry, ref in namer.named(given=True):
        value = namer.values.get(entry.name)
        at = _key_path(spec, entry.name, exercise)
        if value is None or at is None:
            continue
        path = _entry_path(spec, at, value, entry.row - 1, entry.col - 1)
        if path is not None:
            out.append(entry.json(ref) | {"path": path, "text": _text(_get(spec, path))})
    return spec, out


def _key_path(spec: dict[str, Any], name: str, exercise: Exercise) -> Path | None:
    """Where the spec holds a given quantity: X (A, B), [loss] Y, [train] learning_rate, a layer's parameter."""
    if name in ("X", "A", "B"):
        return [name] if name in spec else None
    if name == "Y":
        loss = spec.get("loss")
        return ["loss", "Y"] if isinstance(loss, dict) and not isinstance(loss.get("Y"), str) else None
    if name == "eta":
        return ["train", "learning_rate"] if isinstance(spec.get("train"), dict) else None
    m = _PARAMETER.fullmatch(name)
    layers = spec.get("layers")
    if m is None or not isinstance(layers, list) or not 1 <= int(m[2]) <= len(layers):
        return None
    key, k = m[1], int(m[2])
    table = layers[k - 1]
    if not isinstance(table, dict):
        return None
    if key not in table:
        layer = exercise.layers[k - 1]
        if not (key == "b" and getattr(layer, "has_bias", False)):
            return None  # (a bias left out is zeros, written out when edited; nothing else is added)
    return ["layers", k - 1, key]


def _entry_path(spec: dict[str, Any], at: Path, value: Any, i: int, j: int) -> Path | None:
    """The path of entry (i, j) (0-based) of the value at `at`, written out as rows of entries where it is not."""
    m = value if isinstance(value, sp.MatrixBase) else sp.ImmutableMatrix([[value]])
    raw = _get(spec, at)
    if isinstance(raw, list) and raw and all(isinstance(r, list) for r in raw):
        if len(raw) == m.rows and all(len(r) == m.cols for r in raw):
            return at + [i, j]
    elif isinstance(raw, list) and len(raw) == max(m.shape) and 1 in m.shape:
        return at + [max(i, j)]  # a flat list: a column (or a row)
    elif not isinstance(value, sp.MatrixBase) and isinstance(raw, (int, float, str)) and not isinstance(raw, bool):
        return at
    if not isinstance(value, sp.MatrixBase):
        return None
    _set(spec, at, [[sp.sstr(m[r, c]) for c in range(m.cols)] for r in range(m.rows)])
    return at + [i, j]


def _get(spec: Any, path: Path) -> Any:
    for p in path:
        spec = spec.get(p) if isinstance(spec, dict) else spec[p] if isinstance(spec, list) and isinstance(p, int) \
            and -len(spec) <= p < len(spec) else None
        if spec is None:
            return None
    return spec


def _set(spec: Any, path: Path, value: Any) -> None:
    for p in path[:-1]:
        spec = spec[p]
    spec[path[-1]] = value


def _text(raw: Any) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, (FloatText, str, int)):
        return str(raw)
    if isinstance(raw, float):
        return repr(raw)
    return ""
