"""Exact rational matrices on python-flint for the fast path: the SymPy boundary, entry-list helpers, activations."""

from __future__ import annotations

from typing import Any

import sympy as sp
from flint import fmpq, fmpq_mat, fmpz, fmpz_mat
from sympy.polys.domains import QQ, ZZ
from sympy.polys.matrices import DomainMatrix

from .bounds import Bounds
from .exercise import Layer

ZERO, ONE = fmpq(0), fmpq(1)


class Fallback(Exception):
    """The exercise leaves the rationals (or uses a rule this backend does not know): solve it with SymPy."""


# ---------------------------------------------------------------- the boundary: SymPy ⇄ flint


def to_flint(m: sp.MatrixBase) -> fmpq_mat:
    """A SymPy matrix of rationals as an `fmpq_mat`; `Fallback` when an entry is not rational."""
    rep = getattr(m, "_rep", None)
    if isinstance(rep, DomainMatrix) and rep.domain in (ZZ, QQ):
        dense = getattr(rep.to_dense().rep, "rep", None)  # DFM (flint ground types) holds an fmpz_mat/fmpq_mat
        if isinstance(dense, fmpq_mat):
            return dense
        if isinstance(dense, fmpz_mat):
            return fmpq_mat(dense)
    if not all(v.is_Rational for v in m):
        raise Fallback("an entry is not rational")
    return fmpq_mat(m.rows, m.cols, [fmpq(int(v.p), int(v.q)) for v in m])


def to_fmpq(v: sp.Expr) -> fmpq:
    """A SymPy rational as an `fmpq`; `Fallback` otherwise."""
    if not getattr(v, "is_Rational", False):
        raise Fallback("a scalar is not rational")
    return fmpq(int(v.p), int(v.q))


def rational(x: fmpq) -> sp.Rational:
    """An `fmpq` as a SymPy rational."""
    return sp.Integer(int(x.p)) if x.q == 1 else sp.Rational(int(x.p), int(x.q))


def matrix(m: fmpq_mat) -> sp.ImmutableMatrix:
    """An `fmpq_mat` as a SymPy ImmutableMatrix (entries made SymPy rationals once, here)."""
    shape = (m.nrows(), m.ncols())
    flat = m.entries() if QQ.dtype is fmpq else [QQ(int(x.p), int(x.q)) for x in m.entries()]
    return sp.ImmutableMatrix._fromrep(DomainMatrix.from_list_flat(flat, shape, QQ).to_sparse())


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


def hadamard(a: fmpq_mat, b: fmpq_mat) -> fmpq_mat:
    """a ⊙ b, entry by entry."""
    return same_shape(a, [x * y for x, y in zip(a.entries(), b.entries())])  # (n×N) ⊙ (n×N)


Scaled = tuple[fmpz_mat, fmpz]  # n/d: a rational matrix as an integer matrix over one positive denominator
SMALL = 64  # bits of a denominator up to which one common denominator beats fmpq_mat's product (bench/run.py)


def product(a: fmpq_mat, b: fmpq_mat, an: Scaled | None = None) -> fmpq_mat:
    """a·b: while the denominators are small, as integers over one denominator, reduced once (`fmpq_mat`'s product
    clears and reduces per row and column, which wins when they are large and varied); `an`: a's, if known."""
    (na, da), (nb, db) = an or a.numer_denom(), b.numer_denom()
    if max(da.bit_length(), db.bit_length()) > SMALL:
        return a * b  # (n×m)·(m×N)
    return fmpq_mat(na * nb) / (da * db)  # (n×m)·(m×N)


def linear(W: fmpq_mat, A: fmpq_mat, b: fmpq_mat | None, Wn: Scaled, bn: Scaled) -> fmpq_mat:
    """Z = W·A + b·1ᵀ (b None: no bias) as `product` does it; Wn, bn: W and b as integers over a denominator."""
    (nW, dW), (nA, dA) = Wn, A.numer_denom()
    N = A.ncols()
    if max(dW.bit_length(), dA.bit_length()) > SMALL:
        return W * A if b is None else W * A + b * ones(1, N)  # (n×m)·(m×N) + (n×1)·(1×N)
    d = dW * dA
    if b is None:
        return fmpq_mat(nW * nA) / d  # (n×m)·(m×N)
    nb, db = bn
    l = d.lcm(db)
    return fmpq_mat(nW * nA * (l // d) + nb * (l // db) * fmpz_mat(1, N, [1] * N)) / l  # (n×m)·(m×N) + (n×1)·(1×N)


def max_bits(m: fmpq_mat) -> int:
    """Bits of the largest numerator or denominator in m."""
    return max((max(x.p.bit_length(), x.q.bit_length()) for x in m.entries()), default=0)


def _power(base: fmpq, e: fmpq, bounds: Bounds) -> fmpq:
    """base**e when it is rational here (an integer exponent of bounded size); `Fallback` otherwise."""
    if e.q != 1:
        raise Fallback("a non-integer power of exp_base")
    return _whole_power(base, int(e.p), bounds)


def _whole_power(base: fmpq, n: int, bounds: Bounds) -> fmpq:
    if abs(n) * max(base.p.bit_length(), base.q.bit_length()) > bounds.power_bits:
        raise Fallback("a power beyond power_bits")
    return base**n


# ---------------------------------------------------------------- activations and their derivatives


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


def positive(Z: fmpq_mat) -> Signs:
    """The signs of Z (computed once per matrix: ReLU's value, mask and masked gradient)."""
    return Signs(Z)


def _by_sign(M: fmpq_mat, pos: Signs, l: Layer) -> fmpq_mat:
    """Each entry kept where its z was positive, else times the slope below 0 (0 for ReLU, alpha for leaky)."""
    if l.activation == "relu" and 2 * len(pos.off) > len(pos.cells):  # mostly zeros: copy the others into zeros
        out = fmpq_mat(M.nrows(), M.ncols())
        off = set(pos.off)
        for ij in pos.cells:
            if ij not in off:
                out[ij] = M[ij]
        return out
    out = fmpq_mat(M)  # a copy, changed only where z ≤ 0
    if l.activation == "relu":
        for ij in pos.off:
            out[ij] = ZERO
    else:
        alpha = to_fmpq(l.alpha)
        for ij in pos.off:
            out[ij] = alpha * out[ij]
    return out


def activate(Z: fmpq_mat, l: Layer, base: fmpq | None, bounds: Bounds, pos: Signs | None) -> fmpq_mat:
    """A = f(Z) on rationals (softmax, sigmoid and tanh only with a rational exp_base); pos = `positive(Z)`."""
    a = l.activation
    if a == "identity":
        return Z
    if a in ("relu", "leaky_relu"):
        return _by_sign(Z, pos or Signs(Z), l)
    if a == "sigmoid":
        return same_shape(Z, [1 / (1 + _power(base, -z, bounds)) for z in Z.entries()])
    if a == "tanh":
        out = []
        for z in Z.entries():
            p, q = _power(base, z, bounds), _power(base, -z, bounds)
            out.append((p - q) / (p + q))
        return same_shape(Z, out)
    n, N = Z.nrows(), Z.ncols()
    nZ, d = Z.numer_denom()
    z = [int(x) for x in nZ.entries()]  # z = x/d; Python integers compare and subtract fast
    shifts = [min(z[j::N]) for j in range(N)]  # softmax, each column shifted by its smallest entry as SymPy's is
    powers: dict[int, fmpq] = {}  # base^k once for each exponent k met
    e = []
    for i, x in enumerate(z):
        k, r = divmod(x - shifts[i % N], int(d))
        if r:
            raise Fallback("a non-integer power of exp_base")
        if k not in powers:
            powers[k] = _whole_power(base, k, bounds)
        e.append(powers[k])
    E = fmpq_mat(n, N, e)
    totals = (ones(1, n) * E).entries()  # (1×n)·(n×N): Σ_i base^(z_ij − shift_j)
    inverse = fmpq_mat(N, N)
    for j, t in enumerate(totals):
        inverse[j, j] = 1 / t
    return E * inverse  # (n×N)·(N×N): each column over its total


class Mask:
    """∂A/∂Z of a piecewise-linear activation, held as the signs that make it; built as a matrix when needed."""

    def __init__(self, Z: fmpq_mat, l: Layer, pos: Signs | None) -> None:
        self.Z, self.layer, self.pos = Z, l, pos
        self._m: fmpq_mat | None = None

    def build(self) -> fmpq_mat:
        """The 0/1 (1/alpha, all-1) matrix."""
        if self._m is None:
            self._m = derivative(self.Z, self.Z, self.layer, self.pos)
        return self._m


def dense(D: Any) -> Any:
    """D as a matrix (a `Mask` built)."""
    return D.build() if isinstance(D, Mask) else D


def derivative(Z: fmpq_mat, A: fmpq_mat, l: Layer, pos: Signs | None) -> fmpq_mat:
    """∂A/∂Z entry by entry on rationals (the 0/1 mask for ReLU); pos = `positive(Z)`."""
    a = l.activation
    if a == "identity":
        return ones(Z.nrows(), Z.ncols())
    if a == "relu":
        return same_shape(Z, [ONE if p else ZERO for p in (pos or Signs(Z)).pos])
    if a == "leaky_relu":
        alpha = to_fmpq(l.alpha)
        return same_shape(Z, [ONE if p else alpha for p in (pos or Signs(Z)).pos])
    if a == "sigmoid":
        return same_shape(A, [s * (1 - s) for s in A.entries()])  # σ(1−σ)
    return same_shape(A, [1 - t * t for t in A.entries()])  # 1 − tanh²


def masked(dA: fmpq_mat, D: fmpq_mat, l: Layer, pos: Signs | None) -> fmpq_mat:
    """∂L/∂A ⊙ ∂A/∂Z, using the signs `pos` that made D for ReLU and leaky ReLU (which need them)."""
    a = l.activation
    if a == "identity":
        return dA
    if a in ("relu", "leaky_relu"):
        if pos is None:
            raise ValueError("masking by ReLU's derivative needs the signs of its input")
        return _by_sign(dA, pos, l)  # the derivative is the same 1-or-slope factor as the value
    return hadamard(dA, D)  # (n×N) ⊙ (n×N)


def softmax_backward(A: fmpq_mat, dA: fmpq_mat) -> fmpq_mat:
    """s ⊙ (g − sᵀg) column by column."""
    out = []
    for s, g in zip(columns(A), columns(dA)):
        sg = sum((x * y for x, y in zip(s, g)), ZERO)
        out.append([x * (y - sg) for x, y in zip(s, g)])
    return from_columns(out)
