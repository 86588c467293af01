"""Shared test helpers: running the CLI in-process, and external tools that CI must have."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from symnet.cli import main

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(name: str) -> str:
    """The path of an external program; skipped (with the reason) when absent here, a failure in CI."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (.ci/run installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def require_katex() -> Path:
    """The folder of npm's katex package (installed by .ci/run into node_modules)."""
    require_tool("node")
    path = ROOT / "node_modules" / "katex"
    if not path.is_dir():
        message = "npm package katex is not installed (.ci/run: npm install katex)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


class Run:
    """The outcome of one in-process CLI call."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self) -> dict:
        return json.loads(self.out)


@pytest.fixture
def cli(capsys):
    """Call `symnet.cli.main(argv)` and capture its exit status, stdout and stderr."""

    def run(*argv: str) -> Run:
        code = main([str(a) for a in argv])
        cap = capsys.readouterr()
        return Run(code, cap.out, cap.err)

    return run
