"""SymPy imported when first used (symnet.lazy): each way a first use can come, in a fresh interpreter, gives the one
real SymPy, every module of it made once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Run after the first use: the stand-in and the real module give the same objects, and no SymPy module was made
# twice (a second run of sympy.core would make a second sympy.core module, with classes of its own).
CHECK = """
import importlib, sys
from symnet import lazy
assert lazy.loaded()
real = sys.modules["sympy"]
assert real is not sp and real.__name__ == "sympy"
assert sp.core is real.core is sys.modules["sympy.core"]
assert sp.polys is real.polys is sys.modules["sympy.polys"]
assert sp.Rational is real.Rational is sys.modules["sympy.core.numbers"].Rational
for name, module in list(sys.modules.items()):
    if name.startswith("sympy.") and module is not None:
        assert type(module.__spec__.loader).__name__ == "SourceFileLoader", name  # as the import system made it
import sympy.core.numbers
assert sympy.core.numbers is sys.modules["sympy.core.numbers"]
assert sp.Rational(1, 2) + real.Rational(1, 3) == sp.Rational(5, 6)
assert isinstance(sp.Integer(3), real.Basic)
import sympy.physics.units  # (a module SymPy does not import itself: found as usual)
assert not any(type(f).__name__ == "_Imported" for f in sys.meta_path)
print("ok")
"""


def run(code: str) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh interpreter, with the stand-in installed before anything imports SymPy."""
    head = "import sys\nfrom symnet import lazy\nlazy.install()\nimport sympy as sp\nassert not lazy.loaded()\n"
    return subprocess.run([sys.executable, "-c", head + code], capture_output=True, text=True, cwd=ROOT, timeout=120)


@pytest.mark.parametrize("first", [
    "sp.Rational",  # an attribute
    "from sympy import Rational",  # from the package (reads __path__ with no submodule under way)
    "import sympy.core",  # a submodule SymPy imports itself (reads __path__ mid-import)
    "from sympy.core.cache import clear_cache",  # a module two levels down
    "from sympy.polys.matrices import DomainMatrix",
    "import sympy.abc",  # a submodule SymPy does not import
    "import symnet.sympy_private",  # ours, which imports SymPy's private modules first thing
])
def test_every_first_use_gives_the_one_real_sympy(first: str) -> None:
    done = run(first + "\n" + CHECK)
    assert (done.returncode, done.stderr, done.stdout) == (0, "", "ok\n")


def test_an_import_statement_alone_does_not_load_it() -> None:
    done = run("import sympy\nimport sympy as again\nassert again is sp and not lazy.loaded()\n"
               "assert 'sympy.core' not in sys.modules\nprint('ok')\n")
    assert (done.returncode, done.stderr, done.stdout) == (0, "", "ok\n")


def test_install_keeps_a_sympy_already_imported() -> None:
    code = "import sys\nimport sympy\nfrom symnet import lazy\nlazy.install()\nassert sys.modules['sympy'] is sympy\n" \
           "assert lazy.loaded()\nprint('ok')\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert (done.returncode, done.stderr, done.stdout) == (0, "", "ok\n")


def test_threads_reading_it_at_once_load_it_once() -> None:
    code = ("import threading\nseen = []\ndef read():\n    seen.append(sp.Rational(1, 3))\n"
            "threads = [threading.Thread(target=read) for _ in range(8)]\n"
            "[t.start() for t in threads]\n[t.join() for t in threads]\n"
            "assert len(seen) == 8 and len({type(x) for x in seen}) == 1\n" + CHECK)
    done = run(code)
    assert (done.returncode, done.stderr, done.stdout) == (0, "", "ok\n")
