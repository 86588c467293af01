"""Candidate exercises for each KIND of `symnet generate`, drawn layer by layer from a local RNG."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from functools import lru_cache
from math import lcm
from typing import TYPE_CHECKING, Any

import sympy as sp
from flint import fmpq, fmpq_mat

from .algebra.flint import FlintAlgebra
from .algebra.sympy import SYMPY
from .expr import FloatText
from .ops import loss
from .ops.activations import FUNCTIONS, Activated, relu_problems

if TYPE_CHECKING:
    from .generate import Options

Grid = list[list[int | Fraction]]  # rows × columns of exact numbers (Fractions only after a leaky ReLU)
Candidate = tuple[dict, list[str]] | None  # (spec data, header notes), or None to draw again
Drawn = tuple[list[list[int]], list[int], Grid]  # one layer: W (n×m), b (n), Z = W·A + b (n×N)

LAYER_TRIES = 200  # draws of one layer's W and b before the whole candidate starts again
OUTPUT_TRIES = 30  # output layers (with targets) drawn over the same hidden layers
HIDDEN_CAP = 30  # |z| of a hidden layer: well inside the guarantee's 100, comfortable by hand
TOP_CAP = 6  # |z| of the hidden layer below a backprop output: small, so logits stay close
LEAKY_ALPHA = Fraction(1, 10)
ETA = "1/10"

NAMES = {"relu": "ReLU", "leaky_relu": "leaky ReLU", "identity": "identity", "sigmoid": "sigmoid", "tanh": "tanh"}
EXACT = "Approximations: none; every value is exact."
PREDICTIONS = ("Approximation: the backward pass starts from worksheet-style predictions, the exact softmax",
               "rounded to one decimal (loss.predictions), as the AI by Hand sheets do; every gradient stays rational.")
BASE3 = ("Approximation: softmax with exp_base = 3 (3 in place of e), as the AI by Hand sheets do;",
         "the derivatives keep their usual forms, so every value is rational.")
SQUASH3 = ("Approximation: {act} with exp_base = 3 (3 in place of e), as the AI by Hand sheets do;",
           "every value is rational.")


# ---------------------------------------------------------------- drawing numbers


class Exhausted(Exception):
    """The search spent its budget of layer draws."""


class Search(random.Random):
    """A local RNG (seeded from a string, so the same in every process) that also counts the layer draws left."""

    def __init__(self, seed: str, draws: int = 10_000) -> None:
        super().__init__(seed)
        self.draws = draws

    def spend(self) -> None:
        """Count one layer draw; raise `Exhausted` when none are left."""
        self.draws -= 1
        if self.draws < 0:
            raise Exhausted


def _weights(g: int) -> list[int]:
    """Weights and biases from −g to g, the small ones (−1, 0, 1) three times as likely."""
    return [v for v in range(-g, g + 1) for _ in range(3 if abs(v) <= 1 else 1)]


def _inputs(rng: Search, rows: int, cols: int, g: int) -> Grid:
    """An input matrix, mostly positive as on the sheets, with no all-zero column."""
    pool = [v for v in range(-g, g + 1) for _ in range(3 if v > 0 else 1)]
    while True:
        X: Grid = [[rng.choice(pool) for _ in range(cols)] for _ in range(rows)]
        if all(any(X[i][j] for i in range(rows)) for j in range(cols)):
            return X


# The draws are computed by the ops themselves, on a flint algebra of their own (exact, and fast enough to draw
# thousands of layers): Z = W·A + b by the dense layer's `linear`, the activations by their own functions.
FLINT = FlintAlgebra()


def _flint(grid: Sequence[Sequence[int | Fraction]]) -> fmpq_mat:
    entries = [fmpq(Fraction(v).numerator, Fraction(v).denominator) for r in grid for v in r]
    return fmpq_mat(len(grid), len(grid[0]), entries)


def _grid(m: Any) -> Grid:
    """An fmpq_mat as rows of ints (whole entries) and Fractions."""
    out = []
    for i in range(m.nrows()):
        row: list[int | Fraction] = []
        for j in range(m.ncols()):
            x = m[i, j]
            row.append(int(x.p) if x.q == 1 else Fraction(int(x.p), int(x.q)))
        out.append(row)
    return out


def _linear(W: list[list[int]], A: Grid, b: list[int]) -> Grid:
    return _grid(FLINT.linear(_flint(W), _flint(A), _flint([[v] for v in b])))  # (n×m)·(m×N) + (n×1)·1ᵀ


def _activate(Z: Grid, act: str) -> Grid:
    """A = f(Z) for the piecewise-linear activations a drawn layer feeds on (a sigmoid or tanh is only ever the last
    layer, whose A nothing reads: Z is given back)."""
    if not FUNCTIONS[act].piecewise:
        return Z
    layer = Activated(activation=act, alpha=sp.Rational(LEAKY_ALPHA.numerator, LEAKY_ALPHA.denominator))
    return _grid(FUNCTIONS[act].value(FLINT, layer, _flint(Z)))


def _masked_ok(Z: Grid, hidden: bool) -> bool:
    """The ReLU's friendliness (activations.relu_problems): no input at 0, and a layer of ≥2 neurons zeroes one
    entry and passes one; a hidden layer passes one however many neurons it has."""
    return not relu_problems([z for row in Z for z in row], len(Z), hidden)


def _z_ok(act: str, hidden: bool, cap: int = HIDDEN_CAP) -> Callable[[Grid], bool]:
    """The test a layer's Z must pass, for an activation (hidden: another layer follows)."""
    limit = {"sigmoid": 4, "tanh": 2}.get(act, cap)  # base 3: 81/82 and 40/41 keep denominators ≤ 100

    def ok(Z: Grid) -> bool:
        if any(not -limit <= z <= limit for row in Z for z in row):  # some |z| > limit
            return False
        return _masked_ok(Z, hidden) if act in ("relu", "leaky_relu") else True

    return ok


def _independent_rows(rng: Search, n: int, m: int, g: int) -> list[list[int]]:
    """Rows with one to three nonzero weights each, as on the sheets (sums stay small in wide layers)."""
    pool = [v for v in _weights(g) if v]
    rows = []
    for _ in range(n):
        row = [0] * m
        for t in rng.sample(range(m), min(m, rng.choice((1, 2, 2, 3, 3)))):
            row[t] = rng.choice(pool)
        rows.append(row)
    return rows


def _related_rows(rng: Search, n: int, m: int, g: int) -> list[list[int]]:
    """Rows that differ from a shared row by −1, 0 or 1 here and there: close logits, so a softmax is not one-hot."""
    pool = _weights(g)
    common = [rng.choice(pool) for _ in range(m)]
    rows = [[c + rng.choice((-1, 0, 0, 1)) for c in common] for _ in range(n)]
    return rows if all(abs(w) <= g for row in rows for w in row) else [[0] * m]


def _layer(rng: Search, A: Grid, n: int, g: int, bias: bool, ok: Callable[[Grid], bool],
           rows: Callable[[Search, int, int, int], list[list[int]]] = _independent_rows) -> Drawn | None:
    """W (n×m) and b (n) until Z = W·A + b passes `ok`; None after LAYER_TRIES draws."""
    pool, m = _weights(g), len(A)
    for _ in range(LAYER_TRIES):
        rng.spend()
        W = rows(rng, n, m, g)
        if any(not any(row) for row in W):
            continue
        b = [rng.choice(pool) for _ in range(n)] if bias else [0] * n
        Z = _linear(W, A, b)
        if ok(Z):
            return W, b, Z
    return None


def _forward(rng: Search, sizes: tuple[int, ...], batch: int, g: int, acts: list[str], bias: bool,
             hidden_last: bool = False, last_cap: int = HIDDEN_CAP) -> tuple[Grid, list[Drawn]] | None:
    """X and every layer's (W, b, Z), drawn layer by layer; None when a layer finds no friendly draw.

    hidden_last: the last layer drawn here feeds another (so its ReLU must pass an entry)."""
    X = _inputs(rng, sizes[0], batch, g)
    A, layers = X, []
    for k, (n, act) in enumerate(zip(sizes[1:], acts), 1):
        last = k == len(acts)
        ok = _z_ok(act, hidden=hidden_last or not last, cap=last_cap if last else HIDDEN_CAP)
        drawn = _layer(rng, A, n, g, bias, ok)
        if drawn is None:
            return None
        layers.append(drawn)
        A = _activate(drawn[2], act)
    return X, layers


# ---------------------------------------------------------------- spec data


def _ints(grid: Grid) -> list[list[int]]:
    return [[int(v) for v in row] for row in grid]


def _columns(grid: list[list]) -> list:
    """A matrix as the spec writes it: a flat list for one column, else a list of rows."""
    return [row[0] for row in grid] if len(grid[0]) == 1 else grid


def _decimal(v: Fraction) -> FloatText | int:
    return int(v) if v.denominator == 1 else FloatText(str(Decimal(v.numerator) / Decimal(v.denominator)))


def _network(X: Grid, layers: list[Drawn], acts: list[str], bias: bool, extra: dict | None = None) -> list[dict]:
    out = []
    for (W, b, _), act in zip(layers, acts):
        table: dict = {"W": W}
        if bias:
            table["b"] = b
        else:
            table["bias"] = False  # no bias at all (without b a layer has a zero bias that trains)
        table["activation"] = act
        if act in ("sigmoid", "tanh"):
            table["exp_base"] = 3
        out.append(table)
    if extra:
        out[-1].update(extra)
    return out


def _notes(acts: list[str]) -> list[str]:
    squash = sorted({a for a in acts if a in ("sigmoid", "tanh")})
    if squash:
        first, second = SQUASH3
        return [first.format(act=" and ".join(squash)), second]
    leaky = ["leaky_relu uses alpha = 1/10 (the default)."] if "leaky_relu" in acts else []
    return [EXACT, *leaky]


# ---------------------------------------------------------------- kinds


def matmul(rng: Search, o: "Options") -> Candidate:
    """C = A·B with A (n×m) and B (m×p) from the pool; no zero row in A, no zero column in B."""
    n, m, p = o.sizes
    pool = _weights(o.max_given)
    A = [[rng.choice(pool) for _ in range(m)] for _ in range(n)]
    B = [[rng.choice(pool) for _ in range(p)] for _ in range(m)]
    if any(not any(r) for r in A) or any(not any(B[i][j] for i in range(m)) for j in range(p)):
        return None
    spec = {"title": "Matrix multiplication",
            "description": "C = A·B: each entry the dot product of a row of A with a column of B",
            "kind": "matmul", "A": A, "B": B}
    return spec, [EXACT]


def _forward_kind(title: str, description: str, count_parameters: bool = False, every_layer: bool = True):
    """A forward-only KIND: the activation on every layer (or on the hidden ones and a linear output)."""

    def build(rng: Search, o: "Options") -> Candidate:
        depth = len(o.sizes) - 1
        acts = [o.activation] * depth if every_layer else [o.activation] * (depth - 1) + ["identity"]
        bias = every_layer  # the deep perceptron has no biases, as the seven-layer seed
        drawn = _forward(rng, o.sizes, o.batch, o.max_given, acts, bias)
        if drawn is None:
            return None
        X, layers = drawn
        act = NAMES[o.activation]
        spec: dict = {"title": title.format(n=o.sizes[-1], depth=depth, batch=o.batch),
                      "description": description.format(n=o.sizes[-1], depth=depth, batch=o.batch, act=act)}
        if count_parameters:
            spec["count_parameters"] = True
        spec["X"] = _columns(_ints(X))
        spec["layers"] = _network(X, layers, acts, bias)
        notes = _notes(acts) + ([] if bias else ["No biases, as in the seven-layer seed; the output layer is linear."])
        return spec, notes

    return build


@lru_cache(maxsize=4096)
def rounded_softmax(z: tuple[int, ...]) -> tuple[Fraction, ...] | None:
    """The exact softmax of a column (the softmax's own, with e) rounded to one decimal, or None when the rounded
    values do not sum to 1."""
    exact = SYMPY.softmax(sp.ImmutableMatrix([[v] for v in z]), sp.E)
    p = [Decimal(str(sp.N(x, 40))).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN) for x in exact]
    return tuple(Fraction(x) for x in p) if sum(p) == 1 else None


def _base3_denominator(z: tuple[int, ...]) -> int:
    low = min(z)
    return sum(3 ** int(v - low) for v in z)


def _column(Z: Grid, j: int) -> tuple[int, ...]:
    return tuple(int(row[j]) for row in Z)


def _output_ok(o: "Options") -> Callable[[Grid], bool]:
    """The test the output layer's Z must pass for the chosen loss and softmax approximation."""
    g = o.max_given

    def ok(Z: Grid) -> bool:
        cols = [_column(Z, j) for j in range(len(Z[0]))]
        if o.loss != "cross_entropy":
            return all(abs(z) <= g + 1 for c in cols for z in c)  # a target within ±2 exists in [−g, g]
        if o.softmax == "base3":
            return all(max(c) - min(c) <= 2 for c in cols) and lcm(*map(_base3_denominator, cols)) <= 100
        preds = [rounded_softmax(tuple(v - max(c) for v in c)) for c in cols]
        return all(p is not None and sum(1 for x in p if x) >= 2 for p in preds)

    return ok


def backprop(rng: Search, o: "Options") -> Candidate:
    """Forward, loss, backward and one gradient-descent step; the output and targets drawn so gradients reach
    layer 1."""
    depth, g = len(o.sizes) - 1, o.max_given
    out_act = "softmax" if o.loss == "cross_entropy" else "identity"
    acts = [o.activation] * (depth - 1) + [out_act]
    drawn = _forward(rng, o.sizes[:-1], o.batch, g, acts[:-1], True, hidden_last=True, last_cap=TOP_CAP)
    if drawn is None:
        return None
    X, hidden = drawn
    A = _activate(hidden[-1][2], acts[-2]) if hidden else X
    if hidden and not _reaches_first_layer(hidden, acts, [[Fraction(z > 0 or acts[-2] != "relu") for z in row]
                                                          for row in hidden[-1][2]]):
        return None  # no path of passing neurons and nonzero weights from the top hidden layer down to layer 1
    rows = _related_rows if out_act == "softmax" else _independent_rows
    for _ in range(OUTPUT_TRIES):
        out = _layer(rng, A, o.sizes[-1], g, True, _output_ok(o), rows)
        if out is None:
            return None
        Y, preds = _targets(rng, o, out[2])
        if Y is not None and _reaches_first_layer(hidden + [out], acts, _output_gradient(o, out[2], Y, preds)):
            break
    else:
        return None
    layers = hidden + [out]
    loss: dict = {"kind": o.loss, "Y": _columns(Y)}
    if preds is not None:
        loss["predictions"] = _columns([[_decimal(p[i]) for p in preds] for i in range(o.sizes[-1])])
    notes = list(PREDICTIONS if preds is not None else BASE3 if o.softmax == "base3" else [EXACT])
    if o.batch > 1:
        loss["reduction"] = "sum"
        notes.append(f"The loss is summed over the batch of {o.batch} (reduction = \"sum\"), as the spreadsheets do.")
    eta = ETA
    if o.softmax == "base3":
        eta = _base3_learning_rate(lcm(*(_base3_denominator(_column(out[2], j)) for j in range(o.batch))))
        if eta != ETA:
            notes.append(f"Learning rate {eta}: it keeps the updated weights' denominators at most 100.")
    extra = {"exp_base": 3} if o.softmax == "base3" else None
    spec = {"title": "Backpropagation by hand",
            "description": _backprop_description(o, out_act),
            "X": _columns(_ints(X)), "layers": _network(X, layers, acts, True, extra), "loss": loss,
            "train": {"learning_rate": eta, "steps": 1}}
    return spec, notes


def _backprop_description(o: "Options", out_act: str) -> str:
    hidden = len(o.sizes) - 2
    layers = f"{hidden} {NAMES[o.activation]} layer{'s' if hidden > 1 else ''} and " if hidden else ""
    output = "a softmax" if out_act == "softmax" else "a linear"
    loss = {"cross_entropy": "cross-entropy", "squared_error": "squared-error", "mse": "MSE"}[o.loss]
    return (f"Forward through {layers}{output} output, {loss} loss, the chain rule layer by layer, "
            "one gradient-descent step")


def _targets(rng: Search, o: "Options", Z: Grid) -> tuple[list[list[int]] | None, list[tuple[Fraction, ...]] | None]:
    """Targets Y for the output Z (and the rounded predictions, worksheet style); Y is None when none fit."""
    cols = [_column(Z, j) for j in range(len(Z[0]))]
    if o.loss != "cross_entropy":
        Y = [[_target(rng, int(z), o.max_given) for z in row] for row in Z]
        return (None if Y == _ints(Z) else Y), None
    preds: list[tuple[Fraction, ...]] | None = None
    if o.softmax == "predictions":
        preds = []
        for c in cols:
            p = rounded_softmax(tuple(v - max(c) for v in c))
            assert p is not None  # Z passed _output_ok, which refuses a column whose rounded softmax is None
            preds.append(p)
        classes = [[i for i, p in enumerate(col) if p] for col in preds]
    else:
        classes = [list(range(len(c))) for c in cols]
    truth = [rng.choice(cs) for cs in classes]
    return [[int(i == t) for t in truth] for i in range(len(Z))], preds


def _output_gradient(o: "Options", Z: Grid, Y: list[list[int]], preds: list[tuple[Fraction, ...]] | None) -> Grid:
    """∂L/∂Z of the output up to a positive factor, by the loss's own gradients: Ŷ − Y for softmax and
    cross-entropy (from the rounded predictions, or with 3 for e), the squared error's Ẑ − Y for a linear output."""
    Yq = _flint(Y)
    if preds is not None:
        P = _flint([[p[i] for p in preds] for i in range(len(Z))])
    elif o.loss == "cross_entropy":
        P = FLINT.softmax(_flint(Z), sp.Integer(3))
    else:
        return _grid(loss.gradient(FLINT, "squared_error", _flint(Z), Yq, FLINT.scalar(1)))
    return _grid(loss.fused_gradient(FLINT, "cross_entropy", P, Yq, FLINT.scalar(1), Activated(activation="softmax")))


def _reaches_first_layer(layers: list[Drawn], acts: list[str], G: Grid) -> bool:
    """A quick pre-check before the engine's solve: some of ∂L/∂Z reaches layer 1 through the ReLU masks
    (Wᵀ·∂L/∂Z as the dense layer passes it down, cut where a ReLU's z ≤ 0)."""
    g = _flint(G)
    for k in range(len(layers) - 1, 0, -1):
        W, Z = _flint(layers[k][0]), _flint(layers[k - 1][2])
        g = FLINT.matmul(FLINT.transpose(W), g)  # (m×n)·(n×N)
        if acts[k - 1] == "relu":
            g = FLINT.masked(g, Z, 0, FLINT.step(Z, 0))  # ⊙ the 0/1 mask
    return any(x != 0 for x in g.entries())


def _base3_learning_rate(denominator: int) -> str:
    """The smallest of 1/10, 1/5, 1/2, 1 whose updates keep denominators at most 100 (gradients over `denominator`)."""
    return next(eta for eta, q in ((ETA, 10), ("1/5", 5), ("1/2", 2), ("1", 1)) if q * denominator <= 100)


def _target(rng: Search, z: int, g: int) -> int:
    """A target y in [−g, g] within 2 of the output z, different from it when possible."""
    near = [y for y in range(z - 2, z + 3) if -g <= y <= g and y != z]
    return rng.choice(near) if near else z


BUILDERS: dict[str, Callable[[Search, "Options"], Candidate]] = {
    "matmul": matmul,
    "single-neuron": _forward_kind("One neuron", "z = w·x + b for a single neuron, then {act}"),
    "four-neurons": _forward_kind("A layer of {n} neurons", "Z = W·x + b for a layer of {n} neurons, then {act}"),
    "hidden-layer": _forward_kind("A hidden layer", "Two {act} layers, and the number of parameters they hold",
                                  count_parameters=True),
    "batch": _forward_kind("A batch of {batch} inputs", "The same two layers applied to {batch} input columns at once"),
    "mlp": _forward_kind("A {depth}-layer perceptron",
                         "{depth} layers without biases, {act} on the hidden layers, a linear output",
                         every_layer=False),
    "backprop": backprop,
}
