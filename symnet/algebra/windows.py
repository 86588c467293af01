"""Window geometry for convolution and pooling: which input entry each entry of an im2col matrix reads."""

from __future__ import annotations

from functools import cache

Maps = tuple[int, int, int]  # (channels, height, width): one map per row of a matrix, each row-major
Pair = tuple[int, int]  # (rows, columns) of a kernel, a stride or a padding


def out_size(n: int, k: int, s: int, p: int) -> int:
    """Output positions along one axis: ⌊(n + 2p − k)/s⌋ + 1 (PyTorch's; 0 or less when the kernel does not fit)."""
    return (n + 2 * p - k) // s + 1


def out_maps(maps: Maps, kernel: Pair, stride: Pair, padding: Pair, channels: int) -> Maps:
    """The (channels, height, width) of the output maps."""
    _, H, W = maps
    return channels, out_size(H, kernel[0], stride[0], padding[0]), out_size(W, kernel[1], stride[1], padding[1])


def check(shape: tuple[int, int], maps: Maps) -> None:
    """Refuse maps of another size (a mistake's re-run that changed a shape above): a ValueError, as a product's.
    The maps are C × H·W, one per row; one map may also be the H × W image itself (the same entries, row by row)."""
    C, H, W = maps
    if shape != (C, H * W) and not (C == 1 and shape == (H, W)):
        raise ValueError(f"{shape[0]}×{shape[1]} is not {C} maps of {H}×{W}")


@cache
def patches(maps: Maps, kernel: Pair, stride: Pair, padding: Pair) -> tuple[tuple[int | None, ...], ...]:
    """The im2col table: for row r = (channel c, kernel row u, kernel column v), c·h·w + u·w + v, and column p (the
    output positions, row-major), the index into the input's entries (row-major: c·H·W + i·W + j) of the entry that
    window p reads there, or None where it falls in the zero padding."""
    C, H, W = maps
    (h, w), (sh, sw), (ph, pw) = kernel, stride, padding
    _, Ho, Wo = out_maps(maps, kernel, stride, padding, C)
    rows = []
    for c in range(C):
        for u in range(h):
            for v in range(w):
                row = []
                for oi in range(Ho):
                    for oj in range(Wo):
                        i, j = oi * sh + u - ph, oj * sw + v - pw
                        row.append(c * H * W + i * W + j if 0 <= i < H and 0 <= j < W else None)
                rows.append(tuple(row))
    return tuple(rows)


def flipped(channels: int, kernel: Pair) -> list[int]:
    """The column order that turns each kernel (a row of channel blocks, each h·w row-major) through 180°."""
    n = kernel[0] * kernel[1]
    return [c * n + (n - 1 - t) for c in range(channels) for t in range(n)]


def column_major(height: int, width: int) -> list[int]:
    """The order of a height × width map's entries read column by column (as indices of its row-major entries)."""
    return [i * width + j for j in range(width) for i in range(height)]


def inverse(order: list[int]) -> list[int]:
    """The order that undoes `order`."""
    out = [0] * len(order)
    for t, o in enumerate(order):
        out[o] = t
    return out


def correlate(x: list, maps: Maps, kernel: Pair, stride: Pair, padding: Pair, K: list[list], b: list) -> list[list]:
    """Z = [K | b]·[im2col(x) ; 1] on plain numbers (x the input's entries row by row, K one row per filter): the
    generator's quick forward pass, before the engine checks a candidate."""
    table = patches(maps, kernel, stride, padding)
    P = len(table[0])
    return [[sum(k * x[t] for k, t in ((k, row[p]) for k, row in zip(Kf, table)) if t is not None) + bf
             for p in range(P)] for Kf, bf in zip(K, b)]
