"""A hang guard for hostile-input tests: SIGALRM after a time limit fails the test instead of hanging the run."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

import pytest

LIMIT = 20  # seconds; generous on a loaded machine, far below "never finishes"


@contextlib.contextmanager
def alarm(seconds: int = LIMIT) -> Iterator[None]:
    """Fail the running test if the block takes longer than `seconds` (no-op where SIGALRM is missing)."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def fail(signum: int, frame: object) -> None:
        pytest.fail(f"hang guard: still running after {seconds} s", pytrace=False)

    old = signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(autouse=True)
def hang_guard() -> Iterator[None]:
    """Every test in a module that imports this fixture runs under `alarm()`."""
    with alarm():
        yield
