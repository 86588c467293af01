"""The losses: each one's value and gradient side by side, the fused pairs (softmax + cross-entropy, sigmoid + bce),
the batch reduction, and a worksheet's rounded predictions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import sympy as sp

from ..bounds import Bounds
from ..errors import SpecError
from ..held import Held, kept
from ..reader import choice, held_matrix, keys, shape_text, text
from . import Grad, Key, Mistake, Op

if TYPE_CHECKING:
    from ..engine import Run

KINDS = ("cross_entropy", "squared_error", "mse", "bce")
REDUCTIONS = ("mean", "sum")
TABLE_KEYS = ("kind", "Y", "reduction", "predictions")


@dataclass(frozen=True)
class Loss:
    """The loss that starts the backward pass, optionally from a worksheet's rounded predictions."""

    kind: str
    Y: Held[sp.ImmutableMatrix] = Held()  # (outputs × batch)
    reduction: str = "mean"
    predictions: Held[sp.ImmutableMatrix | None] = Held(None)  # a given, rounded Ŷ (outputs × batch)
    target: str | None = None  # the given quantity Y is (Y = "X": an autoencoder), else None


def parse(raw: object, shape: tuple[int, int], given: Mapping[str, Any], bounds: Bounds) -> Loss:
    """The [loss] table, for an output of `shape`; Y may name a given quantity (`given`: X)."""
    table = keys(raw, TABLE_KEYS, "loss", required=("kind", "Y"))
    kind = choice(table["kind"], KINDS, "loss.kind")
    target = None
    if isinstance(table["Y"], str) and table["Y"] in given:
        target = text(table["Y"], "loss.Y")
        Y = given[target]
    else:
        Y = held_matrix(table["Y"], "loss.Y", bounds, shape=shape)
    out = f"{shape[0]}×{shape[1]}"
    if Y.shape != shape:
        what = f"{target} is" if target else "Y is"
        raise SpecError(f"{what} {shape_text(Y)} but the output is {out}", field="loss.Y")
    reduction = choice(table.get("reduction", "mean"), REDUCTIONS, "loss.reduction")
    predictions = None
    if "predictions" in table:
        predictions = held_matrix(table["predictions"], "loss.predictions", bounds, shape=shape)
        if predictions.shape != shape:
            raise SpecError(f"predictions are {shape_text(predictions)} but the output is {out}",
                            field="loss.predictions")
    return Loss(kind=kind, Y=Y, reduction=reduction, predictions=predictions, target=target)


# ---------------------------------------------------------------- the values and gradients, per loss


def value(xp: Any, kind: str, P: Any, Y: Any, c: Any) -> Any:
    """L = c·Σ_j ℓ(ŷ_j, y_j) over the batch's columns, with the per-sample loss ℓ of `kind`."""
    n = xp.shape(P)[0]
    if kind == "cross_entropy":  # ℓ = −Σ y·log ŷ
        per = xp.scale(xp.scalar(-1), xp.col_totals(xp.xlogy(Y, P)))
    elif kind == "squared_error":  # ℓ = ½·Σ (ŷ − y)²
        per = xp.scale(xp.scalar(Fraction(1, 2)), xp.col_totals(xp.square(xp.sub(P, Y))))
    elif kind == "mse":  # ℓ = (1/n)·Σ (ŷ − y)²
        per = xp.scale(xp.scalar(Fraction(1, n)), xp.col_totals(xp.square(xp.sub(P, Y))))
    else:  # bce: ℓ = −(1/n)·Σ [y·log ŷ + (1 − y)·log(1 − ŷ)]
        one = xp.ones(*xp.shape(P))
        logs = xp.add(xp.xlogy(Y, P), xp.xlogy(xp.sub(one, Y), xp.sub(one, P)))
        per = xp.scale(xp.scalar(Fraction(1, n)), xp.scale(xp.scalar(-1), xp.col_totals(logs)))
    return xp.scale(c, xp.total(per))


def gradient(xp: Any, kind: str, P: Any, Y: Any, c: Any) -> Any:
    """∂L/∂Ŷ, shaped like Ŷ."""
    n = xp.shape(P)[0]
    if kind == "cross_entropy":  # −y/ŷ
        return xp.scale(c, xp.neg(xp.ydivp(Y, P)))
    if kind == "squared_error":  # ŷ − y
        return xp.scale(c, xp.sub(P, Y))
    if kind == "mse":  # 2(ŷ − y)/n
        return xp.scale(c, xp.scale(xp.scalar(Fraction(2, n)), xp.sub(P, Y)))
    one = xp.ones(*xp.shape(P))  # bce: ((1 − y)/(1 − ŷ) − y/ŷ)/n
    return xp.scale(c, xp.scale(xp.scalar(Fraction(1, n)), xp.sub(xp.ydivp(xp.sub(one, Y), xp.sub(one, P)),
                                                                     xp.ydivp(Y, P))))


def fused(kind: str, activation: Any) -> bool:
    """True for softmax + cross-entropy and sigmoid + bce, whose ∂L/∂Z is taken in one step."""
    return (activation is not None
            and (kind, activation.activation) in (("cross_entropy", "softmax"), ("bce", "sigmoid")))


def fused_gradient(xp: Any, kind: str, P: Any, Y: Any, c: Any, activation: Any) -> Any:
    """∂L/∂Z of the output: softmax + CE gives (ŷ·Σy − y)/T (Ŷ − Y for one-hot Y); sigmoid + bce (ŷ − y)/n."""
    if kind == "cross_entropy":
        sums = xp.col_totals(Y)  # Σ_i y_ij, per column
        dZ = xp.sub(xp.scale_columns(P, xp.scale(c, sums)), xp.scale(c, Y))  # c·(Ŷ·diag(Σy) − Y)
        t = activation.temperature
        return dZ if t == 1 else xp.scale(xp.scalar(1 / t), dZ)
    n = xp.shape(P)[0]
    return xp.scale(xp.scalar(Fraction(1, n)) * c, xp.sub(P, Y))


def _batched(ex: Any) -> bool:
    return ex.loss is not None and ex.X is not None and ex.X.cols > 1


def _reduced(ex: Any, reduction: str) -> bool:
    return _batched(ex) and ex.loss.reduction == reduction


class LossOp(Op):
    """The loss of the network's output, and the gradient that starts the backward pass."""

    name = "loss"
    summary = "the loss: cross-entropy, squared error, MSE or binary cross-entropy, reduced over the batch"
    keys = (
        Key("kind", "one of " + ", ".join(KINDS), "the per-sample loss", required=True),
        Key("Y", "matrix shaped like the output, or a given quantity's name (\"X\": an autoencoder)", "the targets",
            required=True),
        Key("reduction", "mean or sum", "the batch reduction: mean (as PyTorch) or sum (as the spreadsheets)", "mean"),
        Key("predictions", "matrix shaped like the output", "a worksheet's rounded Ŷ: the loss and the whole backward "
            "pass start from it (labelled ≈)"),
    )
    mistakes = (
        Mistake("summed_over_batch", 80, "The loss is a mean over the batch: divide the summed loss, and its gradient, "
                "by the batch size.", lambda ex: _reduced(ex, "mean")),
        Mistake("averaged_over_batch", 90, "The loss is a sum over the batch: do not divide it, or its gradient, by "
                "the batch size.", lambda ex: _reduced(ex, "sum")),
    )

    def start(self, run: "Run", loss: Loss, k: int, A: Any, Y: Any, activation: Any) -> Grad:
        """Record Ŷ (a given rounding), Y, L and ∂L/∂A_k (or, fused, ∂L/∂Z_k); give that gradient."""
        xp = run.xp
        if run.broken("summed_over_batch") and loss.reduction == "mean":
            loss = replace(loss, reduction="sum")
        if run.broken("averaged_over_batch") and loss.reduction == "sum":
            loss = replace(loss, reduction="mean")
        N = xp.shape(A)[1]
        c = xp.scalar(Fraction(1, N) if loss.reduction == "mean" else 1)
        P, p_name = A, f"A{k}"
        given = kept(loss, "predictions")
        if given is not None and run.epoch == 1:
            P = run.record("approx", "Yhat", xp.value(given, keep=True), **{f"A{k}": A})
            p_name = "Yhat"
        run.record("given", "Y", Y)
        is_fused = fused(loss.kind, activation)
        self._check_logs(run, loss, P)
        nodes = self._nodes(xp, loss, P) if loss.kind in ("cross_entropy", "bce") else 0
        run.record("loss", "L", xp.deferred(lambda x, p, y: value(x, loss.kind, p, y, c), P, Y, nodes=nodes),
                   **{p_name: P, "Y": Y})
        if is_fused:  # ∂L/∂ of what the activation acts on (Zk for a dense layer)
            pre = activation.pre(k) if hasattr(activation, "pre") else f"Z{k}"
            dZ = run.record("grad_fused", f"dL/d{pre}", fused_gradient(xp, loss.kind, P, Y, c, activation),
                            **{p_name: P, "Y": Y})
            return Grad(dZ, "Z")
        return Grad(run.record("grad_output", f"dL/dA{k}", gradient(xp, loss.kind, P, Y, c), **{p_name: P, "Y": Y}))

    def _nodes(self, xp: Any, loss: Loss, P: Any) -> int:
        """At most this many nodes in L as SymPy writes it: Mul(c, log(ŷ)) per log inside one Add."""
        y = list(loss.Y)
        logs = sum(v != 0 for v in y) + (sum(v != 1 for v in y) if loss.kind == "bce" else 0)
        return 2 + (5 + xp.entry_nodes(P)) * logs

    def _check_logs(self, run: "Run", loss: Loss, P: Any) -> None:
        """Refuse a loss that takes the log of a non-positive number (infinite or complex)."""
        if loss.kind not in ("cross_entropy", "bce"):
            return
        xp, Y = run.xp, loss.Y
        bad = {ij for ij in xp.nonpositive(P) if Y[ij] != 0}  # log ŷ where y ≠ 0 needs ŷ > 0
        complement = set()
        if loss.kind == "bce":  # log(1 − ŷ) where y ≠ 1 needs ŷ < 1
            complement = {ij for ij in xp.nonpositive(xp.sub(xp.ones(*xp.shape(P)), P)) if Y[ij] != 1}
        if not bad and not complement:
            return
        i, j = min(bad | complement)
        p = xp.sympy(P)[i, j]
        field = "loss.predictions" if loss.predictions is not None else "loss.Y"
        raise SpecError(f"{loss.kind} takes log of {p if (i, j) in bad else 1 - p} at ({i + 1}, {j + 1}): "
                        "the loss is not finite", source=run.source, field=field)


OP = LossOp()
