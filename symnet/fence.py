"""The ```symnet fence for pymdownx.superfences: its validator (the options on the fence line) and formatter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .embed import parse_options, render_block
from .errors import SymnetError

NAME = "symnet"


def fence_error(message: str) -> Exception:
    """The exception superfences lets through (it turns any other into a plain code block)."""
    from pymdownx.superfences import SuperFencesException

    return SuperFencesException(message)


def validate(language: str, inputs: dict[str, str], options: dict[str, Any], attrs: dict[str, str],
             md: Any) -> bool:
    """superfences' validator: keep the fence line's words (`worksheet`, `decimals=2`) for the formatter."""
    options.update(inputs)
    return True


def _unnamed(options: dict[str, str]) -> str:
    options.pop("line", None)
    return "symnet fence"


def make_formatter(source: Callable[[dict[str, str]], str] = _unnamed,
                   error: Callable[[str], Exception] = fence_error, math: str = "arithmatex") -> Callable[..., str]:
    """A superfences formatter: `source(options)` names the block in error messages (a page and line, taking its
    own options out of the fence's), `error` makes
    the exception that stops the build, `math` the typesetter the page uses (arithmatex's generic markup by default)."""

    def format(src: str, language: str, class_name: str, options: dict[str, str], md: Any, **kwargs: Any) -> str:
        options = dict(options)
        where = source(options)
        try:
            return render_block(src, parse_options(options, where), where, math)
        except SymnetError as e:
            raise error(f"symnet: error: {e.located(where)}") from None

    return format


format = make_formatter()  # for a plain Python-Markdown setup: `format: !!python/name:symnet.fence.format`


def superfence(formatter: Callable[..., str] = format) -> dict[str, Any]:
    """The custom_fences entry of pymdownx.superfences for the symnet fence."""
    return {"name": NAME, "class": NAME, "format": formatter, "validator": validate}
