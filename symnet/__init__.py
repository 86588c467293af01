"""symnet: exact derivations of neural-network hand calculations."""

from __future__ import annotations

from .errors import AnswersError, BoundError, EntryError, RenderError, SpecError, SymnetError
from .exercise import Exercise
from .ops.dense import Layer
from .ops.loss import Loss
from .ops.update import Train
from .record import Solution, Step
from .spec import builtin_names, load

__version__ = "0.1.0"


def load_ipython_extension(ipython: object) -> None:
    """`%load_ext symnet` in IPython or Jupyter: the `%%symnet` and `%symnet` magics (symnet.jupyter)."""
    from .jupyter import load_ipython_extension as load

    load(ipython)


__all__ = [
    "AnswersError", "BoundError", "EntryError", "Exercise", "Layer", "Loss", "RenderError", "Solution",
    "SpecError", "Step", "SymnetError", "Train", "builtin_names", "load", "__version__",
]
