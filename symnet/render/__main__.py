"""`python -m symnet.render --regenerate`: rewrite the golden files (tests/golden) and the gallery (docs/gallery)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..files import write_atomic
from ..spec import builtin_names, load
from . import render

ROOT = Path(__file__).resolve().parents[2]
# file name: (spec, format, worksheet, render's layout keywords)
GOLDEN: dict[str, tuple[str, str, bool, dict[str, Any]]] = {
    "backprop-key.md": ("backprop", "markdown", False, {}),
    "backprop-key.tex": ("backprop", "latex", False, {}),
    "backprop-worksheet.md": ("backprop", "markdown", True, {}),
    "backprop-worksheet.tex": ("backprop", "latex", True, {}),
    "batch-key.md": ("batch", "markdown", False, {}),
    "backprop-key-full.md": ("backprop", "markdown", False, {"detail": "full"}),
    "hidden-layer-key-steps.md": ("hidden-layer", "markdown", False, {"detail": "steps"}),
}


def golden_text(name: str) -> str:
    """The text a golden file must hold."""
    spec, fmt, worksheet, options = GOLDEN[name]
    return render(load(spec).solve(), fmt, worksheet=worksheet, **options)


def regenerate(root: Path = ROOT) -> list[Path]:
    """Write every golden file and the Markdown gallery of the built-ins (key and worksheet); the paths written."""
    written = []
    for name in GOLDEN:
        path = root / "tests" / "golden" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(str(path), golden_text(name))
        written.append(path)
    gallery = root / "docs" / "gallery"
    gallery.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in builtin_names():
        ex = load(name)
        solution = ex.solve()
        for kind, worksheet in (("key", False), ("worksheet", True)):
            path = gallery / f"{name}-{kind}.md"
            write_atomic(str(path), render(solution, "markdown", worksheet=worksheet))
            written.append(path)
        rows.append(f"| `{name}` | {ex.title} | [answer key]({name}-key.md) | [worksheet]({name}-worksheet.md) |")
    index = ["# Gallery", "",
             "The built-in exercises as symnet renders them (`symnet solve NAME` and `symnet worksheet NAME`).",
             "Regenerate with `python -m symnet.render --regenerate`.", "",
             "| name | exercise | key | worksheet |", "|---|---|---|---|", *rows, ""]
    write_atomic(str(gallery / "README.md"), "\n".join(index))
    written.append(gallery / "README.md")
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line of the regeneration script."""
    p = argparse.ArgumentParser(prog="python -m symnet.render", description=__doc__)
    p.add_argument("--regenerate", action="store_true", help="rewrite tests/golden and docs/gallery")
    args = p.parse_args(argv)
    if not args.regenerate:
        p.print_help()
        return 2
    for path in regenerate():
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
