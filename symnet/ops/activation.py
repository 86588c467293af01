"""An activation alone (`type = "activation"`): Ak = f(A(k−1)), e.g. a softmax with a temperature over given logits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import Backward, Grad, Kind, KindInfo, Node, Op, activations
from .activations import Activated

if TYPE_CHECKING:
    from ..engine import Run
    from ..reader import Reader
    from ..record import Solution


@dataclass(frozen=True, kw_only=True)
class ActivationLayer(Activated):
    """f applied to the layer below's output (X for the first layer), entry by entry or (softmax) per column."""

    type = "activation"
    below: str = "X"  # the quantity it acts on: X or A(k−1)

    def pre(self, k: int) -> str:
        """The quantity the activation acts on."""
        return self.below


def _logits(rng: Any, options: Any) -> Any:
    """A generated exercise: a softmax at temperature 2 over integer logits, sampling with a decimal r."""
    n = options.sizes[-1]
    z = [rng.randint(-2, 2) * 2 for _ in range(n)]  # even logits: z/2 is whole, so base 3 keeps it rational
    if len(set(z)) < 2:
        return None
    r = rng.choice(["0.1", "0.3", "0.5", "0.7", "0.9"])
    from ..expr import FloatText

    spec = {"title": "Softmax with a temperature",
            "description": f"softmax(z/2) with 3 for e, then a sample at r = {r}",
            "X": z, "layers": [{"type": "activation", "activation": "softmax", "exp_base": 3, "temperature": 2,
                                "sample": FloatText(r)}]}
    return spec, ["Approximation: softmax with exp_base = 3 (3 in place of e), as the AI by Hand sheets do."]


class Activation(Op):
    """Ak = f(A(k−1)); backward ∂L/∂A(k−1) = ∂L/∂Ak ⊙ f′ (through the Jacobian for softmax)."""

    name = "activation"
    layer = True
    summary = "an activation alone, on the previous layer's output (X for the first): Ak = f(A(k−1))"
    keys = activations.KEYS
    kinds = {"temperature": Kind(KindInfo((4, 4), batch=None), _logits)}

    def parse(self, table: Mapping, read: "Reader") -> ActivationLayer:
        read.keys(tuple(k.name for k in activations.KEYS), required=("activation",))
        return ActivationLayer(below=read.prev, **activations.parse(read))

    def activation(self, params: ActivationLayer) -> Activated:
        return params

    def approximates(self, params: ActivationLayer) -> bool:
        return params.approximates_e

    def forward(self, run: "Run", node: Node, params: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
        below = node.inputs[0]
        return {f"A{node.k}": activations.forward(run, node.params, inputs[below], node.k, below)}

    def backward(self, run: "Run", node: Node, params: Mapping[str, Any], saved: Mapping[str, Any], grad: Grad,
                 need: frozenset[str]) -> Backward:
        k, below = node.k, node.inputs[0]
        if grad.at == "Z":  # fused with the loss: ∂L/∂(its input), already recorded
            dZ = grad.value
        else:
            name = run.grad_name(below, f"A{k}")
            dZ = activations.backward(run, node.params, saved[below], saved[f"A{k}"], grad.value, k, below, name)
            return Backward({}, ((below, name, dZ),) if below in need else ())
        return Backward({}, ((below, f"dL/d{below}", dZ),) if below in need else ())

    def friendly(self, params: ActivationLayer, solution: "Solution", k: int) -> list[str]:
        return activations.relu_friendly(params, solution[params.below], solution[params.below].rows, k)


OP = Activation()
