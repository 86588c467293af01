"""Random small networks for the oracle tests (sympy.diff, torch), as spec dicts."""

from __future__ import annotations

import random
from fractions import Fraction

ACTS = ["identity", "relu", "leaky_relu", "sigmoid", "tanh", "softmax"]
# A softmax below another e-based layer nests exponentials into entries of tens of thousands of
# nodes (beyond Bounds.expression_nodes); hidden layers use the others, outputs all six.
HIDDEN = ["identity", "relu", "leaky_relu", "sigmoid", "tanh"]
LOSSES = ["cross_entropy", "squared_error", "mse", "bce"]


def frac(rng: random.Random, span: int = 1, den: int = 4) -> str:
    """A small random rational in [−span, span], as spec text (small, so float64 has no cancellation)."""
    return str(Fraction(rng.randint(-span * den, span * den), rng.randint(1, den)))


def matrix(rng: random.Random, r: int, c: int) -> list[list[str]]:
    return [[frac(rng) for _ in range(c)] for _ in range(r)]


def random_spec(seed: int, act_out: str | None = None, loss: str | None = None, reduction: str | None = None,
                batch: int | None = None) -> dict:
    """A random network of 1–3 layers, widths 1–4, batch 1–4, with a loss valid for its output."""
    rng = random.Random(f"net:{seed}")
    loss = loss or LOSSES[seed % len(LOSSES)]
    if act_out is None:
        act_out = {"cross_entropy": rng.choice(["softmax", "sigmoid"]), "bce": rng.choice(["sigmoid", "softmax"])}.get(
            loss, rng.choice(ACTS))
    depth = rng.randint(1, 3)
    acts = [rng.choice(HIDDEN) for _ in range(depth - 1)] + [act_out]
    wide = 3 if any(a in ("sigmoid", "tanh") for a in acts[:-1]) else 4  # e-based hidden layers grow entries fast
    widths = [rng.randint(1, wide) for _ in range(depth + 1)]
    if act_out == "softmax":
        widths[-1] = max(widths[-1], 2)
    batch = batch or rng.randint(1, 4)
    layers = []
    for k, act in enumerate(acts):
        layer = {"W": matrix(rng, widths[k + 1], widths[k]), "b": [frac(rng) for _ in range(widths[k + 1])],
                 "activation": act}
        if act == "leaky_relu":
            layer["alpha"] = rng.choice(["1/10", "1/5", "0.01"])
        layers.append(layer)
    n, N = widths[-1], batch
    if loss == "cross_entropy":
        Y = [[str(Fraction(rng.randint(0, 4), 4)) for _ in range(N)] for _ in range(n)]
    elif loss == "bce":
        Y = [[rng.choice(["0", "1", "1/2", "1/4"]) for _ in range(N)] for _ in range(n)]
    else:
        Y = matrix(rng, n, N)
    return {
        "title": f"random {seed}",
        "X": matrix(rng, widths[0], N),
        "layers": layers,
        "loss": {"kind": loss, "Y": Y, "reduction": reduction or rng.choice(["mean", "sum"])},
    }
