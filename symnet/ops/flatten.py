"""Flatten: the maps of one sample as one column, map by map, each row-major; backward folds the gradient back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from ..algebra import windows
from ..algebra.windows import Maps
from ..errors import UsageError
from ..expr import FloatText
from . import Backward, Grad, Key, Kind, KindInfo, Mistake, Node, Op, drawn
from .conv2d import input_maps
from .max_pool import shaped

PREDICTIONS = ("Approximation: the backward pass starts from worksheet-style predictions, the exact softmax rounded to",
               "one decimal (loss.predictions), as the AI by Hand sheets do; every gradient stays rational.")

if TYPE_CHECKING:
    from ..engine import Run
    from ..exercise import Exercise
    from ..reader import Reader

# The steps (kinds): flatten Ak (C·H·W × 1); backward: unflatten ∂L/∂A(k−1), shaped like A(k−1).


@dataclass(frozen=True)
class Flat:
    """A flatten layer over maps of (C, H, W)."""

    type: ClassVar[str] = "flatten"
    maps: Maps

    @property
    def size(self) -> int:
        """Entries of the column."""
        C, H, W = self.maps
        return C * H * W


def _reads_grids(ex: "Exercise") -> bool:
    return any(getattr(l, "type", None) == "flatten" and l.maps[1] > 1 and l.maps[2] > 1 for l in ex.layers)


def _cnn(rng: Any, o: Any) -> Any:
    """The CNN sheet: an H×H image, two k×k filters, ReLU, 2×2 max pooling at stride 1, flatten, a dense layer to the
    classes, softmax and cross-entropy from the softmax rounded to one decimal."""
    from ..generators import rounded_softmax

    H, k, classes = o.sizes
    if k >= H:
        raise UsageError(f"a {k}×{k} kernel leaves no room for 2×2 pooling on a {H}×{H} image", field="--sizes")
    g = o.max_given
    X = drawn.image(rng, H, H, g)
    got = drawn.conv(rng, X, (1, H, H), (k, k), 2, g)
    if got is None:
        return None
    Ks, b, Z = got
    m = H - k + 1
    pooled = [max(A[(i + u) * m + j + v] for u in (0, 1) for v in (0, 1)) for A in drawn.relu(Z)
              for i in range(m - 1) for j in range(m - 1)]
    for _ in range(drawn.TRIES):
        rng.spend()
        W = [[rng.choice([-1, 0, 0, 1]) for _ in pooled] for _ in range(classes)]
        c = [rng.randint(-2, 2) for _ in range(classes)]
        z = [sum(w * a for w, a in zip(row, pooled)) + ci for row, ci in zip(W, c)]
        p = rounded_softmax(tuple(v - max(z) for v in z)) if max(z) - min(z) <= 4 else None
        if p is not None and sum(1 for x in p if x) >= 2:
            break
    else:
        return None
    y = rng.choice([i for i in range(classes) if p[i]])  # log of the target's prediction: it must not be 0
    spec = {"title": "A CNN by hand",
            "description": f"A {H}×{H} image, two {k}×{k} filters, ReLU, 2×2 max pooling at stride 1, flatten, a dense "
                           f"layer to {classes} classes, softmax and cross-entropy: the backward pass down to the "
                           "filters",
            "X": X, "layers": [{"type": "conv2d", "kernels": Ks, "b": b, "activation": "relu"},
                               {"type": "max_pool", "size": 2, "stride": 1}, {"type": "flatten"},
                               {"W": W, "b": c, "activation": "softmax"}],
            "loss": {"kind": "cross_entropy", "Y": [int(i == y) for i in range(classes)],
                     "predictions": [FloatText(str(Decimal(x.numerator) / Decimal(x.denominator))) for x in p]}}
    return spec, list(PREDICTIONS)


class Flatten(Op):
    """Ak = the entries of A(k−1)'s maps in one column: map 1 row by row, then map 2, …"""

    name = "flatten"
    layer = True
    image = True
    summary = "the maps as one column: map by map, each row by row"
    keys = (Key("image", "[height, width]", "the input's rows are maps of this size (see conv2d)", "X: one image"),)
    kinds = {"cnn": Kind(KindInfo((4, 2, 3), batch=None, layers=(2, 2)), _cnn)}
    mistakes = (Mistake("flatten_column_major", 360, "Flatten reads each map row by row (row-major), not column by "
                        "column.", _reads_grids),)

    def parse(self, table: Mapping, read: "Reader") -> Flat:
        read.keys(("image",))
        return Flat(maps=input_maps(read, "flatten"))

    def out_shape(self, params: Flat, shape: tuple[int, int]) -> tuple[int, int]:
        return params.size, 1

    def out_maps(self, params: Flat, maps: Maps | None, shape: tuple[int, int]) -> None:
        return None

    def entries(self, params: Flat, rows: int, cols: int) -> int:
        return 4 * params.size

    def _order(self, run: "Run", flat: Flat) -> list[int] | None:
        """The order each map's entries are read in: None for row-major, else column by column (the mistake)."""
        _, H, W = flat.maps
        return windows.column_major(H, W) if run.broken("flatten_column_major") else None

    def forward(self, run: "Run", node: Node, params: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
        xp, k, flat = run.xp, node.k, node.params
        prev = node.inputs[0]
        A = inputs[prev]
        C, H, W = flat.maps
        maps = xp.reshape(A, C, H * W)  # one map per row (X itself is one H×W map)
        order = self._order(run, flat)
        if order is not None:
            maps = xp.permute_cols(maps, order)
        return {f"A{k}": run.record("flatten", f"A{k}", xp.reshape(maps, flat.size, 1), **{prev: A})}

    def backward(self, run: "Run", node: Node, params: Mapping[str, Any], saved: Mapping[str, Any], grad: Grad,
                 need: frozenset[str]) -> Backward:
        xp, k, flat = run.xp, node.k, node.params
        prev = node.inputs[0]
        if prev not in need:
            return Backward()
        C, H, W = flat.maps
        dA = xp.reshape(grad.value, C, H * W)
        order = self._order(run, flat)
        if order is not None:
            dA = xp.permute_cols(dA, windows.inverse(order))
        name = run.grad_name(prev, f"A{k}")
        return Backward({}, ((prev, name, run.record("unflatten", name, shaped(xp, dA, saved[prev]),
                                                     **{f"dL/dA{k}": grad.value})),))


OP = Flatten()
