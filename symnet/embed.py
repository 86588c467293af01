"""A spec written inside a page (a Markdown fence, a Sphinx directive, a notebook cell), rendered where it stands."""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import SpecError, SymnetError
from .exercise import Exercise
from .record import Solution

MODES = ("solve", "worksheet")
VALUED = ("detail", "scaffold", "decimals")
_WORD = re.compile(r"[a-z][a-z0-9_-]{0,31}")
USAGE = 'write a TOML spec, or one line builtin = "NAME"'


@dataclass(frozen=True)
class Options:
    """What to render from a block: the key or the worksheet, and the renderer's options."""

    worksheet: bool = False
    detail: str | None = None  # passed to the renderer where it has the option (issue 16's --detail)
    scaffold: str | None = None  # the same, for --scaffold
    decimals: int | None = None


def parse_options(pairs: Mapping[str, str | None], source: str = "<block>") -> Options:
    """Options from `{name: value}` (a bare word such as `worksheet` has None, or itself, as its value)."""
    worksheet, values = None, {}
    for key, value in pairs.items():
        if key in MODES and value in (None, "", key):
            if worksheet is not None:
                raise SpecError("give one of solve or worksheet, not both", source=source, field=key)
            worksheet = key == "worksheet"
        elif key in VALUED:
            if value in (None, "", key):
                raise SpecError(f"needs a value, e.g. {key}={'2' if key == 'decimals' else 'NAME'}", source=source,
                                field=key)
            values[key] = str(value)
        else:
            raise SpecError(f"unknown option (choose {', '.join(MODES + VALUED)})", source=source, field=key)
    decimals = values.pop("decimals", None)
    if decimals is not None:
        if not decimals.isdigit() or not 0 <= int(decimals) <= 30:
            raise SpecError("must be a whole number from 0 to 30", source=source, field="decimals")
    for key, value in values.items():
        if not _WORD.fullmatch(value):
            raise SpecError("must be a word (lower-case letters, digits, - and _)", source=source, field=key)
    return Options(bool(worksheet), values.get("detail"), values.get("scaffold"),
                   None if decimals is None else int(decimals))


def parse_words(line: str, source: str = "<block>") -> Options:
    """Options from a line of words: `worksheet decimals=2 detail=steps`."""
    pairs: dict[str, str | None] = {}
    for word in line.split():
        key, sep, value = word.partition("=")
        if key in pairs:
            raise SpecError("given twice", source=source, field=key)
        pairs[key] = value if sep else None
    return parse_options(pairs, source)


def load_body(body: str, source: str) -> Exercise:
    """The exercise a block's body names: a TOML spec, or exactly one line `builtin = "NAME"`."""
    from .spec import builtin_names, from_data, load, parse_text

    if not body.strip():
        raise SpecError(f"the block is empty: {USAGE}", source=source)
    data = parse_text(body, source)
    if "builtin" not in data:
        return from_data(data, source)
    name = data["builtin"]
    if len(data) > 1:
        raise SpecError(f"builtin names the whole exercise: {USAGE}", source=source, field="builtin")
    if not isinstance(name, str) or name not in builtin_names():
        raise SpecError(f"not a built-in exercise (choose {', '.join(builtin_names())})", source=source,
                        field="builtin")
    return load(name)


def renderer_options(options: Options, source: str) -> dict[str, str]:
    """detail= and scaffold= as keyword arguments of the renderer, refused where this renderer has no such option."""
    from .render.document import build

    extra = {k: v for k, v in (("detail", options.detail), ("scaffold", options.scaffold)) if v is not None}
    accepted = inspect.signature(build).parameters
    for key in extra:
        if key not in accepted:
            raise SpecError("this version of symnet's renderer has no such option", source=source, field=key)
    return extra


def solve(body: str, source: str) -> Solution:
    """The solved exercise of a block, every error located at `source`."""
    try:
        return load_body(body, source).solve()
    except SymnetError as e:
        raise e.located(source) from None


def render_block(body: str, options: Options, source: str, math: str = "mathjax") -> str:
    """A block's worked solution or worksheet as an HTML fragment for the typesetter `math` (html.STYLES)."""
    from .render.html import STYLES, render_fragment

    extra = renderer_options(options, source)
    return render_fragment(solve(body, source), worksheet=options.worksheet, decimals=options.decimals,
                           math=STYLES[math], layout=extra)
