"""2-D convolution as the CNN sheets compute it: [kernel rows | b] times the im2col matrix [windows ; 1s]."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

import sympy as sp

from ..algebra import windows
from ..algebra.windows import Maps, Pair
from ..errors import SpecError, UsageError
from ..reader import kind as kind_of
from ..reader import matrix, shape_text
from . import Backward, Grad, Key, Kind, KindInfo, Mistake, Node, Op, activations, drawn
from .activations import Activated

if TYPE_CHECKING:
    from ..engine import Run
    from ..exercise import Exercise
    from ..reader import Reader
    from ..record import Solution

# The steps a convolution records (kinds): im2col Colk = [windows ; 1s]; conv Zk = [Kk | bk]·Colk; activation Ak;
# backward: derivative and grad_z (through the activation), grad_w ∂L/∂Kk, grad_b ∂L/∂bk, grad_col ∂L/∂Colk =
# Kkᵀ·∂L/∂Zk, col2im ∂L/∂A(k−1) (each input entry the sum of the window entries that read it).


@dataclass(frozen=True, kw_only=True)
class Conv(Activated):
    """A convolution layer: F filters over the input's C maps, each an h×w kernel per map and a bias."""

    type: ClassVar[str] = "conv2d"
    has_bias: ClassVar[bool] = True  # (the dense layer's missing_bias mistake applies: its bias is b)
    K: sp.ImmutableMatrix  # (F × C·h·w): row f is filter f's kernels, map by map, each row-major
    b: sp.ImmutableMatrix  # (F × 1)
    maps: Maps  # the input's (C, H, W)
    kernel: Pair  # (h, w)
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)

    def pre(self, k: int) -> str:
        """The quantity the activation acts on."""
        return f"Z{k}"

    @property
    def out(self) -> Maps:
        """The output maps (F, Ho, Wo)."""
        return windows.out_maps(self.maps, self.kernel, self.stride, self.padding, self.K.rows)

    def kernels(self, K: sp.MatrixBase | None = None) -> list[list[sp.ImmutableMatrix]]:
        """Each filter's kernels (one h×w matrix per input map), from K (default: the layer's own)."""
        K = self.K if K is None else K
        (h, w), C = self.kernel, self.maps[0]
        return [[sp.ImmutableMatrix(h, w, list(K[f, c * h * w:(c + 1) * h * w])) for c in range(C)]
                for f in range(K.rows)]

    def padded(self, A: sp.MatrixBase) -> list[sp.ImmutableMatrix]:
        """Each input map as an H×W matrix with its zero padding around it (the sheets' padded image)."""
        C, H, W = self.maps
        ph, pw = self.padding
        A = A.reshape(C, H * W)  # (X itself is one H×W map)
        return [sp.ImmutableMatrix(H + 2 * ph, W + 2 * pw,
                                   lambda i, j: A[c, (i - ph) * W + j - pw] if ph <= i < H + ph and pw <= j < W + pw
                                   else sp.S.Zero) for c in range(C)]


# ---------------------------------------------------------------- reading the layer table


def pair(read: "Reader", key: str, default: int, least: int) -> Pair:
    """A whole number n (n along both axes) or [rows, columns]; each at least `least`."""
    raw = read.table.get(key, default)
    values = raw if isinstance(raw, list) else [raw, raw]
    if len(values) != 2 or any(type(v) is not int for v in values):
        raise SpecError(f"expected a whole number or [rows, columns], got {kind_of(raw)}", field=read.at(key))
    if any(v < least for v in values):
        raise SpecError(f"{key} must be at least {least}, got {raw}", field=read.at(key))
    return values[0], values[1]


def input_maps(read: "Reader", what: str) -> Maps:
    """The maps the layer reads: `image = [H, W]` (the input's rows are its maps), or those of the layer below."""
    if "image" in read.table:
        raw = read.table["image"]
        if not (isinstance(raw, list) and len(raw) == 2 and all(type(v) is int and v >= 1 for v in raw)):
            raise SpecError(f"expected [height, width], two whole numbers, got {kind_of(raw)}", field=read.at("image"))
        rows, cols = read.below
        if raw[0] * raw[1] != cols:
            raise SpecError(f"image {raw} holds {raw[0] * raw[1]} entries per map but {read.prev} has {cols} columns",
                            field=read.at("image"))
        return rows, raw[0], raw[1]
    if read.maps is None:
        raise SpecError(f"{read.prev} is not maps: {what} reads an image or the maps of a convolution or pooling "
                        "layer", field=read.field)
    return read.maps


def kernel_matrices(read: "Reader", key: str, C: int) -> list[list[sp.ImmutableMatrix]]:
    """The kernels of every filter: each an h×w matrix (one input map) or a list of C of them."""
    raw = read.table[key]
    if not isinstance(raw, list) or not raw:
        raise SpecError("expected a list of kernels, one per filter (each an h×w matrix)", field=read.at(key))
    if len(raw) > read.bounds.rows:
        raise SpecError(f"more than {read.bounds.rows} filters (bound: rows)", field=read.at(key))
    out, shape = [], None
    for f, given in enumerate(raw, 1):
        field = read.at(f"{key}[{f}]")
        several = isinstance(given, list) and given and isinstance(given[0], list) and given[0] \
            and isinstance(given[0][0], list)
        mats = [matrix(m, f"{field}[{c}]", read.bounds) for c, m in enumerate(given, 1)] if several \
            else [matrix(given, field, read.bounds)]
        if len(mats) != C:
            have = f"{len(mats)} kernels" if several else "one kernel"
            raise SpecError(f"filter {f} has {have} but {read.prev} has {C} maps: give one h×w kernel per map",
                            field=field)
        for m in mats:
            if shape is None:
                shape = m.shape
            elif m.shape != shape:
                raise SpecError(f"a kernel is {shape_text(m)} but the first is {shape[0]}×{shape[1]}: every kernel "
                                "of a layer has one shape", field=field)
        out.append(mats)
    return out


def biases(read: "Reader", F: int) -> sp.ImmutableMatrix:
    """b: one per filter (zeros when absent, still trained)."""
    if "b" not in read.table:
        return sp.zeros(F, 1).as_immutable()
    b = read.matrix("b", (F, 1))
    if b.shape != (F, 1):
        raise SpecError(f"b{read.k} is {shape_text(b)} but there are {F} filters: b{read.k} needs {F}×1",
                        field=read.at("b"))
    return b


def fits(read: "Reader", maps: Maps, kernel: Pair, stride: Pair, padding: Pair, what: str = "kernel") -> None:
    """Refuse a window larger than its padded input."""
    _, Ho, Wo = windows.out_maps(maps, kernel, stride, padding, 1)
    if Ho < 1 or Wo < 1:
        _, H, W = maps
        raise SpecError(f"a {kernel[0]}×{kernel[1]} {what} does not fit the {H}×{W} input (padding "
                        f"{padding[0]}×{padding[1]})", field=read.field)


KEYS = (
    Key("kernels", "list of h×w matrices (one per filter; for C input maps, a list of C matrices each)",
        "the filters' kernels, cross-correlated (not flipped) with the input", required=True),
    Key("b", "list (one per filter)", "the filters' biases; without b they start at 0 and are trained", "zeros"),
    Key("stride", "whole number, or [rows, columns]", "the step between windows", "1"),
    Key("padding", "whole number, or [rows, columns]", "zeros around each input map", "0"),
    Key("image", "[height, width]", "the input's rows are maps of this size (several channels of X), each "
        "row-major; without it X is one image and a layer above gives its own maps", "X: one image"),
    *activations.KEYS,
)


def _parse(read: "Reader") -> Conv:
    read.keys(tuple(k.name for k in KEYS), required=("kernels",))
    maps = input_maps(read, "a convolution")
    mats = kernel_matrices(read, "kernels", maps[0])
    h, w = mats[0][0].shape
    stride, padding = pair(read, "stride", 1, 1), pair(read, "padding", 0, 0)
    fits(read, maps, (h, w), stride, padding)
    K = sp.ImmutableMatrix([[x for m in f for x in m] for f in mats])
    return Conv(K=K, b=biases(read, K.rows), maps=maps, kernel=(h, w), stride=stride, padding=padding,
                **activations.parse(read))


# ---------------------------------------------------------------- mistakes


def _layers(ex: "Exercise", types: tuple[str, ...]) -> list[Any]:
    return [l for l in ex.layers if getattr(l, "type", None) in types]


def _asymmetric(ex: "Exercise") -> bool:
    for l in _layers(ex, ("conv2d", "conv1d")):
        if any(m != m[::-1, ::-1] for f in l.kernels() for m in f):
            return True
    return False


CONV_MISTAKES = (
    Mistake("kernel_flipped", 310, "The kernel was flipped (a true convolution): the sheets cross-correlate, each "
            "output the kernel's entries times the window's in the same places.", _asymmetric),
    Mistake("padding_ignored", 320, "The padding was left out: pad each map with zeros first, so the output has "
            "⌊(n + 2p − k)/s⌋ + 1 positions along each side.",
            lambda ex: any(l.padding != (0, 0) for l in _layers(ex, ("conv2d", "conv1d")))),
    Mistake("stride_ignored", 330, "The stride was ignored: the window moves by the stride, so the output has "
            "⌊(n + 2p − k)/s⌋ + 1 positions along each side.",
            lambda ex: any(l.stride != (1, 1) for l in _layers(ex, ("conv2d", "conv1d", "max_pool", "avg_pool")))),
)


def geometry(run: "Run", layer: Any) -> tuple[Maps, Pair, Pair, Pair]:
    """(maps, kernel, stride, padding) as this run computes them (padding or stride ignored by a mistake)."""
    stride = (1, 1) if run.broken("stride_ignored") else layer.stride
    padding = (0, 0) if run.broken("padding_ignored") else layer.padding
    return layer.maps, layer.kernel, stride, padding


def with_ones(xp: Any, P: Any) -> Any:
    """[P ; 1ᵀ]: the bias trick's row of 1s under the windows."""
    return xp.transpose(xp.join_cols(xp.transpose(P), xp.ones(xp.shape(P)[1], 1)))


# ---------------------------------------------------------------- a generator kind

EXACT = "Approximations: none; every value is exact."
SUMMED = "The loss is summed over the output positions (reduction = \"sum\"): ∂L/∂A = A − Y."


def _kind(rng: Any, o: Any) -> Any:
    """An H×H image of small integers, two k×k kernels of −1, 0, 1, ReLU, squared error against target maps."""
    H, k = o.sizes
    if k > H:
        raise UsageError(f"a {k}×{k} kernel does not fit a {H}×{H} image", field="--sizes")
    X = drawn.image(rng, H, H, o.max_given)
    got = drawn.conv(rng, X, (1, H, H), (k, k), 2, o.max_given)
    if got is None:
        return None
    Ks, b, Z = got
    spec = {"title": "Convolution by hand",
            "description": f"A {H}×{H} image, two {k}×{k} filters, ReLU; the squared error against target maps, back "
                           "to the kernels and biases, and one step of gradient descent",
            "X": X, "layers": [{"type": "conv2d", "kernels": Ks, "b": b, "activation": "relu"}],
            "loss": {"kind": "squared_error", "Y": drawn.targets(rng, drawn.relu(Z), o.max_given), "reduction": "sum"},
            "train": {"learning_rate": "1/2"}}
    return spec, [EXACT, SUMMED]


# ---------------------------------------------------------------- the op


class Conv2d(Op):
    """Zk = [Kk | bk]·Colk with Colk = [im2col(A(k−1)) ; 1s], Ak = f(Zk); backward to Kk, bk and, by col2im, A(k−1)."""

    name = "conv2d"
    layer = True
    image = True
    summary = "a convolution (cross-correlation) of the input's maps with each filter's kernels, plus its bias"
    keys = KEYS
    mistakes: ClassVar[tuple[Mistake, ...]] = CONV_MISTAKES
    kinds = {"conv2d": Kind(KindInfo((4, 2), batch=None, layers=(1, 1)), _kind)}

    def parse(self, table: Mapping, read: "Reader") -> Conv:
        return _parse(read)

    def out_shape(self, params: Conv, shape: tuple[int, int]) -> tuple[int, int]:
        F, Ho, Wo = params.out
        return F, Ho * Wo

    def out_maps(self, params: Conv, maps: Maps | None, shape: tuple[int, int]) -> Maps:
        return params.out

    def outputs(self, k: int) -> tuple[str, ...]:
        return (f"Z{k}", f"A{k}")

    def trainable(self, params: Conv) -> dict[str, Any]:
        return {"K": params.K, "b": params.b}

    def with_trained(self, params: Conv, new: Mapping[str, Any]) -> Conv:
        return replace(params, **new)

    def entries(self, params: Conv, rows: int, cols: int) -> int:
        F, Ho, Wo = params.out
        n, P = params.K.cols, Ho * Wo
        return 2 * (n + 1) * P + 6 * F * P + rows * cols + 2 * F * (n + 1)  # Col, ∂L/∂Col; Z, A, …; ∂L/∂A; [K | b]

    def count(self, params: Conv) -> int:
        return params.K.rows * (params.K.cols + 1)

    def activation(self, params: Conv) -> Activated:
        return params

    def approximates(self, params: Conv) -> bool:
        return params.approximates_e

    def forward(self, run: "Run", node: Node, params: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
        xp, k, layer = run.xp, node.k, node.params
        prev = node.inputs[0]
        A = inputs[prev]
        g = geometry(run, layer)
        Col = run.record("im2col", f"Col{k}", with_ones(xp, xp.im2col(A, *g)), **{prev: A})  # (C·h·w + 1) × P
        K = params["K"]
        if run.broken("kernel_flipped"):
            K = xp.permute_cols(K, windows.flipped(layer.maps[0], layer.kernel))
        b = params["b"] if not run.broken("missing_bias") else xp.zeros(*xp.shape(params["b"]))
        Z = run.record("conv", f"Z{k}", xp.matmul(xp.join_cols(K, b), Col),  # (F × C·h·w + 1)·(C·h·w + 1 × P)
                       **{f"K{k}": K, f"b{k}": b, f"Col{k}": Col})
        return {f"Col{k}": Col, f"Z{k}": Z, f"A{k}": activations.forward(run, layer, Z, k, f"Z{k}")}

    def backward(self, run: "Run", node: Node, params: Mapping[str, Any], saved: Mapping[str, Any], grad: Grad,
                 need: frozenset[str]) -> Backward:
        xp, k, layer = run.xp, node.k, node.params
        prev = node.inputs[0]
        if grad.at == "Z":  # fused with the loss: ∂L/∂Z given
            dZ = grad.value
        else:
            dZ = activations.backward(run, layer, saved[f"Z{k}"], saved[f"A{k}"], grad.value, k, f"Z{k}")
        Col = saved[f"Col{k}"]
        n = xp.shape(params["K"])[1]
        flip = windows.flipped(layer.maps[0], layer.kernel) if run.broken("kernel_flipped") else None
        dK = xp.col_slice(xp.matmul(dZ, xp.transpose(Col)), 0, n)  # (F × P)·(P × n + 1), the kernels' part
        if flip is not None:
            dK = xp.permute_cols(dK, flip)  # the gradient of the kernels as given (they were used flipped)
        dK = run.record("grad_w", f"dL/dK{k}", dK, **{f"dL/dZ{k}": dZ, f"Col{k}": Col})
        db = run.record("grad_b", f"dL/db{k}", xp.col_sums(dZ), **{f"dL/dZ{k}": dZ})  # (F × P)·(P × 1)
        parts = []
        if prev in need:
            K = params["K"] if flip is None else xp.permute_cols(params["K"], flip)
            dCol = run.record("grad_col", f"dL/dCol{k}", xp.matmul(xp.transpose(K), dZ),  # (n × F)·(F × P)
                              **{f"K{k}": K, f"dL/dZ{k}": dZ})
            name = run.grad_name(prev, f"K{k}")
            dA = xp.col2im(dCol, *geometry(run, layer))  # C × H·W
            if xp.shape(dA) != xp.shape(saved[prev]):
                dA = xp.reshape(dA, *xp.shape(saved[prev]))  # shaped like the image X itself
            dA = run.record("col2im", name, dA, **{f"dL/dCol{k}": dCol})
            parts.append((prev, name, dA))
        return Backward({"K": dK, "b": db}, tuple(parts))

    def friendly(self, params: Conv, solution: "Solution", k: int) -> list[str]:
        Z = solution[f"Z{k}"]
        return activations.relu_friendly(params, Z, Z.rows * Z.cols, k)


OP = Conv2d()
