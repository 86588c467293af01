"""`symnet generate`: fresh exercise specs whose numbers are friendly by hand, checked by the engine."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from . import generators
from .errors import SymnetError, UsageError
from .expr import FloatText
from .friendly import problems
from .ops import KindInfo, generator_kinds
from .spec import from_data

DENSE_KINDS = ("matmul", "single-neuron", "four-neurons", "hidden-layer", "batch", "mlp", "backprop")
ATTEMPTS = 200  # whole candidates tried before giving up
SOLVE_COST = 100  # an engine solve, counted in layer draws against the search's budget
MAX_WIDTH, MAX_LAYERS, MAX_BATCH, MAX_GIVEN = 6, 7, 4, 9


ONE_LAYER = ("relu", "leaky_relu", "identity", "sigmoid", "tanh")
KIND_INFO: dict[str, KindInfo] = {
    "matmul": KindInfo((2, 2, 3), batch=None, layers=(2, 2)),
    "single-neuron": KindInfo((3, 1), activations=ONE_LAYER),
    "four-neurons": KindInfo((3, 4), activations=ONE_LAYER),
    "hidden-layer": KindInfo((3, 4, 2), activations=("relu", "leaky_relu", "identity"), layers=(2, 2)),
    "batch": KindInfo((3, 4, 2), batch=3, activations=("relu", "leaky_relu", "identity"), layers=(2, 2)),
    "mlp": KindInfo((3, 4, 3, 2), batch=2, activations=("relu", "leaky_relu", "identity"), layers=(2, MAX_LAYERS)),
    "backprop": KindInfo((3, 4, 2, 3), activations=("relu", "identity"),
                         losses=("cross_entropy", "squared_error", "mse"), layers=(1, MAX_LAYERS)),
}
SOFTMAX = ("predictions", "base3")
KIND_INFO.update({name: kind.info for name, kind in generator_kinds().items()})  # the catalogue ops' own kinds
KINDS = DENSE_KINDS + tuple(generator_kinds())


@dataclass(frozen=True)
class Options:
    """One generation request; `key` seeds the RNG, so equal options give byte-identical specs."""

    kind: str
    seed: int = 0
    sizes: tuple[int, ...] = ()
    batch: int = 1
    activation: str = ""
    loss: str = ""
    softmax: str = ""
    max_given: int = 3

    def key(self) -> str:
        """The canonical text of these options (the RNG's seed string)."""
        sizes = ",".join(map(str, self.sizes))
        return (f"{self.kind}:{self.seed}:{sizes}:{self.batch}:{self.activation}:{self.loss}:{self.softmax}:"
                f"{self.max_given}")

    def command(self) -> str:
        """The `symnet generate` command line that makes this exercise again."""
        info = KIND_INFO[self.kind]
        parts = [f"symnet generate {self.kind} --seed {self.seed} --sizes {','.join(map(str, self.sizes))}"]
        if info.batch is not None:
            parts.append(f"--batch {self.batch}")
        if info.activations:
            parts.append(f"--activation {self.activation}")
        if info.losses:
            parts.append(f"--loss {self.loss}")
        if self.softmax:
            parts.append(f"--softmax {self.softmax}")
        parts.append(f"--max-given {self.max_given}")
        return " ".join(parts)


@dataclass(frozen=True)
class Generated:
    """A generated exercise: its options, the spec data (as `symnet.load` takes it) and the header notes."""

    options: Options
    spec: dict
    notes: tuple[str, ...] = field(default=())

    def toml(self) -> str:
        """The spec as TOML text, with a comment header naming the kind, the seed and the approximations."""
        return to_toml(self.spec, header_lines(self.options, self.notes))


# ---------------------------------------------------------------- options


def options(kind: str, seed: int = 0, sizes: str | Sequence[int] | None = None, batch: int | None = None,
            activation: str | None = None, loss: str | None = None, softmax: str | None = None,
            max_given: int = 3) -> Options:
    """Validated options for one KIND; a `UsageError` (one line) names the option at fault."""
    if kind not in KINDS:
        hint = difflib.get_close_matches(kind, KINDS, n=1)
        meant = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise UsageError(f"unknown kind {kind!r}{meant}; kinds: {', '.join(KINDS)}", field="KIND")
    info = KIND_INFO[kind]
    if not 0 <= seed < 2**63:
        raise UsageError(f"seed must be a whole number from 0 to 2**63 - 1, got {seed}", field="--seed")
    if not 1 <= max_given <= MAX_GIVEN:
        raise UsageError(f"must be from 1 to {MAX_GIVEN}, got {max_given}", field="--max-given")
    widths = _sizes(kind, info, sizes)
    if batch is not None and info.batch is None:
        raise UsageError(f"{kind} takes no batch (its shapes come from --sizes)", field="--batch")
    n = info.batch if batch is None else batch
    if n is not None and not 1 <= n <= MAX_BATCH:
        raise UsageError(f"must be from 1 to {MAX_BATCH}, got {n}", field="--batch")
    act = _offered(activation, info.activations, kind, "--activation")
    lossname = _offered(loss, info.losses, kind, "--loss")
    if act == "leaky_relu" and len(widths) - 2 > 2 and kind != "hidden-layer":
        raise UsageError("leaky_relu over more than two hidden layers makes denominators beyond 100",
                         field="--activation")
    if lossname == "cross_entropy" and widths[-1] < 2:
        raise UsageError("a softmax output needs at least 2 classes (the last of --sizes)", field="--sizes")
    if softmax is not None and lossname != "cross_entropy":
        raise UsageError("goes only with KIND backprop and --loss cross_entropy", field="--softmax")
    if softmax is not None and softmax not in SOFTMAX:
        raise UsageError(f"unknown value {softmax!r} (allowed: {', '.join(SOFTMAX)})", field="--softmax")
    soft = (softmax or SOFTMAX[0]) if lossname == "cross_entropy" else ""
    return Options(kind, seed, widths, n or 1, act, lossname, soft, max_given)


def _sizes(kind: str, info: KindInfo, text: str | Sequence[int] | None) -> tuple[int, ...]:
    if text is None:
        return info.sizes
    if isinstance(text, str):
        try:
            widths = tuple(int(t) for t in text.split(","))
        except ValueError:
            raise UsageError(f"expected whole numbers separated by commas, got {text!r}", field="--sizes") from None
    else:
        widths = tuple(text)
    if kind == "single-neuron" and len(widths) == 1:
        widths += (1,)
    if any(not 1 <= w <= MAX_WIDTH for w in widths):
        raise UsageError(f"every width must be from 1 to {MAX_WIDTH}, got {','.join(map(str, widths))}",
                         field="--sizes")
    least, most = info.layers
    count = len(widths) - 1
    if kind == "matmul" and len(widths) != 3:
        raise UsageError("matmul takes three sizes: rows of A, columns of A (rows of B), columns of B", field="--sizes")
    if not least <= count <= most:
        want = f"{least + 1}" if least == most else f"{least + 1} to {most + 1}"
        raise UsageError(f"{kind} takes {want} sizes (inputs, then each layer's width), got {len(widths)}",
                         field="--sizes")
    if kind == "single-neuron" and widths[-1] != 1:
        raise UsageError(f"a single neuron has one output: --sizes {widths[0]} or {widths[0]},1", field="--sizes")
    return widths


def _offered(value: str | None, offered: tuple[str, ...], kind: str, option: str) -> str:
    if not offered:
        if value is not None:
            raise UsageError(f"{kind} takes no {option[2:]}", field=option)
        return ""
    if value is None:
        return offered[0]
    if value not in offered:
        raise UsageError(f"{value!r} is not offered for {kind} (choose {', '.join(offered)})", field=option)
    return value


# ---------------------------------------------------------------- generation


def generate(opts: Options) -> Generated:
    """A fresh exercise for these options: candidates from a local RNG until the engine finds every answer friendly."""
    rng = generators.Search(f"symnet-generate:{opts.key()}")
    build = generators.BUILDERS[opts.kind] if opts.kind in generators.BUILDERS else generator_kinds()[opts.kind].build
    for _ in range(ATTEMPTS):
        try:
            candidate = build(rng, opts)
        except generators.Exhausted:
            break
        if candidate is None:
            continue
        spec, notes = candidate
        rng.draws -= SOLVE_COST
        if not problems(from_data(spec, "<generated>").solve(), opts.max_given):
            spec = {"title": f"{spec['title']} (seed {opts.seed})", **{k: v for k, v in spec.items() if k != "title"}}
            return Generated(opts, spec, tuple(notes))
    raise SymnetError("found no hand-friendly numbers within the search budget; try smaller --sizes or --batch, "
                      "or another --max-given", field=opts.kind)


# ---------------------------------------------------------------- TOML


def header_lines(opts: Options, notes: Sequence[str]) -> list[str]:
    """The comment header: kind and seed (as the command that remakes it), approximations, guarantees."""
    g = opts.max_given
    return [
        f"Generated by: {opts.command()}",
        f"kind = {opts.kind}, seed = {opts.seed}",
        *notes,
        f"Guaranteed: given numbers are integers from -{g} to {g}; every answer is an integer or a fraction",
        "with denominator at most 100 and absolute value at most 100; no ReLU input is 0; every ReLU layer",
        "of two or more neurons zeroes at least one entry and passes at least one.",
    ]


def to_toml(spec: Mapping, header: Sequence[str] = ()) -> str:
    """TOML text of spec data (numbers, strings, `FloatText` decimals, nested lists, layer tables)."""
    lines = [f"# {h}".rstrip() for h in header]
    lines += [f"{k} = {_toml_value(v)}" for k, v in spec.items()
              if not isinstance(v, (dict, list)) or k in ("X", "A", "B", "noise")]
    for layer in spec.get("layers", ()):
        lines += ["", "[[layers]]"] + [f"{k} = {_toml_value(v)}" for k, v in layer.items()]
    for net in ("generator", "discriminator"):  # a GAN's networks
        for layer in spec.get(net, {}).get("layers", ()):
            lines += ["", f"[[{net}.layers]]"] + [f"{k} = {_toml_value(v)}" for k, v in layer.items()]
    for table in ("loss", "train"):
        if table in spec:
            lines += ["", f"[{table}]"] + [f"{k} = {_toml_value(v)}" for k, v in spec[table].items()]
    return "\n".join(lines) + "\n"


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, FloatText):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, Mapping):  # an inline table (a list of them: the experts of a mixture)
        return "{" + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"no TOML form for {type(v).__name__}")


# ---------------------------------------------------------------- command line


def options_from_args(args: argparse.Namespace) -> Options:
    """Options from the parsed `symnet generate` command line."""
    return options(args.kind, seed=args.seed, sizes=args.sizes, batch=args.batch, activation=args.activation,
                   loss=args.loss, softmax=getattr(args, "softmax", None), max_given=args.max_given)


def run_cli(args: argparse.Namespace) -> int:
    """`symnet generate`: one spec on stdout, or with --count and --out a class set in a folder."""
    opts = options_from_args(args)
    roster, secret = getattr(args, "roster", None), getattr(args, "secret", None)
    if args.count is None and roster is None:
        if args.out is not None:
            raise UsageError("--out makes a class set and needs --count N", field="--out")
        if args.format != "markdown" or args.jobs != 1:
            raise UsageError("--format and --jobs go with a class set (--count N --out DIR)", field="--count")
        if secret is not None:
            raise UsageError("goes with a class set (--count N --out DIR)", field="--secret")
        sys.stdout.write(generate(opts).toml())
        return 0
    if args.out is None:
        raise UsageError(f"{'--count' if args.count is not None else '--roster'} needs --out DIR (the folder for the "
                         "class set)", field="--count" if args.count is not None else "--roster")
    from .classset import write_class_set

    keys = ("detail", "scaffold", "decimals_shown", "mono", "paper")
    layout = {k: getattr(args, k) for k in keys if hasattr(args, k)}
    return write_class_set(opts, args.count, args.out, args.format, args.jobs, roster, secret, layout)
