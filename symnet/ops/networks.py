"""Generator kinds for whole networks of dense layers from the catalogue (the dense op offers them): a residual block
(the ResNet sheet) and an autoencoder (its input as its target)."""

from __future__ import annotations

from typing import Any

from . import Kind, KindInfo


def _plus(Z: list[list[Any]], X: list[list[Any]]) -> list[list[Any]]:
    return [[z + x for z, x in zip(zr, xr)] for zr, xr in zip(Z, X)]


def resnet(rng: Any, options: Any) -> Any:
    """The ResNet sheet's shape: m → n (ReLU) → m (ReLU, X added before it) → out (sigmoid with 3 for e), bce."""
    from ..generators import _activate, _columns, _inputs, _layer, _z_ok  # (the generator's, with SymPy: when used)

    m, n, back, out = options.sizes
    if back != m:
        from ..errors import UsageError

        raise UsageError(f"the residual adds X back, so the third size must equal the first ({m}), got {back}",
                         field="--sizes")
    g, N = options.max_given, options.batch
    X = _inputs(rng, m, N, g)
    first = _layer(rng, X, n, g, True, _z_ok("relu", hidden=True))
    if first is None:
        return None
    A1 = _activate(first[2], "relu")
    relu_ok = _z_ok("relu", hidden=True)
    second = _layer(rng, A1, m, g, True, lambda Z: relu_ok(_plus(Z, X)))  # its ReLU acts on Z + X
    if second is None:
        return None
    A2 = _activate(_plus(second[2], X), "relu")
    third = _layer(rng, A2, out, g, True, _z_ok("sigmoid", hidden=False))
    if third is None:
        return None
    Y = [[rng.choice((0, 1)) for _ in range(N)] for _ in range(out)]
    layers = [{"W": first[0], "b": first[1], "activation": "relu"},
              {"W": second[0], "b": second[1], "activation": "relu", "skip": "X"},
              {"W": third[0], "b": third[1], "activation": "sigmoid", "exp_base": 3}]
    spec = {"title": "A residual block by hand", "description": f"{m} -> {n} -> {m} with X added before the second "
            "ReLU, then a sigmoid output; the gradient of X sums both paths", "X": _columns(X), "layers": layers,
            "loss": {"kind": "bce", "Y": _columns(Y)}}
    return spec, ["Approximation: the sigmoid output uses exp_base = 3 (3 in place of e), as the AI by Hand sheets do."]


def autoencoder(rng: Any, options: Any) -> Any:
    """An autoencoder: ReLU layers of the given widths back to the input's, trained against X itself (mse)."""
    from ..generators import _activate, _columns, _inputs, _layer, _z_ok

    sizes = options.sizes
    if sizes[-1] != sizes[0]:
        from ..errors import UsageError

        raise UsageError(f"an autoencoder gives back its input: the last size must equal the first ({sizes[0]}), "
                         f"got {sizes[-1]}", field="--sizes")
    g, N = options.max_given, options.batch
    X = _inputs(rng, sizes[0], N, g)
    A, layers = X, []
    for width in sizes[1:]:
        drawn = _layer(rng, A, width, g, True, _z_ok("relu", hidden=True))
        if drawn is None:
            return None
        layers.append({"W": drawn[0], "b": drawn[1], "activation": "relu"})
        A = _activate(drawn[2], "relu")
    widths = " -> ".join(map(str, sizes))
    spec = {"title": "An autoencoder by hand", "description": f"{widths} with ReLU throughout, trained to give back "
            "its input: the mean squared error against X itself", "X": _columns(X), "layers": layers,
            "loss": {"kind": "mse", "Y": "X"}}
    return spec, ["Approximations: none; every value is exact."]


KINDS = {"resnet": Kind(KindInfo((4, 3, 4, 1), batch=1, layers=(3, 3)), resnet),
         "autoencoder": Kind(KindInfo((4, 3, 2, 3, 4), batch=1, layers=(2, 6)), autoencoder)}
