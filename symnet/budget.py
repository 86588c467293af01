"""The run budget of one command: a wall-clock limit and a memory cap, everything set restored afterwards."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from types import FrameType, TracebackType

from .errors import SymnetError

try:
    import resource
except ImportError:  # (not on Windows: no address-space backstop there)
    resource = None  # type: ignore[assignment]

TIMEOUT = 60  # seconds: the default --timeout of solve, worksheet and check (per answers file)
MEMORY = 2048  # MB: the default --memory
TICK = 0.1  # seconds between two looks at the clock and the memory (and between two interruptions, once beyond)
GRACE = 2  # seconds an interrupted run may take to stop before a real process (hard=True) exits at once
BACKSTOP = 2  # the address space may grow by BACKSTOP × the cap: allocations beyond fail (MemoryError, or flint aborts)


class BudgetError(SymnetError):
    """A run beyond its time (--timeout) or memory (--memory) budget."""


class Interrupted(BaseException):
    """Raised inside the budget's block when it runs past a limit; a BaseException, so that no `except Exception`
    of SymPy or symnet can swallow it. Leaving the block turns it into its `BudgetError`."""

    def __init__(self, error: BudgetError) -> None:
        super().__init__(str(error))
        self.error = error


class Budget:
    """`with Budget(seconds, megabytes, source):` interrupts the block with one `BudgetError` line when it runs past
    `seconds` of wall-clock time or holds more than `megabytes` of resident memory (either None: no limit).

    A SIGALRM interval timer looks every TICK: SymPy is interrupted wherever it is, between two Python bytecodes
    (a long step inside C ends first), by `Interrupted`, which `except Exception` does not catch; once beyond, it
    interrupts again every TICK, against a bare `except:` that catches one (or a finaliser it lands in, whose
    report `sys.unraisablehook` drops meanwhile); a real process (`hard`, the `symnet` command) still running
    GRACE seconds after the first interruption exits at once with the same line. The address space is also
    capped, BACKSTOP × the cap above its size at the start (RLIMIT_AS), against a single huge allocation between
    two looks. On leaving, the timer, the signal handler, the unraisable hook and the limit are what they were (an
    outer alarm keeps its deadline); outside the main thread, or without SIGALRM, only the memory limit applies."""

    def __init__(self, seconds: float | None = TIMEOUT, megabytes: int | None = MEMORY,
                 source: str | None = None, hard: bool = False) -> None:
        self.seconds, self.megabytes, self.source, self.hard = seconds, megabytes, source, hard
        self.done = False
        self._fired: float | None = None  # when the first interruption was raised
        self._timer = False
        self._old_handler: object = None
        self._outer: tuple[float, float] | None = None  # an enclosing alarm: its deadline and interval
        self._old_limit: tuple[int, int] | None = None
        self._old_unraisable = sys.unraisablehook
        self._quiet = False  # True while another hook reports an unraisable exception: no interruption there

    def __enter__(self) -> "Budget":
        self.start = time.monotonic()
        self.done, self._fired = False, None
        if self.megabytes is not None:
            self._cap_address_space()
        if (self.seconds is not None or self.megabytes is not None) and hasattr(signal, "setitimer") \
                and threading.current_thread() is threading.main_thread():
            self._old_handler = signal.signal(signal.SIGALRM, self._on_alarm)
            delay, interval = signal.getitimer(signal.ITIMER_REAL)
            self._outer = (self.start + delay, interval) if delay else None
            first = min(TICK, self.seconds) if self.seconds is not None else TICK
            self._old_unraisable, sys.unraisablehook = sys.unraisablehook, self._unraisable
            signal.setitimer(signal.ITIMER_REAL, first, TICK)
            self._timer = True
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.done = True  # from here the handler does nothing
        if self._timer:
            signal.setitimer(signal.ITIMER_REAL, 0, 0)
            _pending()  # an alarm already delivered runs our (now idle) handler, not the one restored next
            signal.signal(signal.SIGALRM, self._old_handler)  # type: ignore[arg-type]
            sys.unraisablehook = self._old_unraisable
            if self._outer is not None:
                deadline, interval = self._outer
                signal.setitimer(signal.ITIMER_REAL, max(deadline - time.monotonic(), 0.001), interval)
            self._timer = False
        if self._old_limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, self._old_limit)
            self._old_limit = None
        if kind is not None and issubclass(kind, Interrupted):
            raise error.error from None  # type: ignore[union-attr]
        if kind is not None and issubclass(kind, MemoryError) and self.megabytes is not None:
            raise self.memory_error() from None

    def _unraisable(self, info: object) -> None:
        """An interruption raised in a finaliser (a __del__, a GC callback) goes unreported, and the next one comes at
        once, in the run itself. Any other unraisable exception goes to the hook there was, uninterrupted."""
        if isinstance(getattr(info, "exc_value", None), Interrupted):
            if self._timer and not self.done:  # the finaliser has ended: interrupt again at once, not a tick later
                signal.setitimer(signal.ITIMER_REAL, 0.001, TICK)
            return
        self._quiet = True
        try:
            self._old_unraisable(info)  # type: ignore[arg-type]
        finally:
            self._quiet = False

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        if self.done or self._quiet or (frame is not None and frame.f_code is Budget.__exit__.__code__):
            return
        now = time.monotonic()
        if self._outer is not None and now >= self._outer[0]:  # the enclosing alarm is due: its handler runs
            outer, self._outer = self._old_handler, None
            if callable(outer):
                outer(signum, frame)
        if self._fired is not None and self.hard and now - self._fired > GRACE:
            self.done = True  # interrupted GRACE seconds ago, and still running: some handler swallows it
            signal.setitimer(signal.ITIMER_REAL, 0, 0)
            _exit_now(self.error)
        if self.seconds is not None and now - self.start > self.seconds:
            self._fire(BudgetError(f"still running after {self.seconds:g} s (bound: --timeout); raise it with "
                                   "--timeout SECONDS, or make the exercise smaller", source=self.source))
        if self.megabytes is not None and resident_mb() > self.megabytes:
            self._fire(self.memory_error())

    def _fire(self, error: BudgetError) -> None:
        if self._fired is None:
            self._fired, self.error = time.monotonic(), error
        raise Interrupted(error)

    def memory_error(self) -> BudgetError:
        """The one line of a run beyond its memory cap."""
        return BudgetError(f"needs more than {self.megabytes} MB of memory (bound: --memory); raise it with --memory "
                           "MB, or make the exercise smaller", source=self.source)

    def _cap_address_space(self) -> None:
        if resource is None or not hasattr(resource, "RLIMIT_AS") or self.megabytes is None:
            return
        size = address_space_mb()
        if size is None:
            return
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = int((size + BACKSTOP * self.megabytes) * 2**20)
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        if soft != resource.RLIM_INFINITY and soft <= cap:
            return  # a tighter limit is already set: keep it
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
        self._old_limit = (soft, hard)


def _exit_now(error: BudgetError) -> None:
    """End this process at once with the budget's one line and exit status 2 (only in the `symnet` command)."""
    try:
        os.write(2, f"symnet: error: {error}\n".encode("utf-8", "replace"))
    finally:
        os._exit(2)


def _pending() -> None:
    """Nothing: calling a Python function lets the interpreter run a signal handler already due."""


def _statm(field: int) -> float | None:
    """A field of /proc/self/statm in MB (0: the address space, 1: resident), or None off Linux."""
    try:
        with open("/proc/self/statm", "rb") as f:
            pages = int(f.read().split()[field])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def resident_mb() -> float:
    """The resident memory of this process in MB (the peak where the current size cannot be read)."""
    now = _statm(1)
    if now is not None:
        return now
    if resource is None:
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if os.uname().sysname == "Darwin" else peak / 2**10  # (bytes on macOS, KB elsewhere)


def address_space_mb() -> float | None:
    """The address space (virtual size) of this process in MB, or None where it cannot be read."""
    return _statm(0)
