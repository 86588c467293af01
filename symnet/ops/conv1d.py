"""1-D convolution on sequences in rows: the 2-D layout with one-row maps, [kernel rows | b] times [windows ; 1s]."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import sympy as sp

from ..errors import SpecError, UsageError
from ..reader import kind as kind_of
from ..reader import matrix
from . import Key, Kind, KindInfo, Mistake, activations, drawn
from .conv2d import EXACT, SUMMED, Conv, Conv2d, biases, fits

if TYPE_CHECKING:
    from ..reader import Reader


@dataclass(frozen=True, kw_only=True)
class Conv1(Conv):
    """A 1-D convolution: F filters over the input's C rows (each a sequence), each a C×w kernel and a bias."""

    type: ClassVar[str] = "conv1d"

    def padded(self, A: sp.MatrixBase) -> list[sp.ImmutableMatrix]:
        """The input rows with their zero padding at both ends, as one matrix (the sheets' padded sequences)."""
        return [sp.ImmutableMatrix.vstack(*super().padded(A))]


KEYS = (
    Key("kernel", "list (one filter on a one-row input) or a C×w matrix (one row per input row)",
        "one filter's kernel; or give kernels", "—"),
    Key("kernels", "list of kernels as in kernel", "several filters, one output row each"),
    Key("b", "list (one per filter)", "the filters' biases; without b they start at 0 and are trained", "zeros"),
    Key("stride", "whole number", "the step between windows", "1"),
    Key("padding", "whole number", "zeros at both ends of each row", "0"),
    *activations.KEYS,
)


def _whole(read: "Reader", key: str, default: int, least: int) -> int:
    raw = read.table.get(key, default)
    if type(raw) is not int:
        raise SpecError(f"expected a whole number, got {kind_of(raw)}", field=read.at(key))
    if raw < least:
        raise SpecError(f"{key} must be at least {least}, got {raw}", field=read.at(key))
    return raw


def _kernel(read: "Reader", given: Any, field: str, C: int) -> sp.ImmutableMatrix:
    """One filter's kernel as a C×w matrix (a flat list is one row)."""
    m = matrix(given, field, read.bounds)
    if isinstance(given, list) and given and not isinstance(given[0], list):
        m = m.T  # a list is a row: the kernel of a one-row input
    if m.rows != C:
        raise SpecError(f"the kernel has {m.rows} row{'s' if m.rows > 1 else ''} but {read.prev} has {C}: one kernel "
                        "row per input row", field=field)
    return m


def _parse(read: "Reader") -> Conv1:
    read.keys(tuple(k.name for k in KEYS))
    C, T = read.below
    if ("kernel" in read.table) == ("kernels" in read.table):
        raise SpecError("give kernel (one filter) or kernels (a list of them), not both" if "kernel" in read.table
                        else "missing key 'kernel' (or 'kernels')", field=read.field)
    if "kernel" in read.table:
        mats = [_kernel(read, read.table["kernel"], read.at("kernel"), C)]
    else:
        raw = read.table["kernels"]
        if not isinstance(raw, list) or not raw:
            raise SpecError("expected a list of kernels, one per filter", field=read.at("kernels"))
        mats = [_kernel(read, m, read.at(f"kernels[{f}]"), C) for f, m in enumerate(raw, 1)]
    w = mats[0].cols
    if any(m.cols != w for m in mats):
        raise SpecError(f"every kernel of a layer has one length; the first has {w}", field=read.at("kernels"))
    stride, padding = _whole(read, "stride", 1, 1), _whole(read, "padding", 0, 0)
    maps = (C, 1, T)
    fits(read, maps, (1, w), (1, stride), (0, padding))
    K = sp.ImmutableMatrix([list(m) for m in mats])  # (F × C·w): each filter's rows, one after the other
    return Conv1(K=K, b=biases(read, K.rows), maps=maps, kernel=(1, w), stride=(1, stride), padding=(0, padding),
                 **activations.parse(read))


def _kind(rng: Any, o: Any) -> Any:
    """A sequence of T small integers, two kernels of width w, ReLU, squared error against target sequences."""
    T, w = o.sizes
    if w > T:
        raise UsageError(f"a kernel of width {w} does not fit a sequence of {T}", field="--sizes")
    X = drawn.image(rng, 1, T, o.max_given, low=-1)
    got = drawn.conv(rng, X, (1, 1, T), (1, w), 2, o.max_given)
    if got is None:
        return None
    Ks, b, Z = got
    spec = {"title": "1-D convolution by hand",
            "description": f"A sequence of {T}, two kernels of width {w}, ReLU; the squared error against target "
                           "sequences, back to the kernels and biases",
            "X": X, "layers": [{"type": "conv1d", "kernels": [K[0] for K in Ks], "b": b, "activation": "relu"}],
            "loss": {"kind": "squared_error", "Y": drawn.targets(rng, drawn.relu(Z), o.max_given), "reduction": "sum"},
            "train": {"learning_rate": "1/2"}}
    return spec, [EXACT, SUMMED]


class Conv1d(Conv2d):
    """Zk = [Kk | bk]·Colk on the rows of A(k−1) as sequences (windows of length w, one column per position)."""

    name = "conv1d"
    summary = "a 1-D convolution (cross-correlation) of each row of the input, as a sequence, with each filter"
    keys = KEYS
    mistakes: ClassVar[tuple[Mistake, ...]] = ()  # conv2d's name both types: kernel_flipped, padding_ignored, …
    kinds = {"conv1d": Kind(KindInfo((6, 3), batch=None, layers=(1, 1)), _kind)}

    def parse(self, table: Mapping, read: "Reader") -> Conv1:
        return _parse(read)


OP = Conv1d()
