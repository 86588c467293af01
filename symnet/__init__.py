"""symnet: exact derivations of neural-network hand calculations."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import AnswersError, BoundError, EntryError, RenderError, SpecError, SymnetError

__version__ = "0.1.0"

_LAZY = {"Exercise": "exercise", "Layer": "ops.dense", "Loss": "ops.loss", "Train": "ops.update", "Solution": "record",
         "Step": "record", "builtin_names": "spec", "load": "spec"}  # name → the module that defines it

__all__ = [
    "AnswersError", "BoundError", "EntryError", "Exercise", "Layer", "Loss", "RenderError", "Solution",
    "SpecError", "Step", "SymnetError", "Train", "builtin_names", "load", "__version__",
]

if TYPE_CHECKING:
    from .exercise import Exercise
    from .ops.dense import Layer
    from .ops.loss import Loss
    from .ops.update import Train
    from .record import Solution, Step
    from .spec import builtin_names, load


def load_ipython_extension(ipython: object) -> None:
    """`%load_ext symnet` in IPython or Jupyter: the `%%symnet` and `%symnet` magics (symnet.jupyter)."""
    from .jupyter import load_ipython_extension as load

    load(ipython)


def __getattr__(name: str) -> Any:
    """The public names and the submodules, each imported when first used: `import symnet` imports no SymPy, so
    that the command line can import it with the garbage collector paused (cli.run)."""
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    elif not name.startswith("_"):
        try:
            value = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value
