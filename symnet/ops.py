"""Activations and losses: each defines its value and its local derivative side by side."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from .exercise import Layer, Loss

M = sp.ImmutableMatrix


def _positive(z: sp.Expr) -> bool | None:
    """True/False when the sign of z is decided (exactly), None when z is symbolic."""
    if z.is_Rational:
        return bool(z > 0)
    if z.free_symbols:
        return None
    return bool(z.is_positive)


def _power(base: sp.Expr, z: sp.Expr) -> sp.Expr:
    return sp.exp(z) if base == sp.E else base**z


# ---------------------------------------------------------------- elementwise activations
# value(z, layer) -> a;  derivative(z, a, layer) -> ∂a/∂z


def _relu(z: sp.Expr, l: Layer) -> sp.Expr:
    pos = _positive(z)
    return sp.Max(0, z) if pos is None else (z if pos else sp.S.Zero)


def _relu_d(z: sp.Expr, a: sp.Expr, l: Layer) -> sp.Expr:
    pos = _positive(z)
    return sp.Heaviside(z, 0) if pos is None else sp.S.One if pos else sp.S.Zero  # 0 at 0, by convention


def _leaky(z: sp.Expr, l: Layer) -> sp.Expr:
    pos = _positive(z)
    return sp.Piecewise((z, z > 0), (l.alpha * z, True)) if pos is None else (z if pos else l.alpha * z)


def _leaky_d(z: sp.Expr, a: sp.Expr, l: Layer) -> sp.Expr:
    pos = _positive(z)
    return sp.Piecewise((1, z > 0), (l.alpha, True)) if pos is None else (sp.S.One if pos else l.alpha)


def _sigmoid(z: sp.Expr, l: Layer) -> sp.Expr:
    return 1 / (1 + _power(l.exp_base, -z))


def _tanh(z: sp.Expr, l: Layer) -> sp.Expr:
    if l.exp_base == sp.E:
        return sp.tanh(z)
    p, q = l.exp_base**z, l.exp_base ** (-z)
    return (p - q) / (p + q)


ELEMENTWISE: dict[str, tuple[Callable, Callable]] = {
    "identity": (lambda z, l: z, lambda z, a, l: sp.S.One),
    "relu": (_relu, _relu_d),
    "leaky_relu": (_leaky, _leaky_d),
    "sigmoid": (_sigmoid, lambda z, a, l: a * (1 - a)),  # σ(1−σ)
    "tanh": (_tanh, lambda z, a, l: 1 - a**2),  # 1 − tanh²
}


def softmax_column(z: list[sp.Expr], base: sp.Expr) -> list[sp.Expr]:
    """Softmax of one column; with numbers, shifted by the smallest so every exponent is ≥ 0."""
    shift = min(z) if all(v.is_Rational for v in z) else 0
    e = [_power(base, v - shift) for v in z]
    total = sp.Add(*e)
    return [v / total for v in e]


def activate(Z: M, layer: Layer) -> M:
    """A = f(Z), column by column for softmax, entry by entry otherwise."""
    if layer.activation == "softmax":
        cols = [softmax_column(list(Z.col(j)), layer.exp_base) for j in range(Z.cols)]
        return M(Z.rows, Z.cols, lambda i, j: cols[j][i])
    f = ELEMENTWISE[layer.activation][0]
    return M(Z.rows, Z.cols, lambda i, j: f(Z[i, j], layer))


def derivative(Z: M, A: M, layer: Layer) -> M | None:
    """∂A/∂Z entry by entry (the 0/1 mask for ReLU); None for softmax, whose Jacobian is not diagonal."""
    if layer.activation == "softmax":
        return None
    df = ELEMENTWISE[layer.activation][1]
    return M(Z.rows, Z.cols, lambda i, j: df(Z[i, j], A[i, j], layer))


def softmax_backward(A: M, dA: M) -> M:
    """∂L/∂Z for a softmax column: s ⊙ (g − sᵀg), the Jacobian s(δ − s) applied to g = ∂L/∂A."""
    out = []
    for j in range(A.cols):
        s, g = A.col(j), dA.col(j)
        sg = (s.T * g)[0, 0]  # (1×n)·(n×1)
        out.append([s[i] * (g[i] - sg) for i in range(A.rows)])
    return M(A.rows, A.cols, lambda i, j: out[j][i])


# ---------------------------------------------------------------- losses
# per-sample value and ∂ℓ/∂ŷ side by side; the batch reduction divides both by N for "mean"


def _xlogy(y: sp.Expr, p: sp.Expr) -> sp.Expr:
    """y·log(p), with 0·log(anything) = 0 as in cross-entropy's convention."""
    return sp.S.Zero if y == 0 else y * sp.log(p)


def _ydivp(y: sp.Expr, p: sp.Expr) -> sp.Expr:
    return sp.S.Zero if y == 0 else y / p


@dataclass(frozen=True)
class LossRule:
    """One loss: the per-sample value ℓ(ŷ, y) and ∂ℓ/∂ŷ, each over one column."""

    value: Callable[[list, list], sp.Expr]
    grad: Callable[[list, list], list]


LOSS_RULES = {
    # ℓ = −Σ y·log ŷ ;  ∂ℓ/∂ŷ = −y/ŷ
    "cross_entropy": LossRule(
        lambda p, y: -sp.Add(*[_xlogy(b, a) for a, b in zip(p, y)]),
        lambda p, y: [-_ydivp(b, a) for a, b in zip(p, y)],
    ),
    # ℓ = ½·Σ (ŷ − y)² ;  ∂ℓ/∂ŷ = ŷ − y
    "squared_error": LossRule(
        lambda p, y: sp.Rational(1, 2) * sp.Add(*[(a - b) ** 2 for a, b in zip(p, y)]),
        lambda p, y: [a - b for a, b in zip(p, y)],
    ),
    # ℓ = (1/n)·Σ (ŷ − y)² ;  ∂ℓ/∂ŷ = 2(ŷ − y)/n
    "mse": LossRule(
        lambda p, y: sp.Add(*[(a - b) ** 2 for a, b in zip(p, y)]) / len(p),
        lambda p, y: [2 * (a - b) / len(p) for a, b in zip(p, y)],
    ),
    # ℓ = −(1/n)·Σ [y·log ŷ + (1 − y)·log(1 − ŷ)] ;  ∂ℓ/∂ŷ = (ŷ − y)/(n·ŷ(1 − ŷ))
    "bce": LossRule(
        lambda p, y: -sp.Add(*[_xlogy(b, a) + _xlogy(1 - b, 1 - a) for a, b in zip(p, y)]) / len(p),
        lambda p, y: [(_ydivp(1 - b, 1 - a) - _ydivp(b, a)) / len(p) for a, b in zip(p, y)],
    ),
}


def _scale(loss: Loss, batch: int) -> sp.Rational:
    return sp.Rational(1, batch) if loss.reduction == "mean" else sp.S.One


def loss_value(loss: Loss, Yhat: M) -> sp.Expr:
    """L: the per-sample loss of each column, reduced over the batch."""
    rule = LOSS_RULES[loss.kind]
    total = sp.Add(*[rule.value(list(Yhat.col(j)), list(loss.Y.col(j))) for j in range(Yhat.cols)])
    return _scale(loss, Yhat.cols) * total


def loss_grad(loss: Loss, Yhat: M) -> M:
    """∂L/∂Ŷ, shaped like Ŷ."""
    rule = LOSS_RULES[loss.kind]
    c = _scale(loss, Yhat.cols)
    cols = [rule.grad(list(Yhat.col(j)), list(loss.Y.col(j))) for j in range(Yhat.cols)]
    return M(Yhat.rows, Yhat.cols, lambda i, j: c * cols[j][i])


def fused(loss: Loss, layer: Layer) -> bool:
    """True for softmax + cross-entropy and sigmoid + bce, whose ∂L/∂Z is taken in one step."""
    return (loss.kind, layer.activation) in (("cross_entropy", "softmax"), ("bce", "sigmoid"))


def fused_grad(loss: Loss, Yhat: M) -> M:
    """∂L/∂Z of the output: softmax + CE gives ŷ·Σy − y (Ŷ − Y for one-hot Y); sigmoid + bce gives (ŷ − y)/n."""
    c = _scale(loss, Yhat.cols)
    if loss.kind == "cross_entropy":
        sums = [sp.Add(*loss.Y.col(j)) for j in range(Yhat.cols)]
        return M(Yhat.rows, Yhat.cols, lambda i, j: c * (Yhat[i, j] * sums[j] - loss.Y[i, j]))
    return M(Yhat.rows, Yhat.cols, lambda i, j: c * (Yhat[i, j] - loss.Y[i, j]) / Yhat.rows)
