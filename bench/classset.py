"""A class set of 500 `hidden-layer` exercises to Markdown, serial and with --jobs 2: `python bench/classset.py`."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from symnet.classset import write_class_set  # noqa: E402
from symnet.generate import options  # noqa: E402


def one_set(count: int, jobs: int, kind: str) -> float:
    """Seconds to write a fresh class set of `count` students into a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="symnet-bench-") as tmp:
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            write_class_set(options(kind, seed=1), count, str(Path(tmp) / "set"), "markdown", jobs)
        seconds = time.perf_counter() - start
        files = sum(1 for _ in Path(tmp).rglob("*.md"))
    assert files == 2 * count, files
    return seconds


def main() -> None:
    """Time the serial and the parallel class set in this process and print the ratio."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--count", type=int, default=500)
    p.add_argument("--kind", default="hidden-layer")
    p.add_argument("--jobs", type=int, default=2)
    args = p.parse_args()
    print(f"# class set: {args.count} x {args.kind} to Markdown (spec, worksheet, key per student)")
    print(f"# python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    serial = one_set(args.count, 1, args.kind)
    parallel = one_set(args.count, args.jobs, args.kind)
    print(f"--jobs 1: {serial:7.2f} s  {serial / args.count * 1000:6.1f} ms per exercise")
    print(f"--jobs {args.jobs}: {parallel:7.2f} s  {parallel / args.count * 1000:6.1f} ms per exercise")
    print(f"speed-up from --jobs {args.jobs}: {serial / parallel:.2f}x")


if __name__ == "__main__":
    main()
