"""`FlintAlgebra`: the algebra on python-flint rationals, with the speed tricks as its own primitives.

Rational matrices are `fmpq_mat`, multiplied as integer matrices over one common denominator while that is small;
the signs of a ReLU's input are read once and shared by its value, mask and masked gradient; a softmax with e is
kept as its atoms (`Atoms`), and every gradient through it as a rational combination of them (`Factored`). A value
these cannot hold raises `Fallback`; one that nothing else consumes (a loss with a log) is made by SymPy when read."""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import sympy as sp
from flint import fmpq, fmpq_mat

from ..bounds import Bounds
from ..held import Deferred, resolved
from . import Fallback, factored, windows
from .factored import Atoms, Factored
from .rationals import (
    ONE,
    ZERO,
    Scaled,
    Signs,
    by_sign,
    columns,
    diagonal,
    from_flint,
    linear,
    max_bits,
    ones,
    power,
    product,
    rational,
    same_shape,
    to_flint,
    to_fmpq,
    whole_power,
)
from .windows import Maps, Pair


class Lazy:
    """A value made by SymPy only when read (a loss with a log): `make`, and at most `nodes` nodes in what it makes."""

    __slots__ = ("make", "nodes")

    def __init__(self, make: Callable[[], Any], nodes: int) -> None:
        self.make, self.nodes = make, nodes


class Mask:
    """∂A/∂Z of a piecewise-linear activation, held as the signs that make it; built as a matrix when needed."""

    __slots__ = ("signs", "slope", "shape", "_m")

    def __init__(self, signs: Signs, slope: fmpq, shape: tuple[int, int]) -> None:
        self.signs, self.slope, self.shape = signs, slope, shape
        self._m: fmpq_mat | None = None

    def build(self) -> fmpq_mat:
        """The 1-or-slope matrix."""
        if self._m is None:
            self._m = fmpq_mat(*self.shape, [ONE if p else self.slope for p in self.signs.pos])
        return self._m


def _rational_sqrt(x: fmpq) -> fmpq | None:
    """√x when x ≥ 0 is the square of a rational (p/q in lowest terms: p and q squares), else None."""
    if x < 0:
        raise Fallback("the square root of a negative number")
    p, q = x.p, x.q
    return fmpq(p.isqrt(), q.isqrt()) if p.is_square() and q.is_square() else None


class _Irrational(Exception):
    """A value of a `deferred` computation is not rational here."""


def _mat(a: Any) -> fmpq_mat:
    """a as an fmpq_mat (a Mask built); `Fallback` for anything else."""
    if isinstance(a, fmpq_mat):
        return a
    if isinstance(a, Mask):
        return a.build()
    raise Fallback(f"{type(a).__name__} where a rational matrix is needed")


class FlintAlgebra:
    """The algebra of the fast path, for one exercise (it keeps the integer forms of the matrices it has seen)."""

    name = "flint"

    def __init__(self) -> None:
        self.bounds = Bounds()
        self._sympy: dict[int, tuple[Any, Any]] = {}  # id(flint value) → (it, the SymPy value it was made from)
        self._flint: dict[int, tuple[Any, Any]] = {}  # id(SymPy value) → (it, its flint value)
        self._kept: dict[int, tuple[fmpq_mat, Scaled]] = {}  # id(m) → (m, its integers): the exercise's own matrices
        self._scaled: dict[int, tuple[fmpq_mat, Scaled]] = {}  # the same per solve, for the matrices it computes
        self._signs: dict[int, tuple[fmpq_mat, Signs]] = {}  # per solve: id(Z) → (Z, its signs)
        self._transposed: dict[int, tuple[fmpq_mat, fmpq_mat]] = {}

    def begin(self, bounds: Bounds) -> None:
        """Start one solve: its bounds, and no signs kept from another."""
        self.bounds = bounds
        self._scaled.clear()
        self._signs.clear()
        self._transposed.clear()

    # ------------------------------------------------------------ values in and out

    def value(self, v: Any, keep: bool = False) -> Any:
        """A SymPy rational matrix (or scalar) as flint; `Fallback` when it is not rational. keep: one of the
        exercise's own values, converted once for every solve (and read back as the very SymPy value it was). A
        `Deferred` (an exercise's plain numbers, as read) gives its flint value, and its SymPy value when read."""
        hit = self._flint.get(id(v))
        if hit is not None and hit[0] is v:
            return hit[1]
        if isinstance(v, Deferred):
            out = v.raw
        else:
            out = to_flint(v) if isinstance(v, sp.MatrixBase) else to_fmpq(v)
        if keep:
            self._flint[id(v)] = (v, out)
            self._sympy[id(out)] = (out, v)
        return out

    def sympy(self, v: Any) -> Any:
        """A value of this algebra as SymPy (the SymPy value it came from, when it came from one)."""
        hit = self._sympy.get(id(v))
        if hit is not None and hit[0] is v:
            return resolved(hit[1])
        if isinstance(v, fmpq_mat):
            return from_flint(v)
        if isinstance(v, fmpq):
            return rational(v)
        if isinstance(v, (Atoms, Factored)):
            return v.sympy()
        if isinstance(v, Mask):
            return from_flint(v.build())
        if isinstance(v, Lazy):
            return v.make()
        return v

    def holds(self, v: Any) -> bool:
        """True for this algebra's values (not SymPy's: those it reads back as themselves)."""
        return isinstance(v, (fmpq_mat, fmpq, Atoms, Factored, Mask, Lazy))

    def scalar(self, x: sp.Expr | int | Fraction | Deferred) -> fmpq:
        """A SymPy rational (or an int, a Fraction, a number kept as read) as an fmpq."""
        if isinstance(x, Deferred):
            x = x.raw
        if isinstance(x, (int, fmpq)):
            return fmpq(x)
        return fmpq(x.numerator, x.denominator) if isinstance(x, Fraction) else to_fmpq(x)

    def shape(self, a: Any) -> tuple[int, int]:
        """(rows, columns)."""
        if isinstance(a, fmpq_mat):
            return a.nrows(), a.ncols()
        if isinstance(a, Atoms):
            return a.rows, a.cols
        if isinstance(a, Factored):
            return a.const.nrows(), a.const.ncols()
        if isinstance(a, Mask):
            return a.shape
        raise Fallback("the shape of a value made by SymPy")

    def zeros(self, r: int, c: int) -> fmpq_mat:
        """The r × c matrix of zeros."""
        return fmpq_mat(r, c)

    def ones(self, r: int, c: int) -> fmpq_mat:
        """The r × c matrix of ones."""
        return ones(r, c)

    def entries(self, a: Any) -> list[sp.Expr]:
        """The entries row by row, as SymPy."""
        return list(self.sympy(a))

    def _integers(self, m: fmpq_mat) -> Scaled:
        """m as integers over one denominator, computed once per matrix."""
        for cache in (self._kept, self._scaled):
            hit = cache.get(id(m))
            if hit is not None and hit[0] is m:
                return hit[1]
        n = m.numer_denom()
        if len(self._scaled) > 1024:
            self._scaled.clear()
        kept = self._sympy.get(id(m))
        (self._kept if kept is not None and kept[0] is m else self._scaled)[id(m)] = (m, n)
        return n

    def _known_integers(self, m: fmpq_mat) -> Scaled | None:
        for cache in (self._kept, self._scaled):
            hit = cache.get(id(m))
            if hit is not None and hit[0] is m:
                return hit[1]
        return None

    # ------------------------------------------------------------ linear algebra

    def matmul(self, a: Any, b: Any) -> Any:
        """a·b; with a `Factored` operand, the combination's own product (Wᵀ·∂L/∂Z, ∂L/∂Z·Aᵀ)."""
        if isinstance(a, fmpq_mat) and isinstance(b, fmpq_mat):
            known = self._known_integers(a)  # a weight matrix (or its transpose): over one denominator, done once
            return product(a, b, known) if known is not None else a * b  # (n×m)·(m×N)
        if isinstance(a, fmpq_mat) and isinstance(b, Factored) and b.layout == "cols":
            return factored.matmul_left(a, b)  # (m×r)·(r×N)
        if isinstance(a, Factored) and a.layout == "cols" and isinstance(b, fmpq_mat):
            return factored.grad_w(a, self.transpose(b))  # (r×N)·(N×m): ∂L/∂Z·Aᵀ
        raise Fallback("a product this algebra does not keep exact")

    def linear(self, W: Any, A: Any, b: Any) -> fmpq_mat:
        """W·A + b·1ᵀ as integers over one denominator (b None: W·A)."""
        if not isinstance(A, fmpq_mat) or not isinstance(W, fmpq_mat) or A.nrows() != W.ncols():
            raise Fallback("a non-rational or reshaped activation feeds a layer")
        if b is not None and not isinstance(b, fmpq_mat):
            raise Fallback("a non-rational bias")
        return linear(W, A, b, self._integers(W), self._integers(b) if b is not None else None)

    def add(self, a: Any, b: Any) -> Any:
        """a + b."""
        return _mat(a) + _mat(b)

    def sub(self, a: Any, b: Any) -> Any:
        """a − b (a `Factored` operand keeps its atoms: the update W − η·∂L/∂W, the fused Ŷ·diag(s) − Y)."""
        if isinstance(b, Factored) and isinstance(a, fmpq_mat):
            out = Factored(a - b.const, b.layout, b.coef, b.atoms, -b.scale)
            out._blocks = b._blocks
            return out
        if isinstance(a, Factored) and isinstance(b, fmpq_mat):
            out = Factored(a.const - b, a.layout, a.coef, a.atoms, a.scale)
            out._blocks = a._blocks
            return out
        return _mat(a) - _mat(b)

    def neg(self, a: Any) -> Any:
        """−a."""
        return -_mat(a)

    def scale(self, c: Any, a: Any) -> Any:
        """c·a."""
        if isinstance(a, Factored) and a.layout == "cols":  # the products below read coef: scale it in
            return Factored(a.const * c, "cols", [J * c for J in a.coef], a.atoms, a.scale)
        if isinstance(a, Factored):  # ∂L/∂W, ∂L/∂b: a scale of their own, sharing the multiplied-out blocks
            out = Factored(a.const * c, a.layout, a.coef, a.atoms, c * a.scale)
            out._blocks = a._blocks
            return out
        if isinstance(a, fmpq):
            return c * a
        return _mat(a) * c

    def transpose(self, a: Any) -> fmpq_mat:
        """aᵀ (once per matrix in a solve, its integer form carried over)."""
        m = _mat(a)
        hit = self._transposed.get(id(m))
        if hit is not None and hit[0] is m:
            return hit[1]
        t = m.transpose()
        if len(self._transposed) > 1024:
            self._transposed.clear()
        self._transposed[id(m)] = (m, t)
        known = self._known_integers(m)
        if known is not None:
            self._scaled[id(t)] = (t, (known[0].transpose(), known[1]))
        return t

    def hadamard(self, a: Any, b: Any) -> Any:
        """a ⊙ b (a `Factored` a scaled column by column)."""
        if isinstance(a, Factored) and a.layout == "cols":
            D = _mat(b)
            return factored.mask(a, D, self.hadamard(a.const, D))
        a, b = _mat(a), _mat(b)
        return same_shape(a, [x * y for x, y in zip(a.entries(), b.entries())])  # (n×N) ⊙ (n×N)

    def divide(self, a: Any, b: Any) -> fmpq_mat:
        """a ⊘ b."""
        a, b = _mat(a), _mat(b)
        return same_shape(a, [x / y for x, y in zip(a.entries(), b.entries())])

    def col_sums(self, a: Any) -> Any:
        """a·1 (one column)."""
        if isinstance(a, Factored) and a.layout == "cols":
            return factored.grad_b(a)
        m = _mat(a)
        return m * ones(m.ncols(), 1)  # (n×N)·(N×1)

    def col_totals(self, a: Any) -> fmpq_mat:
        """1ᵀ·a: each column's sum (one row)."""
        m = _mat(a)
        return ones(1, m.nrows()) * m  # (1×n)·(n×N)

    def total(self, a: Any) -> fmpq:
        """The sum of every entry."""
        return sum(_mat(a).entries(), ZERO)

    def broadcast_row(self, r: Any, n: int) -> fmpq_mat:
        """n copies of the row r."""
        return ones(n, 1) * _mat(r)  # (n×1)·(1×N)

    def scale_columns(self, a: Any, r: Any) -> Any:
        """a·diag(r); for softmax atoms, the combination with coefficient r_k on each atom of column k."""
        s = _mat(r).entries()
        if isinstance(a, Atoms):
            n = a.rows
            return Factored(fmpq_mat(n, a.cols), "cols", [diagonal([x] * n) for x in s], a)
        return _mat(a) * diagonal(s)  # (n×N)·(N×N)

    def col_dots(self, a: Any, b: Any) -> fmpq_mat:
        """Each column's aᵀb (one row)."""
        return fmpq_mat(1, self.shape(a)[1], [sum((x * y for x, y in zip(s, g)), ZERO)
                                              for s, g in zip(columns(_mat(a)), columns(_mat(b)))])

    # ------------------------------------------------------------ entry-wise functions

    def square(self, a: Any) -> fmpq_mat:
        """Each entry squared."""
        m = _mat(a)
        return same_shape(m, [x * x for x in m.entries()])

    def reciprocal(self, a: Any) -> fmpq_mat:
        """1/x for each entry."""
        m = _mat(a)
        return same_shape(m, [1 / x for x in m.entries()])

    def power(self, base: Any, a: Any) -> fmpq_mat:
        """base^x for each entry: rational for a rational base and whole exponents, else `Fallback`."""
        if base == sp.E or not getattr(base, "is_Rational", False):
            raise Fallback("a power of e")
        q, bits = to_fmpq(base), self.bounds.power_bits
        seen: dict[fmpq, fmpq] = {}
        out = []
        for x in _mat(a).entries():
            if x not in seen:
                seen[x] = power(q, x, bits)
            out.append(seen[x])
        return same_shape(_mat(a), out)

    def tanh(self, a: Any) -> Any:
        """tanh with e: never rational (but at 0)."""
        raise Fallback("tanh with e")

    def signs(self, a: fmpq_mat) -> Signs:
        """The signs of a, read once per matrix in a solve."""
        hit = self._signs.get(id(a))
        if hit is None or hit[0] is not a:
            if len(self._signs) > 1024:  # an algebra used outside solves (the generator's) keeps few
                self._signs.clear()
            hit = self._signs[id(a)] = (a, Signs(a))
        return hit[1]

    def relu(self, a: Any, slope: Any) -> fmpq_mat:
        """x where x > 0, else slope·x."""
        m = _mat(a)
        return by_sign(m, self.signs(m), self.scalar(slope))

    def step(self, a: Any, slope: Any) -> Mask:
        """1 where x > 0, else slope (built when read)."""
        if isinstance(a, Factored):
            raise Fallback("a mask from a gradient with atoms")
        m = _mat(a)
        return Mask(self.signs(m), self.scalar(slope), (m.nrows(), m.ncols()))

    def masked(self, g: Any, z: Any, slope: Any, d: Any) -> Any:
        """g ⊙ step(z, slope), from z's signs (the ones its value and mask were read from)."""
        if isinstance(z, Factored):
            raise Fallback("a mask from a gradient with atoms")
        if not isinstance(d, Mask):  # a ∂A/∂Z given (a mistake's), not read off z's signs
            return self.hadamard(g, d)
        pos, s = self.signs(_mat(z)), self.scalar(slope)
        if isinstance(g, Factored):
            return factored.mask(g, _mat(d), by_sign(g.const, pos, s))
        return by_sign(_mat(g), pos, s)

    def softmax(self, a: Any, base: Any) -> Any:
        """Each column's base^x over its sum: rational for a rational base and whole exponents; with e, the atoms."""
        Z = _mat(a)
        if base == sp.E:
            return Atoms(Z)
        if not getattr(base, "is_Rational", False):
            raise Fallback("a softmax of an irrational base")
        q, bits = to_fmpq(base), self.bounds.power_bits
        n, N = Z.nrows(), Z.ncols()
        nZ, d = Z.numer_denom()
        z = [int(x) for x in nZ.entries()]  # z = x/d; Python integers compare and subtract fast
        shifts = [min(z[j::N]) for j in range(N)]  # each column shifted by its smallest entry, as SymPy's is
        powers: dict[int, fmpq] = {}  # base^k once for each exponent k met
        e = []
        for i, x in enumerate(z):
            k, r = divmod(x - shifts[i % N], int(d))
            if r:
                raise Fallback("a non-integer power of exp_base")
            if k not in powers:
                powers[k] = whole_power(q, k, bits)
            e.append(powers[k])
        E = fmpq_mat(n, N, e)
        totals = (ones(1, n) * E).entries()  # (1×n)·(n×N): Σ_i base^(z_ij − shift_j)
        return E * diagonal([1 / t for t in totals])  # (n×N)·(N×N): each column over its total

    def xlogy(self, y: Any, p: Any) -> Any:
        """y·log(p): not rational here (a `deferred` computation gives it to SymPy)."""
        raise _Irrational("log")

    def ydivp(self, y: Any, p: Any) -> fmpq_mat:
        """y/p, 0 where y = 0."""
        Y, P = _mat(y), _mat(p)
        return same_shape(Y, [(b / a if b != 0 else ZERO) for b, a in zip(Y.entries(), P.entries())])

    def nonpositive(self, a: Any) -> list[tuple[int, int]]:
        """The (i, j) of the entries ≤ 0 (none in a softmax)."""
        if isinstance(a, Atoms):
            return []
        return list(Signs(_mat(a)).off)

    def round(self, a: Any, places: int) -> fmpq_mat:
        """Every entry rounded to `places` decimals, halves away from zero."""
        if not isinstance(a, fmpq_mat):  # softmax atoms (e): rounded exactly by SymPy, rational from here on
            from .sympy import SYMPY

            rounded = SYMPY.round(self.sympy(a), places)
            if any(not v.is_Rational for v in rounded):
                raise Fallback("rounding a non-rational matrix")
            return self.value(rounded)
        scale = 10**places
        out = []
        for x in a.entries():
            n = (2 * abs(x.p) * scale + x.q) // (2 * x.q)  # ⌊|x|·10^d + 1/2⌋
            out.append(fmpq(-n if x.p < 0 else n, scale))
        return same_shape(a, out)

    def bits(self, a: Any) -> int:
        """Bits of the largest numerator or denominator (at most this, for a combination of atoms)."""
        return a.bits() if isinstance(a, Factored) else max_bits(_mat(a))

    def deferred(self, f: Callable[..., Any], *args: Any, nodes: int = 0) -> Any:
        """f(self, *args) when it stays rational here, else a `Lazy` f on SymPy's algebra (at most `nodes` nodes)."""
        try:
            return f(self, *args)
        except _Irrational:
            from .sympy import SYMPY

            return Lazy(lambda: f(SYMPY, *[self.sympy(x) for x in args]), nodes)

    # -------------------------------------------------------- catalogue: normalisation, dropout, mixtures (issue 13)

    def sqrt(self, a: Any) -> fmpq_mat:
        """√x for each entry: exact where x is the square of a rational, else `Fallback` (SymPy keeps √2)."""
        m = _mat(a)
        out = []
        for x in m.entries():
            r = _rational_sqrt(x)
            if r is None:
                raise Fallback("a square root that is not rational")
            out.append(r)
        return same_shape(m, out)

    def sqrt_rounded(self, a: Any, places: int) -> fmpq_mat:
        """√x where x is the square of a rational, else √x rounded to `places` decimals (halves away from zero)."""
        m = _mat(a)
        out = []
        for x in m.entries():
            r = _rational_sqrt(x)
            if r is None:  # ⌊√x·10^d + 1/2⌋ = (t + 1) // 2 with t = ⌊2·√x·10^d⌋ = isqrt(⌊4·p·10^(2d) / q⌋)
                t = math.isqrt(4 * int(x.p) * 10 ** (2 * places) // int(x.q))
                r = fmpq((t + 1) // 2, 10**places)
            out.append(r)
        return same_shape(m, out)

    def diag(self, a: Any) -> fmpq_mat:
        """The square matrix with the column a on its diagonal."""
        return diagonal(_mat(a).entries())

    # ------------------------------------------------------------ catalogue: recurrent networks, attention (issue 14)

    def column(self, a: Any, j: int) -> fmpq_mat:
        """Column j (0-based) of a, as a one-column matrix."""
        m = _mat(a)
        return fmpq_mat(m.nrows(), 1, [m[i, j] for i in range(m.nrows())])

    def hstack(self, parts: list[Any]) -> fmpq_mat:
        """The matrices side by side, [a | b | …]."""
        ms = [_mat(p) for p in parts]
        r = ms[0].nrows()
        entries = [m[i, j] for i in range(r) for m in ms for j in range(m.ncols())]
        return fmpq_mat(r, sum(m.ncols() for m in ms), entries)

    def vstack(self, parts: list[Any]) -> fmpq_mat:
        """The matrices one above the other, [a ; b ; …]."""
        ms = [_mat(p) for p in parts]
        return fmpq_mat(sum(m.nrows() for m in ms), ms[0].ncols(), [x for m in ms for x in m.entries()])

    def row_block(self, a: Any, r0: int, r1: int) -> fmpq_mat:
        """Rows r0 … r1−1 (0-based) of a."""
        m = _mat(a)
        c = m.ncols()
        return fmpq_mat(r1 - r0, c, m.entries()[r0 * c:r1 * c])

    def floor(self, a: Any) -> fmpq_mat:
        """⌊x⌋ for each entry."""
        m = _mat(a)
        return same_shape(m, [fmpq(x.p // x.q) for x in m.entries()])

    def combine(self, a: Any) -> fmpq_mat:
        """Each entry over one denominator: a rational already is."""
        return _mat(a)

    def masked_softmax(self, a: Any, base: Any, drop: frozenset[tuple[int, int]]) -> fmpq_mat:
        """Each column's base^x over its sum, the entries at `drop` taken as 0: rational for a rational base and
        whole exponents (each column shifted by its least kept entry, as SymPy's is), else `Fallback`."""
        if base == sp.E or not getattr(base, "is_Rational", False):
            raise Fallback("a softmax with e or an irrational base")
        Z, q, bits = _mat(a), to_fmpq(base), self.bounds.power_bits
        n, N = Z.nrows(), Z.ncols()
        out = fmpq_mat(n, N)
        for j in range(N):
            keep = [i for i in range(n) if (i, j) not in drop]
            shift = min(Z[i, j] for i in keep)
            powers = {}
            for i in keep:
                x = Z[i, j] - shift
                if x.q != 1:
                    raise Fallback("a non-integer power of exp_base")
                powers[i] = whole_power(q, int(x.p), bits)
            total = sum(powers.values(), ZERO)
            for i, v in powers.items():
                out[i, j] = v / total
        return out


    # ------------------------------------------------------------ catalogue: convolution, pooling, GAN (issue 15)

    def im2col(self, a: Any, maps: Maps, kernel: Pair, stride: Pair, padding: Pair) -> fmpq_mat:
        """The windows of a's maps (C × H·W, one per row) as columns: (C·h·w) × (Ho·Wo), 0 in the zero padding."""
        windows.check(self.shape(a), maps)
        x, table = _mat(a).entries(), windows.patches(maps, kernel, stride, padding)
        return fmpq_mat(len(table), len(table[0]), [x[t] if t is not None else ZERO for row in table for t in row])

    def col2im(self, a: Any, maps: Maps, kernel: Pair, stride: Pair, padding: Pair) -> fmpq_mat:
        """The adjoint of `im2col`: C × H·W, each entry the sum of the entries of a that read it."""
        C, H, W = maps
        x, sums = _mat(a).entries(), [ZERO] * (C * H * W)
        table = windows.patches(maps, kernel, stride, padding)
        P = len(table[0])
        for r, row in enumerate(table):
            for p, t in enumerate(row):
                if t is not None:
                    sums[t] += x[r * P + p]
        return fmpq_mat(C, H * W, sums)

    def block_max(self, a: Any, n: int, last: bool = False) -> tuple[fmpq_mat, fmpq_mat]:
        """For each column and each block of n rows: its maximum (one row per block) and a 0/1 mask of a's shape with
        1 at the block's first maximum in row order (`last`: its last)."""
        m = _mat(a)
        rows, N = m.nrows(), m.ncols()
        x = m.entries()
        top, mask = [], [ZERO] * (rows * N)
        for q in range(rows // n):
            for j in range(N):
                best = q * n
                for t in range(q * n + 1, q * n + n):
                    if x[t * N + j] > x[best * N + j] or last and x[t * N + j] == x[best * N + j]:
                        best = t
                top.append(x[best * N + j])
                mask[best * N + j] = ONE
        return fmpq_mat(rows // n, N, top), fmpq_mat(rows, N, mask)

    def permute_cols(self, a: Any, order: list[int]) -> fmpq_mat:
        """The columns of a in `order` (column t of the result is column order[t] of a)."""
        m = _mat(a)
        x, N = m.entries(), m.ncols()
        return fmpq_mat(m.nrows(), len(order), [x[i * N + o] for i in range(m.nrows()) for o in order])

    def reshape(self, a: Any, r: int, c: int) -> fmpq_mat:
        """a's entries, row by row, as an r × c matrix."""
        return fmpq_mat(r, c, _mat(a).entries())

    def join_cols(self, a: Any, b: Any) -> fmpq_mat:
        """[a | b]."""
        x, y = _mat(a), _mat(b)
        n, p, q = x.nrows(), x.ncols(), y.ncols()
        ex, ey = x.entries(), y.entries()
        return fmpq_mat(n, p + q, [v for i in range(n) for v in ex[i * p:(i + 1) * p] + ey[i * q:(i + 1) * q]])

    def col_slice(self, a: Any, start: int, stop: int) -> fmpq_mat:
        """Columns start … stop − 1 (0-based) of a."""
        return self.permute_cols(a, list(range(start, stop)))

    # ------------------------------------------------------------ bounds

    def check_powers(self, a: Any, base: Any, bounds: Bounds, source: str | None, field: str) -> None:
        """`Fallback` when base^z may run beyond the bounds, so that the SymPy path refuses it with its own message."""
        if not isinstance(a, fmpq_mat):
            return
        e = a.entries()
        low, high = min(e), max(e)
        size = max(abs(low), abs(high), high - low)  # as `bounds.check_powers` measures it
        if base == sp.E:
            if size > bounds.exp_argument:
                raise Fallback("e^z beyond exp_argument")
        elif not getattr(base, "is_Rational", False):
            raise Fallback("an irrational base")
        else:
            q = to_fmpq(base)
            if size * max(q.p.bit_length(), q.q.bit_length(), 1) > bounds.power_bits:
                raise Fallback("base^z beyond power_bits")

    def check_nodes(self, name: str, v: Any, bounds: Bounds, source: str | None) -> None:
        """`Fallback` when a value kept unwritten may be beyond the node bounds once SymPy writes it, so that the
        SymPy path measures it exactly (and refuses it, or not, as it does for any exercise)."""
        E, Q = bounds.expression_nodes, bounds.quantity_nodes
        if isinstance(v, Lazy):
            if v.nodes > E:
                raise Fallback(f"{name} may be beyond expression_nodes")
            return
        if not isinstance(v, (Atoms, Factored)):
            return
        top, total = v.nodes()
        if (top > E or total > Q) and isinstance(v, Factored):
            top, total = v.nodes(counted=True)
        if top > E or total > Q:
            raise Fallback(f"{name} may be beyond the node bounds")

    def entry_nodes(self, a: Any) -> int:
        """At most this many nodes in one entry of a as SymPy writes it, beyond one (a rational)."""
        return a.atom_nodes + 1 if isinstance(a, Atoms) else 0


def fresh() -> FlintAlgebra:
    """A new algebra (one per exercise: it keeps the integer forms of the exercise's matrices)."""
    return FlintAlgebra()
