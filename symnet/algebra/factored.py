"""Softmax with e kept factored: each gradient entry a rational combination of the atoms e^z/Σe^z."""

from __future__ import annotations

from typing import Any

import sympy as sp
from flint import fmpq, fmpq_mat, fmpz, fmpz_mat

from .rationals import ONE, ZERO, columns, from_flint, max_bits, ones, rational

# ---------------------------------------------------------------- softmax with e: atoms and factored gradients


class Atoms:
    """Ŷ = softmax_e(Z): the atoms s_ik = e^{z_ik}/Σ_j e^{z_jk}, kept as SymPy expressions (made when read)."""

    def __init__(self, Z: fmpq_mat) -> None:
        self.Z = Z
        self.rows, self.cols = Z.nrows(), Z.ncols()
        self._value: sp.ImmutableMatrix | None = None

    def sympy(self) -> sp.ImmutableMatrix:
        """The softmax exactly as the SymPy algebra writes it."""
        if self._value is None:
            from .sympy import SYMPY

            self._value = SYMPY.softmax(from_flint(self.Z), sp.E)
        return self._value

    def atom(self, i: int, k: int) -> sp.Expr:
        """s_ik, the softmax of output i in column k."""
        return self.sympy()[i, k]

    @property
    def atom_nodes(self) -> int:
        """At most this many nodes in one atom as SymPy writes it: Mul(exp(a), Pow(Add(n exps), −1))."""
        return 6 + 2 * self.rows

    def nodes(self) -> tuple[int, int]:
        """(most nodes in one entry, in all entries) as SymPy will write them, at most."""
        return self.atom_nodes, self.atom_nodes * self.rows * self.cols


class Factored:
    """A matrix `const + scale·Σ coef·atom`: every entry a rational linear combination of softmax atoms.

    `layout` says how `coef` holds the coefficient of atom (i, k) for entry (j, m):
      "cols"   coef is a list over k of r × n matrices J_k: entry (j, k) gets J_k[j, i] (∂L/∂Z, ∂L/∂A: column k
               meets only the atoms of column k)
      "sum"    the same J_k: entry (j, 0) gets J_k[j, i] (∂L/∂b: the columns summed)
      "outer"  coef is (J, A): entry (j, m) gets J_k[j, i]·A[m, k] (∂L/∂W = ∂L/∂Z·Aᵀ); `blocks()` multiplies
               these out, per k an integer (n·r) × c matrix over a denominator, once, when first needed
    """

    def __init__(self, const: fmpq_mat, layout: str, coef: Any, atoms: Atoms, scale: fmpq = ONE) -> None:
        self.const, self.layout, self.coef, self.atoms, self.scale = const, layout, coef, atoms, scale
        self._value: sp.ImmutableMatrix | None = None
        self._blocks: list[tuple[fmpz_mat, fmpz]] | None = None

    def terms(self, j: int, m: int) -> list[tuple[fmpq, int, int]]:
        """The nonzero (coefficient, i, k) of entry (j, m), before `scale`."""
        n = self.atoms.rows
        if self.layout == "cols":
            J = self.coef[m]
            return [(J[j, i], i, m) for i in range(n) if J[j, i] != 0]
        if self.layout == "sum":
            return [(J[j, i], i, k) for k, J in enumerate(self.coef) for i in range(n) if J[j, i] != 0]
        r = self.const.nrows()
        return [(fmpq(c[i * r + j, m], d), i, k) for k, (c, d) in enumerate(self.blocks()) for i in range(n)
                if c[i * r + j, m] != 0]

    def blocks(self) -> list[tuple[fmpz_mat, fmpz]]:
        """The multiplied-out coefficients of an "outer" (∂L/∂W-shaped) combination (`outer_blocks`)."""
        if self._blocks is None:
            Js, A_in = self.coef
            self._blocks = outer_blocks(Js, A_in, self.atoms.rows)
        return self._blocks

    def sympy(self) -> sp.ImmutableMatrix:
        """Every entry as SymPy's sum of a rational and rational multiples of atoms."""
        if self._value is None:
            s = rational(self.scale)
            rows, cols = self.const.nrows(), self.const.ncols()
            entries = [sp.Add(rational(self.const[j, m]),
                              *[s * rational(c) * self.atoms.atom(i, k) for c, i, k in self.terms(j, m)])
                       for j in range(rows) for m in range(cols)]
            self._value = sp.ImmutableMatrix(rows, cols, entries)
        return self._value

    def nodes(self, counted: bool = False) -> tuple[int, int]:
        """(most nodes in one entry, in all entries) as SymPy will write them, at most, without writing them.

        An entry is Add(const, Mul(coefficient, atom), …): 2 + (atom + 2) per term. Without `counted`, every entry is
        taken to hold every atom it may (free); with it, the terms are counted (a pass over the coefficients)."""
        per = self.atoms.atom_nodes + 2
        rows, cols, n, N = self.const.nrows(), self.const.ncols(), self.atoms.rows, self.atoms.cols
        if not counted:
            top = 2 + per * (n if self.layout == "cols" else n * N)
            return top, top * rows * cols
        Js = self.coef[0] if self.layout == "outer" else self.coef
        nz = [[sum(J[j, i] != 0 for i in range(n)) for j in range(rows)] for J in Js]  # nz[k][j]: terms of column k
        if self.layout == "cols":
            terms = [nz[m][j] for j in range(rows) for m in range(cols)]
        elif self.layout == "sum":
            terms = [sum(nz[k][j] for k in range(N)) for j in range(rows)]
        else:
            A = self.coef[1]
            terms = [sum(nz[k][j] for k in range(N) if A[m, k] != 0) for j in range(rows) for m in range(cols)]
        sizes = [2 + per * t for t in terms]
        return max(sizes, default=0), sum(sizes)

    def bits(self) -> int:
        """Bits of the largest rational number in the combination (for ∂L/∂W-shaped ones, at most this)."""
        if self.layout != "outer":
            return max([max_bits(self.const)] + [max_bits(J * self.scale) for J in self.coef])
        s = self.scale
        top = max((max(abs(x).bit_length() for x in c.entries()) + s.p.bit_length() for c, _ in self.blocks()),
                  default=0)
        return max([max_bits(self.const), top] + [(d * s.q).bit_length() for _, d in self.blocks()])


def fused_atoms(Yhat: Atoms, Y: fmpq_mat, c: fmpq) -> Factored:
    """∂L/∂Z = c·(Ŷ·Σy − Y) with Ŷ's atoms: the coefficient of s_ik in entry (i, k) is c·Σ_j y_jk."""
    n, N = Yhat.rows, Yhat.cols
    sums = [sum(col, ZERO) for col in columns(Y)]
    coef = []
    for k in range(N):
        J = fmpq_mat(n, n)
        for i in range(n):
            J[i, i] = c * sums[k]
        coef.append(J)
    return Factored(-c * Y, "cols", coef, Yhat)


def matmul_left(W: fmpq_mat, F: Factored) -> Factored:
    """Wᵀ-style products M·F for F in "cols" layout (∂L/∂A = Wᵀ·∂L/∂Z)."""
    return Factored(W * F.const, "cols", [W * J for J in F.coef], F.atoms)  # (m×r)·(r×N), N × (m×r)·(r×n)


def mask(F: Factored, D: fmpq_mat, const: fmpq_mat) -> Factored:
    """F ⊙ D for F in "cols" layout: column k of D scales every atom block of column k (`const`: F.const ⊙ D)."""
    m = D.nrows()
    coef = []
    for J, col in zip(F.coef, columns(D)):  # diag(D[:, k])·J_k: (m×m)·(m×n)
        diag = fmpq_mat(m, m)
        for j, x in enumerate(col):
            if x:
                diag[j, j] = x
        coef.append(diag * J)
    return Factored(const, "cols", coef, F.atoms)


def grad_w(F: Factored, A_in: fmpq_mat) -> Factored:
    """∂L/∂W = ∂L/∂Z·Aᵀ: the coefficient of s_ik in entry (j, m) is J[j, k·n + i]·A[m, k] (outer products)."""
    return Factored(F.const * A_in.transpose(), "outer", (F.coef, A_in), F.atoms)  # (r×N)·(N×m)


def outer_blocks(Js: list[fmpq_mat], A_in: fmpq_mat, n: int) -> list[tuple[fmpz_mat, fmpz]]:
    """Per batch column k, the integer outer product vec(J_k)·a_kᵀ over a common denominator (no gcd per entry)."""
    a = columns(A_in)
    blocks = []
    for k, J in enumerate(Js):
        t = J.transpose().entries()  # (i, j) order: the r coefficients of atom i, one after another
        u, du = fmpq_mat(len(t), 1, t).numer_denom()
        v, dv = fmpq_mat(1, A_in.nrows(), a[k]).numer_denom()
        blocks.append((u * v, du * dv))  # (n·r×1)·(1×m)
    return blocks


def grad_b(F: Factored) -> Factored:
    """∂L/∂b = ∂L/∂Z·1: the columns' coefficients summed."""
    N = F.atoms.cols
    return Factored(F.const * ones(N, 1), "sum", F.coef, F.atoms)  # (n×N)·(N×1)


def update(W: fmpq_mat, F: Factored, step: fmpq) -> Factored:
    """W − step·F (sharing F's coefficients, scaled by −step)."""
    out = Factored(W - F.const * step, F.layout, F.coef, F.atoms, -step * F.scale)
    out._blocks = F._blocks
    return out
