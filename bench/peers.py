"""The same exact pass written by hand in each library (python-flint, SymPy, numpy, torch): the bench's peers."""

from __future__ import annotations

import random
from fractions import Fraction

import sympy as sp
from flint import fmpq, fmpq_mat
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix

WIDTHS = [16, 32, 32, 32, 10]
BATCH = 8


# ---------------------------------------------------------------- the network


def network(widths: list[int], batch: int, seed: int = 1, out: str = "identity", loss: str = "squared_error",
            small: bool = False, hidden: str = "relu", whole: float = 0.0) -> dict:
    """A spec dict: rational weights k/d (|k| ≤ 9, d in 1, 2, 4, 5, 10; small: d in 20, 40, 50, 100), ReLU hidden.

    whole > 0: weights, biases and inputs in −1, 0, 1, nonzero with that probability, so that every Z is whole
    (and base^Z rational); the larger, the wider Z spreads."""
    rng = random.Random(seed)
    dens = [20, 40, 50, 100] if small else [1, 2, 4, 5, 10]

    def q() -> str:
        if whole:
            return str(rng.choice([-1, 1]) if rng.random() < whole else 0)
        return str(Fraction(rng.randint(-9, 9), rng.choice(dens)))

    layers = [{"W": [[q() for _ in range(widths[k])] for _ in range(widths[k + 1])],
               "b": [q() for _ in range(widths[k + 1])],
               "activation": hidden if k < len(widths) - 2 else out} for k in range(len(widths) - 1)]
    for l in layers:
        if l["activation"] == "leaky_relu":
            l["alpha"] = "1/10"
        if l["activation"] == "softmax" and whole:
            l["exp_base"] = 2  # else e
    n = widths[-1]
    if loss == "cross_entropy":
        hot = [rng.randrange(n) for _ in range(batch)]
        Y = [[1 if hot[j] == i else 0 for j in range(batch)] for i in range(n)]
    else:
        Y = [[q() for _ in range(batch)] for _ in range(n)]
    return {"X": [[q() for _ in range(batch)] for _ in range(widths[0])], "layers": layers,
            "loss": {"kind": loss, "Y": Y, "reduction": "mean"}}


# ---------------------------------------------------------------- the same pass, written by hand in each library


def raw_flint(Ws: list, bs: list, X: fmpq_mat, Y: fmpq_mat) -> list:
    """Forward (ReLU, linear output), ½‖Ŷ−Y‖²/N, backward: [(dW, db)] from the last layer down."""
    N = X.ncols()
    ones_row, ones_col = fmpq_mat(1, N, [1] * N), fmpq_mat(N, 1, [1] * N)
    A, As, Zs = X, [X], []
    last = len(Ws) - 1
    for k, (W, b) in enumerate(zip(Ws, bs)):
        Z = W * A + b * ones_row
        A = fmpq_mat(Z.nrows(), N, [z if z > 0 else 0 for z in Z.entries()]) if k < last else Z
        Zs.append(Z)
        As.append(A)
    dA = (A - Y) / N
    grads = []
    for k in range(last, -1, -1):
        dZ = dA if k == last else fmpq_mat(dA.nrows(), N,
                                           [g if z > 0 else 0 for g, z in zip(dA.entries(), Zs[k].entries())])
        grads.append((dZ * As[k].transpose(), dZ * ones_col))
        if k:
            dA = Ws[k].transpose() * dZ
    return grads


def raw_flint_variant(Ws: list, bs: list, X: fmpq_mat, Y: fmpq_mat, hidden: str, out: str, loss: str) -> list:
    """The pass by hand for the other rational cases: hidden ReLU, leaky ReLU (α = 1/10) or identity; output
    identity or a base-2 softmax (whole Z); squared error, mse, or cross-entropy fused with the softmax."""
    N, n = X.ncols(), Y.nrows()
    ones_row, ones_col = fmpq_mat(1, N, [1] * N), fmpq_mat(N, 1, [1] * N)
    slope = {"relu": fmpq(0), "leaky_relu": fmpq(1, 10), "identity": fmpq(1)}[hidden]
    A, As, Zs = X, [X], []
    last = len(Ws) - 1
    for k, (W, b) in enumerate(zip(Ws, bs)):
        Z = W * A + b * ones_row
        if k < last:
            A = fmpq_mat(Z.nrows(), N, [z if z > 0 else slope * z for z in Z.entries()])
        elif out == "softmax":  # 2^(z − min z) / Σ, column by column
            cols = []
            for j in range(N):
                col = [Z[i, j] for i in range(n)]
                e = [fmpq(2) ** int(z - min(col)) for z in col]
                total = sum(e, fmpq(0))
                cols.append([x / total for x in e])
            A = fmpq_mat(n, N, [cols[j][i] for i in range(n) for j in range(N)])
        else:
            A = Z
        Zs.append(Z)
        As.append(A)
    # squared error; cross-entropy: (Ŷ − Y)/N, Y one-hot
    dA = (A - Y) * fmpq(2, n * N) if loss == "mse" else (A - Y) / N
    grads = []
    for k in range(last, -1, -1):
        if k < last:
            dZ = fmpq_mat(dA.nrows(), N, [g if z > 0 else slope * g for g, z in zip(dA.entries(), Zs[k].entries())])
        elif out == "softmax" and loss != "cross_entropy":  # through softmax's Jacobian: s ⊙ (g − sᵀg) per column
            sg = [sum((A[i, j] * dA[i, j] for i in range(n)), fmpq(0)) for j in range(N)]
            dZ = fmpq_mat(n, N, [A[i, j] * (dA[i, j] - sg[j]) for i in range(n) for j in range(N)])
        else:
            dZ = dA
        grads.append((dZ * As[k].transpose(), dZ * ones_col))
        if k:
            dA = Ws[k].transpose() * dZ
    return grads


def sympy_matrix_variant(Ws: list, bs: list, X: sp.Matrix, Y: sp.Matrix, hidden: str, out: str, loss: str) -> list:
    """`raw_flint_variant` on sympy.Matrix of Rationals."""
    N, n = X.cols, Y.rows
    slope = {"relu": sp.S.Zero, "leaky_relu": sp.Rational(1, 10), "identity": sp.S.One}[hidden]
    A, As, Zs = X, [X], []
    last = len(Ws) - 1
    for k, (W, b) in enumerate(zip(Ws, bs)):
        Z = W * A + b * sp.ones(1, N)
        if k < last:
            A = Z.applyfunc(lambda z: z if z > 0 else slope * z)
        elif out == "softmax":
            lows = [min(Z.col(j)) for j in range(N)]
            E = sp.Matrix(n, N, lambda i, j: sp.Integer(2) ** (Z[i, j] - lows[j]))
            sums = [sum(E.col(j)) for j in range(N)]
            A = sp.Matrix(n, N, lambda i, j: E[i, j] / sums[j])
        else:
            A = Z
        Zs.append(Z)
        As.append(A)
    dA = (A - Y) * sp.Rational(2, n * N) if loss == "mse" else (A - Y) / N
    grads = []
    for k in range(last, -1, -1):
        if k < last:
            dZ = dA.multiply_elementwise(Zs[k].applyfunc(lambda z: sp.S.One if z > 0 else slope))
        elif out == "softmax" and loss != "cross_entropy":
            sg = [(A.col(j).T * dA.col(j))[0, 0] for j in range(N)]
            dZ = sp.Matrix(n, N, lambda i, j: A[i, j] * (dA[i, j] - sg[j]))
        else:
            dZ = dA
        grads.append((dZ * As[k].T, dZ * sp.ones(N, 1)))
        if k:
            dA = Ws[k].T * dZ
    return grads


def domain_matrix(Ws: list, bs: list, X: DomainMatrix, Y: DomainMatrix) -> list:
    """The same pass on dense SymPy DomainMatrix over QQ (flint-backed DFM when SymPy's ground types are flint)."""
    N = X.shape[1]
    ones_row = DomainMatrix.ones((1, N), QQ).to_dense()
    ones_col = DomainMatrix.ones((N, 1), QQ).to_dense()
    zero = QQ(0)
    A, As, Zs = X, [X], []
    last = len(Ws) - 1
    for k, (W, b) in enumerate(zip(Ws, bs)):
        Z = W * A + b * ones_row
        if k < last:
            A = DomainMatrix.from_list_flat([z if z > 0 else zero for z in Z.to_list_flat()], Z.shape, QQ).to_dense()
        else:
            A = Z
        Zs.append(Z)
        As.append(A)
    dA = (A - Y) * QQ(1, N)
    grads = []
    for k in range(last, -1, -1):
        if k == last:
            dZ = dA
        else:
            kept = [g if z > 0 else zero for g, z in zip(dA.to_list_flat(), Zs[k].to_list_flat())]
            dZ = DomainMatrix.from_list_flat(kept, dA.shape, QQ).to_dense()
        grads.append((dZ * As[k].transpose(), dZ * ones_col))
        if k:
            dA = Ws[k].transpose() * dZ
    return grads


def sympy_matrix(Ws: list, bs: list, X: sp.Matrix, Y: sp.Matrix) -> list:
    """The same pass on sympy.Matrix of Rationals."""
    N = X.cols
    A, As, Zs = X, [X], []
    last = len(Ws) - 1
    for k, (W, b) in enumerate(zip(Ws, bs)):
        Z = W * A + b * sp.ones(1, N)
        A = Z.applyfunc(lambda z: z if z > 0 else sp.S.Zero) if k < last else Z
        Zs.append(Z)
        As.append(A)
    dA = (A - Y) / N
    grads = []
    for k in range(last, -1, -1):
        dZ = dA if k == last else dA.multiply_elementwise(Zs[k].applyfunc(lambda z: sp.S.One if z > 0 else sp.S.Zero))
        grads.append((dZ * As[k].T, dZ * sp.ones(N, 1)))
        if k:
            dA = Ws[k].T * dZ
    return grads


def sympy_softmax(Ws: list, bs: list, X: sp.Matrix, Y: sp.Matrix) -> list:
    """sympy.Matrix with exp kept symbolic: softmax output, cross-entropy, ∂L/∂Z = (Ŷ − Y)/N, chain rule down."""
    N = X.cols
    A, As, Zs = X, [X], []
    last = len(Ws) - 1
    for k, (W, b) in enumerate(zip(Ws, bs)):
        Z = W * A + b * sp.ones(1, N)
        if k < last:
            A = Z.applyfunc(lambda z: z if z > 0 else sp.S.Zero)
        else:
            E = Z.applyfunc(sp.exp)
            sums = [sum(E.col(j)) for j in range(N)]
            A = sp.Matrix(Z.rows, N, lambda i, j: E[i, j] / sums[j])
        Zs.append(Z)
        As.append(A)
    dZ = (A - Y) / N
    grads = []
    for k in range(last, -1, -1):
        grads.append((dZ * As[k].T, dZ * sp.ones(N, 1)))
        if k:
            dZ = (Ws[k].T * dZ).multiply_elementwise(Zs[k - 1].applyfunc(lambda z: sp.S.One if z > 0 else sp.S.Zero))
    return grads


def numpy_pass(np, Ws: list, bs: list, X, Y) -> list:
    N = X.shape[1]
    A, As, Zs = X, [X], []
    last = len(Ws) - 1
    for k, (W, b) in enumerate(zip(Ws, bs)):
        Z = W @ A + b
        A = np.maximum(Z, 0) if k < last else Z
        Zs.append(Z)
        As.append(A)
    dA = (A - Y) / N
    grads = []
    for k in range(last, -1, -1):
        dZ = dA if k == last else dA * (Zs[k] > 0)
        grads.append((dZ @ As[k].T, dZ.sum(axis=1, keepdims=True)))
        if k:
            dA = Ws[k].T @ dZ
    return grads


def torch_pass(torch, Ws: list, bs: list, X, Y, softmax: bool = False) -> list:
    params = [w.clone().requires_grad_(True) for w in Ws] + [b.clone().requires_grad_(True) for b in bs]
    W, B = params[:len(Ws)], params[len(Ws):]
    A = X
    for k in range(len(W)):
        Z = W[k] @ A + B[k]
        A = torch.relu(Z) if k < len(W) - 1 else Z
    if softmax:
        loss = -(Y * torch.log_softmax(A, dim=0)).sum() / X.shape[1]
    else:
        loss = ((A - Y) ** 2).sum() / 2 / X.shape[1]
    loss.backward()
    return [(W[k].grad, B[k].grad) for k in range(len(W) - 1, -1, -1)]


def sympy_forward_loss(ex) -> sp.Expr:
    """L by plain SymPy matrices: Z = W·A + b·1ᵀ, the same activations and loss as symnet's ops (`symnet.ops`, run on
    the SymPy algebra)."""
    from symnet.algebra.sympy import SYMPY
    from symnet.ops import loss

    A = sp.ImmutableMatrix(ex.X)
    for l in ex.layers:
        A = l.function.value(SYMPY, l, sp.ImmutableMatrix(l.W * A + l.b * sp.ones(1, A.cols)))  # (n×m)·(m×N) + (n×1)·1ᵀ
    c = sp.Rational(1, A.cols) if ex.loss.reduction == "mean" else sp.S.One
    return loss.value(SYMPY, ex.loss.kind, A, ex.loss.Y, c)
