"""The Starlette app of `symnet serve`: the page, KaTeX served from the package, and the JSON API."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .pool import Budget, Pool, Reply, error

STATIC = Path(__file__).resolve().parent / "static"
FILE_BYTES = 1_000_000  # the bounds' file_bytes: a spec, or an answers file
REQUEST_BYTES = 2 * FILE_BYTES  # a request carries a spec and an answers file at most
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")

# Nothing but this server's own files runs or loads: no inline script, no other origin, no frames.
SECURITY = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "font-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".woff2": "font/woff2"}


@dataclass
class Settings:
    """What the server was started with: the run budget, the hosts it answers to, and the exercise to open."""

    budget: Budget = field(default_factory=Budget)
    hosts: tuple[str, ...] = LOOPBACK  # the Host headers accepted ("*": any; binding beyond loopback)
    initial: dict[str, object] = field(default_factory=dict)  # {"spec": NAME} or {"spec_text": …, "format": …}


def _files() -> dict[str, tuple[bytes, str]]:
    """Every file the server sends, by URL path: the page and its script and style, KaTeX (woff2 fonts only)."""
    from ..render.html import KATEX_DIR, katex_css

    out = {f"/{p.name}": (p.read_bytes(), TYPES[p.suffix]) for p in STATIC.iterdir() if p.suffix in TYPES}
    out["/"] = out.pop("/index.html")
    out["/katex/katex.min.js"] = ((KATEX_DIR / "katex.min.js").read_bytes(), TYPES[".js"])
    out["/katex/katex.min.css"] = (katex_css(inline=False).encode("utf-8"), TYPES[".css"])
    for font in (KATEX_DIR / "fonts").glob("*.woff2"):
        out[f"/katex/fonts/{font.name}"] = (font.read_bytes(), TYPES[".woff2"])
    return out


class TooLarge(Exception):
    """A request body beyond REQUEST_BYTES."""


async def body_of(request: Request) -> bytes:
    """The request's body, read no further than REQUEST_BYTES."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > REQUEST_BYTES):
        raise TooLarge
    out = bytearray()
    async for chunk in request.stream():
        out += chunk
        if len(out) > REQUEST_BYTES:
            raise TooLarge
    return bytes(out)


def reply(r: Reply) -> Response:
    """A worker's reply as the HTTP response."""
    return Response(r.body, status_code=r.status, media_type="application/json", headers=SECURITY)


def create_app(settings: Settings | None = None) -> Starlette:
    """The app; its workers start with it (the lifespan) and stop with it."""
    settings = settings or Settings()
    files = _files()
    state: dict[str, object] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool = Pool(settings.budget)
        await pool.start()
        state["pool"] = pool
        try:
            yield
        finally:
            await pool.close()

    async def static(request: Request) -> Response:
        found = files.get(request.url.path)
        if found is None:
            return JSONResponse({"error": "symnet: error: no such page"}, 404, headers=SECURITY)
        return Response(found[0], media_type=found[1], headers=SECURITY)

    def api(task: str, method: str = "POST"):  # noqa: ANN202 (a route's endpoint)
        async def endpoint(request: Request) -> Response:
            if method == "POST":
                kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
                if kind != "application/json":
                    return reply(error(415, "symnet: error: request: send the body as JSON (Content-Type: "
                                            "application/json)"))
                try:
                    body = await body_of(request)
                except TooLarge:
                    return reply(error(413, f"symnet: error: request: larger than {REQUEST_BYTES} bytes "
                                            "(bound: file_bytes, twice: a spec and an answers file)"))
            else:
                body = b""
            pool = state["pool"]
            assert isinstance(pool, Pool)
            return reply(await pool.run(task, body))
        return endpoint

    async def examples(request: Request) -> Response:
        found = state.get("examples")
        if not isinstance(found, Reply):  # the same for every request: asked of a worker once
            pool = state["pool"]
            assert isinstance(pool, Pool)
            found = await pool.run("examples", b"")
            if found.status != 200:
                return reply(found)
            state["examples"] = found
        return reply(found)

    async def initial(request: Request) -> Response:
        return Response(json.dumps(settings.initial, ensure_ascii=False), media_type="application/json",
                        headers=SECURITY)

    routes = [Route(path, static) for path in files]
    routes += [Route("/api/examples", examples), Route("/api/initial", initial)]
    routes += [Route(f"/api/{task}", api(task), methods=["POST"])
               for task in ("solve", "check", "page", "generate", "answers")]
    hosts = ["*"] if "*" in settings.hosts else list(settings.hosts)
    return Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(TrustedHostMiddleware,
                                                                              allowed_hosts=hosts)])
