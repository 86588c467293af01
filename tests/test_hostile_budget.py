"""The run budget (--timeout, --memory): one line naming the budget, exit 2, nothing written, everything restored.

Slow or greedy work is simulated by replacing `Exercise.solve` (or the checker) with a loop; no test measures speed."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from symnet import budget as budget_module
from symnet.budget import Budget, BudgetError, resident_mb
from symnet.exercise import Exercise

from .hostile import guard

hang_guard = guard.hang_guard
PREFIX = "symnet: error: "
ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_TAIL = "(bound: --timeout); raise it with --timeout SECONDS, or make the exercise smaller"
MEMORY_TAIL = "(bound: --memory); raise it with --memory MB, or make the exercise smaller"

pytestmark = pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="no SIGALRM timers here")


def one_error_line(r) -> str:
    assert r.code == 2, (r.code, r.err)
    assert r.out == "" and r.err.startswith(PREFIX) and r.err.count("\n") == 1, r.err
    return r.err[len(PREFIX):-1]


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    assert not list(tmp_path.rglob(".*.tmp")), "a temporary output file was left behind"


def sleeper(self):  # a solve that never ends by itself
    while True:
        time.sleep(10)


def swallower(self):  # a solve whose code swallows every exception it can
    for _ in range(3):
        try:
            time.sleep(10)
        except Exception:  # noqa: BLE001 - the point of the test
            pass
        try:
            time.sleep(10)
        except:  # noqa: E722 - so is this
            pass
    raise AssertionError("ran to the end: the budget was swallowed")


def grower(self):  # a solve that keeps allocating
    hoard = []
    for _ in range(2000):  # 2 GB at most, should the budget fail
        hoard.append(bytearray(1 << 20))
        hoard[-1][::4096] = b"x" * len(hoard[-1][::4096])  # touched: resident, not only reserved
    raise AssertionError("allocated 2 GB without being stopped")


def state() -> tuple:
    """What a budget must leave as it found it: the SIGALRM handler, the timer, the address-space limit."""
    import resource

    return signal.getsignal(signal.SIGALRM), resource.getrlimit(resource.RLIMIT_AS)


def test_a_run_past_its_timeout_is_one_line_and_writes_nothing(cli, work, monkeypatch):
    (work / "key.md").write_text("THE KEY\n")
    monkeypatch.setattr(Exercise, "solve", sleeper)
    before = state()
    r = cli("solve", "backprop", "--timeout", "0.5", "-o", "key.md")
    assert one_error_line(r) == f"backprop: still running after 0.5 s {TIMEOUT_TAIL}"
    assert (work / "key.md").read_text() == "THE KEY\n"
    assert state() == before


@pytest.mark.parametrize("command", ["solve", "worksheet", "check"])
def test_every_command_has_the_budget(cli, work, monkeypatch, command):
    (work / "a.toml").write_text("L = 1\n")
    monkeypatch.setattr(Exercise, "solve", sleeper)
    args = [command, "backprop"] + (["a.toml"] if command == "check" else []) + ["--timeout", "0.3"]
    assert one_error_line(cli(*args)) == f"backprop: still running after 0.3 s {TIMEOUT_TAIL}"


def test_library_code_cannot_swallow_the_interruption(cli, work, monkeypatch):
    monkeypatch.setattr(Exercise, "solve", swallower)
    assert one_error_line(cli("solve", "backprop", "--timeout", "0.3")) == (
        f"backprop: still running after 0.3 s {TIMEOUT_TAIL}")


def test_the_command_ends_even_a_run_that_swallows_every_interruption(tmp_path):
    script = textwrap.dedent("""
        import sys, time
        sys.path.insert(0, sys.argv[1])
        from symnet import cli
        from symnet.exercise import Exercise

        def forever(self):
            while True:
                try:
                    time.sleep(10)
                except:  # swallows the budget's interruption every time
                    pass

        Exercise.solve = forever
        sys.argv = ["symnet", "solve", "backprop", "--timeout", "0.5"]
        cli.run()
    """)
    done = subprocess.run([sys.executable, "-c", script, str(ROOT)], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"{PREFIX}backprop: still running after 0.5 s {TIMEOUT_TAIL}\n"


class Finalised:
    def __del__(self):
        time.sleep(0.15)  # a tick lands here now and then: its interruption is unraisable


def finaliser_runs(self):
    while True:
        Finalised()  # (freed at once: __del__ runs here)
        time.sleep(0.05)


def test_an_interruption_in_a_finaliser_is_not_reported_and_the_run_still_ends(cli, work, monkeypatch):
    """Found by the fuzzer: a tick landing in a __del__ or a GC callback raised there, and Python printed
    "Exception ignored in ..." with a traceback; the next tick now interrupts the run itself."""
    import sys

    seen = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: seen.append(info.exc_value))
    monkeypatch.setattr(Exercise, "solve", finaliser_runs)
    assert one_error_line(cli("solve", "backprop", "--timeout", "0.5")) == (
        f"backprop: still running after 0.5 s {TIMEOUT_TAIL}")
    assert seen == [] and sys.unraisablehook is not None


def test_a_run_beyond_its_memory_cap_is_one_line(cli, work, monkeypatch):
    monkeypatch.setattr(Exercise, "solve", grower)
    cap = int(resident_mb()) + 150
    before = state()
    assert one_error_line(cli("solve", "backprop", "--memory", str(cap))) == (
        f"backprop: needs more than {cap} MB of memory {MEMORY_TAIL}")
    assert state() == before


def test_a_memory_error_inside_the_budget_names_the_budget(cli, work, monkeypatch):
    def no_memory(self):
        raise MemoryError

    monkeypatch.setattr(Exercise, "solve", no_memory)
    assert one_error_line(cli("solve", "backprop", "--memory", "100000")) == (
        f"backprop: needs more than 100000 MB of memory {MEMORY_TAIL}")


def test_each_answers_file_of_a_class_has_its_own_budget(cli, work, monkeypatch):
    from symnet.check import cli as check_cli

    for name in ("a.toml", "b.toml", "c.toml"):
        (work / name).write_text("L = 1\n")
    real = check_cli.check

    def slow_for_b(exercise, answers, **kw):
        if answers.source.endswith("b.toml"):
            sleeper(None)
        return real(exercise, answers, **kw)

    monkeypatch.setattr(check_cli, "check", slow_for_b)
    # (a budget a's and c's checks, a tenth of a second each, meet on a machine however busy: 0.5 s did not, once)
    r = cli("check", "backprop", "a.toml", "b.toml", "c.toml", "--csv", "class.csv", "--timeout", "4")
    assert (r.code, r.err) == (1, "")  # the class is graded; b's file is unreadable, with the budget's line
    rows = {row.split(",")[0]: row for row in (work / "class.csv").read_text().splitlines()}
    assert rows["a.toml"].endswith(",graded") and rows["c.toml"].endswith(",graded")
    assert f"still running after 4 s {TIMEOUT_TAIL}" in rows["b.toml"]


def test_one_answers_file_past_its_budget_is_one_line(cli, work, monkeypatch):
    from symnet.check import cli as check_cli

    (work / "b.toml").write_text("L = 1\n")
    monkeypatch.setattr(check_cli, "check", lambda exercise, answers, **kw: sleeper(None))
    assert one_error_line(cli("check", "backprop", "b.toml", "--timeout", "0.5")) == (
        f"b.toml: still running after 0.5 s {TIMEOUT_TAIL}")


def test_no_limit_with_zero(cli, work, monkeypatch):
    real = Exercise.solve

    def slowish(self):
        time.sleep(0.3)
        return real(self)

    monkeypatch.setattr(Exercise, "solve", slowish)
    r = cli("solve", "matmul", "--timeout", "0", "--memory", "0")
    assert (r.code, r.err) == (0, "")


@pytest.mark.parametrize("option, value", [("--timeout", "-1"), ("--timeout", "nan"), ("--timeout", "1e9"),
                                           ("--memory", "1.5"), ("--memory", "lots")])
def test_a_bad_budget_is_a_usage_line(cli, work, option, value):
    kind = "whole number" if option == "--memory" else "number"
    assert one_error_line(cli("solve", "matmul", option, value)) == (
        f"argument {option}: expected a {kind} from 0 to 1000000, got {value!r} (see 'symnet solve --help')")


def test_an_outer_alarm_keeps_its_deadline_and_handler(monkeypatch):
    """A caller's own SIGALRM (a test's hang guard, say) still fires on time inside a budget, and is restored."""
    class Outer(BaseException):
        pass

    def outer(signum, frame):
        raise Outer

    old = signal.signal(signal.SIGALRM, outer)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.4)
        start = time.monotonic()
        with pytest.raises(Outer):
            with Budget(30, None):
                time.sleep(5)
        assert time.monotonic() - start < 3
        assert signal.getsignal(signal.SIGALRM) is outer
        signal.setitimer(signal.ITIMER_REAL, 0.6)
        with Budget(30, None):
            time.sleep(0.1)
        remaining = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 0 < remaining <= 0.6  # the outer deadline, carried through
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_outside_the_main_thread_only_the_memory_cap_applies():
    seen = []

    def work():
        with Budget(0.1, None) as b:
            time.sleep(0.3)
            seen.append(b)

    t = threading.Thread(target=work)
    t.start()
    t.join(5)
    assert len(seen) == 1  # not interrupted: no signals there


def test_the_budget_error_is_a_symnet_error():
    with pytest.raises(BudgetError, match=r"^s\.toml: still running after 0\.2 s \(bound: --timeout\)"):
        with Budget(0.2, None, source="s.toml"):
            while True:
                sum(range(1000))
    assert budget_module.TIMEOUT == 60 and budget_module.MEMORY == 2048
