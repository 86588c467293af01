"""A worker process of `symnet serve`: reads one request a line on stdin, answers one a line on stdout.

Run as `python -m symnet.serve.worker CONFIG` by the server's pool (pool.py), which kills it when a request runs past
its time or memory; it caps its own address space too, against one huge allocation between two of the pool's looks.
A request is `{"task": NAME, "body": BASE64}` (the HTTP body as sent); the answer is a header line
`{"status": N, "restart": BOOL}` and a line of JSON (the response's body)."""

from __future__ import annotations

import base64
import json
import os
import sys
import traceback
from typing import Any, BinaryIO

try:
    import resource
except ImportError:  # (not on Windows: the pool's watch alone)
    resource = None  # type: ignore[assignment]

BACKSTOP = 2  # the address space may grow by BACKSTOP × the memory cap beyond its size once warmed up


def _cap(megabytes: int | None) -> None:
    """Cap the address space at its present size plus BACKSTOP × `megabytes` (where the system allows it)."""
    if megabytes is None or resource is None or not hasattr(resource, "RLIMIT_AS"):
        return
    try:
        with open("/proc/self/statm", "rb") as f:
            size = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = size + BACKSTOP * megabytes * 2**20
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    if soft == resource.RLIM_INFINITY or soft > cap:
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def handle(request: dict[str, Any], bounds: Any, megabytes: int | None) -> tuple[int, dict[str, Any], bool]:
    """One request: (HTTP status, JSON body, whether this worker should be replaced)."""
    from ..errors import SymnetError
    from ..spec import parse_text
    from .tasks import TASKS

    try:
        raw = base64.b64decode(request.get("body") or b"")
        body = parse_text(raw, "request", json_format=True, bounds=bounds) if raw.strip() else {}
        return 200, TASKS[request["task"]](body, bounds), False
    except SymnetError as e:
        return 400, {"error": f"symnet: error: {e}"}, False
    except MemoryError:
        return 400, {"error": f"symnet: error: needs more than {megabytes} MB of memory (bound: --memory); raise it "
                              "with symnet serve --memory MB, or make the exercise smaller"}, True
    except RecursionError:
        return 400, {"error": "symnet: error: request: nested too deeply to compute"}, True
    except Exception as e:  # a fault of symnet's, not of the request: told in one line, its traceback on stderr
        traceback.print_exc()
        return 500, {"error": f"symnet: error: internal error ({type(e).__name__}); see the server's log"}, True


def serve(config: dict[str, Any], stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Answer requests until stdin closes."""
    from ..bounds import DEFAULT
    from .tasks import page

    bounds = DEFAULT.raised(config.get("bounds", []))
    megabytes = config.get("memory")
    page({"spec": "backprop", "view": "worksheet"}, bounds)  # templates compiled, SymPy's caches warm
    _cap(megabytes)
    stdout.write(b"ready\n")
    stdout.flush()
    for line in stdin:
        status, body, restart = handle(json.loads(line), bounds, megabytes)
        stdout.write(json.dumps({"status": status, "restart": restart}).encode() + b"\n")
        stdout.write(json.dumps(body, ensure_ascii=False).encode("utf-8") + b"\n")
        stdout.flush()
        if restart:
            return


def main() -> None:
    """The worker's entry point: the protocol on the real stdout; anything else printed goes to stderr."""
    config = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    stdout = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        serve(config, sys.stdin.buffer, stdout)
    except KeyboardInterrupt:
        pass
    finally:
        stdout.flush()
        os._exit(0)  # (skip the teardown of SymPy's objects, as the command line does)


if __name__ == "__main__":
    main()
