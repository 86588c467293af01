"""Compiling a LaTeX document with pdflatex: private folder, no shell escape, no file access outside, a time bound."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import RenderError

TIMEOUT = 60  # seconds for one pdflatex run
RATE = 2**20  # bytes of symnet's LaTeX pdflatex sets in a second, about (measured: 0.8 s of CPU per MB, 1.5 to 60 MB)
PACKAGES = "texlive-latex-base texlive-latex-recommended texlive-latex-extra"


def compile_pdf(source: str, runs: int = 1) -> bytes:
    """The PDF of a standalone LaTeX document; RenderError with one clear line when it cannot be made."""
    return compile_pdf_log(source, runs)[0]


def compile_pdf_files(parts: list[Path]) -> bytes:
    """PDF files one after the other in one PDF, by pdflatex's pdfpages (where poppler's pdfunite is missing): each
    copied into the private folder first, so that pdflatex reads nothing outside it."""
    names = {f"part{n:05d}.pdf": Path(p).read_bytes() for n, p in enumerate(parts, 1)}
    body = "".join(f"\\includepdf[pages=-]{{{name}}}\n" for name in names)
    return compile_pdf_log("\\documentclass{article}\n\\usepackage{pdfpages}\n\\begin{document}\n" + body
                           + "\\end{document}\n", files=names)[0]


def compile_pdf_log(source: str, runs: int = 1, files: dict[str, bytes] | None = None) -> tuple[bytes, str]:
    """The PDF and pdflatex's log of its last run (where overfull boxes and symnet's scalings are reported); `files`
    are written into the private folder beside the document first.

    A source too large to be set within TIMEOUT seconds (at RATE bytes a second) is refused before pdflatex runs."""
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        raise RenderError(f"PDF output needs pdflatex, which is not installed (Debian: apt-get install {PACKAGES})",
                          field="--format pdf")
    size = len(source.encode("utf-8"))
    if size * runs > RATE * TIMEOUT:  # it would run out of time: say so now, not in a minute
        raise RenderError(f"the LaTeX is {size / 2**20:.0f} MB, more than pdflatex sets in {TIMEOUT} s (about 1 MB "
                          "a second); use --format latex and compile it yourself, or a smaller exercise",
                          field="--format pdf")
    env = dict(os.environ, openin_any="p", openout_any="p", shell_escape="f", TEXMFOUTPUT="")
    with tempfile.TemporaryDirectory(prefix="symnet-tex-") as tmp:
        (Path(tmp) / "doc.tex").write_text(source, encoding="utf-8")
        for name, data in (files or {}).items():
            (Path(tmp) / name).write_bytes(data)
        cmd = [pdflatex, "-halt-on-error", "-no-shell-escape", "-interaction=nonstopmode", "doc.tex"]
        for _ in range(runs):
            try:
                done = subprocess.run(cmd, cwd=tmp, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                      timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                raise RenderError(f"pdflatex took longer than {TIMEOUT} s", field="--format pdf") from None
            pdf = Path(tmp) / "doc.pdf"
            if done.returncode != 0 or not pdf.is_file():
                raise RenderError(f"pdflatex failed: {first_error(done.stdout.decode('utf-8', 'replace'))}",
                                  field="--format pdf")
        log = Path(tmp) / "doc.log"
        return pdf.read_bytes(), log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""


def first_error(log: str) -> str:
    """The first TeX error line of a pdflatex log (the line starting with "!"), or its last line."""
    for line in log.splitlines():
        if line.startswith("!"):
            return line[1:].strip()
    lines = [l for l in log.splitlines() if l.strip()]
    return lines[-1].strip() if lines else "no output"
