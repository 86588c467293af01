"""A GAN (kind = "gan"): a generator G and a discriminator D, each a network; one forward pass trains both."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sympy as sp

from ..bounds import Bounds
from ..errors import SpecError, SymnetError
from ..reader import choice, keys, matrix, shape_text
from . import Grad, Key, Kind, KindInfo, Mistake, Op, drawn, op, registry
from .loss import Loss

if TYPE_CHECKING:
    from ..engine import Run
    from ..exercise import Exercise

# The exercise's parts (Exercise.parts), each a network whose quantities the solution names part.name:
#   G    the generator: G.X (the noise), its layers' G.Z1, G.A1, …; G.Ag is the batch of fakes. Training G: its
#        gradients G.dL/dZk, G.dL/dWk, … from G.dL/dAg, and its update G.Wk', G.bk'.
#   D    the discriminator on its batch D.X = [G.Ag | D.real] (the fakes, then the real samples): D.Z1, D.A1, …,
#        D.Ad (one score per column); trained toward D.Y (0 for a fake, 1 for a real sample): D.L, D.dL/dZd, …,
#        D.dL/dWk, and its update D.Wk'.
#   G.D  the generator's step through D: D's scores of the fakes G.D.Ad (D.Ad's first columns), the labels G.D.Y (all
#        1: G wants its fakes called real), G's loss G.D.L, and its gradient back through D's layers (as they were
#        before D's update): G.D.dL/dZd, G.D.dL/dA(d−1), …, G.D.dL/dX (the gradient at the fakes), which becomes
#        G.dL/dAg. D's weights get no gradient from G's loss (they are not trained by it).
# The steps the GAN itself records (op "gan"): given G.X and D.real, join D.X, slice G.D.Ad, link G.dL/dAg.

TOP_KEYS = ("title", "description", "kind", "noise", "X", "generator", "discriminator", "loss", "train",
            "grading")  # grading: read by `symnet check` (check/grading.py)
LOSSES = ("bce", "squared_error", "mse")
D_TYPES = ("dense", "activation")  # the discriminator's layers: their saved values are sliced to the fakes


def _net(data: Mapping, key: str, X: sp.ImmutableMatrix, bounds: Bounds) -> tuple[tuple[Any, ...], tuple[int, int]]:
    """One network's [[key.layers]] on an input shaped like X, errors located at key."""
    from ..spec import network

    try:
        table = keys(data[key], ("layers",), None, required=("layers",))
        return network(table["layers"], X, bounds)
    except SymnetError as e:
        raise e.located(field=key) from None


def labels(n: int, m: int, swapped: bool = False) -> sp.ImmutableMatrix:
    """D's targets over its batch: 0 for each of the n fakes, 1 for each of the m real samples (swapped: a mistake)."""
    fake, real = (1, 0) if swapped else (0, 1)
    return sp.ImmutableMatrix([[fake] * n + [real] * m])


def parse(data: Mapping, bounds: Bounds, source: str, title: str, description: str) -> "Exercise":
    """The exercise of a kind = "gan" spec."""
    from ..exercise import Exercise
    from .update import parse as parse_train

    keys(data, TOP_KEYS, None, required=("noise", "X", "generator", "discriminator"))
    noise, X = matrix(data["noise"], "noise", bounds), matrix(data["X"], "X", bounds)
    G_layers, (rows, n) = _net(data, "generator", noise, bounds)
    if rows != X.rows:
        raise SpecError(f"the generator makes {rows}×{n} fakes but the real samples X are {shape_text(X)}: D reads "
                        "both, so they need the same rows", field="generator")
    batch = sp.zeros(X.rows, n + X.cols).as_immutable()  # D's input [fakes | real]: its shape (its values are made)
    D_layers, (out, _) = _net(data, "discriminator", batch, bounds)
    for k, l in enumerate(D_layers, 1):
        if l.type not in D_TYPES:
            raise SpecError(f"the discriminator's layers are dense (or activation) layers, not {l.type}",
                            field=f"discriminator.layers[{k}].type")
    if out != 1:
        raise SpecError(f"the discriminator gives {out} rows: it scores each sample with one number (one row)",
                        field="discriminator")
    table = keys(data.get("loss", {}), ("kind", "reduction"), "loss")
    kind = choice(table.get("kind", "bce"), LOSSES, "loss.kind")
    reduction = choice(table.get("reduction", "mean"), ("mean", "sum"), "loss.reduction")
    if kind == "bce" and getattr(D_layers[-1], "activation", None) != "sigmoid":
        raise SpecError("with loss bce the discriminator's last layer needs activation = \"sigmoid\"",
                        field="discriminator")
    loss = Loss(kind=kind, Y=labels(n, X.cols), reduction=reduction)
    train = parse_train(data["train"], bounds) if "train" in data else None
    G = Exercise(source=source, X=noise, layers=G_layers, bounds=bounds)
    D = Exercise(source=source, X=batch, layers=D_layers, loss=loss, train=train, bounds=bounds)
    GD = Exercise(source=source, X=batch[:, :n], layers=D_layers, bounds=bounds,
                  loss=Loss(kind=kind, Y=sp.ones(1, n).as_immutable(), reduction=reduction))  # D's layers, on the fakes
    return Exercise(kind="gan", title=title, description=description, source=source, X=X,
                    layers=G_layers + D_layers, loss=loss, train=train, parts=(("G", G), ("D", D), ("G.D", GD)),
                    bounds=bounds)


def _kind(rng: Any, o: Any) -> Any:
    """A GAN small enough by hand: noise (z × n) through one ReLU layer of G to fakes (r × n); D a ReLU layer of h
    neurons and a sigmoid with 3 for e; n real samples; bce summed over each batch; one update of each (η = 1/2)."""
    z, r, h = o.sizes
    n, g = o.batch, o.max_given

    def ints(rows: int, cols: int, low: int) -> list[list[int]]:
        return [[rng.randint(low, g) for _ in range(cols)] for _ in range(rows)]

    for _ in range(drawn.TRIES):
        rng.spend()
        N, X = drawn.image(rng, z, n, g), drawn.image(rng, r, n, g)
        W1, b1 = ints(r, z, -1), [rng.randint(-1, 1) for _ in range(r)]
        F = [[sum(w * N[t][j] for t, w in enumerate(row)) + b for j in range(n)] for row, b in zip(W1, b1)]
        V, c = [[rng.choice([-1, 0, 1]) for _ in range(r)] for _ in range(h)], [rng.randint(-2, 1) for _ in range(h)]
        batch = [fr + xr for fr, xr in zip(drawn.relu(F), X)]
        H = [[sum(v * batch[t][j] for t, v in enumerate(row)) + ci for j in range(2 * n)] for row, ci in zip(V, c)]
        U, d = [rng.choice([-1, 1]) for _ in range(h)], rng.randint(-1, 1)
        s = [sum(u * max(0, H[t][j]) for t, u in enumerate(U)) + d for j in range(2 * n)]
        rows = W1 + V + [U]  # every neuron reads something
        if all(any(row) for row in rows) and drawn.cuts_and_passes(F) and drawn.cuts_and_passes(H) \
                and all(-1 <= v <= 2 for v in s):
            break
    else:
        return None
    spec = {"title": "A GAN by hand",
            "description": f"{n} noise vectors through the generator to fakes, the discriminator on the fakes and {n} "
                           "real samples, its loss and the generator's through it, one update of each",
            "kind": "gan", "noise": N, "X": X,
            "generator": {"layers": [{"W": W1, "b": b1, "activation": "relu"}]},
            "discriminator": {"layers": [{"W": V, "b": c, "activation": "relu"},
                                         {"W": [U], "b": [d], "activation": "sigmoid", "exp_base": 3}]},
            "loss": {"kind": "bce", "reduction": "sum"}, "train": {"learning_rate": "1/2"}}
    return spec, ["Approximation: D's sigmoid uses exp_base = 3 (3 in place of e), as the AI by Hand sheets do; every",
                  "value but the losses is rational. Each loss is summed over its batch (reduction = \"sum\")."]


def _gan(ex: "Exercise") -> bool:
    return ex.kind == "gan"


class Gan(Op):
    """G makes fakes from noise; D scores [fakes | real]; D learns fakes 0, reals 1; G learns, through D, fakes 1."""

    name = "gan"
    summary = "kind = \"gan\": a generator and a discriminator trained against each other from one forward pass"
    keys = (
        Key("noise", "matrix (noise features × fakes)", "the generator's input: one noise vector per column",
            required=True),
        Key("X", "matrix (features × samples)", "the real samples, one per column (the rows of the generator's output)",
            required=True),
        Key("generator", "table with [[generator.layers]]", "G: layers as a network's (any type)", required=True),
        Key("discriminator", "table with [[discriminator.layers]]", "D: dense or activation layers ending in one row",
            required=True),
        Key("loss.kind", "bce, squared_error or mse", "D's loss on its batch and G's on its fakes (bce needs D's last "
            "activation sigmoid)", "bce"),
        Key("loss.reduction", "mean or sum", "over each loss's batch", "mean"),
        Key("train", "[train] table", "one update of each network per step (learning_rate, steps, round)"),
    )
    kinds = {"gan": Kind(KindInfo((2, 2, 2), batch=2, layers=(2, 2)), _kind)}
    mistakes = (
        Mistake("gan_labels_swapped", 370, "The discriminator learns to call the real samples 1 and the fakes 0: its "
                "targets were swapped.", _gan),
        Mistake("gan_without_discriminator", 380, "The generator's gradient goes back through the discriminator: "
                "∂L/∂(fakes) is D's first-layer Wᵀ times ∂L/∂Z there, not D's output error ŷ − y itself.", _gan),
    )

    def state(self, run: "Run", ex: "Exercise") -> dict[str, Any]:
        """Each network's trained parameters in the run's algebra."""
        from ..engine import parameters_of

        return {"G": parameters_of(run, ex.part("G").nodes), "D": parameters_of(run, ex.part("D").nodes)}

    def epoch(self, run: "Run", ex: "Exercise", state: dict[str, Any]) -> dict[str, Any]:
        """One forward pass of G and D; D's loss, backward pass and update; G's loss through D, backward, update."""
        from ..engine import backward, forward, updated
        from . import loss as losses

        xp = run.xp
        G, D = ex.part("G"), ex.part("D")
        assert ex.X is not None and G.X is not None and ex.loss is not None  # (a GAN's noise, real samples and loss)
        gn, dn = G.nodes, D.nodes
        g, d, n, m = len(gn), len(dn), G.X.cols, ex.X.cols
        # the generator: noise to fakes
        self._enter(run, "G")
        run.at(None, "gan", "forward")
        noise = run.record("given", "X", xp.value(G.X, keep=True))
        Gv, Gs = forward(run, gn, state["G"], {"X": noise})
        F = Gv[f"A{g}"]
        # the discriminator: [fakes | real] to scores
        self._enter(run, "D")
        run.at(None, "gan", "forward")
        real = run.record("given", "real", xp.value(ex.X, keep=True))
        DX = run.record("join", "X", xp.join_cols(F, real), **{f"G.A{g}": F, "real": real})  # (r × n + m)
        Dv, Ds = forward(run, dn, state["D"], {"X": DX})
        P, act = Dv[f"A{d}"], op(dn[-1].op).activation(dn[-1].params)
        # training D: fakes 0, reals 1
        run.fanout = Counter(q for nd in dn for q in nd.inputs)
        run.at(d, "loss", "loss")
        Y = xp.value(labels(n, m, run.broken("gan_labels_swapped")))
        gD = losses.OP.start(run, ex.loss, d, P, Y, act)
        gradsD, _ = backward(run, dn, state["D"], Ds, gD, False)
        # training G through D (as it was before its update): the fakes' scores, labelled 1
        self._enter(run, "G.D", self._reads(dn), frozenset(f"G.D.dL/d{p}{nd.k}" for nd in dn for p in state["D"][nd.k]))
        run.at(None, "gan", "backward")
        Pf = run.record("slice", f"A{d}", xp.col_slice(P, 0, n), **{f"D.A{d}": P})  # (1 × n): the fakes' scores
        fake = {k: {q: xp.col_slice(v, 0, n) for q, v in saved.items()} for k, saved in Ds.items()}
        fake[d][f"A{d}"] = Pf
        run.at(d, "loss", "loss")
        ones = xp.ones(1, n)
        gG = losses.OP.start(run, Loss(kind=ex.loss.kind, Y=sp.ones(1, n), reduction=ex.loss.reduction), d, Pf, ones,
                             act)
        _, dF = backward(run, dn, state["D"], fake, gG, True)  # (r × n): ∂L/∂ of the fakes, through D's layers
        self._enter(run, "G")
        run.at(None, "gan", "backward")
        if run.broken("gan_without_discriminator"):  # D's output error given to every entry of the fakes
            dF = xp.broadcast_row(gG.value, xp.shape(F)[0])
        dA = run.record("link", f"dL/dA{g}", dF, **{"G.D.dL/dX": dF})
        run.fanout = Counter(q for nd in gn for q in nd.inputs)
        gradsG, _ = backward(run, gn, state["G"], Gs, Grad(dA), False)
        if ex.train is None:
            self._enter(run, "")
            return state
        run.top = 0
        self._enter(run, "D")
        newD = updated(run, dn, state["D"], gradsD, ex.train)
        self._enter(run, "G")
        newG = updated(run, gn, state["G"], gradsG, ex.train)
        run.bits.append(run.top)
        self._enter(run, "")
        return {"G": newG, "D": newD}

    def _enter(self, run: "Run", part: str, reading: Mapping[str, str] | None = None,
               unrecorded: frozenset[str] = frozenset()) -> None:
        run.part, run.reading, run.unrecorded = part, dict(reading or {}), unrecorded

    def _reads(self, nodes: tuple[Any, ...]) -> dict[str, str]:
        """In G's step through D, the names of D's forward quantities and parameters (all but D's output, whose fake
        columns G.D records)."""
        names = {"X"}
        for nd in nodes:
            names |= set(registry()[nd.op].outputs(nd.k)) | {f"{p}{nd.k}" for p in
                                                               registry()[nd.op].trainable(nd.params)}
        names.discard(f"A{nodes[-1].k}")
        return {q: f"D.{q}" for q in names}


OP = Gan()
