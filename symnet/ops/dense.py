"""The dense layer: Zk = Wk·A(k−1) + bk (+ a skip), then its activation; backward through both."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import sympy as sp
from flint import fmpq_mat

from ..errors import SpecError
from ..held import Held
from ..reader import Plain, shape_text
from . import Backward, Grad, Key, Mistake, Node, Op, activations
from .activations import Activated
from .networks import KINDS as NETWORK_KINDS

if TYPE_CHECKING:
    from ..engine import Run
    from ..reader import Reader
    from ..record import Solution


@dataclass(frozen=True, kw_only=True)
class Layer(Activated):
    """A dense layer `Z = W·A + b` (+ a skip) followed by its activation."""

    type = "dense"
    W: Held[sp.ImmutableMatrix] = Held()  # (neurons × inputs)
    b: Held[sp.ImmutableMatrix] = Held()  # (neurons × 1): zeros when the spec gives none (still trained)
    has_bias: bool = True  # False: `bias = false`, no bias at all
    skip: str | None = None  # a residual: the name of an earlier quantity added to Z

    def pre(self, k: int) -> str:
        """The quantity the activation acts on."""
        return f"Z{k}"


def _parse_layer(read: "Reader") -> Layer:
    read.keys(("W", "b", "bias") + tuple(k.name for k in activations.KEYS) + ("skip",), required=("W",))
    k, (inputs, batch), prev, table = read.k, read.below, read.prev, read.table
    raw_W = table["W"]
    implied = (_need_rows(table, read), inputs) if isinstance(raw_W, Mapping) and "shape" not in raw_W else None
    W = read.held_matrix("W", implied)
    if W.cols != inputs:
        raise SpecError(f"W{k} is {shape_text(W)} but {prev} is {inputs}×{batch}: W{k}·{prev} needs W{k} to have "
                        f"{inputs} columns", field=read.at("W"))
    has_bias = read.boolean("bias", True)
    if "b" in table and not has_bias:
        raise SpecError("b is given but bias = false", field=read.at("bias"))
    b = read.held_matrix("b", (W.rows, 1)) if "b" in table else Plain(fmpq_mat(W.rows, 1))
    if b.shape != (W.rows, 1):
        raise SpecError(f"b{k} is {shape_text(b)} but W{k} is {shape_text(W)}: b{k} needs {W.rows}×1",
                        field=read.at("b"))
    skip = None
    if "skip" in table:
        skip = read.quantity("skip")
        if read.shapes[skip] != (W.rows, batch):
            rows, cols = read.shapes[skip]
            raise SpecError(f"{skip} is {rows}×{cols} but Z{k} is {W.rows}×{batch}: a skip adds a quantity of Z{k}'s "
                            "shape", field=read.at("skip"))
    return Layer(W=W, b=b, has_bias=has_bias, skip=skip, **activations.parse(read))


def _need_rows(table: Mapping, read: "Reader") -> int:
    b = table.get("b")
    if isinstance(b, list) and b:
        return len(b)
    raise SpecError("a symbol matrix needs shape = [rows, columns] (only the columns follow from the layer below)",
                    field=read.at("W.shape"))


def _has_bias(ex: Any) -> bool:
    return any(getattr(l, "has_bias", False) and any(v != 0 for v in l.b) for l in ex.layers)


def _square_above_first(ex: Any) -> bool:
    """True when W can be used for Wᵀ in a backward pass: a trained exercise with a dense layer above the first whose
    W is square and not symmetric (for a symmetric W the mistake changes nothing)."""
    return ex.loss is not None and any(getattr(l, "type", "") == "dense" and l.W.is_square and l.W != l.W.T
                                       for l in ex.layers[1:])


def _skips(ex: Any, test: Any) -> bool:
    """True when a dense layer with a skip passes test(layer)."""
    return any(getattr(l, "skip", None) is not None and test(l) for l in ex.layers if isinstance(l, Layer))


class Dense(Op):
    """Zk = Wk·A(k−1) + bk, Ak = f(Zk): the AI by Hand layer, [W | b] on the left of [A ; 1]."""

    name = "dense"
    layer = True
    summary = "a fully connected layer: Zk = Wk·A(k−1) + bk (+ skip), then its activation"
    keys = (
        Key("W", "matrix (neurons × inputs), or {symbol, shape}", "the weights", required=True),
        Key("b", "column (one entry per neuron)", "the biases; without b they start at 0 and are trained", "zeros"),
        Key("bias", "true or false", "false: the layer has no bias at all (no bk, dL/dbk or bk')", "true"),
        *activations.KEYS,
        Key("skip", "a quantity name (X, A2, …)", "a residual connection: Zk = Wk·A(k−1) + bk + that quantity, added "
            "before the activation; its gradient flows into both paths and is summed where they meet"),
    )
    kinds = NETWORK_KINDS  # resnet, autoencoder
    mistakes = (
        Mistake("missing_bias", 10, "The bias is missing: Z = W·A + b adds b to every column.", _has_bias),
        Mistake("weights_not_transposed", 55,
                "The backward pass needs the transpose: ∂L/∂A = Wᵀ·∂L/∂Z, not W·∂L/∂Z.", _square_above_first),
        Mistake("residual_after_activation", 1301, "The residual is added before the activation: A = f(W·A + b + "
                "skip), not f(W·A + b) + skip.", lambda ex: _skips(ex, lambda l: l.activation != "identity")),
        Mistake("residual_gradient_not_summed", 1302, "A quantity that feeds two paths gets the sum of both paths' "
                "gradients: the skip passes ∂L/∂Z on to it, added to the gradient through the weights.",
                lambda ex: ex.loss is not None and _skips(ex, lambda l: True)),
    )

    def parse(self, table: Mapping, read: "Reader") -> Layer:
        return _parse_layer(read)

    def out_rows(self, params: Layer, rows: int) -> int:
        return params.W.rows

    def outputs(self, k: int) -> tuple[str, ...]:
        return (f"Z{k}", f"A{k}")

    def inputs(self, k: int, params: Layer, prev: str) -> tuple[str, ...]:
        return (prev,) if params.skip is None else (prev, params.skip)

    def trainable(self, params: Layer) -> dict[str, Any]:
        return {"W": params.W, "b": params.b} if params.has_bias else {"W": params.W}

    def with_trained(self, params: Layer, new: Mapping[str, Any]) -> Layer:
        return replace(params, **new)

    def entries(self, params: Layer, rows: int, batch: int) -> int:
        n, m = params.W.shape
        return 6 * n * batch + 2 * n * (m + 1)  # Z, A, ∂A/∂Z, ∂L/∂A, ∂L/∂Z, …; ∂L/∂[W | b] and the update

    def count(self, params: Layer) -> int:
        return params.W.rows * params.W.cols + (params.b.rows if params.has_bias else 0)

    def activation(self, params: Layer) -> Activated:
        return params

    def approximates(self, params: Layer) -> bool:
        return params.approximates_e

    def forward(self, run: "Run", node: Node, params: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
        xp, k, layer = run.xp, node.k, node.params
        prev = node.inputs[0]
        A, W, b = inputs[prev], params["W"], params.get("b")
        Z = xp.linear(W, A, b if b is not None and not run.broken("missing_bias") else None)  # (n×m)·(m×N) + (n×1)·1ᵀ
        after = layer.skip is not None and run.broken("residual_after_activation")
        if layer.skip is not None and not after:
            Z = xp.add(Z, inputs[layer.skip])  # + the skip, before the activation
        operands = {f"W{k}": W, prev: A} | ({f"b{k}": b} if b is not None else {})
        if layer.skip is not None and not after:
            operands[layer.skip] = inputs[layer.skip]
        Z = run.record("linear", f"Z{k}", Z, **operands)
        if after:  # the mistake: f(W·A + b) + skip
            fn = layer.function
            if fn.uses_exp:
                run.check_powers(Z, layer.exp_base, k)
            out = xp.add(fn.value(xp, layer, Z), inputs[layer.skip])
            out = run.record("activation", f"A{k}", out, **{f"Z{k}": Z, layer.skip: inputs[layer.skip]})
            return {f"Z{k}": Z, f"A{k}": out}
        return {f"Z{k}": Z, f"A{k}": activations.forward(run, layer, Z, k, f"Z{k}")}

    def backward(self, run: "Run", node: Node, params: Mapping[str, Any], saved: Mapping[str, Any], grad: Grad,
                 need: frozenset[str]) -> Backward:
        xp, k, layer = run.xp, node.k, node.params
        prev = node.inputs[0]
        if grad.at == "Z":  # fused with the loss: ∂L/∂Z given
            dZ = grad.value
        else:
            dZ = activations.backward(run, layer, saved[f"Z{k}"], saved[f"A{k}"], grad.value, k, f"Z{k}")
        A_in = saved[prev]
        dW = run.record("grad_w", f"dL/dW{k}", xp.matmul(dZ, xp.transpose(A_in)),  # (n×N)·(N×m)
                        **{f"dL/dZ{k}": dZ, prev: A_in})
        grads = {"W": dW}
        if "b" in params:
            grads["b"] = run.record("grad_b", f"dL/db{k}", xp.col_sums(dZ), **{f"dL/dZ{k}": dZ})  # (n×N)·(N×1)
        parts = []
        if prev in need:
            W = params["W"]
            name = run.grad_name(prev, f"W{k}")
            flipped = run.broken("weights_not_transposed") and layer.W.is_square  # the mistake: W·∂L/∂Z
            dA = run.record("grad_a", name, xp.matmul(W if flipped else xp.transpose(W), dZ),
                            **{f"W{k}": W, f"dL/dZ{k}": dZ})  # (m×n)·(n×N)
            parts.append((prev, name, dA))
        if layer.skip is not None and layer.skip in need and not run.broken("residual_gradient_not_summed"):
            if run.broken("residual_after_activation"):  # (the mistake's skip, added after f, gets ∂L/∂A)
                parts.append((layer.skip, f"dL/dA{k}", grad.value))
            else:
                parts.append((layer.skip, f"dL/dZ{k}", dZ))  # the skip passes ∂L/∂Z on unchanged
        return Backward(grads, tuple(parts))

    def friendly(self, params: Layer, solution: "Solution", k: int) -> list[str]:
        return activations.relu_friendly(params, solution[f"Z{k}"], params.W.rows, k)


OP = Dense()
