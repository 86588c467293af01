"""Layer normalisation: each sample (column) normalised over its features, then γ ⊙ x̂ + β with γ, β per feature;
the batch-norm op (batch_norm.py) over the other axis."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import ClassVar

from . import Kind, KindInfo, Mistake
from .batch_norm import BatchNorm, Norm, build


@dataclass(frozen=True)
class LayerNormParams(Norm):
    """γ and β per feature (row), the statistics per sample (column)."""

    type: ClassVar[str] = "layer_norm"
    axis: ClassVar[int] = 0  # the statistics run over the rows (the features): one μ, σ², σ per column (sample)


class LayerNorm(BatchNorm):
    """μ, σ² (population), σ per sample over its features; x̂ = (x − μ)/σ; Ak = γ ⊙ x̂ + β = [diag(γ) | β]·[x̂ ; 1]."""

    name = "layer_norm"
    params_type = LayerNormParams
    summary = "layer normalisation: each sample normalised over its features, then scaled by γ and shifted by β"
    mistakes: ClassVar[tuple[Mistake, ...]] = ()  # BatchNorm's, declared once, apply to both
    kinds = {"layer-norm": Kind(KindInfo((4, 4), batch=2), partial(build, layer=True))}


OP = LayerNorm()
