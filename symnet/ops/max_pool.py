"""Max pooling: each window's largest entry (the first in row-major order on a tie); the gradient goes there only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import sympy as sp

from ..algebra import windows
from ..algebra.windows import Maps, Pair
from ..errors import SpecError, UsageError
from ..reader import kind as kind_of
from . import Backward, Grad, Key, Kind, KindInfo, Mistake, Node, Op, drawn
from .conv2d import EXACT, SUMMED, fits, input_maps

if TYPE_CHECKING:
    from ..engine import Run
    from ..exercise import Exercise
    from ..reader import Reader

# The steps a pooling layer records (kinds): pool Ak (one row per map, its windows in row-major order), argmax argmaxk
# (max pooling: the 1-based row-major position in its map of each window's maximum); backward: unpool ∂L/∂A(k−1).


@dataclass(frozen=True)
class Pool:
    """A pooling layer: windows of `size` moved by `stride` over each of the input's maps."""

    type: ClassVar[str] = "max_pool"
    maps: Maps  # the input's (C, H, W)
    size: Pair
    stride: Pair

    @property
    def out(self) -> Maps:
        """The output maps (C, Ho, Wo)."""
        return windows.out_maps(self.maps, self.size, self.stride, (0, 0), self.maps[0])

    @property
    def cells(self) -> int:
        """Entries in one window."""
        return self.size[0] * self.size[1]

    def window_cells(self) -> list[list[list[int]]]:
        """Each map's windows (map c, position p): the row-major positions, in the input's entries, they read."""
        table = windows.patches(self.maps, self.size, self.stride, (0, 0))
        n = self.cells
        return [[[_cell(table[c * n + t][p]) for t in range(n)] for p in range(len(table[0]))]
                for c in range(self.maps[0])]

    def windows_of(self, A: sp.MatrixBase) -> list[list[sp.ImmutableMatrix]]:
        """Each map's windows (for the key: map c, position p, its entries as an h×w matrix)."""
        C, H, W = self.maps
        x = list(A)
        table = windows.patches(self.maps, self.size, self.stride, (0, 0))
        n, P = self.cells, len(table[0])
        return [[sp.ImmutableMatrix(*self.size, [x[_cell(table[c * n + t][p])] for t in range(n)]) for p in range(P)]
                for c in range(C)]


def _pair(read: "Reader", key: str, default: Pair | None, one_row: bool) -> Pair:
    """n (n×n; 1×n on maps of one row, a conv1d's) or [rows, columns], each at least 1."""
    raw = read.table.get(key)
    if raw is None:
        assert default is not None
        return default
    values = raw if isinstance(raw, list) else [1 if one_row else raw, raw]
    if len(values) != 2 or any(type(v) is not int for v in values):
        raise SpecError(f"expected a whole number or [rows, columns], got {kind_of(raw)}", field=read.at(key))
    if any(v < 1 for v in values):
        raise SpecError(f"{key} must be at least 1, got {raw}", field=read.at(key))
    return values[0], values[1]


def parse_pool(read: "Reader", cls: type) -> Pool:
    """A pooling layer's table: size (required), stride (default: size), image."""
    read.keys(("size", "stride", "image"), required=("size",))
    maps = input_maps(read, "pooling")
    one_row = maps[1] == 1
    size = _pair(read, "size", None, one_row)
    stride = _pair(read, "stride", size, one_row)
    fits(read, maps, size, stride, (0, 0), "window")
    return cls(maps=maps, size=size, stride=stride)


def blocks(C: int, n: int, value: sp.Expr = sp.S.One) -> sp.ImmutableMatrix:
    """The C × C·n matrix summing each block of n rows (times `value`): one map's window entries into its output."""
    return sp.ImmutableMatrix(C, C * n, lambda i, j: value if j // n == i else sp.S.Zero)


def positions(pool: Pool, stride: Pair) -> sp.ImmutableMatrix:
    """The (C·n) × P matrix of each window entry's 1-based row-major position in its map."""
    C, H, W = pool.maps
    table = windows.patches(pool.maps, pool.size, stride, (0, 0))
    return sp.ImmutableMatrix([[_cell(t) - (r // pool.cells) * H * W + 1 for t in row] for r, row in enumerate(table)])


def _cell(t: int | None) -> int:
    """An entry a pooling window reads (pooling has no padding, so every window entry is a cell of its map)."""
    assert t is not None
    return t


def stride_of(run: "Run", pool: Pool) -> Pair:
    """The stride this run moves by (1 when the stride_ignored mistake is made)."""
    return (1, 1) if run.broken("stride_ignored") else pool.stride


def shaped(xp: Any, dA: Any, A: Any) -> Any:
    """∂L/∂A shaped like A (the image X itself, rather than one row of its entries)."""
    return dA if xp.shape(dA) == xp.shape(A) else xp.reshape(dA, *xp.shape(A))


def _pools(ex: "Exercise", kind: str) -> bool:
    return ex.loss is not None and any(getattr(l, "type", None) == kind for l in ex.layers)


KEYS = (
    Key("size", "whole number n (n×n; 1×n after a conv1d) or [rows, columns]", "the window", required=True),
    Key("stride", "whole number or [rows, columns]", "the step between windows", "size"),
    Key("image", "[height, width]", "the input's rows are maps of this size (see conv2d)", "X: one image"),
)


def pooling_kind(kind: str) -> Any:
    """A generator kind: ReLU over an H×H map of small integers (both signs, no 0), then pooling with s×s windows
    (max: at stride 1, so windows overlap; avg: at stride s), then squared error against targets."""
    word = {"max_pool": "Max", "avg_pool": "Average"}[kind]

    def build(rng: Any, o: Any) -> Any:
        H, s = o.sizes
        if s > H:
            raise UsageError(f"a {s}×{s} window does not fit a {H}×{H} map", field="--sizes")
        g = o.max_given
        for _ in range(drawn.TRIES):
            rng.spend()
            X = drawn.image(rng, H, H, g, low=-g)
            if drawn.cuts_and_passes(X):
                break
        else:
            return None
        pool = {"type": kind, "size": s} | ({"stride": 1} if kind == "max_pool" else {})
        A = drawn.relu(X)
        top = Pool((1, H, H), (s, s), (1, 1) if kind == "max_pool" else (s, s))
        got = [max(w) if kind == "max_pool" else sum(w) / len(w) for w in (list(v) for v in top.windows_of(
            sp.ImmutableMatrix(A))[0])]
        at = " at stride 1" if kind == "max_pool" else ""
        spec = {"title": f"{word} pooling by hand",
                "description": f"ReLU, then {s}×{s} {word.lower()} pooling{at} "
                               f"over a {H}×{H} map; the squared error "
                               "against targets, back through the pooling",
                "X": X, "layers": [{"type": "activation", "activation": "relu"}, pool],
                "loss": {"kind": "squared_error", "Y": drawn.targets(rng, [[round(v) for v in got]], g),
                         "reduction": "sum"}}
        return spec, [EXACT, SUMMED]

    return build


class MaxPool(Op):
    """Ak = the maximum of each window of each map; ∂L/∂A(k−1) routes each ∂L/∂a to its window's argmax only."""

    name = "max_pool"
    layer = True
    image = True
    summary = "max pooling over each map: each window's largest entry, its position recorded (ties: the first)"
    keys = KEYS
    mistakes: ClassVar[tuple[Mistake, ...]] = (
        Mistake("pool_gradient_spread", 340, "Max pooling passes each gradient to the window's maximum only, not to "
                "every cell of the window.", lambda ex: _pools(ex, "max_pool")),
        Mistake("pool_last_tie", 350, "On a tie the maximum is the first in row-major order (left to right, top to "
                "bottom): the gradient goes there, not to the last.", lambda ex: any(
                    getattr(l, "type", None) == "max_pool" for l in ex.layers)),
    )
    kinds = {"max-pool": Kind(KindInfo((4, 2), batch=None, layers=(1, 1)), pooling_kind("max_pool"))}

    def parse(self, table: Mapping, read: "Reader") -> Pool:
        return parse_pool(read, Pool)

    def out_shape(self, params: Pool, shape: tuple[int, int]) -> tuple[int, int]:
        C, Ho, Wo = params.out
        return C, Ho * Wo

    def out_maps(self, params: Pool, maps: Maps | None, shape: tuple[int, int]) -> Maps:
        return params.out

    def entries(self, params: Pool, rows: int, cols: int) -> int:
        C, Ho, Wo = params.out
        return 4 * params.cells * C * Ho * Wo + 4 * C * Ho * Wo + 2 * rows * cols  # windows and masks, A, argmax, ∂

    def columns(self, run: "Run", node: Node, A: Any) -> Any:
        """The windows of each map as columns, map by map: (C·n) × P."""
        pool = node.params
        return run.xp.im2col(A, pool.maps, pool.size, stride_of(run, pool), (0, 0))

    def forward(self, run: "Run", node: Node, params: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
        xp, k, pool = run.xp, node.k, node.params
        prev = node.inputs[0]
        A = inputs[prev]
        top, mask = xp.block_max(self.columns(run, node, A), pool.cells, last=run.broken("pool_last_tie"))
        out = run.record("pool", f"A{k}", top, **{prev: A})
        where = xp.matmul(xp.value(blocks(pool.maps[0], pool.cells)),  # (C × C·n)·(C·n × P)
                          xp.hadamard(mask, xp.value(positions(pool, stride_of(run, pool)))))
        arg = run.record("argmax", f"argmax{k}", where, **{prev: A})
        return {f"A{k}": out, f"argmax{k}": arg, f"mask{k}": mask}

    def backward(self, run: "Run", node: Node, params: Mapping[str, Any], saved: Mapping[str, Any], grad: Grad,
                 need: frozenset[str]) -> Backward:
        xp, k, pool = run.xp, node.k, node.params
        prev = node.inputs[0]
        if prev not in need:
            return Backward()
        C, n = pool.maps[0], pool.cells
        spread = xp.matmul(xp.transpose(xp.value(blocks(C, n))), grad.value)  # (C·n × C)·(C × P): each ∂ to its cells
        if not run.broken("pool_gradient_spread"):
            spread = xp.hadamard(spread, self._mask(run, pool, saved[f"argmax{k}"], saved[f"mask{k}"]))
        name = run.grad_name(prev, f"A{k}")
        dA = xp.col2im(spread, pool.maps, pool.size, stride_of(run, pool), (0, 0))  # C × H·W
        dA = run.record("unpool", name, shaped(xp, dA, saved[prev]),
                        **{f"dL/dA{k}": grad.value, f"argmax{k}": saved[f"argmax{k}"]})
        return Backward({}, ((prev, name, dA),))

    def _mask(self, run: "Run", pool: Pool, arg: Any, mask: Any) -> Any:
        """The 0/1 mask of the maxima: read off argmax (a student's, when given) while its entries are positions."""
        where = run.xp.sympy(arg)
        pos = positions(pool, stride_of(run, pool))
        C, H, W = pool.maps
        if not all(v.is_Integer and 1 <= v <= H * W for v in where) or where.shape != (C, pos.cols):
            return mask
        return run.xp.value(sp.ImmutableMatrix(pos.rows, pos.cols, lambda r, p: sp.S.One
                                               if pos[r, p] == where[r // pool.cells, p] else sp.S.Zero))


OP = MaxPool()
