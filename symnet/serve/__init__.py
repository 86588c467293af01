"""`symnet serve`: an interactive worksheet in the browser (Explore, Practise) and its JSON API, on 127.0.0.1."""

from __future__ import annotations

import argparse
import importlib.util
import socket
import sys
import threading
import webbrowser
from pathlib import Path

from ..errors import SymnetError, UsageError

EXTRA = "symnet serve needs the optional extra: python -m pip install 'symnet[serve]' (Starlette and uvicorn)"


def available() -> bool:
    """True when Starlette and uvicorn are installed."""
    return all(importlib.util.find_spec(m) is not None for m in ("starlette", "uvicorn"))


def initial(spec: str | None) -> dict[str, object]:
    """What the page opens: a built-in by name, or a spec file's text (read here, checked, never written)."""
    if spec is None:
        return {}
    from ..spec import builtin_names, load

    exercise = load(spec)  # a bad SPEC is refused before the server starts, in one line
    if spec in builtin_names() and not Path(spec).exists():
        return {"spec": spec}
    text = Path(spec).read_text(encoding="utf-8-sig")
    return {"spec_text": text, "format": "json" if spec.lower().endswith(".json") else "toml",
            "title": exercise.title}


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: a free one), or a one-line error."""
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(info[0], socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(info[4])
        sock.listen(128)
    except (OSError, IndexError) as e:
        raise UsageError(f"cannot listen on {host}:{port}: {getattr(e, 'strerror', None) or e}", field="--port") \
            from None
    return sock


def run_cli(args: argparse.Namespace) -> int:
    """Serve until interrupted; the URL is printed first (and opened in the browser unless --no-browser)."""
    if not available():
        raise UsageError(EXTRA)
    import uvicorn

    from .app import LOOPBACK, Settings, create_app
    from .pool import Budget

    if not 0 <= args.port <= 65535:
        raise UsageError(f"expected a port from 0 to 65535, got {args.port}", field="--port")
    if args.workers < 1 or args.workers > 16:
        raise UsageError(f"expected 1 to 16 workers, got {args.workers}", field="--workers")
    start = initial(args.spec)
    budget = Budget(args.timeout or None, args.memory or None, tuple(args.bound), args.workers)
    loopback = args.host in LOOPBACK
    settings = Settings(budget, LOOPBACK if loopback else ("*",), start)
    sock = bind(args.host, args.port)
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{shown}:{port}/"
    if not loopback:
        print(f"symnet: warning: serving on {args.host}, beyond this machine: anyone who reaches it can use it",
              file=sys.stderr)
    config = uvicorn.Config(create_app(settings), log_level="warning", access_log=False, lifespan="on",
                            limit_concurrency=64, timeout_keep_alive=5)
    server = uvicorn.Server(config)

    def ready() -> None:
        print(f"symnet: serving on {url} (Ctrl-C to stop)", flush=True)
        if not args.no_browser:
            webbrowser.open(url)

    _when_started(server, ready)
    try:
        server.run(sockets=[sock])
    except SymnetError:
        raise
    finally:
        sock.close()
    return 0 if server.started else 2


def _when_started(server: object, then: object) -> None:
    """Call `then` once the server has started (its workers ready)."""
    def watch() -> None:
        import time

        while not getattr(server, "started", False) and not getattr(server, "should_exit", False):
            time.sleep(0.05)
        if getattr(server, "started", False):
            then()  # type: ignore[operator]

    threading.Thread(target=watch, daemon=True).start()
