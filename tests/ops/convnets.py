"""Oracles for the convolution family: an exercise run again in PyTorch float64 (F.conv1d, F.conv2d, max_pool2d with
return_indices, avg_pool2d, autograd), and symnet's quantities compared with it at 1e-12."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
import sympy as sp

from symnet import spec

TOL = 1e-12


def frac(rng: random.Random, top: int = 6, dens: tuple[int, ...] = (1, 2, 3, 4)) -> str:
    """A random fraction as spec text, never 0 (so no ReLU input is 0 by accident)."""
    while True:
        x = Fraction(rng.randint(-top, top), rng.choice(dens))
        if x:
            return str(x)


def fracs(rng: random.Random, r: int, c: int, **kw) -> list[list[str]]:
    return [[frac(rng, **kw) for _ in range(c)] for _ in range(r)]


def distinct(rng: random.Random, r: int, c: int) -> list[list[str]]:
    """An r × c matrix of distinct fractions (no tie in any pooling window, so sympy.diff of Max is defined)."""
    pool = rng.sample(range(-40, 40), r * c)
    return [[str(Fraction(pool[i * c + j], 7)) for j in range(c)] for i in range(r)]


def torch_run(data: dict) -> dict:
    """Every quantity symnet names, computed by PyTorch float64 autograd: values, the loss, and the gradients."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    ex = spec.from_data(data)

    def t(m) -> "torch.Tensor":
        m = m if isinstance(m, sp.MatrixBase) else sp.ImmutableMatrix([[m]])
        return torch.tensor([[float(v) for v in m.row(i)] for i in range(m.rows)], dtype=torch.float64)

    out, params, held = {}, {}, {}
    A = t(ex.X).requires_grad_(True)
    held["X"] = A
    for k, l in enumerate(ex.layers, 1):
        if l.type in ("conv2d", "conv1d"):
            C, H, W = l.maps
            (h, w), F_ = l.kernel, l.K.rows
            K = t(l.K).requires_grad_(True)
            b = t(l.b).requires_grad_(True)
            params[f"K{k}"], params[f"b{k}"] = K, b
            x = A.reshape(1, C, H, W)
            z = F.conv2d(x, K.reshape(F_, C, h, w), b.reshape(F_), stride=l.stride, padding=l.padding)
            if l.type == "conv1d":  # the same through torch's own 1-D convolution
                z1 = F.conv1d(A.reshape(1, C, W), K.reshape(F_, C, w), b.reshape(F_), stride=l.stride[1],
                              padding=l.padding[1])
                assert torch.allclose(z1.reshape(-1), z.reshape(-1), atol=0, rtol=0)
            Z = z.reshape(F_, -1)
            out[f"Z{k}"] = Z
            A = act(torch, l, Z)
        elif l.type in ("max_pool", "avg_pool"):
            C, H, W = l.maps
            x = A.reshape(1, C, H, W)
            if l.type == "max_pool":
                y, idx = F.max_pool2d(x, l.size, l.stride, return_indices=True)
                out[f"argmax{k}"] = (idx.reshape(C, -1) + 1).to(torch.float64)  # 1-based, row-major in its map
            else:
                y = F.avg_pool2d(x, l.size, l.stride)
            A = y.reshape(C, -1)
        elif l.type == "flatten":
            A = A.reshape(-1, 1)
        else:  # dense
            Wt = t(l.W).requires_grad_(True)
            params[f"W{k}"] = Wt
            Z = Wt @ A
            if l.has_bias:
                b = t(l.b).requires_grad_(True)
                params[f"b{k}"] = b
                Z = Z + b
            out[f"Z{k}"] = Z
            A = act(torch, l, Z)
        A.retain_grad()
        held[f"A{k}"] = A
        out[f"A{k}"] = A
    loss = ex.loss
    Y = t(loss.Y)
    N = A.shape[1]
    c = 1 / N if loss.reduction == "mean" else 1
    if loss.kind == "squared_error":
        L = c * ((A - Y) ** 2).sum() / 2
    else:
        L = -c * (Y * torch.log(A)).sum()
    L.backward()
    out["L"] = L
    for name, p in params.items():
        out[f"dL/d{name}"] = p.grad
    for name, v in held.items():
        if v.grad is not None:
            out[f"dL/d{name}"] = v.grad
    return out


def act(torch, layer, Z):
    f = layer.activation
    if f == "relu":
        return torch.relu(Z)
    if f == "sigmoid":
        return torch.sigmoid(Z)
    if f == "tanh":
        return torch.tanh(Z)
    if f == "softmax":
        return torch.softmax(Z, dim=0)
    assert f == "identity", f
    return Z


def assert_matches_torch(data: dict) -> int:
    """symnet's exact solution of `data` against PyTorch at 1e-12, quantity by quantity; how many were compared."""
    sol = spec.from_data(data).solve()
    want = torch_run(data)
    compared = 0
    for name, w in want.items():
        if name not in sol:
            continue
        got = sol[name]
        got = got if isinstance(got, sp.MatrixBase) else sp.ImmutableMatrix([[got]])
        w = w.detach().reshape(got.rows, got.cols)
        for i in range(got.rows):
            for j in range(got.cols):
                g, e = float(got[i, j]), w[i, j].item()
                assert abs(g - e) <= TOL * max(1.0, abs(e)), (name, i + 1, j + 1, got[i, j], e)
        compared += 1
    return compared


ANSWERS = __import__("pathlib").Path(__file__).resolve().parents[1] / "answers"


def diagnosed(cli, exercise: str, answers: str) -> dict[str, tuple[str | None, tuple[str | None, ...]]]:
    """`symnet check EXERCISE tests/answers/ANSWERS.toml --format json`: per quantity, its diagnosis and its wrong
    entries' (exit 1: something is wrong)."""
    spec_arg = exercise if "/" not in exercise else str(ANSWERS / exercise)
    run = cli("check", spec_arg, ANSWERS / f"{answers}.toml", "--format", "json")
    assert run.code == 1, run.err
    return {name: (q["diagnosis"], tuple(e["diagnosis"] for e in q["entries"] if not e["correct"]))
            for name, q in run.json()["quantities"].items()}
