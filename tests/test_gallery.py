"""The gallery (docs/gallery) is what `python -m symnet.render --regenerate` writes today: never stale."""

from __future__ import annotations

from pathlib import Path

from symnet.render.__main__ import regenerate

ROOT = Path(__file__).resolve().parent.parent


def test_the_gallery_is_up_to_date(tmp_path):
    written = [p for p in regenerate(tmp_path) if p.parent.name == "gallery"]
    stale = [p.name for p in written if (ROOT / "docs" / "gallery" / p.name).read_bytes() != p.read_bytes()]
    assert stale == [], f"regenerate the gallery (python -m symnet.render --regenerate): {stale}"
    extra = {p.name for p in (ROOT / "docs" / "gallery").iterdir()} - {p.name for p in written}
    assert extra == set(), f"gallery pages of no built-in: {extra}"
