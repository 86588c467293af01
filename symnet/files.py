"""Writing output files whole or not at all, never replacing a device, a FIFO or a symbolic link."""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from pathlib import Path

from .errors import SymnetError, UsageError

STDOUT_NAMES = ("-", "/dev/stdout")  # names that mean standard output (not a file to replace)


def is_stdout(path: str | Path) -> bool:
    """True when an output name means standard output: `-` or `/dev/stdout`."""
    return str(path) in STDOUT_NAMES


def write_output(path: str | Path, data: str | bytes, option: str = "-o") -> None:
    """Write `data` where an output option points: standard output for `-` and `/dev/stdout`; an existing
    character device or FIFO in place (a FIFO only when a reader is waiting); anything else through its symbolic
    links, to a temporary file beside the final target, renamed over it (so it is whole or untouched)."""
    name = str(path)
    if name == "":
        raise UsageError(f"{option}: an empty file name; name a file, or - for standard output")
    if is_stdout(name):
        write_stdout(data)
        return
    try:
        st = os.stat(name)  # (follows symbolic links: what the name finally stands for)
    except FileNotFoundError:
        st = None
    except (OSError, ValueError) as e:
        raise SymnetError(f"cannot write: {_reason(e)}", source=name) from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise SymnetError("is a folder; name a file", source=name)
    if st is not None and not stat.S_ISREG(st.st_mode):
        write_in_place(name, data, st.st_mode)
        return
    write_atomic(os.path.realpath(name), data, source=name)


def write_stdout(data: str | bytes) -> None:
    """Text or bytes to standard output, flushed."""
    if isinstance(data, bytes):
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        sys.stdout.write(data)
        sys.stdout.flush()


def write_in_place(name: str, data: str | bytes, mode: int) -> None:
    """Write to an existing character device or FIFO without replacing it; refuse any other special file."""
    if not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        kind = "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "a special file"
        raise SymnetError(f"is {kind}, not a file; not written", source=name)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        flags = os.O_WRONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(name, flags)  # (without O_NONBLOCK, opening a FIFO waits for a reader for ever)
    except OSError as e:
        if e.errno == errno.ENXIO and stat.S_ISFIFO(mode):
            raise SymnetError("is a FIFO with no reader; not written", source=name) from None
        raise SymnetError(f"cannot write: {_reason(e)}", source=name) from None
    try:
        os.set_blocking(fd, True)
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view):]
    except OSError as e:
        raise SymnetError(f"cannot write: {_reason(e)}", source=name) from None
    finally:
        os.close(fd)


def write_atomic(path: str | Path, data: str | bytes, source: str | None = None) -> None:
    """Write `data` to a temporary file beside `path`, then rename it over `path` (a regular file or none).

    An existing file keeps its permission bits; a new one is made 0644. `source` names it in errors."""
    p = Path(path)
    src = source or str(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        mode = stat.S_IMODE(os.stat(p).st_mode)
    except OSError:
        mode = 0o644
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent if str(p.parent) else ".")
    except (OSError, ValueError) as e:
        raise SymnetError(f"cannot write: {_reason(e)}", source=src) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, p)
    except BaseException as e:  # also a run budget's interruption: no temporary file is left behind
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise SymnetError(f"cannot write: {_reason(e)}", source=src) from None
        raise


def _reason(e: BaseException) -> str:
    """An OSError's text without its errno and file name (the name is already in the message's FILE part)."""
    return getattr(e, "strerror", None) or "not a valid file name"


def same_file(a: str | Path, b: str | Path) -> bool:
    """True when two paths name the same existing file."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        try:
            return Path(a).resolve() == Path(b).resolve()
        except (OSError, ValueError):
            return False
