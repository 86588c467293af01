"""A recurrent layer (`type = "rnn"`): Ft = Wx·xt + Wh·h(t−1) + bh, Ht = f(Ft), Ot = Wy·Ht + by, At = g(Ot), and
backpropagation through time (the shared weights' gradients summed over the steps)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

import sympy as sp

from ..errors import SpecError
from ..reader import shape_text
from . import Backward, Grad, Key, Kind, KindInfo, Mistake, Node, Op, activations
from .activations import FUNCTIONS, Activated

if TYPE_CHECKING:
    from ..engine import Run
    from ..exercise import Exercise
    from ..reader import Reader
    from ..record import Solution

HIDDEN = ("tanh", "relu", "leaky_relu", "identity", "sigmoid")
OUTPUTS = ("identity", "sigmoid", "softmax", "relu", "leaky_relu", "tanh")
OUTPUT_AT = ("every", "last")


@dataclass(frozen=True, kw_only=True)
class Output(Activated):
    """A recurrent layer's output activation At = g(Ot): what the loss fuses with (softmax + cross-entropy) acts on
    Ok."""

    def pre(self, k: int) -> str:
        """The quantity the output activation acts on."""
        return f"O{k}"


@dataclass(frozen=True, kw_only=True)
class Recurrent(Activated):
    """An Elman RNN over the columns of its input (the time steps), its hidden activation in `activation`."""

    type = "rnn"
    has_bias: ClassVar[bool] = True  # (the dense layer's missing_bias mistake reads has_bias and b)
    Wx: sp.ImmutableMatrix  # (hidden × inputs)
    Wh: sp.ImmutableMatrix  # (hidden × hidden)
    bh: sp.ImmutableMatrix  # (hidden × 1)
    Wy: sp.ImmutableMatrix  # (outputs × hidden)
    by: sp.ImmutableMatrix  # (outputs × 1)
    h0: sp.ImmutableMatrix  # (hidden × 1): the state before the first step
    output: str = "identity"
    output_at: str = "every"  # "last": Ok and Ak only at the last step (many-to-one; the loss on the last step)

    def pre(self, k: int) -> str:
        """The quantity the hidden activation acts on."""
        return f"F{k}"

    @property
    def b(self) -> sp.ImmutableMatrix:
        """Every bias of the layer, stacked: [bh ; by]."""
        return sp.ImmutableMatrix.vstack(self.bh, self.by)

    @property
    def out(self) -> Output:
        """The output activation, as the loss and `activations` read it."""
        return Output(activation=self.output, alpha=self.alpha, exp_base=self.exp_base)


# ---------------------------------------------------------------- reading a sequence layer (shared with lstm)


def parse_state(read: "Reader", key: str, rows: int) -> sp.ImmutableMatrix:
    """An initial state (h0, c0): a column of `rows` entries, zeros when absent."""
    if key not in read.table:
        return sp.zeros(rows, 1).as_immutable()
    v = read.matrix(key, (rows, 1))
    if v.shape != (rows, 1):
        raise SpecError(f"{key} is {shape_text(v)} but the hidden state has {rows} entries: {key} needs {rows}×1",
                        field=read.at(key))
    return v


def parse_exp_base(read: "Reader", uses_exp: bool) -> sp.Expr:
    """The layer's exp_base (e when absent): a positive number other than 1, for a layer computing with e."""
    if "exp_base" not in read.table:
        return sp.E
    if not uses_exp:
        raise SpecError("exp_base goes only with a sigmoid, tanh or softmax in the layer", field=read.at("exp_base"))
    base = read.scalar("exp_base")
    if base.is_number and not base.is_positive or base == 1:
        raise SpecError(f"exp_base must be a positive number other than 1, got {base}", field=read.at("exp_base"))
    return base


def need_shape(read: "Reader", key: str, m: sp.ImmutableMatrix, shape: tuple[int, int], why: str) -> None:
    """Refuse a matrix key whose shape is not `shape`, saying why it must be."""
    if m.shape != shape:
        raise SpecError(f"{key}{read.k} is {shape_text(m)} but {why}: {key}{read.k} needs {shape[0]}×{shape[1]}",
                        field=read.at(key))


def shifted(xp: Any, h0: Any, H: Any) -> Any:
    """[h0 | H without its last column]: the state each step starts from, h(t−1)."""
    T = xp.shape(H)[1]
    return xp.hstack([h0] + [xp.column(H, t) for t in range(T - 1)])


def _parse(read: "Reader") -> Recurrent:
    read.keys(("Wx", "Wh", "bh", "Wy", "by", "activation", "output", "alpha", "exp_base", "h0", "output_at"),
              required=("Wx", "Wh", "Wy"))
    k, (n, T), prev = read.k, read.below, read.prev
    Wx = read.matrix("Wx")
    if Wx.cols != n:
        raise SpecError(f"Wx{k} is {shape_text(Wx)} but {prev} is {n}×{T}: Wx{k}·x_t needs Wx{k} to have {n} columns",
                        field=read.at("Wx"))
    h = Wx.rows
    Wh = read.matrix("Wh", (h, h))
    need_shape(read, "Wh", Wh, (h, h), f"the hidden state has {h} entries (the rows of Wx{k})")
    bh = read.matrix("bh", (h, 1)) if "bh" in read.table else sp.zeros(h, 1).as_immutable()
    need_shape(read, "bh", bh, (h, 1), f"the hidden state has {h} entries")
    Wy = read.matrix("Wy")
    if Wy.cols != h:
        raise SpecError(f"Wy{k} is {shape_text(Wy)} but the hidden state has {h} entries: Wy{k}·h_t needs Wy{k} to "
                        f"have {h} columns", field=read.at("Wy"))
    by = read.matrix("by", (Wy.rows, 1)) if "by" in read.table else sp.zeros(Wy.rows, 1).as_immutable()
    need_shape(read, "by", by, (Wy.rows, 1), f"Wy{k} has {Wy.rows} rows")
    act = read.choice("activation", HIDDEN, "tanh")
    out = read.choice("output", OUTPUTS, "identity")
    alpha = sp.Rational(1, 10)
    if "alpha" in read.table:
        if "leaky_relu" not in (act, out):
            raise SpecError("alpha goes only with a leaky_relu activation or output", field=read.at("alpha"))
        alpha = read.scalar("alpha")
    base = parse_exp_base(read, FUNCTIONS[act].uses_exp or FUNCTIONS[out].uses_exp)
    return Recurrent(Wx=Wx, Wh=Wh, bh=bh, Wy=Wy, by=by, h0=parse_state(read, "h0", h), activation=act, output=out,
                     alpha=alpha, exp_base=base, output_at=read.choice("output_at", OUTPUT_AT, "every"))


# ---------------------------------------------------------------- mistakes


def _sequence(ex: "Exercise", types: tuple[str, ...] = ("rnn", "lstm")) -> bool:
    return ex.X is not None and ex.X.cols > 1 and any(getattr(l, "type", "") in types for l in ex.layers)


def _through_time(ex: "Exercise") -> bool:
    return ex.loss is not None and _sequence(ex)


SEQUENCE_MISTAKES = (  # the rnn's and the lstm's (declared here once)
    Mistake("missing_recurrence", 1401, "The previous hidden state was left out: each step is Ft = Wx·xt + Wh·h(t−1) + "
            "bh, so h(t−1) feeds every step after the first (h0 the first).", _sequence),
    Mistake("bptt_truncated", 1402, "Backpropagation through time was cut at each step: ∂L/∂h(t) also receives "
            "Whᵀ·∂L/∂F(t+1) from the step after it, and the shared weights' gradients sum over every step.",
            _through_time),
)


# ---------------------------------------------------------------- a generated exercise


def pool(g: int) -> list[int]:
    """Weights from −g to g, the small ones (−1, 0, 1) three times as likely, as the dense kinds draw them."""
    return [v for v in range(-g, g + 1) for _ in range(3 if abs(v) <= 1 else 1)]


def _build(rng: Any, options: Any) -> tuple[dict, list[str]] | None:
    """The sheet's RNN: a sequence of whole numbers (the columns), ReLU hidden units that carry their state, an output
    per step and its target; the loss on every step (summed), then backpropagation through time."""
    n, h, o = options.sizes
    T, g = options.batch, options.max_given
    w = pool(g)
    m = lambda r, c: [[rng.choice(w) for _ in range(c)] for _ in range(r)]  # noqa: E731
    Wh = m(h, h)
    if all(v == 0 for row in Wh for v in row):
        return None  # no recurrence: not an RNN
    layer = {"type": "rnn", "Wx": m(h, n), "Wh": Wh, "bh": [rng.choice(w) for _ in range(h)], "Wy": m(o, h),
             "by": [rng.choice(w) for _ in range(o)], "activation": "relu"}
    X = [[rng.randint(1, min(3, g)) for _ in range(T)] for _ in range(n)]
    Y = [[rng.randint(0, min(3, g)) for _ in range(T)] for _ in range(o)]
    spec = {"title": "A recurrent network by hand",
            "description": f"{T} steps through a ReLU RNN and back through time",
            "X": X, "layers": [layer], "loss": {"kind": "squared_error", "Y": Y, "reduction": "sum"}}
    return spec, ["Approximations: none; every value is exact (ReLU in place of tanh, as the RNN sheet does)."]


# ---------------------------------------------------------------- the op


class RNN(Op):
    """Ft = Wx·xt + Wh·h(t−1) + bh, Ht = f(Ft), Ot = Wy·Ht + by, At = g(Ot), one column per time step; BPTT."""

    name = "rnn"
    layer = True
    summary = "a recurrent layer over the time steps (X's columns): Ft = Wx·xt + Wh·h(t−1) + bh, Ht = f(Ft), " \
              "Ot = Wy·Ht + by, At = g(Ot)"
    keys = (
        Key("Wx", "matrix (hidden × inputs)", "the input weights, shared by every step", required=True),
        Key("Wh", "matrix (hidden × hidden)", "the recurrent weights, shared by every step", required=True),
        Key("bh", "column (one entry per hidden unit)", "the hidden bias", "zeros"),
        Key("Wy", "matrix (outputs × hidden)", "the output weights", required=True),
        Key("by", "column (one entry per output)", "the output bias", "zeros"),
        Key("activation", "one of " + ", ".join(HIDDEN), "the hidden activation f", "tanh"),
        Key("output", "one of " + ", ".join(OUTPUTS), "the output activation g (softmax per step)", "identity"),
        Key("alpha", "number", "a leaky_relu's slope below and at 0", "1/10"),
        Key("exp_base", "number", "3 in place of e for every tanh, sigmoid and softmax of the layer (≈)", "e"),
        Key("h0", "column (one entry per hidden unit)", "the hidden state before the first step", "zeros"),
        Key("output_at", "every or last", "every: Ok and Ak have a column per step (the loss on every step); last: "
            "only the last step's (many-to-one: the loss's Y is one column)", "every"),
    )
    mistakes = SEQUENCE_MISTAKES
    kinds: ClassVar[dict[str, Kind]] = {"rnn": Kind(KindInfo((1, 2, 1), batch=4, layers=(2, 2)), _build)}

    def parse(self, table: Mapping, read: "Reader") -> Recurrent:
        return _parse(read)

    def out_rows(self, params: Recurrent, rows: int) -> int:
        return params.Wy.rows

    def out_shape(self, params: Recurrent, shape: tuple[int, int]) -> tuple[int, int]:
        return params.Wy.rows, (1 if params.output_at == "last" else shape[1])

    def trainable(self, params: Recurrent) -> dict[str, Any]:
        return {"Wx": params.Wx, "Wh": params.Wh, "bh": params.bh, "Wy": params.Wy, "by": params.by}

    def with_trained(self, params: Recurrent, new: Mapping[str, Any]) -> Recurrent:
        return replace(params, **new)

    def entries(self, params: Recurrent, rows: int, batch: int) -> int:
        h, o = params.Wh.rows, params.Wy.rows
        return 6 * (h + o) * batch + 2 * sum(v.rows * v.cols for v in self.trainable(params).values())

    def count(self, params: Recurrent) -> int:
        return sum(v.rows * v.cols for v in self.trainable(params).values())

    def activation(self, params: Recurrent) -> Output:
        return params.out

    def approximates(self, params: Recurrent) -> bool:
        return params.exp_base != sp.E and (FUNCTIONS[params.activation].uses_exp or FUNCTIONS[params.output].uses_exp)

    def forward(self, run: "Run", node: Node, params: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
        xp, k, p = run.xp, node.k, node.params
        prev = node.inputs[0]
        X, Wx, Wh, bh, Wy, by = inputs[prev], params["Wx"], params["Wh"], params["bh"], params["Wy"], params["by"]
        h0 = xp.value(p.h0, keep=True)
        bias = not run.broken("missing_bias")
        h, columns = h0, []
        for t in range(xp.shape(X)[1]):  # one step at a time: each starts from the state the last one left
            f = xp.linear(Wx, xp.column(X, t), bh if bias else None)  # (h×n)·(n×1) + (h×1)
            if not run.broken("missing_recurrence"):
                f = xp.add(f, xp.matmul(Wh, h))  # + (h×h)·(h×1)
            columns.append(f)
            h = self._hidden(run, p, f, k)
        F = run.record("recurrent", f"F{k}", xp.hstack(columns), **{f"Wx{k}": Wx, prev: X, f"Wh{k}": Wh, "h0": h0,
                                                                   **({f"bh{k}": bh} if bias else {})})
        H = run.record("hidden", f"H{k}", self._hidden(run, p, F, k), **{f"F{k}": F})  # (h×T)
        Hout = xp.column(H, xp.shape(H)[1] - 1) if p.output_at == "last" else H
        O = run.record("output", f"O{k}", xp.linear(Wy, Hout, by if bias else None),  # (o×h)·(h×T) + (o×1)
                       **{f"Wy{k}": Wy, f"H{k}": H, **({f"by{k}": by} if bias else {})})
        A = activations.forward(run, p.out, O, k, f"O{k}")
        return {f"F{k}": F, f"H{k}": H, f"O{k}": O, f"A{k}": A}

    def _hidden(self, run: "Run", p: Recurrent, F: Any, k: int) -> Any:
        """H = f(F), entry by entry (F itself when the checker's re-run forgets the activation)."""
        if run.broken("missing_activation"):
            return F
        if p.function.uses_exp:
            run.check_powers(F, p.exp_base, k)
        return p.function.value(run.xp, p, F)

    def backward(self, run: "Run", node: Node, params: Mapping[str, Any], saved: Mapping[str, Any], grad: Grad,
                 need: frozenset[str]) -> Backward:
        xp, k, p = run.xp, node.k, node.params
        prev = node.inputs[0]
        X, F, H, O, A = saved[prev], saved[f"F{k}"], saved[f"H{k}"], saved[f"O{k}"], saved[f"A{k}"]
        Wx, Wh, Wy = params["Wx"], params["Wh"], params["Wy"]
        dO = grad.value if grad.at == "Z" else activations.backward(run, p.out, O, A, grad.value, k, f"O{k}")
        h, T = xp.shape(H)
        last = p.output_at == "last"
        Hout = xp.column(H, T - 1) if last else H
        grads = {"Wy": run.record("grad_w", f"dL/dWy{k}", xp.matmul(dO, xp.transpose(Hout)),  # (o×T)·(T×h)
                                  **{f"dL/dO{k}": dO, f"H{k}": H}),
                 "by": run.record("grad_b", f"dL/dby{k}", xp.col_sums(dO), **{f"dL/dO{k}": dO})}
        direct = xp.matmul(xp.transpose(Wy), dO)  # (h×o)·(o×T): each step's own output, into its H
        if last:
            direct = xp.hstack([xp.zeros(h, 1)] * (T - 1) + [direct])
        D = self._derivative(run, p, F, H)
        cut = run.broken("bptt_truncated")
        dH_cols, after = [None] * T, None
        for t in reversed(range(T)):  # back through time: ∂L/∂h(t) = Wyᵀ·∂L/∂O(t) + Whᵀ·∂L/∂F(t+1)
            dh = xp.column(direct, t)
            if after is not None and not cut:
                dh = xp.add(dh, xp.matmul(xp.transpose(Wh), after))  # + (h×h)·(h×1)
            dH_cols[t] = dh
            after = xp.hadamard(dh, xp.column(D, t))  # ∂L/∂F(t), (h×1) ⊙ (h×1)
        dH = run.record("grad_bptt", f"dL/dH{k}", xp.hstack(dH_cols), **{f"Wy{k}": Wy, f"dL/dO{k}": dO, f"Wh{k}": Wh})
        D = run.record("derivative", f"dH{k}/dF{k}", D, **{f"F{k}": F, f"H{k}": H})
        dF = run.record("grad_z", f"dL/dF{k}", dH if run.broken("unmasked_gradient") else xp.hadamard(dH, D),
                        **{f"dL/dH{k}": dH, f"dH{k}/dF{k}": D})  # (h×T) ⊙ (h×T)
        U = shifted(xp, xp.value(p.h0, keep=True), H)  # h(t−1) of every step, (h×T)
        grads["Wx"] = run.record("grad_w", f"dL/dWx{k}", xp.matmul(dF, xp.transpose(X)), **{f"dL/dF{k}": dF, prev: X})
        grads["Wh"] = run.record("grad_w", f"dL/dWh{k}", xp.matmul(dF, xp.transpose(U)),  # (h×T)·(T×h): Σ over steps
                                 **{f"dL/dF{k}": dF, f"H{k}": H})
        grads["bh"] = run.record("grad_b", f"dL/dbh{k}", xp.col_sums(dF), **{f"dL/dF{k}": dF})
        parts = []
        if prev in need:
            name = run.grad_name(prev, f"A{k}")
            dX = run.record("grad_a", name, xp.matmul(xp.transpose(Wx), dF), **{f"Wx{k}": Wx, f"dL/dF{k}": dF})
            parts.append((prev, name, dX))
        return Backward(grads, tuple(parts))

    def _derivative(self, run: "Run", p: Recurrent, F: Any, H: Any) -> Any:
        """∂H/∂F entry by entry (1 − tanh², σ(1 − σ), the ReLU mask)."""
        return p.function.derivative(run.xp, p, F, H)

    def friendly(self, params: Recurrent, solution: "Solution", k: int) -> list[str]:
        out = activations.relu_friendly(params, solution[f"F{k}"], params.Wh.rows, k)
        if f"dL/dWh{k}" in solution and all(v == 0 for v in solution[f"dL/dWh{k}"]):
            out.append(f"no gradient reaches Wh{k} (the recurrence is never trained)")
        return out


OP = RNN()
