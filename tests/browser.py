"""Built pages opened in headless Chromium (Debian's, driven by Playwright): what a reader would see of their maths."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .conftest import IN_CI, ROOT

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = os.environ.get("SYMNET_SHOTS")  # a folder: each opened page is also saved there as a screenshot

# The rendered form of a maths block, per typesetter, and the marks of a maths error.
RENDERED = ".katex, mjx-container, .MathJax_CHTML, .MathJax_Display, .MJXc-display"
ERRORS = ".katex-error, merror, mjx-merror, .mjx-merror, .MathJax_Error, .MathJax_Preview[style*='red']"

# True once every maths block holds its rendered form (the typesetters run after the page's load event).
SETTLED = """([blocks, rendered]) => Array.from(document.querySelectorAll(blocks)).every(el => el.querySelector(rendered))
  && !(window.MathJax && MathJax.Hub && MathJax.Hub.queue && MathJax.Hub.queue.pending)"""

# The page's visible text, without what legitimately holds TeX: KaTeX's hidden MathML annotation, code, scripts.
VISIBLE_TEXT = """() => {
  const copy = document.body.cloneNode(true);
  copy.querySelectorAll(".katex-mathml, annotation, mjx-assistive-mml, script, style, pre, code, .MathJax_Preview")
      .forEach(e => e.remove());
  return copy.textContent;
}"""

# Per maths block: whether a rendered form is inside it, and whether its rendering shows a raw backslash command.
BLOCKS = """([blocks, rendered]) => Array.from(document.querySelectorAll(blocks)).map(el => {
  const copy = el.cloneNode(true);
  copy.querySelectorAll(".katex-mathml, annotation, mjx-assistive-mml, script").forEach(e => e.remove());
  return {rendered: !!el.querySelector(rendered), raw: /\\\\[A-Za-z]+/.test(copy.textContent)};
})"""


@dataclass
class Report:
    """What one page showed: its maths blocks (rendered or not), maths errors, leaks, console errors, fetches."""

    url: str
    blocks: int = 0
    unrendered: int = 0
    raw_commands: int = 0
    errors: int = 0
    leaks: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)
    text: str = ""

    def assert_clean(self, at_least: int = 1) -> None:
        """Every maths block rendered, none in error, no raw TeX in the text, no console error, nothing fetched."""
        assert self.blocks >= at_least, f"{self.url}: {self.blocks} maths blocks"
        assert self.unrendered == 0, f"{self.url}: {self.unrendered} of {self.blocks} maths blocks not rendered"
        assert self.raw_commands == 0, f"{self.url}: {self.raw_commands} blocks show a raw \\command"
        assert self.errors == 0, f"{self.url}: {self.errors} maths errors"
        assert not self.leaks, f"{self.url}: raw TeX in the page text: {self.leaks}"
        assert not self.console, f"{self.url}: console errors: {self.console}"
        assert not self.fetched, f"{self.url}: fetched from outside: {self.fetched}"


def chromium() -> str:
    """Debian's Chromium: skipped where absent, a failure in CI (.ci/run installs it)."""
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        message = "chromium is not installed (.ci/run: apt-get install chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


@contextlib.contextmanager
def served(root: Path) -> Iterator[str]:
    """A static HTTP server of `root` on 127.0.0.1 (a free port), for as long as the block runs: its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/favicon.ico" and not Path(self.translate_path(self.path)).exists():
            self.send_response(204)  # the browser asks for one by itself; a site without one is not broken
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


def open_pages(pages: list[Path], blocks: str, shots: str | None = None, width: int = 1000,
               root: Path | None = None) -> list[Report]:
    """Open each page (a file) in one headless Chromium, served over HTTP from `root` when given (a site's search
    needs an origin), else as a file; `blocks` selects its maths blocks; screenshots saved as `shots`-<stem>.png
    under $SYMNET_SHOTS when set."""
    from playwright.sync_api import sync_playwright

    executable = chromium()
    reports = []
    with contextlib.ExitStack() as stack:
        base = stack.enter_context(served(root)) if root else None
        p = stack.enter_context(sync_playwright())
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        stack.callback(browser.close)
        for path in pages:
            url = base + path.relative_to(root).as_posix() if base and root else path.as_uri()
            reports.append(_open(browser, url, path, blocks, shots, width, base, root))
    return reports


def _open(browser: Any, url: str, path: Path, blocks: str, shots: str | None, width: int, base: str | None,
          root: Path | None) -> Report:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page = browser.new_page(viewport={"width": width, "height": 1300})
    report = Report(url)
    local = ("file:", "data:", "blob:") + ((base,) if base else ())
    page.on("console", lambda m: report.console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: report.console.append(str(e)))
    page.on("response", lambda r: report.console.append(f"{r.status}: {r.url}") if r.status >= 400 else None)
    page.on("request", lambda r: report.fetched.append(r.url) if not r.url.startswith(local) else None)
    page.goto(report.url, wait_until="load")
    try:
        page.wait_for_function(SETTLED, arg=[blocks, RENDERED], timeout=30_000, polling=100)
    except PlaywrightTimeout:  # counted below as blocks not rendered
        pass
    page.wait_for_timeout(200)  # a typesetter's last error marks
    found = page.evaluate(BLOCKS, [blocks, RENDERED])
    report.blocks = len(found)
    report.unrendered = sum(not b["rendered"] for b in found)
    report.raw_commands = sum(b["raw"] for b in found)
    report.errors = page.evaluate(f"document.querySelectorAll({ERRORS!r}).length")
    report.text = page.evaluate(VISIBLE_TEXT)
    report.leaks = [leak for leak in ("$$", "\\begin", "\\frac", "\\left") if leak in report.text]
    if SHOTS and shots:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        stem = path.parent.name if path.stem == "index" and path.parent != root else path.stem
        page.screenshot(path=str(Path(SHOTS) / f"{shots}-{stem}.png"))
    page.close()
    return report


def node_module(name: str) -> Path:
    """A package of node_modules (npm's katex, mathjax, mathjax2: .ci/run installs them)."""
    path = ROOT / "node_modules" / name
    if not path.is_dir():
        message = f"npm package {name} is not installed (.ci/run: npm install)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def require_module(name: str) -> None:
    """A Python package of the test extra (mkdocs, sphinx, nbclient, playwright…): a failure in CI when missing."""
    import importlib.util

    if importlib.util.find_spec(name) is None:
        message = f"Python package {name} is not installed (pip install '.[test]')"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
