"""kind = "gan": the built-in worked by hand, one training step of both networks against PyTorch float64 autograd on
50 seeded GANs, the prefixed names, and one-line refusals."""

from __future__ import annotations

import random

import pytest
import sympy as sp

from symnet import spec

from .convnets import TOL, diagnosed, frac, fracs

M = sp.ImmutableMatrix
R = sp.Rational


def test_the_builtin_by_hand():
    """noise [1 2; 1 0], G: W = [1 1; 1 −1], b = [0, −1], ReLU; real [3 1; 2 3]; D: [1 −1; −1 1] ReLU, then
    [−1 1] and a sigmoid with 3 for e; bce summed."""
    sol = spec.load("gan").solve()
    assert sol["G.Z1"] == M([[2, 2], [-1, 1]])  # 1 + 1, 2 + 0; 1 − 1 − 1, 2 − 0 − 1
    assert sol["G.A1"] == M([[2, 2], [0, 1]])  # the fakes
    assert sol["D.X"] == M([[2, 2, 3, 1], [0, 1, 2, 3]])  # [fakes | real]
    assert sol["D.Z1"] == M([[2, 1, 1, -2], [-2, -1, -1, 2]])  # x1 − x2 and x2 − x1
    assert sol["D.Z2"] == M([[-2, -1, -1, 2]])  # −a1 + a2 over A1 = [2 1 1 0; 0 0 0 2]
    assert sol["D.A2"] == M([[R(1, 10), R(1, 4), R(1, 4), R(9, 10)]])  # 3^z/(3^z + 1)
    assert sol["D.Y"] == M([[0, 0, 1, 1]])
    assert sol["D.dL/dZ2"] == M([[R(1, 10), R(1, 4), R(-3, 4), R(-1, 10)]])  # Ŷ − Y
    # ∂L/∂W2 = ∂L/∂Z2·A1ᵀ: 2/10 + 1/4 − 3/4 = −3/10 and −2/10
    assert sol["D.dL/dW2"] == M([[R(-3, 10), R(-1, 5)]]) and sol["D.dL/db2"] == M([[R(-1, 2)]])
    # through D's ReLU (z > 0 at (1,1), (1,2), (1,3), (2,4)): ∂L/∂Z1 = [−1/10 −1/4 3/4 0; 0 0 0 −1/10]
    assert sol["D.dL/dZ1"] == M([[R(-1, 10), R(-1, 4), R(3, 4), 0], [0, 0, 0, R(-1, 10)]])
    # ∂L/∂W1 = ∂L/∂Z1·D.Xᵀ: −2/10 − 2/4 + 9/4 = 31/20, −1/4 + 6/4 = 5/4; −1/10, −3/10
    assert sol["D.dL/dW1"] == M([[R(31, 20), R(5, 4)], [R(-1, 10), R(-3, 10)]])
    # G's step: D's scores of the fakes, labelled 1: ∂L/∂Z2 = [1/10 − 1, 1/4 − 1]
    assert sol["G.D.A2"] == M([[R(1, 10), R(1, 4)]]) and sol["G.D.Y"] == M([[1, 1]])
    assert sol["G.D.dL/dZ2"] == M([[R(-9, 10), R(-3, 4)]])
    # back through D: W2ᵀ·∂L/∂Z2 = [9/10 3/4; −9/10 −3/4]; D's ReLU on the fakes passes row 1 only; W1ᵀ·that
    assert sol["G.D.dL/dZ1"] == M([[R(9, 10), R(3, 4)], [0, 0]])
    assert sol["G.D.dL/dX"] == M([[R(9, 10), R(3, 4)], [R(-9, 10), R(-3, 4)]])
    assert sol["G.dL/dA1"] == sol["G.D.dL/dX"]
    # G's ReLU passes all but z = −1: ∂L/∂Z1 = [9/10 3/4; 0 −3/4]; ∂L/∂W1 = ∂L/∂Z1·noiseᵀ
    assert sol["G.dL/dW1"] == M([[R(9, 10) + R(3, 2), R(9, 10)], [R(-3, 2), 0]])
    assert sol["G.dL/db1"] == M([[R(33, 20)], [R(-3, 4)]])
    assert sol["G.W1'"] == M([[1, 1], [1, -1]]) - sol["G.dL/dW1"] / 2  # η = 1/2
    assert sol["D.W2'"] == M([[-1, 1]]) - sol["D.dL/dW2"] / 2
    assert {"G.D.dL/dW1", "G.D.dL/dW2", "G.D.dL/db2"}.isdisjoint(sol)  # D is not trained by G's loss


def example(seed: int) -> dict:
    """A random GAN: G of one or two dense layers, D a ReLU layer and a sigmoid (with e), bce, one step of each."""
    rng = random.Random(f"gan:{seed}")
    z, r, h = rng.choice([1, 2]), rng.choice([1, 2, 3]), rng.choice([1, 2])
    n, m = rng.choice([1, 2]), rng.choice([1, 2, 3])
    small = {"top": 2}  # D's scores stay well inside (0, 1) in float64 (torch's bce clamps log at −100)
    G = [{"W": fracs(rng, r, z, **small), "b": [frac(rng, **small) for _ in range(r)],
          "activation": rng.choice(["relu", "identity"])}]
    if rng.random() < 0.5:
        G.insert(0, {"W": fracs(rng, 2, z, **small), "b": [frac(rng, **small), frac(rng, **small)],
                     "activation": "relu"})
        G[1]["W"] = fracs(rng, r, 2, **small)
    D = [{"W": fracs(rng, h, r, top=2), "b": [frac(rng, top=2) for _ in range(h)], "activation": "relu"},
         {"W": fracs(rng, 1, h, top=2), "b": [frac(rng, top=2)], "activation": "sigmoid"}]
    return {"kind": "gan", "noise": fracs(rng, z, n, **small), "X": fracs(rng, r, m, **small),
            "generator": {"layers": G}, "discriminator": {"layers": D},
            "loss": {"kind": "bce", "reduction": rng.choice(["mean", "sum"])}, "train": {"learning_rate": "1/2"}}


def torch_gan(data: dict) -> dict:
    """One step of both networks in PyTorch: D on [G(noise).detach() | X] toward [0…0 | 1…1]; G's loss D(G(noise))
    toward 1, through D's weights before its update."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    ex = spec.from_data(data)

    def t(m) -> "torch.Tensor":
        return torch.tensor([[float(v) for v in m.row(i)] for i in range(m.rows)], dtype=torch.float64)

    def net(part):
        return [(t(l.W).requires_grad_(True), t(l.b).requires_grad_(True), l.activation) for l in ex.part(part).layers]

    def run(layers, A, out, name):
        for k, (W, b, act) in enumerate(layers, 1):
            Z = W @ A + b
            A = {"relu": torch.relu, "identity": lambda x: x, "sigmoid": torch.sigmoid}[act](Z)
            out[f"{name}.Z{k}"], out[f"{name}.A{k}"] = Z, A
        return A

    G, D = net("G"), net("D")
    out: dict = {}
    fakes = run(G, t(ex.part("G").X), out, "G")
    n, red = fakes.shape[1], ex.loss.reduction
    P = run(D, torch.cat([fakes.detach(), t(ex.X)], dim=1), out, "D")
    Y = torch.tensor([[0.0] * n + [1.0] * ex.X.cols], dtype=torch.float64)
    LD = F.binary_cross_entropy(P, Y, reduction=red)
    LD.backward()
    out["D.L"] = LD
    for k, (W, b, _) in enumerate(D, 1):
        out[f"D.dL/dW{k}"], out[f"D.dL/db{k}"] = W.grad.clone(), b.grad.clone()
    fakes.retain_grad()
    LG = F.binary_cross_entropy(run(D, fakes, {}, "-"), torch.ones(1, n, dtype=torch.float64), reduction=red)
    LG.backward()
    out["G.D.L"], out["G.D.dL/dX"] = LG, fakes.grad
    for k, (W, b, _) in enumerate(G, 1):
        out[f"G.dL/dW{k}"], out[f"G.dL/db{k}"] = W.grad, b.grad
        out[f"G.W{k}'"], out[f"G.b{k}'"] = W - W.grad / 2, b - b.grad / 2
    for k, (W, b, _) in enumerate(D, 1):  # (W.grad now also holds G's loss: D's own gradients were kept above)
        out[f"D.W{k}'"], out[f"D.b{k}'"] = W - out[f"D.dL/dW{k}"] / 2, b - out[f"D.dL/db{k}"] / 2
    return out


@pytest.mark.parametrize("seed", range(50))
def test_one_step_of_both_against_torch(seed):
    data = example(seed)
    sol = spec.from_data(data).solve()
    want = torch_gan(data)
    for name, w in want.items():
        got = sol[name]
        got = got if isinstance(got, sp.MatrixBase) else M([[got]])
        w = w.detach().reshape(got.rows, got.cols)
        for i in range(got.rows):
            for j in range(got.cols):
                e = w[i, j].item()
                assert abs(float(got[i, j]) - e) <= TOL * max(1.0, abs(e)), (name, i + 1, j + 1, got[i, j], e)
    assert len(want) >= 20


def test_json_names_every_quantity_by_its_network(cli):
    doc = cli("solve", "gan", "--format", "json").json()
    names = list(doc["quantities"])
    assert names[:3] == ["G.X", "G.Z1", "G.A1"] and "D.real" in names and "G.D.dL/dX" in names
    assert doc["quantities"]["D.A2"] == [["1/10", "1/4", "1/4", "9/10"]]


GAN = {"kind": "gan", "noise": [[1, 2]], "X": [[1, 2], [3, 4]],
       "generator": {"layers": [{"W": [[1], [1]]}]},
       "discriminator": {"layers": [{"W": [[1, 1]], "activation": "sigmoid"}]}}


@pytest.mark.parametrize("change, message", [
    ({"X": [[1, 2]]}, "generator: the generator makes 2×2 fakes but the real samples X are 1×2: D reads both, so "
                      "they need the same rows"),
    ({"discriminator": {"layers": [{"W": [[1, 1], [1, 0]], "activation": "sigmoid"}]}},
     "discriminator: the discriminator gives 2 rows: it scores each sample with one number (one row)"),
    ({"discriminator": {"layers": [{"W": [[1, 1]]}]}},
     'discriminator: with loss bce the discriminator\'s last layer needs activation = "sigmoid"'),
    ({"generator": {"layers": [{"W": [[1, 1]]}]}}, "generator.layers[1].W: W1 is 1×2 but X is 1×2: W1·X needs W1 "
                                                   "to have 1 columns"),
    ({"generator": {}}, "generator: missing key 'layers'"),
    ({"loss": {"kind": "cross_entropy"}}, "loss.kind: unknown value 'cross_entropy' (allowed: bce, squared_error, "
                                          "mse)"),
    ({"layers": []}, "unknown key 'layers' (allowed: title, description, kind, noise, X, generator, discriminator, "
                     "loss, train, grading)"),
    ({"discriminator": {"layers": [{"type": "flatten"}, {"W": [[1] * 8], "activation": "sigmoid"}]}},
     "discriminator.layers[1].type: the discriminator's layers are dense (or activation) layers, not flatten"),
])
def test_bad_gans_are_one_line(change, message):
    with pytest.raises(Exception) as info:
        spec.from_data({**GAN, **change})
    assert str(info.value) == f"<dict>: {message}"


# ---------------------------------------------------------------- mistakes, planted by hand (tests/answers)


def test_the_discriminator_trained_toward_swapped_labels_is_diagnosed(cli):
    got = diagnosed(cli, "gan", "gan-labels-swapped")
    assert got["D.dL/dZ2"][0] == "gan_labels_swapped" and got["D.dL/dW2"][0] == "carried_error"


def test_the_generator_gradient_without_the_discriminator_is_diagnosed(cli):
    got = diagnosed(cli, "gan", "gan-without-discriminator")
    assert got["G.dL/dA1"][0] == "gan_without_discriminator" and got["G.dL/dZ1"][0] == "carried_error"
