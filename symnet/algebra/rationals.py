"""Exact rational matrices on python-flint: the SymPy boundary and the integer tricks `FlintAlgebra` is built on."""

from __future__ import annotations

import sympy as sp
from flint import fmpq, fmpq_mat, fmpz, fmpz_mat

from . import Fallback

ZERO, ONE = fmpq(0), fmpq(1)

Scaled = tuple[fmpz_mat, fmpz]  # n/d: a rational matrix as an integer matrix over one positive denominator
SMALL = 64  # bits of a denominator up to which one common denominator beats fmpq_mat's product (bench/run.py)


# ---------------------------------------------------------------- the boundary: SymPy ⇄ flint


def to_flint(m: sp.MatrixBase) -> fmpq_mat:
    """A SymPy matrix of rationals as an `fmpq_mat`; `Fallback` when an entry is not rational."""
    from ..sympy_private import flint_rep

    held = flint_rep(m)
    if held is not None:
        return held
    if not all(v.is_Rational for v in m):
        raise Fallback("an entry is not rational")
    return fmpq_mat(m.rows, m.cols, [fmpq(int(v.p), int(v.q)) for v in m])


def to_fmpq(v: sp.Expr) -> fmpq:
    """A SymPy rational as an `fmpq`; `Fallback` otherwise."""
    if not getattr(v, "is_Rational", False):
        raise Fallback("a scalar is not rational")
    return fmpq(int(v.p), int(v.q))


def from_flint(m: fmpq_mat) -> sp.ImmutableMatrix:
    """An `fmpq_mat` as SymPy's matrix of the same rationals (`sympy_private.from_flint`: SymPy is imported here, on
    the first value read as SymPy, not with this module)."""
    from ..sympy_private import from_flint as made

    return made(m)


def rational(x: fmpq) -> sp.Rational:
    """An `fmpq` as a SymPy rational."""
    return sp.Integer(int(x.p)) if x.q == 1 else sp.Rational(int(x.p), int(x.q))


# ---------------------------------------------------------------- helpers on entry lists


def same_shape(m: fmpq_mat, entries: list) -> fmpq_mat:
    """A matrix of m's shape from entries listed row by row."""
    return fmpq_mat(m.nrows(), m.ncols(), entries)


def ones(rows: int, cols: int) -> fmpq_mat:
    """The rows × cols matrix of ones."""
    return fmpq_mat(rows, cols, [ONE] * (rows * cols))


def columns(m: fmpq_mat) -> list[list[fmpq]]:
    """The entries of m column by column."""
    t = m.transpose().entries()
    r = m.nrows()
    return [t[j * r:(j + 1) * r] for j in range(m.ncols())]


def from_columns(cols: list[list[fmpq]]) -> fmpq_mat:
    """The matrix whose columns are `cols`."""
    return fmpq_mat(len(cols), len(cols[0]), [x for c in cols for x in c]).transpose()


def diagonal(values: list[fmpq]) -> fmpq_mat:
    """diag(values)."""
    n = len(values)
    out = fmpq_mat(n, n)
    for i, x in enumerate(values):
        out[i, i] = x
    return out


def max_bits(m: fmpq_mat) -> int:
    """Bits of the largest numerator or denominator in m."""
    return max((max(x.p.bit_length(), x.q.bit_length()) for x in m.entries()), default=0)


# ---------------------------------------------------------------- products over one common denominator


def product(a: fmpq_mat, b: fmpq_mat, an: Scaled | None = None) -> fmpq_mat:
    """a·b: while the denominators are small, as integers over one denominator, reduced once (`fmpq_mat`'s product
    clears and reduces per row and column, which wins when they are large and varied); `an`: a's, if known."""
    (na, da), (nb, db) = an or a.numer_denom(), b.numer_denom()
    if max(da.bit_length(), db.bit_length()) > SMALL:
        return a * b  # (n×m)·(m×N)
    return fmpq_mat(na * nb) / (da * db)  # (n×m)·(m×N)


def linear(W: fmpq_mat, A: fmpq_mat, b: fmpq_mat | None, Wn: Scaled, bn: Scaled | None) -> fmpq_mat:
    """Z = W·A + b·1ᵀ (b None: no bias) as `product` does it; Wn, bn: W and b as integers over a denominator."""
    (nW, dW), (nA, dA) = Wn, A.numer_denom()
    N = A.ncols()
    if max(dW.bit_length(), dA.bit_length()) > SMALL:
        return W * A if b is None else W * A + b * ones(1, N)  # (n×m)·(m×N) + (n×1)·(1×N)
    d = dW * dA
    if b is None or bn is None:
        return fmpq_mat(nW * nA) / d  # (n×m)·(m×N)
    nb, db = bn
    l = d.lcm(db)
    return fmpq_mat(nW * nA * (l // d) + nb * (l // db) * fmpz_mat(1, N, [1] * N)) / l  # (n×m)·(m×N) + (n×1)·(1×N)


# ------------------------------------------------------------ signs, shared by ReLU's value, mask and masked gradient


_CELLS: dict[tuple[int, int], list[tuple[int, int]]] = {}


def _cells(rows: int, cols: int) -> list[tuple[int, int]]:
    """The (i, j) of a rows × cols matrix, row by row (made once per shape)."""
    cells = _CELLS.get((rows, cols))
    if cells is None:
        cells = _CELLS[rows, cols] = [(i, j) for i in range(rows) for j in range(cols)]
    return cells


class Signs:
    """Which entries of a matrix are positive: `off`, the (i, j) of those that are not; `pos`, z > 0 row by row."""

    __slots__ = ("cells", "off")

    def __init__(self, Z: fmpq_mat) -> None:
        self.cells = _cells(Z.nrows(), Z.ncols())
        n = Z.numer_denom()[0].entries()  # z = n/d with d > 0: the integers' signs
        self.off = [ij for ij, x in zip(self.cells, n) if x <= 0]

    @property
    def pos(self) -> list[bool]:
        """z > 0 for every entry, row by row."""
        off = set(self.off)
        return [ij not in off for ij in self.cells]


def by_sign(M: fmpq_mat, pos: Signs, slope: fmpq) -> fmpq_mat:
    """Each entry kept where its z was positive, else times `slope` (0 for ReLU, alpha for leaky ReLU)."""
    if slope == 0 and 2 * len(pos.off) > len(pos.cells):  # mostly zeros: copy the others into zeros
        out = fmpq_mat(M.nrows(), M.ncols())
        off = set(pos.off)
        for ij in pos.cells:
            if ij not in off:
                out[ij] = M[ij]
        return out
    out = fmpq_mat(M)  # a copy, changed only where z ≤ 0
    if slope == 0:
        for ij in pos.off:
            out[ij] = ZERO
    else:
        for ij in pos.off:
            out[ij] = slope * out[ij]
    return out


def whole_power(base: fmpq, n: int, power_bits: int) -> fmpq:
    """base**n, an integer power of bounded size; `Fallback` beyond `power_bits`."""
    if abs(n) * max(base.p.bit_length(), base.q.bit_length()) > power_bits:
        raise Fallback("a power beyond power_bits")
    return base**n


def power(base: fmpq, e: fmpq, power_bits: int) -> fmpq:
    """base**e when it is rational here (an integer exponent of bounded size); `Fallback` otherwise."""
    if e.q != 1:
        raise Fallback("a non-integer power of exp_base")
    return whole_power(base, int(e.p), power_bits)
