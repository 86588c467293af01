"""Names and file names as they may be shown: one line, no terminal escapes, no bidi overrides."""

from __future__ import annotations

import re
import unicodedata

_HIDDEN = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")  # controls, format (bidi, zero-width), surrogates, unassigned
_SPACES = re.compile(r"\s+")


def clean(text: object, limit: int = 100) -> str:
    """`text` made safe to print anywhere (a terminal, a table cell, a document, a file name's stem shown):
    whitespace (tabs, newlines) as one space, every other control or format character removed, cut to
    `limit` characters with an ellipsis. `\\x1b[2J` prints as `[2J`, harmless."""
    out = []
    for ch in str(text):
        if ch.isspace():
            out.append(" ")
        elif unicodedata.category(ch) not in _HIDDEN:
            out.append(ch)
    line = _SPACES.sub(" ", "".join(out)).strip()
    return line if len(line) <= limit else line[: limit - 1] + "…"


def shown_path(path: object) -> str:
    """A file name as shown: cleaned, and long paths kept to their last 100 characters."""
    text = clean(path, 10_000)
    return text if len(text) <= 100 else "…" + text[-99:]


def file_stem(text: str, taken: set[str]) -> str:
    """A safe file-name stem for `text` (letters, digits, `-`, `_`, `.`), not in `taken` (then added to it)."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", unicodedata.normalize("NFKD", clean(text))).strip("-.") or "student"
    base = base[:60]
    stem, k = base, 2
    while stem.lower() in taken:
        stem, k = f"{base}-{k}", k + 1
    taken.add(stem.lower())
    return stem
