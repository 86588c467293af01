"""SymPy imported when first used, so that a command on plain rationals (flint end to end) never pays for it."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
import types
from typing import Any

_LOCK = threading.RLock()


class LazySympy(types.ModuleType):
    """Stands in sys.modules for `sympy` until one of its attributes is read; then SymPy is imported and its names
    are copied here, so that every module that ran `import sympy as sp` before holds the real names from then on.

    An `import sympy` statement reads only `__spec__`, which is set, so it binds this module without loading SymPy.
    Any other read loads it: `sp.Rational`, `from sympy import …`, and `import sympy.core`, which reads `__path__`.
    Then `sympy.core` is already imported (SymPy imports it), yet the import system, having passed its check, would
    run it a second time: `_Imported` hands it the module made."""

    def __getattr__(self, name: str) -> Any:
        with _LOCK:
            real = sys.modules.get("sympy")
            if real is self or real is None:
                sys.modules.pop("sympy", None)
                try:
                    real = importlib.import_module("sympy")
                except BaseException:
                    sys.modules["sympy"] = self
                    raise
                if name == "__path__":  # an import of sympy.<name> is under way
                    sys.meta_path.insert(0, _Imported())
            self.__dict__.update(vars(real))
        return getattr(real, name)


class _Imported(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Once: finds the SymPy module the import under way asks for, already imported, as itself (no second run).

    (`from sympy import x` reads `__path__` too, with no submodule to import: then this waits for the next import of
    a SymPy module, and finds it as itself when it is made already, which is what the import system does then.)"""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if not name.startswith("sympy.") or target is not None:
            return None  # another package's, or a reload: found as usual
        sys.meta_path.remove(self)
        module = sys.modules.get(name)
        if module is None or module.__spec__ is None:
            return None  # a module SymPy does not import itself: found as usual
        self.spec = module.__spec__
        return importlib.machinery.ModuleSpec(name, self, origin=self.spec.origin)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return sys.modules[spec.name]

    def exec_module(self, module: types.ModuleType) -> None:
        module.__spec__ = self.spec  # (the import system set it to the one made above)


def install() -> None:
    """Put a `LazySympy` in sys.modules, unless SymPy is imported already (or cannot be found)."""
    if "sympy" in sys.modules:
        return
    spec = importlib.util.find_spec("sympy")
    if spec is None:
        return
    module = LazySympy("sympy")
    module.__spec__ = spec  # what `import sympy` reads (spec._initializing: no) before it binds the name
    sys.modules["sympy"] = module


def loaded() -> bool:
    """True once SymPy itself is imported (not only its stand-in)."""
    module = sys.modules.get("sympy")
    return module is not None and not isinstance(module, LazySympy)
