"""PyTorch float64 autograd agrees with symnet's exact gradients on seeded random networks."""

from __future__ import annotations

import itertools

import pytest
import sympy as sp

import symnet
from symnet.bounds import Bounds
from tests.conftest import IN_CI
from tests.nets import ACTS, LOSSES, random_spec
from tests.numeric import approx

try:
    import torch
except ImportError:  # pragma: no cover - the reason is shown by the skip
    torch = None
    if IN_CI:
        raise

pytestmark = pytest.mark.skipif(torch is None, reason="torch not installed (.ci/run: pip install torch==2.13.0)")


def _t(rows: list[list[str]], grad: bool = False):
    from fractions import Fraction

    return torch.tensor([[float(Fraction(x)) for x in r] for r in rows], dtype=torch.float64, requires_grad=grad)


def _act(name: str, Z, alpha: float):
    if name == "identity":
        return Z
    if name == "relu":
        return torch.relu(Z)
    if name == "leaky_relu":
        return torch.nn.functional.leaky_relu(Z, alpha)
    if name == "sigmoid":
        return torch.sigmoid(Z)
    if name == "tanh":
        return torch.tanh(Z)
    return torch.softmax(Z, dim=0)  # samples are columns


def _loss(kind: str, P, Y):
    """Per-sample losses (one per column), as the contract defines them."""
    n = P.shape[0]
    if kind == "cross_entropy":
        return -(torch.xlogy(Y, P)).sum(dim=0)
    if kind == "squared_error":
        return 0.5 * ((P - Y) ** 2).sum(dim=0)
    if kind == "mse":
        return ((P - Y) ** 2).sum(dim=0) / n
    return -(torch.xlogy(Y, P) + torch.xlogy(1 - Y, 1 - P)).sum(dim=0) / n


def torch_pass(spec: dict) -> dict[str, "torch.Tensor"]:
    from fractions import Fraction

    A = _t(spec["X"])
    params = []
    for layer in spec["layers"]:
        W, b = _t(layer["W"], True), _t([[x] for x in layer["b"]], True)
        params.append((W, b))
        A = _act(layer["activation"], W @ A + b, float(Fraction(layer.get("alpha", "1/10"))))
    loss = spec["loss"]
    per_sample = _loss(loss["kind"], A, _t(loss["Y"]))
    L = per_sample.mean() if loss["reduction"] == "mean" else per_sample.sum()
    L.backward()
    out = {"L": L.detach(), f"A{len(params)}": A.detach()}
    for k, (W, b) in enumerate(params, 1):
        out[f"dL/dW{k}"], out[f"dL/db{k}"] = W.grad, b.grad
    return out


def _float(v) -> "torch.Tensor":
    if isinstance(v, sp.MatrixBase):
        return torch.tensor([[float(approx(x)) for x in v.row(i)] for i in range(v.rows)], dtype=torch.float64)
    return torch.tensor(float(approx(v)), dtype=torch.float64)


def _cases() -> list[tuple[int, str, str, str, int]]:
    """≥100 seeded cases covering every output activation × loss (where valid) × reduction, batch 1–4."""
    valid = {"cross_entropy": ["softmax", "sigmoid"], "bce": ["sigmoid", "softmax"],
             "squared_error": ACTS, "mse": ACTS}
    combos = [(loss, act, red) for loss in LOSSES for act in valid[loss] for red in ("mean", "sum")]
    cases = []
    for i, (loss, act, red) in enumerate(itertools.islice(itertools.cycle(combos), 120)):
        cases.append((i, act, loss, red, i % 4 + 1))
    return cases


@pytest.mark.parametrize("seed,act,loss,reduction,batch", _cases())
def test_exact_gradients_match_torch_float64(seed: int, act: str, loss: str, reduction: str, batch: int) -> None:
    spec = random_spec(seed, act_out=act, loss=loss, reduction=reduction, batch=batch)
    solution = symnet.load(spec, bounds=Bounds(expression_nodes=10**5)).solve()
    expected = torch_pass(spec)
    for name, t in expected.items():
        ours = _float(solution[name])
        scale = max(1.0, float(t.abs().max()))
        assert torch.allclose(ours, t, rtol=1e-12, atol=1e-12 * scale), (name, ours, t)


def test_cases_cover_every_activation_loss_and_reduction() -> None:
    cases = _cases()
    assert len(cases) >= 100
    hidden = {l["activation"] for c in cases for l in random_spec(c[0], c[1], c[2], c[3], c[4])["layers"]}
    assert hidden == set(ACTS)
    assert {c[2] for c in cases} == set(LOSSES) and {c[3] for c in cases} == {"mean", "sum"}
    assert {c[4] for c in cases} == {1, 2, 3, 4}
