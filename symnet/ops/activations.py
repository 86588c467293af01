"""The activations a layer ends with: each one's value and derivative side by side, its spec keys and mistakes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import sympy as sp

from ..errors import SpecError
from ..held import Held
from . import Key, Mistake

if TYPE_CHECKING:
    from ..engine import Run
    from ..exercise import Exercise
    from ..reader import Reader

NAMES = ("identity", "relu", "leaky_relu", "sigmoid", "tanh", "softmax")
KEYS = (
    Key("activation", "one of " + ", ".join(NAMES), "the activation applied to the layer's Z", "identity"),
    Key("alpha", "number", "leaky_relu only: the slope below and at 0", "1/10"),
    Key("exp_base", "number", "sigmoid, tanh or softmax: a number used in place of e, the worksheets' hand "
        "approximation (3); labelled ≈", "e"),
    Key("temperature", "number", "softmax only: softmax(Z/T)", "1"),
    Key("sample", "number in [0, 1)", "softmax only: also record tokenk, the row picked by walking the "
        "probabilities in decreasing order until r falls in one's range (the Temperature sheet)"),
    Key("round", "whole number of decimals", "sigmoid, tanh or softmax: round Ak to this many decimals (halves away "
        "from zero), recorded as Ak≈ and marked ≈; the layers above start from the rounded values (overrides "
        "[train] round_activations)"),
)
ROUNDED = ("sigmoid", "tanh", "softmax")  # the activations whose values a hand calculation rounds


@dataclass(frozen=True, kw_only=True)
class Activated:
    """A layer's activation and its keys."""

    activation: str = "identity"
    alpha: Held[sp.Expr] = Held(make=lambda: sp.Rational(1, 10))  # leaky_relu slope at and below 0
    exp_base: Held[sp.Expr] = Held(make=lambda: sp.E)  # 3 for the worksheets' e ≈ 3
    temperature: Held[sp.Expr] = Held(make=lambda: sp.S.One)  # softmax(Z / T)
    sample: sp.Expr | None = None  # softmax: r in [0, 1), records token k
    round: int | None = None  # sigmoid, tanh, softmax: decimals Ak is rounded to (Ak≈), a labelled approximation

    @property
    def function(self) -> "Activation":
        """The activation's value and derivative."""
        return FUNCTIONS[self.activation]

    @property
    def approximates_e(self) -> bool:
        """True when the layer replaces e by another base, a labelled approximation."""
        return self.function.uses_exp and self.exp_base != sp.E


def parse(read: "Reader") -> dict[str, Any]:
    """The activation keys of a layer table, as `Activated`'s fields."""
    name = read.choice("activation", NAMES, "identity")
    fn = FUNCTIONS[name]
    out: dict[str, Any] = {"activation": name}
    if "alpha" in read.table:
        if name != "leaky_relu":
            raise SpecError("alpha goes only with activation = \"leaky_relu\"", field=read.at("alpha"))
        out["alpha"] = read.scalar("alpha")
    if "exp_base" in read.table:
        if not fn.uses_exp:
            raise SpecError("exp_base goes only with sigmoid, tanh or softmax", field=read.at("exp_base"))
        base = read.scalar("exp_base")
        if base.is_number and not base.is_positive or base == 1:
            raise SpecError(f"exp_base must be a positive number other than 1, got {base}", field=read.at("exp_base"))
        out["exp_base"] = base
    for key in ("temperature", "sample"):
        if key in read.table and name != "softmax":
            raise SpecError(f"{key} goes only with activation = \"softmax\"", field=read.at(key))
    if "temperature" in read.table:
        t = read.scalar("temperature")
        if not (t.is_number and t.is_positive):
            raise SpecError(f"temperature must be a positive number, got {t}", field=read.at("temperature"))
        out["temperature"] = t
    if "sample" in read.table:
        r = read.scalar("sample")
        if not (r.is_Rational and 0 <= r < 1):
            raise SpecError(f"sample must be a number in [0, 1), got {r}", field=read.at("sample"))
        out["sample"] = r
    if "round" in read.table:
        if name not in ROUNDED:
            raise SpecError("round goes only with sigmoid, tanh or softmax", field=read.at("round"))
        out["round"] = decimals(read.table["round"], read.at("round"), read.bounds.digits)
    return out


def decimals(raw: object, field: str, most: int) -> int:
    """A number of decimals to round to: a whole number from 0 to `most` (bounds.digits)."""
    if type(raw) is not int:
        from ..reader import kind

        raise SpecError(f"expected a whole number of decimals, got {kind(raw)}", field=field)
    if not 0 <= raw <= most:
        raise SpecError(f"must be from 0 to {most} decimals, got {raw}", field=field)
    return raw


# ---------------------------------------------------------------- the functions


class Activation:
    """One activation: its value f(Z) and its local derivative, on any algebra."""

    name: ClassVar[str]
    uses_exp: ClassVar[bool] = False  # computed with e (or exp_base)
    piecewise: ClassVar[bool] = False  # piecewise linear: its derivative is a mask read off the signs of Z
    column: ClassVar[bool] = False  # works on whole columns (softmax): no entry-by-entry derivative

    def value(self, xp: Any, act: Activated, Z: Any) -> Any:
        """A = f(Z)."""
        raise NotImplementedError

    def derivative(self, xp: Any, act: Activated, source: Any, A: Any) -> Any:
        """∂A/∂Z entry by entry, read off `source` (Z, or ∂L/∂A for the relu_on_gradient mistake) and A."""
        raise NotImplementedError

    def backward(self, xp: Any, act: Activated, dA: Any, D: Any, source: Any, A: Any) -> Any:
        """∂L/∂Z = ∂L/∂A ⊙ ∂A/∂Z (D), or through the Jacobian for a column activation."""
        return xp.hadamard(dA, D)  # (n×N) ⊙ (n×N)


class Identity(Activation):
    name = "identity"
    piecewise = True

    def value(self, xp: Any, act: Activated, Z: Any) -> Any:
        return Z

    def derivative(self, xp: Any, act: Activated, source: Any, A: Any) -> Any:
        return xp.ones(*xp.shape(A))

    def backward(self, xp: Any, act: Activated, dA: Any, D: Any, source: Any, A: Any) -> Any:
        return dA


class ReLU(Activation):
    """max(0, z); the derivative 0 at 0, by convention."""

    name = "relu"
    piecewise = True

    def slope(self, act: Activated) -> sp.Expr | int:
        """The slope below and at 0."""
        return 0

    def value(self, xp: Any, act: Activated, Z: Any) -> Any:
        return xp.relu(Z, self.slope(act))

    def derivative(self, xp: Any, act: Activated, source: Any, A: Any) -> Any:
        return xp.step(source, self.slope(act))

    def backward(self, xp: Any, act: Activated, dA: Any, D: Any, source: Any, A: Any) -> Any:
        return xp.masked(dA, source, self.slope(act), D)  # the same 1-or-slope factor as the value


class LeakyReLU(ReLU):
    """z above 0, alpha·z at and below."""

    name = "leaky_relu"

    def slope(self, act: Activated) -> sp.Expr:
        return act.alpha


class Sigmoid(Activation):
    """σ(z) = 1/(1 + e^−z); σ′ = σ(1 − σ)."""

    name = "sigmoid"
    uses_exp = True

    def value(self, xp: Any, act: Activated, Z: Any) -> Any:
        return xp.reciprocal(xp.add(xp.ones(*xp.shape(Z)), xp.power(act.exp_base, xp.neg(Z))))

    def derivative(self, xp: Any, act: Activated, source: Any, A: Any) -> Any:
        return xp.hadamard(A, xp.sub(xp.ones(*xp.shape(A)), A))  # σ(1−σ)


class Tanh(Activation):
    """tanh z = (e^z − e^−z)/(e^z + e^−z); tanh′ = 1 − tanh²."""

    name = "tanh"
    uses_exp = True

    def value(self, xp: Any, act: Activated, Z: Any) -> Any:
        if act.exp_base == sp.E:
            return xp.tanh(Z)
        p, q = xp.power(act.exp_base, Z), xp.power(act.exp_base, xp.neg(Z))
        return xp.divide(xp.sub(p, q), xp.add(p, q))

    def derivative(self, xp: Any, act: Activated, source: Any, A: Any) -> Any:
        return xp.sub(xp.ones(*xp.shape(A)), xp.square(A))  # 1 − tanh²


class Softmax(Activation):
    """Each column's e^(z/T) over its sum; the Jacobian s(δ − s)/T applied to g gives s ⊙ (g − sᵀg)/T."""

    name = "softmax"
    uses_exp = True
    column = True

    def logits(self, xp: Any, act: Activated, Z: Any) -> Any:
        """Z/T (Z itself at temperature 1)."""
        return Z if act.temperature == 1 else xp.scale(xp.scalar(1 / act.temperature), Z)

    def value(self, xp: Any, act: Activated, Z: Any) -> Any:
        return xp.softmax(self.logits(xp, act, Z), act.exp_base)

    def backward(self, xp: Any, act: Activated, dA: Any, D: Any, source: Any, A: Any) -> Any:
        n = xp.shape(A)[0]
        dZ = xp.hadamard(A, xp.sub(dA, xp.broadcast_row(xp.col_dots(A, dA), n)))  # s ⊙ (g − 1·(sᵀg))
        return dZ if act.temperature == 1 else xp.scale(xp.scalar(1 / act.temperature), dZ)


FUNCTIONS: dict[str, Activation] = {f.name: f for f in (Identity(), ReLU(), LeakyReLU(), Sigmoid(), Tanh(), Softmax())}


# ---------------------------------------------------------------- applying an activation in a layer, recorded


def forward(run: "Run", act: Activated, Z: Any, k: int, pre: str) -> Any:
    """A_k = f(pre) recorded (pre: Zk for a dense layer), with a sampled token when asked; returns A_k."""
    fn = act.function
    if run.broken("missing_activation"):
        A = Z
    else:
        if fn.uses_exp:  # e^z, 3^z: refuse a runaway before computing it
            run.check_powers(fn.logits(run.xp, act, Z) if isinstance(fn, Softmax) else Z, act.exp_base, k)
        A = fn.value(run.xp, act, Z)
    A = run.record("activation", f"A{k}", A, **{pre: Z})
    places = rounding(run, act)
    if places is not None:  # a labelled approximation: what reads Ak from here on reads the rounded values
        A = run.record("round", f"A{k}≈", run.xp.round(A, places), **{f"A{k}": A, "decimals": sp.Integer(places)})
    if act.sample is not None and act.activation == "softmax":
        run.record("sample", f"token{k}", sampled(run.xp.sympy(A), act.sample), **{f"A{k}": A})
    return A


def rounding(run: "Run", act: Activated) -> int | None:
    """The decimals a layer's activation values are rounded to: its own `round`, else [train] round_activations
    (sigmoid, tanh and softmax only), else None."""
    if act.activation not in ROUNDED:
        return None
    if act.round is not None:
        return act.round
    train = run.exercise.train
    return getattr(train, "round_activations", None) if train is not None else None


def backward(run: "Run", act: Activated, Z: Any, A: Any, dA: Any, k: int, pre: str, out: str | None = None) -> Any:
    """∂L/∂pre from ∂L/∂A_k, recorded (through ∂A/∂Z entry by entry, or softmax's Jacobian) as `out` (∂L/∂pre, or
    one path's part of it); returns it."""
    fn, xp = act.function, run.xp
    out = out or f"dL/d{pre}"
    if fn.column:
        dZ = fn.backward(xp, act, dA, None, Z, A) if not run.broken("unmasked_gradient") else dA
        return run.record("grad_z", out, dZ, **{f"dL/dA{k}": dA, f"A{k}": A})
    source = Z if not run.broken("relu_on_gradient") else dA
    D = run.record("derivative", f"dA{k}/d{pre}", fn.derivative(xp, act, source, A), **{pre: Z})
    dZ = fn.backward(xp, act, dA, D, source, A) if not run.broken("unmasked_gradient") else dA
    return run.record("grad_z", out, dZ, **{f"dL/dA{k}": dA, f"dA{k}/d{pre}": D})


def sampled(P: sp.MatrixBase, r: sp.Expr) -> sp.Expr:
    """The 1-based row picked from each column of probabilities by r: rows sorted by decreasing probability (ties in
    row order), their cumulative ranges walked until r falls inside one; a scalar for one column, else a row."""
    picks = []
    for j in range(P.cols):
        col = list(P.col(j))
        order = sorted(range(len(col)), key=lambda i: (-_decimal(col[i]), i))
        total, pick = sp.S.Zero, order[-1]
        for i in order:
            total += col[i]
            if _less(r, total):
                pick = i
                break
        picks.append(sp.Integer(pick + 1))
    return picks[0] if len(picks) == 1 else sp.ImmutableMatrix([picks])


def _decimal(v: sp.Expr) -> sp.Float:
    return v if v.is_Rational else sp.N(v, 60)


def _less(r: sp.Expr, total: sp.Expr) -> bool:
    """r < total, exactly for rationals (else at 60 digits)."""
    if total.is_Rational:
        return bool(r < total)
    return bool(sp.N(total - r, 60) > 0)


# ---------------------------------------------------------------- mistakes


def activations_in(ex: "Exercise") -> set[str]:
    """The activations an exercise's layers apply."""
    return {l.activation for l in ex.layers if hasattr(l, "activation")}


def slope_one_at_zero(ex: "Exercise", base: Any, given: Mapping[str, Any]) -> dict[str, Any]:
    """ReLU′(0) taken as 1: each ReLU (or leaky ReLU) layer's ∂A/∂Z with 1 where the Z it is computed from is
    exactly 0 (the student's Z when given, else `base`'s). Empty when no such Z has a 0: the mistake changes nothing.

    No rule makes this mistake; a re-run given these ∂A/∂Z carries it through the backward pass."""
    out: dict[str, Any] = {}
    for k, layer in enumerate(ex.layers, 1):
        if getattr(layer, "activation", None) not in ("relu", "leaky_relu"):
            continue
        pre = layer.pre(k)
        name = f"dA{k}/d{pre}"
        if name not in base:
            continue
        Z, D = _matrix(given.get(pre, base[pre])), _matrix(base[name])
        # a written 0, not one in disguise
        zeros = {(i, j) for i in range(Z.rows) for j in range(Z.cols) if Z[i, j] == 0}
        if zeros and Z.shape == D.shape:
            out[name] = sp.ImmutableMatrix(D.rows, D.cols, lambda i, j: sp.S.One if (i, j) in zeros else D[i, j])
    return out


def _matrix(v: Any) -> sp.ImmutableMatrix:
    return v if isinstance(v, sp.MatrixBase) else sp.ImmutableMatrix([[v]])


def _trains(ex: "Exercise") -> bool:
    return ex.loss is not None


MISTAKES = (
    Mistake("missing_activation", 20, "The activation was not applied: A = f(Z), not Z itself.",
            lambda ex: activations_in(ex) - {"identity"} != set()),
    Mistake("relu_derivative_at_zero", 30, "ReLU′(0) was taken as 1: where Z is exactly 0 the derivative is 0 (α for "
            "leaky ReLU), as where Z < 0.",
            lambda ex: _trains(ex) and bool(activations_in(ex) & {"relu", "leaky_relu"}), slope_one_at_zero),
    Mistake("unmasked_gradient", 40, "The activation's derivative was skipped: ∂L/∂Z = ∂L/∂A ⊙ f′(Z), and ReLU′ is 0 "
            "where Z ≤ 0.", lambda ex: _trains(ex) and activations_in(ex) - {"identity"} != set()),
    Mistake("relu_on_gradient", 50, "ReLU was applied to the gradient: the mask comes from the signs of Z, not of "
            "∂L/∂A.", lambda ex: _trains(ex) and bool(activations_in(ex) & {"relu", "leaky_relu"})),
)


def relu_problems(z: list[Any], neurons: int, hidden: bool = False) -> list[str]:
    """What keeps a ReLU's inputs z from being friendly by hand: an input at 0 (where the derivative is a
    convention), or, with two or more neurons (or in a hidden layer, which must pass something on), no entry both
    cut and passed."""
    out = []
    if any(v == 0 for v in z):
        out.append("holds 0")
    if neurons >= 2 and not any(v < 0 for v in z):
        out.append("cuts no entry")
    if (hidden or neurons >= 2) and not any(v > 0 for v in z):
        out.append("passes no entry")
    return out


def relu_friendly(act: Activated, Z: sp.MatrixBase, neurons: int, k: int) -> list[str]:
    """A ReLU layer is friendly by hand when no input is 0 and, with two or more neurons, it both cuts and passes."""
    if act.activation not in ("relu", "leaky_relu"):
        return []
    found = relu_problems(list(Z), neurons)
    out = [f"Z{k} holds 0 at a {act.activation} input"] if "holds 0" in found else []
    if len(found) > len(out):
        out.append(f"the {act.activation} of layer {k} does not both zero and pass an entry")
    return out
