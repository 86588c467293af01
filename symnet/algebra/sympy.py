"""`SympyAlgebra`: the algebra on immutable SymPy matrices, for every value (symbols, e, Max, Heaviside)."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any, TypeAlias

import sympy as sp

from .. import intervals
from ..bounds import Bounds, check_nodes, check_powers
from ..held import Deferred, resolved
from . import windows
from .windows import Maps, Pair

M: TypeAlias = sp.ImmutableMatrix
Value: TypeAlias = Any  # an ImmutableMatrix or a SymPy scalar


def _positive(z: sp.Expr) -> bool | None:
    """True/False when the sign of z is decided (exactly), None when z is symbolic."""
    if z.is_Rational:
        return bool(z > 0)
    if z.free_symbols:
        return None
    return bool(z.is_positive)


def _entrywise(a: M, f: Callable[[sp.Expr], sp.Expr]) -> M:
    return M(a.rows, a.cols, lambda i, j: f(a[i, j]))


def _pair(a: M, b: M, f: Callable[[sp.Expr, sp.Expr], sp.Expr]) -> M:
    return M(a.rows, a.cols, lambda i, j: f(a[i, j], b[i, j]))


def exp_power(base: sp.Expr, z: sp.Expr) -> sp.Expr:
    """base**z, written exp(z) for base e."""
    return sp.exp(z) if base == sp.E else base**z


class SympyAlgebra:
    """The algebra of the SymPy path: every operation entry by entry on ImmutableMatrix values."""

    name = "sympy"

    # ------------------------------------------------------------ values in and out

    def value(self, v: Value, keep: bool = False) -> Value:
        """A SymPy value as this algebra holds it (itself; a `Deferred`'s SymPy value)."""
        return resolved(v)

    def sympy(self, v: Value) -> Value:
        """This algebra's value as SymPy (itself)."""
        return v

    def holds(self, v: Any) -> bool:
        """False: its values are SymPy's own."""
        return False

    def scalar(self, x: sp.Expr | int | Fraction | Deferred) -> sp.Expr:
        """A SymPy scalar (or an int, a Fraction, a number kept as read) as this algebra's scalar."""
        x = resolved(x)
        if isinstance(x, int):
            return sp.Integer(x)
        return sp.Rational(x.numerator, x.denominator) if isinstance(x, Fraction) else x

    def shape(self, a: M) -> tuple[int, int]:
        """(rows, columns)."""
        return a.shape

    def zeros(self, r: int, c: int) -> M:
        """The r × c matrix of zeros."""
        return sp.zeros(r, c).as_immutable()

    def ones(self, r: int, c: int) -> M:
        """The r × c matrix of ones."""
        return sp.ones(r, c).as_immutable()

    def entries(self, a: M) -> list[sp.Expr]:
        """The entries row by row, as SymPy."""
        return list(a)

    # ------------------------------------------------------------ linear algebra

    def matmul(self, a: M, b: M) -> M:
        """a·b."""
        return M(a * b)

    def linear(self, W: M, A: M, b: M | None) -> M:
        """W·A + b·1ᵀ (the bias added to every column); W·A without b."""
        if b is None:
            return M(W * A)
        return M(W * A + b * sp.ones(1, A.cols))  # (n×m)·(m×N) + (n×1)·(1×N)

    def add(self, a: M, b: M) -> M:
        """a + b."""
        return M(a + b)

    def sub(self, a: M, b: M) -> M:
        """a − b."""
        return M(a - b)

    def neg(self, a: M) -> M:
        """−a."""
        return M(-a)

    def scale(self, c: sp.Expr, a: Value) -> Value:
        """c·a."""
        return M(c * a) if isinstance(a, sp.MatrixBase) else c * a

    def transpose(self, a: M) -> M:
        """aᵀ."""
        return a.T

    def hadamard(self, a: M, b: M) -> M:
        """a ⊙ b."""
        return M(a.multiply_elementwise(b))

    def divide(self, a: M, b: M) -> M:
        """a ⊘ b, entry by entry."""
        return _pair(a, b, lambda x, y: x / y)

    def col_sums(self, a: M) -> M:
        """a·1: the sum of each row over the columns (one column)."""
        return M(a * sp.ones(a.cols, 1))  # (n×N)·(N×1)

    def col_totals(self, a: M) -> M:
        """The sum of each column (one row)."""
        return M(1, a.cols, [sp.Add(*a.col(j)) for j in range(a.cols)])

    def total(self, a: M) -> sp.Expr:
        """The sum of every entry, row by row."""
        return sp.Add(*a)

    def broadcast_row(self, r: M, n: int) -> M:
        """n copies of the row r."""
        return M(n, r.cols, lambda i, j: r[0, j])

    def scale_columns(self, a: M, r: M) -> M:
        """a·diag(r): column j times r_j."""
        return M(a.rows, a.cols, lambda i, j: a[i, j] * r[0, j])

    def col_dots(self, a: M, b: M) -> M:
        """Each column's aᵀb (one row)."""
        return M(1, a.cols, [(a.col(j).T * b.col(j))[0, 0] for j in range(a.cols)])  # (1×n)·(n×1)

    # ------------------------------------------------------------ entry-wise functions

    def square(self, a: M) -> M:
        """Each entry squared."""
        return _entrywise(a, lambda x: x**2)

    def reciprocal(self, a: M) -> M:
        """1/x for each entry."""
        return _entrywise(a, lambda x: 1 / x)

    def power(self, base: sp.Expr, a: M) -> M:
        """base^x for each entry (exp(x) for base e)."""
        return _entrywise(a, lambda x: exp_power(base, x))

    def tanh(self, a: M) -> M:
        """tanh of each entry."""
        return _entrywise(a, sp.tanh)

    def relu(self, a: M, slope: sp.Expr) -> M:
        """x where x > 0, else slope·x (Max(0, x) for slope 0, a Piecewise while the sign is unknown)."""
        def f(z: sp.Expr) -> sp.Expr:
            pos = _positive(z)
            if slope == 0:
                return sp.Max(0, z) if pos is None else (z if pos else sp.S.Zero)
            if pos is not None:
                return z if pos else slope * z
            if z.has(sp.Piecewise):  # a condition on a Piecewise is folded by SymPy, which can fail on its sets
                return sp.Max(0, z) + slope * sp.Min(0, z)  # (the same function, without a condition)
            return sp.Piecewise((z, z > 0), (slope * z, True))

        return _entrywise(a, f)

    def step(self, a: M, slope: sp.Expr) -> M:
        """1 where x > 0, else slope: the derivative of `relu` (Heaviside(x, 0) for slope 0 while the sign is
        unknown)."""
        def f(z: sp.Expr) -> sp.Expr:
            pos = _positive(z)
            if slope == 0:
                return sp.Heaviside(z, 0) if pos is None else sp.S.One if pos else sp.S.Zero  # 0 at 0
            if pos is not None:
                return sp.S.One if pos else slope
            if z.has(sp.Piecewise):  # (as in `relu`)
                return sp.Heaviside(z, 0) + slope * (1 - sp.Heaviside(z, 0))
            return sp.Piecewise((1, z > 0), (slope, True))

        return _entrywise(a, f)

    def masked(self, g: M, z: M, slope: sp.Expr, d: M) -> M:
        """g ⊙ step(z, slope), with d that step."""
        return self.hadamard(g, d)

    def softmax(self, a: M, base: sp.Expr) -> M:
        """Each column's base^x over the column's sum; with numbers, shifted by the column's least entry first."""
        cols = [softmax_column(list(a.col(j)), base) for j in range(a.cols)]
        return M(a.rows, a.cols, lambda i, j: cols[j][i])

    def xlogy(self, y: M, p: M) -> M:
        """y·log(p), 0 where y = 0 (0·log anything = 0, as cross-entropy takes it)."""
        return _pair(y, p, lambda b, a: sp.S.Zero if b == 0 else b * sp.log(a))

    def ydivp(self, y: M, p: M) -> M:
        """y/p, 0 where y = 0."""
        return _pair(y, p, lambda b, a: sp.S.Zero if b == 0 else b / a)

    def nonpositive(self, a: M) -> list[tuple[int, int]]:
        """The (i, j) of the entries known to be ≤ 0."""
        return [(i, j) for i in range(a.rows) for j in range(a.cols) if a[i, j].is_nonpositive]

    def round(self, a: M, places: int) -> M:
        """Every entry rounded to `places` decimals, halves away from zero (exactly, also for e-values)."""
        return M(a.rows, a.cols, [round_value(v, places) for v in a])

    def bits(self, a: Value) -> int:
        """Bits of the largest rational numerator or denominator (0 when none is rational)."""
        entries = a if isinstance(a, sp.MatrixBase) else [a]
        return max((max(abs(v.p).bit_length(), v.q.bit_length()) for v in entries if v.is_Rational), default=0)

    def deferred(self, f: Callable[..., Value], *args: Value, nodes: int = 0) -> Value:
        """f computed here, at once."""
        return f(self, *args)

    def entry_nodes(self, a: M) -> int:
        """Nodes beyond one in an entry (only the fast algebra estimates them; here they are counted when recorded)."""
        return 0

    # -------------------------------------------------------- catalogue: normalisation, dropout, mixtures (issue 13)

    def sqrt(self, a: M) -> M:
        """√x for each entry, exact (√2 stays √2)."""
        return _entrywise(a, sp.sqrt)

    def sqrt_rounded(self, a: M, places: int) -> M:
        """√x where x is the square of a rational, else √x rounded to `places` decimals (halves away from zero);
        symbols stay."""
        def f(x: sp.Expr) -> sp.Expr:
            r = sp.sqrt(x)
            return r if r.is_Rational or r.free_symbols else round_value(r, places)

        return _entrywise(a, f)

    def diag(self, a: M) -> M:
        """The square matrix with the column a on its diagonal."""
        return sp.diag(*a).as_immutable()

    # ------------------------------------------------------------ catalogue: recurrent networks, attention (issue 14)

    def column(self, a: M, j: int) -> M:
        """Column j (0-based) of a, as a one-column matrix."""
        return M(a[:, j])

    def hstack(self, parts: list[M]) -> M:
        """The matrices side by side, [a | b | …] (the columns of a sequence gathered)."""
        return M(M.hstack(*parts))

    def vstack(self, parts: list[M]) -> M:
        """The matrices one above the other, [a ; b ; …] (heads stacked, [x ; h ; 1])."""
        return M(M.vstack(*parts))

    def row_block(self, a: M, r0: int, r1: int) -> M:
        """Rows r0 … r1−1 (0-based) of a."""
        return M(a[r0:r1, :])

    def floor(self, a: M) -> M:
        """⌊x⌋ for each entry."""
        return _entrywise(a, sp.floor)

    def combine(self, a: M) -> M:
        """Each entry over one denominator (a weighted sum of a softmax's fractions, written once)."""
        return _entrywise(a, lambda x: x if x.is_Rational else sp.together(x))

    def masked_softmax(self, a: M, base: sp.Expr, drop: frozenset[tuple[int, int]]) -> M:
        """Each column's base^x over the column's sum, the entries at `drop` (i, j) taken as 0 (a causal mask, a
        clipped negative score); with numbers, each column shifted by its least kept entry first."""
        cols = []
        for j in range(a.cols):
            keep = [i for i in range(a.rows) if (i, j) not in drop]
            kept = softmax_column([a[i, j] for i in keep], base)
            col = [sp.S.Zero] * a.rows
            for i, v in zip(keep, kept):
                col[i] = v
            cols.append(col)
        return M(a.rows, a.cols, lambda i, j: cols[j][i])


    # ------------------------------------------------------------ catalogue: convolution, pooling, GAN (issue 15)

    def im2col(self, a: M, maps: Maps, kernel: Pair, stride: Pair, padding: Pair) -> M:
        """The windows of a's maps (C × H·W, one per row) as columns: (C·h·w) × (Ho·Wo), 0 in the zero padding."""
        windows.check(self.shape(a), maps)
        x, table = list(a), windows.patches(maps, kernel, stride, padding)
        return M(len(table), len(table[0]), [x[t] if t is not None else sp.S.Zero for row in table for t in row])

    def col2im(self, a: M, maps: Maps, kernel: Pair, stride: Pair, padding: Pair) -> M:
        """The adjoint of `im2col`: C × H·W, each entry the sum of the entries of a that read it."""
        C, H, W = maps
        sums: list[list[sp.Expr]] = [[] for _ in range(C * H * W)]
        for r, row in enumerate(windows.patches(maps, kernel, stride, padding)):
            for p, t in enumerate(row):
                if t is not None:
                    sums[t].append(a[r, p])
        return M(C, H * W, [_gathered(v) for v in sums])

    def block_max(self, a: M, n: int, last: bool = False) -> tuple[M, M]:
        """For each column and each block of n rows: its maximum (one row per block) and a 0/1 mask of a's shape with
        1 at the block's first maximum in row order (`last`: its last); Max and Heaviside while a sign is unknown."""
        top, mask = [], [[sp.S.Zero] * a.cols for _ in range(a.rows)]
        for q in range(a.rows // n):
            row = []
            for j in range(a.cols):
                e = [a[q * n + t, j] for t in range(n)]
                m, flags = _block_max(e, last)
                row.append(m)
                for t, f in enumerate(flags):
                    mask[q * n + t][j] = f
            top.append(row)
        return M(top), M(mask)

    def permute_cols(self, a: M, order: list[int]) -> M:
        """The columns of a in `order` (column t of the result is column order[t] of a)."""
        return M(a.rows, len(order), lambda i, j: a[i, order[j]])

    def reshape(self, a: M, r: int, c: int) -> M:
        """a's entries, row by row, as an r × c matrix."""
        return M(r, c, list(a))

    def join_cols(self, a: M, b: M) -> M:
        """[a | b]."""
        return M(a.row_join(b))

    def col_slice(self, a: M, start: int, stop: int) -> M:
        """Columns start … stop − 1 (0-based) of a."""
        return M(a[:, start:stop])

    # ------------------------------------------------------------ bounds

    def check_powers(self, a: M, base: sp.Expr, bounds: Bounds, source: str | None, field: str) -> None:
        """Refuse base^a when it would run away (`bounds.check_powers`)."""
        check_powers(a, base, bounds, source, field)

    def check_nodes(self, name: str, v: Value, bounds: Bounds, source: str | None) -> None:
        """Refuse a value beyond the node bounds (`bounds.check_nodes`)."""
        check_nodes(name, v, bounds, source)


def _gathered(terms: list[sp.Expr]) -> sp.Expr:
    """The sum of the parts an input entry collects, over one denominator when that is shorter (numbers only)."""
    v = sp.Add(*terms)
    if len(terms) < 2 or v.is_Rational or v.free_symbols:
        return v
    t = sp.together(v)
    return t if sp.count_ops(t) < sp.count_ops(v) else v


def _greater(x: sp.Expr, y: sp.Expr) -> bool | None:
    """x > y exactly, None while undecided (a symbol)."""
    d = x - y
    if d.is_Rational:
        return bool(d > 0)
    if d.free_symbols:
        return None
    return None if d.is_positive is None else bool(d.is_positive)


def _block_max(e: list[sp.Expr], last: bool) -> tuple[sp.Expr, list[sp.Expr]]:
    """The maximum of e and the 0/1 flags of its first (`last`: last) maximum; Max and Heaviside when undecided."""
    m = 0
    for t in range(1, len(e)):
        beats = _greater(e[m], e[t]) if last else _greater(e[t], e[m])
        if beats is None:
            break
        if beats != last:  # first: e[t] > e[m]; last: not e[m] > e[t]
            m = t
    else:
        return e[m], [sp.S.One if t == m else sp.S.Zero for t in range(len(e))]
    flags = []  # e_t beats those before it (strictly, for the first maximum) and ties or beats those after it
    for t in range(len(e)):
        before = [sp.Heaviside(e[t] - e[s], 1 if last else 0) for s in range(t)]
        after = [sp.Heaviside(e[t] - e[s], 0 if last else 1) for s in range(t + 1, len(e))]
        flags.append(sp.Mul(*before, *after))
    return sp.Max(*e), flags


def softmax_column(z: list[sp.Expr], base: sp.Expr) -> list[sp.Expr]:
    """Softmax of one column; with numbers, shifted by the smallest so every exponent is ≥ 0."""
    shift = min(z) if all(v.is_Rational for v in z) else 0
    e = [exp_power(base, v - shift) for v in z]
    total = sp.Add(*e)
    return [v / total for v in e]


def round_value(v: sp.Expr, decimals: int) -> sp.Expr:
    """v rounded to `decimals` places, halves away from zero (exactly, also for e-values: by interval arithmetic,
    not SymPy's floor, which raises its precision level by level over nested exponentials); symbols stay."""
    if v.free_symbols:
        return v
    try:
        return intervals.round_half_away(v, decimals)
    except intervals.Undecided:  # too close to a rounding boundary for the enclosures: SymPy's exact floor decides
        pass
    scale = sp.Integer(10) ** decimals
    n = sp.floor(abs(v) * scale + sp.Rational(1, 2))
    return (-n if v.is_negative else n) / scale


SYMPY = SympyAlgebra()
