"""The command line: `main(argv) -> int`, the only place that prints or exits."""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import SymnetError, UsageError

if TYPE_CHECKING:
    from .budget import Budget

PROG = "symnet"
_HARD = False  # True in the `symnet` command itself: a run that ignores its budget's interruption is ended there


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


# The generator's kinds (symnet.generate.KINDS, which imports SymPy: named here so that --help stays quick;
# tests/test_generate.py holds the two lists equal).
GENERATE_HELP = ("the kind of exercise: matmul, single-neuron, four-neurons, hidden-layer, batch, mlp, backprop; "
                 "temperature, resnet, autoencoder, dropout, batch-norm, layer-norm, moe, switch; rnn, lstm, "
                 "self-attention, multi-head-attention; conv1d, conv2d, max-pool, avg-pool, cnn, gan")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command and option."""
    p = _Parser(prog=PROG, description="Exact derivations of neural-network hand calculations.")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def document(name: str, help: str, formats: tuple[str, ...]) -> argparse.ArgumentParser:
        c = sub.add_parser(name, help=help, description=help)
        c.add_argument("spec", metavar="SPEC",
                       help="a .toml or .json spec file, or a built-in name (see 'symnet examples')")
        c.add_argument("--format", choices=formats, default=formats[0], help=f"output format (default {formats[0]})")
        c.add_argument("-o", "--output", metavar="FILE",
                       help="write to FILE (whole or not at all; - or /dev/stdout: standard output)")
        c.add_argument("--decimals", type=int, metavar="N", help="show N-decimal approximations beside exact values")
        _layout_options(c)
        _bound_option(c)
        _budget_options(c)
        return c

    document("solve", "the worked solution (answer key)", ("markdown", "latex", "pdf", "json", "text", "html"))
    document("worksheet", "the same document with every answer left blank", ("markdown", "latex", "pdf", "html"))

    c = sub.add_parser("check", help="verdicts on a hand calculation", description="verdicts on a hand calculation")
    c.add_argument("spec", metavar="SPEC", help="the exercise: a spec file or a built-in name")
    c.add_argument("answers", metavar="ANSWERS", nargs="+",
                   help="answers file(s) (.toml or .json), or a folder of them")
    c.add_argument("--format", choices=("text", "json"), default="text", help="report format (default text)")
    c.add_argument("--csv", metavar="FILE",
                   help="write the gradebook (one row per student) to FILE as CSV (-: instead of the report)")
    c.add_argument("--require", action="append", metavar="Q,Q,...",
                   help="the quantities asked (default: every computed one); others answered are still checked")
    c.add_argument("--only", action="append", metavar="Q,Q,...",
                   help="check only these quantities; other answers in the files are ignored")
    c.add_argument("--rubric", metavar="FILE", help="a TOML/JSON file with a [grading] table (points, penalties)")
    c.add_argument("--feedback", metavar="DIR", help="write one feedback file per student to DIR (Markdown and PDF)")
    c.add_argument("--report", metavar="FILE", help="write the class report to FILE (self-contained HTML)")
    _bound_option(c)
    _budget_options(c, " (for each answers file)")

    g = sub.add_parser("generate", help="a new exercise spec (TOML) with hand-friendly numbers",
                       description="a new exercise spec (TOML) with hand-friendly numbers")
    g.add_argument("kind", metavar="KIND", help=GENERATE_HELP)
    g.add_argument("--seed", type=int, default=0, help="the seed (same seed, same exercise; default 0)")
    g.add_argument("--sizes", metavar="N,N,...", help="layer widths, input first (mlp)")
    g.add_argument("--batch", type=int, metavar="N", help="samples per batch")
    g.add_argument("--activation", metavar="NAME", help="hidden activation")
    g.add_argument("--loss", metavar="NAME", help="loss kind")
    g.add_argument("--softmax", metavar="HOW",
                   help="backprop's softmax by hand: predictions (rounded, default) or base3")
    g.add_argument("--max-given", type=int, default=3, metavar="N", help="given numbers from -N to N (default 3)")
    g.add_argument("--count", type=int, metavar="N", help="make a class set of N exercises (needs --out)")
    g.add_argument("--out", metavar="DIR", help="folder for a class set")
    g.add_argument("--format", choices=("markdown", "latex", "pdf"), default="markdown", help="class set documents")
    g.add_argument("--jobs", type=int, default=1, metavar="J", help="parallel processes for a class set")
    g.add_argument("--roster", metavar="FILE", help="a class set's students: a CSV file of names (a column 'name')")
    g.add_argument("--secret", metavar="TEXT", help="salts a class set's seeds (default: DIR/secret, made if missing)")
    _layout_options(g)

    sub.add_parser("examples", help="list the built-in exercises", description="list the built-in exercises")

    s = sub.add_parser("serve", help="an interactive worksheet in the browser (needs symnet[serve])",
                       description="an interactive worksheet in the browser: Explore and Practise, and a JSON API")
    s.add_argument("spec", metavar="SPEC", nargs="?", help="the exercise to open: a spec file or a built-in name")
    s.add_argument("--port", type=int, default=8765, help="the port (default 8765; 0: a free one)")
    s.add_argument("--host", default="127.0.0.1",
                   help="the address to listen on (default 127.0.0.1: this machine only)")
    s.add_argument("--no-browser", action="store_true", help="do not open the page in the browser")
    s.add_argument("--timeout", type=float, default=60, metavar="SECONDS",
                   help="stop a request after SECONDS of work (default 60; 0: no limit)")
    s.add_argument("--memory", type=int, default=2048, metavar="MB",
                   help="stop a request beyond MB megabytes of memory (default 2048; 0: no limit)")
    s.add_argument("--workers", type=int, default=2, metavar="N", help="worker processes (default 2)")
    _bound_option(s)
    return p


def _layout_options(c: argparse.ArgumentParser) -> None:
    """The document options of solve and worksheet (and a class set): layout, scaffolding, printing, paper."""
    c.add_argument("--detail", choices=("sheet", "steps", "full"), default="sheet",
                   help="the key: the hand grid (sheet, default), and the first entry of each kind written out "
                        "(steps), or every entry written out (full)")
    c.add_argument("--scaffold", choices=("grid", "formulas", "blank"), default="grid",
                   help="the worksheet: the grid with empty boxes (grid, default), every entry's formula (formulas), "
                        "or only the given numbers (blank)")
    c.add_argument("--decimals-shown", action="store_const", const=True, default=None,
                   help="write fractions that end as decimals (-0.8, not -4/5); the default where the exercise rounds")
    c.add_argument("--mono", action="store_true", help="black and white: no sample colours")
    c.add_argument("--paper", choices=("a4", "letter"), default="a4", help="paper size of LaTeX and PDF (default a4)")


def layout_options(args: argparse.Namespace) -> dict[str, Any]:
    """The render() keyword arguments of the document options on a command line."""
    return {"detail": args.detail, "scaffold": args.scaffold, "decimals_shown": args.decimals_shown,
            "mono": args.mono, "paper": args.paper}


def _bound_option(c: argparse.ArgumentParser) -> None:
    c.add_argument("--bound", action="append", default=[], metavar="NAME=VALUE",
                   help="raise one of the limits on input size and work, e.g. --bound rows=128 (README: Limits)")


def _budget_options(c: argparse.ArgumentParser, each: str = "") -> None:
    from .budget import MEMORY, TIMEOUT

    c.add_argument("--timeout", type=_limit(float), default=TIMEOUT, metavar="SECONDS",
                   help=f"stop with an error after SECONDS of wall-clock time{each} (default {TIMEOUT}; 0: no limit)")
    c.add_argument("--memory", type=_limit(int), default=MEMORY, metavar="MB",
                   help=f"stop with an error beyond MB megabytes of memory (default {MEMORY}; 0: no limit)")


def _limit(kind: type) -> Callable[[str], float | int | None]:
    """An argparse type for --timeout and --memory: a number from 0 (no limit, None) to 10**6."""
    def parse(text: str) -> float | int | None:
        try:
            value = kind(text)
        except ValueError:
            value = -1
        if not 0 <= value <= 10**6 or value != value:
            raise argparse.ArgumentTypeError(f"expected a {'whole ' if kind is int else ''}number from 0 to 1000000, "
                                             f"got {text[:20]!r}")
        return value or None
    return parse


@contextlib.contextmanager
def budget(args: argparse.Namespace, source: str | None) -> Iterator["Budget"]:
    """The run budget of one piece of a command (--timeout, --memory); every error from it names `source` (the
    file being worked on) when it names no file itself."""
    from .budget import Budget

    try:
        with Budget(getattr(args, "timeout", None), getattr(args, "memory", None), source=source, hard=_HARD) as b:
            yield b
    except SymnetError as e:
        if e.source is not None or isinstance(e, UsageError) or source is None:
            raise
        raise e.located(source=source) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit status (0 done, 1 `check` found a wrong answer, 2 bad input)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(args_list)
        if args.version:
            from . import __version__

            print(f"{PROG} {__version__}")
            return 0
        if args.command is None:  # (exit 2 is one line on stderr: the help is one option away)
            raise UsageError(f"a command is needed: one of {', '.join(COMMANDS)} (see '{PROG} --help')")
        if hasattr(args, "bound"):
            from .bounds import DEFAULT

            args.bounds = DEFAULT.raised(args.bound)
        return COMMANDS[args.command](args)
    except SymnetError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"{PROG}: error: out of memory", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def run() -> None:
    """The `symnet` command and `python -m symnet`: `main()`, then exit at once.

    The modules every command needs (SymPy, flint, the ops) are imported first with the garbage collector paused,
    then frozen: they make only long-lived objects, and looking for cycles among them is a tenth of a short run.
    Every file is written whole and closed by then, and the standard streams are flushed here; what is skipped is
    the interpreter's teardown, which frees every object SymPy made one by one (a third of a short run)."""
    global _HARD
    _HARD = True
    from . import lazy

    lazy.install()  # SymPy imported when first used: a command on plain rationals never imports it
    gc.disable()
    try:
        from . import engine, spec  # noqa: F401
    finally:
        gc.freeze()
        gc.enable()
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader left early (symnet … | head)
        pass
    os._exit(code)


def refuse_inputs(output: str | None, inputs: Sequence[str | Path], option: str = "-o") -> None:
    """Refuse, before any work, an output naming one of the input files, or an empty name."""
    from .files import is_stdout, same_file

    if output is None or is_stdout(output):
        return
    if output == "":
        raise UsageError(f"{option}: an empty file name; name a file, or - for standard output")
    for src in inputs:
        if _exists(src) and same_file(src, output):
            raise UsageError(f"{option} {output} is an input file; choose another output", source=output)


def _exists(path: str | Path) -> bool:
    try:
        return Path(path).exists()
    except (OSError, ValueError):
        return False


def _document(args: argparse.Namespace, worksheet: bool) -> int:
    from .files import write_output, write_stdout

    if args.format == "pdf" and args.output is None:
        raise UsageError("PDF output needs -o FILE (or -o - for standard output)")
    refuse_inputs(args.output, [args.spec])
    with budget(args, args.spec):
        text = _make_document(args, worksheet)
        if args.output is None:
            write_stdout(text)
        else:
            write_output(args.output, text)
    return 0


def _make_document(args: argparse.Namespace, worksheet: bool) -> str | bytes:
    from .spec import load

    solution = load(args.spec, bounds=args.bounds).solve()
    if args.format == "json":
        from .export import dumps, to_json

        text: str | bytes = dumps(to_json(solution))
    elif args.format == "text":
        from .export import to_text

        text = to_text(solution)
    else:
        from .render import render, render_pdf

        options = layout_options(args)
        if args.format == "pdf":
            text = render_pdf(solution, worksheet=worksheet, decimals=args.decimals, **options)
        else:
            text = render(solution, args.format, worksheet=worksheet, decimals=args.decimals, **options)
    return text


def _examples(args: argparse.Namespace) -> int:
    from .spec import builtin_names, load

    names = builtin_names()
    width = max(map(len, names))
    for name in names:
        print(f"{name:<{width}}  {load(name).description}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from .check import run_cli

    return run_cli(args)


def _generate(args: argparse.Namespace) -> int:
    from .generate import run_cli

    return run_cli(args)


def _serve(args: argparse.Namespace) -> int:
    from .serve import run_cli

    return run_cli(args)


COMMANDS = {
    "solve": lambda a: _document(a, worksheet=False),
    "worksheet": lambda a: _document(a, worksheet=True),
    "check": _check,
    "generate": _generate,
    "examples": _examples,
    "serve": _serve,
}
