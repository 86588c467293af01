"""symnet's own documentation site, built by its MkDocs plugin: strict, complete, and rendered in Chromium."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from symnet import ops
from symnet.reference import TABLES, sections
from symnet.spec import TOP_KEYS, builtin_names

from .browser import open_pages, require_module
from .conftest import ROOT


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    require_module("mkdocs")
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                           "-d", str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return out


def test_the_reference_lists_every_op_and_key(site):
    page = (site / "spec.html").read_text(encoding="utf-8")
    for op in ops.registry().values():
        assert f'<h3 id="{op.name}">{op.name}' in page, op.name
        assert op.layer or op.name in TABLES, f"{op.name}: say where its keys go (symnet/reference.py TABLES)"
        for key in op.keys:
            assert f"<td><code>{key.name}</code></td>" in page, (op.name, key.name)
    documented = {k.name for s in sections() for k in s.keys}
    assert set(TOP_KEYS) <= documented, set(TOP_KEYS) - documented


def test_every_builtin_has_its_gallery_page(site):
    for name in builtin_names():
        page = (site / "examples" / f"{name}.html").read_text(encoding="utf-8")
        assert page.count('<div class="symnet">') == 2, name
        assert "Worksheet: fill in every box." in page and "Answer key:" in page


def test_the_pages_render_in_chromium(site):
    require_module("playwright")
    pages = [site / "index.html", site / "examples" / "backprop.html", site / "examples" / "mlp7.html"]
    for report in open_pages(pages, ".arithmatex", shots="site", root=site):
        report.assert_clean(at_least=1)  # (the sheet layout: a built-in in a few displays)
    (spec,) = open_pages([site / "spec.html"], ".arithmatex", shots="site", root=site)
    spec.assert_clean(at_least=0)
    assert re.search(r"number\s*η\s*required", spec.text)  # (the key itself is code, left out of the text)
