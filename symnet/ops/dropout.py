"""Dropout with a given mask: Ak = scale · mask ⊙ A(k−1) in training (inverted dropout, scale = 1/(1−p)), the identity
at inference (train = false); backward through the same mask and scale."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import sympy as sp

from ..errors import SpecError
from ..reader import shape_text
from . import Backward, Grad, Key, Kind, KindInfo, Mistake, Node, Op

if TYPE_CHECKING:
    from ..engine import Run
    from ..exercise import Exercise
    from ..reader import Reader


@dataclass(frozen=True)
class Dropout:
    """A dropout layer: the mask (1 keeps a unit, 0 drops it), the drop rate p, the scale of the kept units."""

    type: ClassVar[str] = "dropout"
    mask: sp.ImmutableMatrix | None  # (n×N), or (n×1) for every sample alike; None at inference
    p: sp.Expr
    scale: sp.Expr  # 1/(1−p) unless the exercise gives a rounded one
    train: bool = True

    @property
    def exact_scale(self) -> sp.Expr:
        """1/(1 − p), inverted dropout's scale."""
        return 1 / (1 - self.p)

    @property
    def approximate(self) -> bool:
        """True when a given scale stands in for 1/(1 − p) (2 for p = 0.45, 1.5 for p = 0.33): an approximation."""
        return self.scale != self.exact_scale


def _dropouts(ex: "Exercise", train: bool) -> bool:
    return any(isinstance(l, Dropout) and l.train == train and l.scale != 1 for l in ex.layers)


def _masks(rng: Any, n: int, N: int) -> list[list[int]]:
    """A mask dropping about half the units of each column, never all of them."""
    while True:
        mask = [[rng.choice((0, 1)) for _ in range(N)] for _ in range(n)]
        if all(0 < sum(mask[i][j] for i in range(n)) < n for j in range(N)):
            return mask


def _build(rng: Any, options: Any) -> Any:
    """A generated exercise: a ReLU layer, dropout with p = 1/2 (scale 2) and a given mask, an output layer, squared
    error summed over the batch."""
    from ..expr import FloatText
    from ..generators import _inputs, _weights

    m, n, out = options.sizes
    N, g = options.batch, options.max_given
    pool = _weights(g)
    X = _inputs(rng, m, N, g)
    W1 = [[rng.choice(pool) for _ in range(m)] for _ in range(n)]
    b1 = [rng.choice(pool) for _ in range(n)]
    W3 = [[rng.choice(pool) for _ in range(n)] for _ in range(out)]
    Y = [[rng.randint(-g, g) for _ in range(N)] for _ in range(out)]
    spec = {"title": "Dropout by hand",
            "description": "a ReLU layer, dropout with p = 1/2 (the kept units scaled by 2), then the output layer; "
                           "the gradient flows through the kept units only",
            "X": X, "layers": [{"W": W1, "b": b1, "activation": "relu"},
                               {"type": "dropout", "p": FloatText("0.5"), "mask": _masks(rng, n, N)},
                               {"W": W3, "bias": False}],
            "loss": {"kind": "squared_error", "Y": Y, "reduction": "sum"}}
    return spec, ["Approximations: none; the scale 1/(1 - p) = 2 is exact."]


class DropoutOp(Op):
    """Ak = scale · mask ⊙ A(k−1) in training; Ak = A(k−1) at inference; the gradient through the same mask."""

    name = "dropout"
    layer = True
    summary = "dropout with a given mask: the kept units scaled by 1/(1 − p) in training, the identity at inference"
    keys = (
        Key("mask", "0/1 matrix shaped like the input, or one column for every sample", "1 keeps a unit, 0 drops it "
            "(needed in training)"),
        Key("p", "number in [0, 1)", "the drop rate", required=True),
        Key("scale", "number > 0", "the kept units' scale; a given one other than 1/(1 − p) (2, 1.5) is an "
            "approximation, labelled ≈", "1/(1 − p)"),
        Key("train", "true or false", "false: inference, the identity (no mask, no scale)", "true"),
    )
    mistakes = (
        Mistake("dropout_unscaled", 1330, "Inverted dropout scales the kept units by 1/(1 − p) in training, so the "
                "expected output is unchanged.", lambda ex: _dropouts(ex, True)),
        Mistake("dropout_scaled_at_inference", 1331, "At inference dropout is the identity: no mask and no 1/(1 − p) "
                "scale (that was applied in training).", lambda ex: _dropouts(ex, False)),
    )
    kinds = {"dropout": Kind(KindInfo((3, 4, 2), batch=2, layers=(2, 2)), _build)}

    def parse(self, table: Mapping, read: "Reader") -> Dropout:
        read.keys(tuple(k.name for k in self.keys), required=("p",))
        (n, N), k = read.below, read.k
        p = read.scalar("p")
        if not (p.is_Rational and 0 <= p < 1):
            raise SpecError(f"p must be a number in [0, 1), got {p}", field=read.at("p"))
        scale = 1 / (1 - p)
        if "scale" in table:
            scale = read.scalar("scale")
            if not (scale.is_Rational and scale > 0):
                raise SpecError(f"scale must be a positive number, got {scale}", field=read.at("scale"))
        train = read.boolean("train", True)
        mask = None
        if "mask" in table:
            mask = read.matrix("mask")
            if mask.shape not in ((n, N), (n, 1)):
                raise SpecError(f"mask{k} is {shape_text(mask)} but {read.prev} is {n}×{N}: the mask is {n}×{N}, or "
                                f"{n}×1 for every sample alike", field=read.at("mask"))
            if any(v not in (0, 1) for v in mask):
                raise SpecError("a mask holds only 0 (drop) and 1 (keep)", field=read.at("mask"))
        elif train:
            raise SpecError("dropout in training needs a mask (or train = false)", field=read.field)
        return Dropout(mask=mask, p=p, scale=scale, train=train)

    def approximates(self, params: Dropout) -> bool:
        return params.train and params.approximate

    def forward(self, run: "Run", node: Node, params: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
        xp, k, d = run.xp, node.k, node.params
        prev = node.inputs[0]
        A = inputs[prev]
        if not d.train:
            s = d.scale if run.broken("dropout_scaled_at_inference") else sp.S.One
            out = A if s == 1 else xp.scale(xp.scalar(s), A)
            return {f"A{k}": run.record("inference", f"A{k}", out, **{prev: A, "scale": s})}
        mask = self.mask(xp, d, xp.shape(A))
        s = sp.S.One if run.broken("dropout_unscaled") else d.scale
        out = xp.scale(xp.scalar(s), xp.hadamard(mask, A))  # s · (mask ⊙ A)  (n×N)
        return {f"A{k}": run.record("dropout", f"A{k}", out, **{prev: A, "mask": mask, "scale": s})}

    def mask(self, xp: Any, d: Dropout, shape: tuple[int, int]) -> Any:
        """The mask as the algebra's matrix, one column copied for every sample when given as one (training only)."""
        assert d.mask is not None  # (parse requires one in training)
        mask = xp.value(d.mask, keep=True)
        return mask if d.mask.cols == shape[1] else xp.matmul(mask, xp.ones(1, shape[1]))  # (n×1)·(1×N)

    def backward(self, run: "Run", node: Node, params: Mapping[str, Any], saved: Mapping[str, Any], grad: Grad,
                 need: frozenset[str]) -> Backward:
        xp, k, d = run.xp, node.k, node.params
        prev = node.inputs[0]
        if prev not in need:
            return Backward()
        dA, name = grad.value, run.grad_name(prev, f"A{k}")
        if not d.train:
            s = d.scale if run.broken("dropout_scaled_at_inference") else sp.S.One
            dX = dA if s == 1 else xp.scale(xp.scalar(s), dA)
            dX = run.record("grad_inference", name, dX, **{f"dL/dA{k}": dA, "scale": s})
            return Backward({}, ((prev, name, dX),))
        mask = self.mask(xp, d, xp.shape(dA))
        s = sp.S.One if run.broken("dropout_unscaled") else d.scale
        dX = xp.scale(xp.scalar(s), xp.hadamard(mask, dA))  # s · (mask ⊙ ∂L/∂A)  (n×N)
        return Backward({}, ((prev, name, run.record("grad_dropout", name, dX, **{f"dL/dA{k}": dA, "mask": mask,
                                                                                 "scale": s})),))


OP = DropoutOp()
