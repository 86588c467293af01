"""Hand-friendly numbers for the convolution family's generator kinds: images, kernels, targets, quick checks."""

from __future__ import annotations

from typing import Any

from ..algebra import windows
from ..algebra.windows import Maps, Pair

TRIES = 60  # draws of a layer's numbers within one candidate


def image(rng: Any, rows: int, cols: int, g: int, low: int = 0) -> list[list[int]]:
    """A rows × cols input of integers from `low` to g, mostly positive as on the sheets, none all zero."""
    pool = [v for v in range(low, g + 1) for _ in range(3 if v > 0 else 1)]
    while True:
        X = [[rng.choice(pool) for _ in range(cols)] for _ in range(rows)]
        if any(v for r in X for v in r):
            return X


def kernel(rng: Any, rows: int, cols: int) -> list[list[int]]:
    """A kernel of −1, 0, 1 with at least two nonzero entries and not symmetric under a half turn (so flipping it is
    a mistake that shows)."""
    while True:
        K = [[rng.choice([-1, 0, 1, 1]) for _ in range(cols)] for _ in range(rows)]
        flat = [v for r in K for v in r]
        if sum(1 for v in flat if v) >= 2 and flat != flat[::-1]:
            return K


def cuts_and_passes(Z: list[list]) -> bool:
    """No entry 0, and some below 0 and some above: a ReLU that is worth doing by hand."""
    z = [v for r in Z for v in r]
    return all(v != 0 for v in z) and any(v < 0 for v in z) and any(v > 0 for v in z)


def relu(Z: list[list]) -> list[list]:
    """max(0, z) entry by entry."""
    return [[max(0, v) for v in r] for r in Z]


def targets(rng: Any, A: list[list], g: int) -> list[list[int]]:
    """Targets near A (within 1 where [−g, g] allows), so that A − Y is small; not all equal to A."""
    while True:
        Y = [[max(-g, min(g, int(a) + rng.choice([-1, 0, 1]))) for a in r] for r in A]
        if Y != A:
            return Y


def conv(rng: Any, X: list[list[int]], maps: Maps, kernel_shape: Pair, filters: int, g: int,
         stride: Pair = (1, 1), padding: Pair = (0, 0)) -> tuple[list, list[int], list[list]] | None:
    """Kernels and biases whose ReLU cuts and passes on X: (kernels, b, Z), or None."""
    x = [v for r in X for v in r]
    for _ in range(TRIES):
        rng.spend()
        Ks = [kernel(rng, *kernel_shape) for _ in range(filters)]
        if any(Ks[i] == Ks[j] for i in range(filters) for j in range(i)):
            continue  # each filter its own kernel
        b = [rng.randint(-min(g, 2), 1) for _ in range(filters)]
        Z = windows.correlate(x, maps, kernel_shape, stride, padding, [[v for r in K for v in r] for K in Ks], b)
        if cuts_and_passes(Z) and all(abs(v) <= 12 for r in Z for v in r):
            return Ks, b, Z
    return None
