"""The engine: forward pass, loss, backward pass by the chain rule, and gradient descent, recorded step by step."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import sympy as sp

from .bounds import DEFAULT, Bounds, check_entries, check_nodes, check_powers
from .errors import BoundError, SpecError
from .exercise import Exercise, Layer, Value
from .ops import activate, derivative, fused, fused_grad, loss_grad, loss_value, softmax_backward
from .record import Solution, Step

M = sp.ImmutableMatrix


@dataclass(frozen=True)
class Rules:
    """The rules of the computation; the checker flips one at a time to reproduce a classic mistake."""

    bias: bool = True  # False: Z = W·A (missing_bias)
    activation: bool = True  # False: A = Z (missing_activation)
    mask: bool = True  # False: ∂L/∂Z = ∂L/∂A (unmasked_gradient)
    learning_rate: bool = True  # False: W' = W − ∂L/∂W (no_learning_rate)
    descent: int = 1  # −1: W' = W + η·∂L/∂W (wrong_update_direction)
    batch_mean: bool = True  # False: a "mean" loss summed over the batch instead
    batch_sum: bool = True  # False: a "sum" loss averaged over the batch instead
    mask_from_z: bool = True  # False: the ReLU mask taken from ∂L/∂A's signs, ∂L/∂Z = ReLU(∂L/∂A) (relu_on_gradient)


class _Recorder:
    """Collects steps; a quantity named in `given` replaces the computed one downstream (carried errors)."""

    def __init__(self, given: Mapping[str, Value], bounds: Bounds = DEFAULT, source: str | None = None) -> None:
        self.bounds, self.source = bounds, source
        self.steps: list[Step] = []
        self.given = given
        self.epoch = 1
        self.bits: list[int] = []  # per gradient-descent step, the largest updated weight's bits

    def __call__(self, kind: str, name: str, value: Value, layer: int | None = None, **operands: Value) -> Value:
        check_nodes(name, value, self.bounds, self.source)
        ops = tuple((k.replace("_", "/"), v) for k, v in operands.items())
        self.steps.append(Step(kind, name, value, layer, self.epoch, ops))
        if self.epoch == 1 and name in self.given:
            return self.given[name]
        return value


def solve(exercise: Exercise, rules: Rules = Rules(), given: Mapping[str, Value] | None = None,
          bounds: Bounds = DEFAULT, backend: str = "auto") -> Solution:
    """Every quantity of the exercise, exactly, as a `Solution` over the recorded steps.

    backend "auto" takes the fast flint path when every value stays rational (else SymPy); "sympy" forces SymPy.
    Without `bounds`, the exercise's own (those it was read with) apply."""
    bounds = exercise.bounds if bounds is DEFAULT else bounds
    check_entries(exercise, bounds)
    if exercise.kind == "network" and backend != "sympy":
        from . import fast  # the exact flint path; it gives way (Fallback) when a value leaves the rationals

        try:
            return fast.solve(exercise, rules, given or {}, bounds)  # beyond a bound it falls back, and SymPy refuses
        except fast.Fallback:
            fast.TAKEN["sympy"] += 1
    rec = _Recorder(given or {}, bounds, exercise.source)
    if exercise.kind == "matmul":
        A, B = rec("given", "A", exercise.A), rec("given", "B", exercise.B)
        rec("matmul", "C", M(A * B), A=A, B=B)  # (n×m)·(m×p) → (n×p)
        return Solution(exercise, tuple(rec.steps))
    layers = exercise.layers
    for epoch in range(1, (exercise.train.steps if exercise.train else 1) + 1):
        rec.epoch = epoch
        layers = _epoch(exercise, layers, rec, rules, bounds)
    if exercise.count_parameters:
        rec.epoch = 1
        rec("parameters", "parameters", sp.Integer(exercise.parameters))
    return Solution(exercise, tuple(rec.steps), backend="sympy", bits=tuple(rec.bits))


def _epoch(ex: Exercise, layers: tuple[Layer, ...], rec: _Recorder, rules: Rules, bounds: Bounds) -> tuple[Layer, ...]:
    """One forward pass, and with a loss one backward pass and one update; returns the updated layers."""
    A = rec("given", "X", ex.X)
    As, Zs = [A], []
    for k, l in enumerate(layers, 1):
        W, b = l.W, (l.b if rules.bias else sp.zeros(*l.b.shape))
        Z = rec("linear", f"Z{k}", M(W * A + b * sp.ones(1, A.cols)), k, W=W, A=A, b=l.b)  # (n×m)·(m×N) + (n×1)·(1×N)
        if l.activation in ("sigmoid", "tanh", "softmax") and rules.activation:  # e^z, 3^z: refuse a runaway
            check_powers(Z, l.exp_base, bounds, ex.source, f"layers[{k}]")
        A = rec("activation", f"A{k}", activate(Z, l) if rules.activation else Z, k, Z=Z)
        Zs.append(Z)
        As.append(A)
    if ex.loss is None:
        return layers
    loss, L = ex.loss, len(layers)
    if rules.batch_mean is False and loss.reduction == "mean":
        loss = replace(loss, reduction="sum")
    if rules.batch_sum is False and loss.reduction == "sum":
        loss = replace(loss, reduction="mean")
    Yhat = As[-1]
    if loss.predictions is not None and rec.epoch == 1:
        Yhat = rec("approx", "Yhat", loss.predictions, L, **{f"A{L}": As[-1]})
    rec("given", "Y", loss.Y)
    _check_logs(ex, Yhat)
    rec("loss", "L", loss_value(loss, Yhat), L, Yhat=Yhat, Y=loss.Y)
    out = layers[-1]
    dA = rec("grad_output", f"dL/dA{L}", loss_grad(loss, Yhat), L, Yhat=Yhat, Y=loss.Y) if not fused(loss, out) else None
    grads: list[tuple[M, M]] = []
    for k in range(L, 0, -1):
        l, Z, A_out, A_in = layers[k - 1], Zs[k - 1], As[k], As[k - 1]
        if k == L and fused(loss, l):
            dZ = rec("grad_fused", f"dL/dZ{k}", fused_grad(loss, Yhat), k, Yhat=Yhat, Y=loss.Y)
        elif l.activation == "softmax":
            dZ = rec("grad_z", f"dL/dZ{k}", softmax_backward(A_out, dA) if rules.mask else dA, k, **{f"dL_dA{k}": dA, f"A{k}": A_out})
        else:
            D = rec("derivative", f"dA{k}/dZ{k}", derivative(Z if rules.mask_from_z else dA, A_out, l), k, **{f"Z{k}": Z})
            dZ = rec("grad_z", f"dL/dZ{k}", M(dA.multiply_elementwise(D)) if rules.mask else dA, k,
                     **{f"dL_dA{k}": dA, f"dA{k}_dZ{k}": D})  # (n×N) ⊙ (n×N)
        dW = rec("grad_w", f"dL/dW{k}", M(dZ * A_in.T), k, **{f"dL_dZ{k}": dZ, f"A{k - 1}": A_in})  # (n×N)·(N×m)
        db = rec("grad_b", f"dL/db{k}", M(dZ * sp.ones(dZ.cols, 1)), k, **{f"dL_dZ{k}": dZ})  # (n×N)·(N×1)
        grads.append((dW, db))
        if k > 1:
            dA = rec("grad_a", f"dL/dA{k - 1}", M(l.W.T * dZ), k, **{f"W{k}": l.W, f"dL_dZ{k}": dZ})  # (m×n)·(n×N)
    if ex.train is None:
        return layers
    eta = ex.train.learning_rate if rules.learning_rate else sp.S.One
    new, top, decimals = [], 0, getattr(ex.train, "round", None)
    for k, (l, (dW, db)) in enumerate(zip(layers, reversed(grads)), 1):
        W2 = rec("update", f"W{k}'", M(l.W - rules.descent * eta * dW), k, **{f"W{k}": l.W, f"dL_dW{k}": dW, "eta": eta})
        b2 = l.b  # a layer given without b has no bias to train: it stays 0
        if l.has_bias:
            b2 = rec("update", f"b{k}'", M(l.b - rules.descent * eta * db), k, **{f"b{k}": l.b, f"dL_db{k}": db, "eta": eta})
        top = max(top, _check_bits(W2, b2, k, bounds, rec.epoch))
        if decimals is not None:  # a labelled approximation: the next step starts from the rounded weights
            d = sp.Integer(decimals)
            W2 = rec("round", f"W{k}'≈", round_matrix(W2, decimals), k, **{f"W{k}'": W2, "decimals": d})
            if l.has_bias:
                b2 = rec("round", f"b{k}'≈", round_matrix(b2, decimals), k, **{f"b{k}'": b2, "decimals": d})
        new.append(replace(l, W=W2, b=b2))
    rec.bits.append(top)
    return tuple(new)


def round_value(v: sp.Expr, decimals: int) -> sp.Expr:
    """v rounded to `decimals` places, halves away from zero (exactly, also for e-values); symbols stay."""
    if v.free_symbols:
        return v
    scale = sp.Integer(10) ** decimals
    n = sp.floor(abs(v) * scale + sp.Rational(1, 2))
    return (-n if v.is_negative else n) / scale


def round_matrix(m: M, decimals: int) -> M:
    """Every entry of m rounded to `decimals` places (`round_value`)."""
    return M(m.rows, m.cols, [round_value(v, decimals) for v in m])


def _check_logs(ex: Exercise, Yhat: M) -> None:
    """Refuse a loss that takes the log of a non-positive number (infinite or complex)."""
    loss = ex.loss
    if loss.kind not in ("cross_entropy", "bce"):
        return
    for (i, j), p in zip(((i, j) for i in range(Yhat.rows) for j in range(Yhat.cols)), Yhat):
        y = loss.Y[i, j]
        bad = (y != 0 and p.is_nonpositive) or (loss.kind == "bce" and y != 1 and (1 - p).is_nonpositive)
        if bad:
            field = "loss.predictions" if loss.predictions is not None else "loss.Y"
            raise SpecError(f"{loss.kind} takes log of {p if y != 0 and p.is_nonpositive else 1 - p} at ({i + 1}, {j + 1}): "
                            "the loss is not finite", source=ex.source, field=field)


def _check_bits(W: M, b: M, k: int, bounds: Bounds, epoch: int = 1) -> int:
    """The bits of the largest rational updated weight (numerator or denominator); refused beyond the bound."""
    size = max((max(abs(v.p).bit_length(), v.q.bit_length()) for v in list(W) + list(b) if v.is_Rational), default=0)
    if size > bounds.result_bits:
        refuse_bits(k, size, bounds, epoch)
    return size


def refuse_bits(k: int, size: int, bounds: Bounds, epoch: int) -> None:
    """Refuse a training run whose exact weights outgrow `bounds.result_bits`."""
    raise BoundError(f"gradient-descent step {epoch}: an updated weight of layer {k} needs {size} bits, more than "
                     f"{bounds.result_bits} (bound: result_bits); use fewer steps or round the weights "
                     "([train] round = 4)", field="train.steps")
