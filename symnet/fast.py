"""The fast exact backend: python-flint rational matrices, taken when every quantity of an exercise stays rational."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import sympy as sp
from flint import fmpq, fmpq_mat

from . import factored
from .bounds import Bounds
from .exercise import Exercise, Value
from .factored import Atoms, Factored
from .qmat import (  # noqa: F401 (Fallback: engine.py catches fast.Fallback)
    ONE, ZERO, Fallback, Mask, Scaled, Signs, activate, dense, hadamard, max_bits, ones, same_shape,
    derivative, linear, masked, matrix, positive, product, rational, softmax_backward, to_flint, to_fmpq,
)
from .record import Deferred, Solution, Step

SUPPORTED_RULES = ("bias", "activation", "mask", "learning_rate", "descent", "batch_mean", "batch_sum", "mask_from_z")
TAKEN = {"flint": 0, "sympy": 0}  # how often each backend solved an exercise (tests read it)


def _sympy(v: Any) -> Value:
    if isinstance(v, fmpq_mat):
        return matrix(v)
    if isinstance(v, fmpq):
        return rational(v)
    if isinstance(v, (Atoms, Factored)):
        return v.sympy()
    if isinstance(v, Mask):
        return matrix(v.build())
    if isinstance(v, Lazy):
        return v.make()
    return v


@dataclass(frozen=True)
class Lazy:
    """A value made by SymPy only when read (the loss with a log, a softmax with e)."""

    make: Callable[[], Value]
    nodes: int = 0  # at most this many nodes in what `make` makes


# ---------------------------------------------------------------- the pass


class _Recorder:
    """Steps as the SymPy path records them, values kept in flint and converted when first read."""

    def __init__(self, given: Mapping[str, Any], bounds: Bounds) -> None:
        self.bounds = bounds
        self.steps: list[Step] = []
        self.given = given
        self.epoch = 1
        self.deferred: dict[int, Deferred] = {}
        self.keep: list[Any] = []  # keeps ids stable while the map above refers to them

    def known(self, v: Any, value: Value) -> Any:
        """Mark flint value `v` as equal to SymPy `value`, so reading it converts nothing."""
        if id(v) not in self.deferred:
            self.deferred[id(v)] = Deferred(lambda _: value, v)
            self.keep.append(v)
        return v

    def check_nodes(self, name: str, value: Any) -> None:
        """`Fallback` when a value kept unwritten may be beyond the node bounds once SymPy writes it, so that the
        SymPy path measures it exactly (and refuses it, or not, as it does for any exercise)."""
        E, Q = self.bounds.expression_nodes, self.bounds.quantity_nodes
        if isinstance(value, Lazy):
            if value.nodes > E:
                raise Fallback(f"{name} may be beyond expression_nodes")
            return
        top, total = value.nodes()
        if (top > E or total > Q) and isinstance(value, Factored):
            top, total = value.nodes(counted=True)
        if top > E or total > Q:
            raise Fallback(f"{name} may be beyond the node bounds")

    def defer(self, v: Any) -> Any:
        if isinstance(v, sp.Basic):
            return v
        d = self.deferred.get(id(v))
        if d is None:
            d = self.deferred[id(v)] = Deferred(_sympy, v)
            self.keep.append(v)
        return d

    def __call__(self, kind: str, name: str, value: Any, layer: int | None = None, **operands: Any) -> Any:
        if isinstance(value, (Atoms, Factored, Lazy)):
            self.check_nodes(name, value)
        ops = tuple((k.replace("_", "/"), self.defer(v)) for k, v in operands.items())
        self.steps.append(Step(kind, name, self.defer(value), layer, self.epoch, ops))
        if self.epoch == 1 and name in self.given:
            return self.given[name]
        return value


@dataclass(frozen=True)
class _Net:
    """The exercise's rationals in flint, converted once (W and b also as integers over a denominator)."""

    X: fmpq_mat
    W: tuple[fmpq_mat, ...]
    b: tuple[fmpq_mat, ...]
    Wn: tuple[Scaled, ...]
    bn: tuple[Scaled, ...]
    bases: tuple[fmpq | None, ...]
    Y: fmpq_mat | None
    predictions: fmpq_mat | None
    eta: fmpq | None


def eligible(ex: Exercise, rules: Any) -> None:
    """Raise `Fallback` unless the exercise can stay on the fast path (the rest is found while computing)."""
    if ex.kind != "network":
        raise Fallback("matmul")
    for f in fields(rules):
        if f.name not in SUPPORTED_RULES and getattr(rules, f.name) != f.default:
            raise Fallback(f"rule {f.name}")
    last = len(ex.layers)
    for k, l in enumerate(ex.layers, 1):
        if l.activation == "leaky_relu" and not l.alpha.is_Rational:
            raise Fallback("alpha")
        if l.activation in ("sigmoid", "tanh", "softmax") and not l.exp_base.is_Rational:
            if not (k == last and l.activation == "softmax" and l.exp_base == sp.E and ex.loss is not None
                    and ex.loss.kind == "cross_entropy" and (ex.train is None or ex.train.steps == 1)):
                raise Fallback("exp_base")
    if ex.train is not None and getattr(ex.train, "round", None) is not None and not _all_rational_output(ex):
        raise Fallback("rounding irrational weights")


def _all_rational_output(ex: Exercise) -> bool:
    return all(l.exp_base.is_Rational or l.activation not in ("sigmoid", "tanh", "softmax") for l in ex.layers)


def _net(ex: Exercise) -> _Net:
    bases = tuple(to_fmpq(l.exp_base) if l.exp_base.is_Rational else None for l in ex.layers)
    loss, train = ex.loss, ex.train
    W, b = tuple(to_flint(l.W) for l in ex.layers), tuple(to_flint(l.b) for l in ex.layers)
    return _Net(
        to_flint(ex.X), W, b, tuple(m.numer_denom() for m in W), tuple(m.numer_denom() for m in b), bases,
        to_flint(loss.Y) if loss else None,
        to_flint(loss.predictions) if loss is not None and loss.predictions is not None else None,
        to_fmpq(train.learning_rate) if train else None,
    )


_NETS: dict[int, tuple[weakref.ref, _Net]] = {}


def _net_once(ex: Exercise) -> _Net:
    """`_net(ex)`, converted once per exercise object (the checker solves one exercise many times)."""
    hit = _NETS.get(id(ex))
    if hit is not None and hit[0]() is ex:
        return hit[1]
    net = _net(ex)
    key = id(ex)
    _NETS[key] = (weakref.ref(ex, lambda _: _NETS.pop(key, None)), net)
    return net


def _given(given: Mapping[str, Value]) -> dict[str, Any]:
    """Given matrices in flint (`Fallback` if one is not rational); scalars (only L) stay as given."""
    return {name: to_flint(v) if isinstance(v, sp.MatrixBase) else v for name, v in given.items()}


def solve(ex: Exercise, rules: Any, given: Mapping[str, Value], bounds: Bounds) -> Solution:
    """The exercise solved on flint rationals; raises `Fallback` (before any result escapes) when it cannot be."""
    eligible(ex, rules)
    enabled = gc.isenabled()
    gc.disable()  # the pass allocates many small objects and makes no cycles; the collector's sweeps cost more than it
    try:
        return _solve(ex, rules, given, bounds)
    finally:
        if enabled:
            gc.enable()


def _solve(ex: Exercise, rules: Any, given: Mapping[str, Value], bounds: Bounds) -> Solution:
    net = _net_once(ex)
    rec = _Recorder(_given(given), bounds)
    for fl, sy in [(net.X, ex.X), (net.Y, ex.loss and ex.loss.Y), (net.predictions, ex.loss and ex.loss.predictions)]:
        if fl is not None:
            rec.known(fl, sy)
    for l, W, b in zip(ex.layers, net.W, net.b):
        rec.known(W, l.W)
        rec.known(b, l.b)
    Ws, bs = list(net.W), list(net.b)
    bits: list[int] = []
    for epoch in range(1, (ex.train.steps if ex.train else 1) + 1):
        rec.epoch = epoch
        Ws, bs = _epoch(ex, net, Ws, bs, rec, rules, bounds, bits)
    if ex.count_parameters:
        rec.epoch = 1
        rec("parameters", "parameters", sp.Integer(ex.parameters))
    TAKEN["flint"] += 1
    return Solution(ex, tuple(rec.steps), backend="flint", bits=tuple(bits))


def _check_shape(name: str, value: Any, like: fmpq_mat) -> None:
    if isinstance(value, fmpq_mat) and (value.nrows(), value.ncols()) != (like.nrows(), like.ncols()):
        raise Fallback(f"{name} given with another shape")


def _epoch(ex: Exercise, net: _Net, Ws: list, bs: list, rec: _Recorder, rules: Any, bounds: Bounds,
           bits: list[int]) -> tuple[list, list]:
    """One forward pass, and with a loss one backward pass and one update, recorded as the SymPy path does."""
    layers = ex.layers
    seen: dict[int, tuple[fmpq_mat, Signs]] = {}
    first = rec.epoch == 1  # the exercise's own weights, whose integer forms `net` holds
    Wn = net.Wn if first else [W.numer_denom() for W in Ws]
    bn = net.bn if first else [b.numer_denom() for b in bs]

    def signs(m: fmpq_mat, l: Any) -> Signs | None:
        """The signs of m when layer l's activation needs them (ReLU and leaky ReLU), once per matrix."""
        if l.activation not in ("relu", "leaky_relu"):
            return None
        if id(m) not in seen:
            seen[id(m)] = (m, positive(m))
        return seen[id(m)][1]

    A = rec("given", "X", rec.known(net.X, ex.X))
    N = net.X.ncols()
    As, Zs = [A], []
    for k, l in enumerate(layers, 1):
        W, b = Ws[k - 1], bs[k - 1]
        if not isinstance(A, fmpq_mat) or A.nrows() != W.ncols():
            raise Fallback("a non-rational or reshaped activation feeds a layer")
        Zv = linear(W, A, b if rules.bias else None, Wn[k - 1], bn[k - 1])  # (n×m)·(m×N) + (n×1)·(1×N)
        Z = rec("linear", f"Z{k}", Zv, k, W=W, A=A, b=b)
        _check_shape(f"Z{k}", Z, Zv)
        if l.activation in ("sigmoid", "tanh", "softmax"):
            _check_exponents(Z, net.bases[k - 1], bounds)
        if not rules.activation:
            Av = Z
        elif net.bases[k - 1] is None and l.activation == "softmax":
            Av = Atoms(Z, l) if k == len(layers) else _fail("softmax with e inside the network")
        else:
            Av = activate(Z, l, net.bases[k - 1], bounds, signs(Z, l))
        A = rec("activation", f"A{k}", Av, k, Z=Z)
        _check_shape(f"A{k}", A, Zv)
        Zs.append(Z)
        As.append(A)
    if ex.loss is None:
        return Ws, bs
    loss, L = ex.loss, len(layers)
    if rules.batch_mean is False and loss.reduction == "mean":
        loss = replace(loss, reduction="sum")
    if getattr(rules, "batch_sum", True) is False and loss.reduction == "sum":
        loss = replace(loss, reduction="mean")
    c = fmpq(1, N) if loss.reduction == "mean" else ONE
    Yhat = As[-1]
    if net.predictions is not None and rec.epoch == 1:
        Yhat = rec("approx", "Yhat", net.predictions, L, **{f"A{L}": As[-1]})
    Y = net.Y
    rec("given", "Y", loss.Y)
    fused = (loss.kind, layers[-1].activation) in (("cross_entropy", "softmax"), ("bce", "sigmoid"))
    if isinstance(Yhat, Atoms):
        if not fused:
            raise Fallback("softmax with e needs cross-entropy")
    else:
        _check_logs(ex, loss, Yhat, Y)
    rec("loss", "L", _loss_value(loss, Yhat, Y, c), L, Yhat=Yhat, Y=loss.Y)
    dA = rec("grad_output", f"dL/dA{L}", _loss_grad(loss, Yhat, Y, c), L, Yhat=Yhat, Y=loss.Y) if not fused else None
    grads: list[tuple[Any, Any]] = []
    for k in range(L, 0, -1):
        l, Z, A_out, A_in = layers[k - 1], Zs[k - 1], As[k], As[k - 1]
        if k == L and fused:
            dZ = rec("grad_fused", f"dL/dZ{k}", _fused_grad(loss, Yhat, Y, c), k, Yhat=Yhat, Y=loss.Y)
        elif l.activation == "softmax":
            if isinstance(dA, Factored):
                raise Fallback("a rational softmax under softmax with e")
            dZ = rec("grad_z", f"dL/dZ{k}", softmax_backward(A_out, dA) if rules.mask else dA, k,
                     **{f"dL_dA{k}": dA, f"A{k}": A_out})
        else:
            if getattr(rules, "mask_from_z", True):
                source = Z
            elif isinstance(dA, Factored):
                raise Fallback("a mask from a gradient with atoms")
            else:
                source = dA
            pos = signs(source, l)
            piecewise = l.activation in ("identity", "relu", "leaky_relu")
            Dv = Mask(source, l, pos) if piecewise else derivative(source, A_out, l, pos)
            D = rec("derivative", f"dA{k}/dZ{k}", Dv, k, **{f"Z{k}": Z})
            if not rules.mask:
                dZv = dA
            elif isinstance(dA, Factored):
                dZv = factored.mask(dA, dense(D), l, pos)
            elif D is Dv:
                dZv = masked(dA, dense(D) if not piecewise else None, l, pos)
            else:  # a given ∂A/∂Z
                dZv = hadamard(dA, D)  # (n×N) ⊙ (n×N)
            dZ = rec("grad_z", f"dL/dZ{k}", dZv, k, **{f"dL_dA{k}": dA, f"dA{k}_dZ{k}": D})
        if isinstance(dZ, Factored):
            dWv, dbv = factored.grad_w(dZ, A_in), factored.grad_b(dZ)
        else:
            dWv, dbv = dZ * A_in.transpose(), dZ * ones(dZ.ncols(), 1)  # (n×N)·(N×m), (n×N)·(N×1)
        dW = rec("grad_w", f"dL/dW{k}", dWv, k, **{f"dL_dZ{k}": dZ, f"A{k - 1}": A_in})
        db = rec("grad_b", f"dL/db{k}", dbv, k, **{f"dL_dZ{k}": dZ})
        grads.append((dW, db))
        if k > 1:
            W, (nW, dW_) = Ws[k - 1], Wn[k - 1]
            dAv = factored.matmul_left(W.transpose(), dZ) if isinstance(dZ, Factored) else product(W.transpose(), dZ, (nW.transpose(), dW_))  # (m×n)·(n×N)
            dA = rec("grad_a", f"dL/dA{k - 1}", dAv, k, **{f"W{k}": W, f"dL_dZ{k}": dZ})
    if ex.train is None:
        return Ws, bs
    eta = net.eta if rules.learning_rate else ONE
    step = eta * rules.descent
    newW, newb, top = [], [], 0
    decimals = getattr(ex.train, "round", None)
    for k, (W, b, (dW, db)) in enumerate(zip(Ws, bs, reversed(grads)), 1):
        W2v = factored.update(W, dW, step) if isinstance(dW, Factored) else W - dW * step
        W2 = rec("update", f"W{k}'", W2v, k, **{f"W{k}": W, f"dL_dW{k}": dW, "eta": _eta_value(ex, rules)})
        trained = ex.layers[k - 1].has_bias  # a layer given without b has no bias to train: it stays 0
        b2 = b
        if trained:
            b2v = factored.update(b, db, step) if isinstance(db, Factored) else b - db * step
            b2 = rec("update", f"b{k}'", b2v, k, **{f"b{k}": b, f"dL_db{k}": db, "eta": _eta_value(ex, rules)})
        size = max(_size(W2), _size(b2))
        top = max(top, size)
        if size > bounds.result_bits:
            from .engine import refuse_bits

            refuse_bits(k, size, bounds, rec.epoch)
        if decimals is not None:
            W2 = rec("round", f"W{k}'≈", round_matrix(W2, decimals), k, **{f"W{k}'": W2, "decimals": sp.Integer(decimals)})
            if trained:
                b2 = rec("round", f"b{k}'≈", round_matrix(b2, decimals), k, **{f"b{k}'": b2, "decimals": sp.Integer(decimals)})
        newW.append(W2)
        newb.append(b2)
    bits.append(top)
    return newW, newb


def _check_exponents(Z: Any, base: fmpq | None, bounds: Bounds) -> None:
    """`Fallback` when base^z may run beyond the bounds, so that the SymPy path refuses it with its own message."""
    if not isinstance(Z, fmpq_mat):
        return
    e = Z.entries()
    low, high = min(e), max(e)
    size = max(abs(low), abs(high), high - low)  # as `bounds.check_powers` measures it
    if base is None:
        limit = getattr(bounds, "exp_argument", None)
        if limit is not None and size > limit:
            raise Fallback("e^z beyond exp_argument")
    elif size * max(base.p.bit_length(), base.q.bit_length(), 1) > bounds.power_bits:
        raise Fallback("base^z beyond power_bits")


def _fail(why: str) -> Any:
    raise Fallback(why)


def _eta_value(ex: Exercise, rules: Any) -> sp.Expr:
    return ex.train.learning_rate if rules.learning_rate else sp.S.One


def _size(v: Any) -> int:
    return v.bits() if isinstance(v, Factored) else max_bits(v)


def round_matrix(m: fmpq_mat, decimals: int) -> fmpq_mat:
    """Every entry rounded to `decimals` places, halves away from zero."""
    if not isinstance(m, fmpq_mat):
        raise Fallback("rounding a non-rational matrix")
    scale = 10**decimals
    out = []
    for x in m.entries():
        n = (2 * abs(x.p) * scale + x.q) // (2 * x.q)  # ⌊|x|·10^d + 1/2⌋
        out.append(fmpq(-n if x.p < 0 else n, scale))
    return same_shape(m, out)


# ---------------------------------------------------------------- losses on rationals


def _check_logs(ex: Exercise, loss: Any, Yhat: fmpq_mat, Y: fmpq_mat) -> None:
    """The SymPy path's refusal of log(≤ 0), raised from the same code when a bad entry is found."""
    if loss.kind not in ("cross_entropy", "bce"):
        return
    bad = [ij for ij in Signs(Yhat).off if Y[ij] != 0]  # log ŷ where y ≠ 0 needs ŷ > 0
    if loss.kind == "bce":  # log(1 − ŷ) where y ≠ 1 needs ŷ < 1
        bad += [ij for ij in Signs(ones(Yhat.nrows(), Yhat.ncols()) - Yhat).off if Y[ij] != 1]
    if bad:
        from .engine import _check_logs as sympy_check

        sympy_check(ex, matrix(Yhat))
        raise Fallback("log of a non-positive number")


def _loss_value(loss: Any, Yhat: Any, Y: fmpq_mat, c: fmpq) -> Any:
    if loss.kind in ("squared_error", "mse") and isinstance(Yhat, fmpq_mat):
        n, d = (Yhat - Y).numer_denom()
        S = n.transpose() * n  # (N×n)·(n×N): its trace is Σ (ŷ − y)², over d²
        total = fmpq(sum(S[i, i] for i in range(S.nrows())), d * d)
        return c * total / 2 if loss.kind == "squared_error" else c * total / Yhat.nrows()
    from .ops import loss_value

    y = Y.entries()
    logs = sum(v != 0 for v in y) + (sum(v != 1 for v in y) if loss.kind == "bce" else 0)  # y·log ŷ, (1−y)·log(1−ŷ)
    per = Yhat.atom_nodes + 6 if isinstance(Yhat, Atoms) else 5  # Mul(c, log(ŷ)) inside one Add
    return Lazy(lambda: loss_value(loss, _sympy(Yhat)), 2 + per * logs)


def _loss_grad(loss: Any, Yhat: fmpq_mat, Y: fmpq_mat, c: fmpq) -> fmpq_mat:
    """∂L/∂Ŷ on rationals, the formulas of `ops.LOSS_RULES`."""
    n = Yhat.nrows()
    if loss.kind == "squared_error":
        return (Yhat - Y) * c
    if loss.kind == "mse":
        return (Yhat - Y) * (2 * c / n)
    p_, y_ = Yhat.entries(), Y.entries()
    if loss.kind == "cross_entropy":
        g = [c * -(y / p if y != 0 else ZERO) for p, y in zip(p_, y_)]
    else:  # bce: ((1−y)/(1−p) − y/p)/n
        g = [c * (((1 - y) / (1 - p) if y != 1 else ZERO) - (y / p if y != 0 else ZERO)) / n for p, y in zip(p_, y_)]
    return same_shape(Yhat, g)


def _fused_grad(loss: Any, Yhat: Any, Y: fmpq_mat, c: fmpq) -> Any:
    if isinstance(Yhat, Atoms):
        return factored.fused_atoms(Yhat, Y, c)
    n, N = Yhat.nrows(), Yhat.ncols()
    if loss.kind == "cross_entropy":
        sums = fmpq_mat(N, N)
        for k, t in enumerate((ones(1, n) * Y).entries()):  # (1×n)·(n×N): Σ_i y_ik
            sums[k, k] = t
        return (Yhat * sums - Y) * c  # c·(ŷ·Σy − y): (n×N)·(N×N) − (n×N)
    return (Yhat - Y) * (c / n)
