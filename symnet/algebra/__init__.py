"""The matrix algebra every op computes with: `SympyAlgebra` (any value) and `FlintAlgebra` (rationals, fast).

An op calls only the algebra it is handed (`xp.matmul`, `xp.hadamard`, `xp.relu`, …), so the same op code runs on
both. `FlintAlgebra` raises `Fallback` when a value leaves what it can hold exactly; the run then restarts on
`SympyAlgebra`, which computes the same steps with SymPy values.

The operations (matrices are the algebra's own values; `c` a scalar; every product shape noted where it is used):

  value(v), sympy(v)                 a SymPy value into the algebra and back
  shape(a), zeros(r, c), ones(r, c)  shapes and constant matrices
  matmul(a, b), linear(W, A, b)      a·b; W·A + b·1ᵀ (b None: W·A)
  add, sub, hadamard, divide(a, b)   entry by entry
  neg(a), scale(c, a), transpose(a), square(a), reciprocal(a)
  col_sums(a)                        a·1 (one column), col_totals(a): 1ᵀ·a (one row, each column's sum)
  total(a)                           the sum of all entries (a scalar)
  broadcast_row(r, n)                1·r (n equal rows), scale_columns(a, r): a·diag(r)
  col_dots(a, b)                     1ᵀ·(a ⊙ b): each column's aᵀb
  power(base, a), tanh(a)            base^a (base e: exp) entry by entry
  relu(a, slope), step(a, slope)     piecewise linear: a or slope·a; its derivative 1 or slope, by the sign of a
  masked(g, z, slope, d)             g ⊙ step(z, slope) (d: that step, as computed)
  softmax(a, base)                   each column's base^a over its sum
  xlogy(y, p), ydivp(y, p)           y·log p and y/p, 0 where y = 0
  round(a, places), bits(a)          rounding halves away from zero; the bits of the largest numerator/denominator
  deferred(f, *args, nodes)          f(algebra, *args), left for SymPy to make when read if it is not rational here
"""

from __future__ import annotations


class Fallback(Exception):
    """A value leaves what the fast algebra holds exactly (or a mistake it cannot make): solve with SymPy."""
