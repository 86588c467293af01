"""The ops: one file each, holding an op's spec keys, forward and backward rules, names, mistakes and friendliness.

Every module of this package is an op file; `registry()` imports and registers them all (`op(name)` only the
file of that name), so a new op is one new file here, one template in templates/ops/<name>.j2 and one test file
in tests/ops/.

An op computes only through the algebra it is handed (`run.xp`), and records every quantity with `run.record`. A
layer op (`layer = True`) is a `type` of the spec's [[layers]] tables; the others (the loss, the update, the given
inputs, a matrix product, the parameter count, a gradient fork) are the parts of an exercise around the layers."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from ..engine import Run
    from ..exercise import Exercise
    from ..reader import Reader
    from ..record import Solution


@dataclass(frozen=True)
class Key:
    """One key of an op's spec table: its name, what it holds, its default, and a sentence for the reference."""

    name: str
    holds: str
    doc: str
    default: str | None = None
    required: bool = False


@dataclass(frozen=True)
class Mistake:
    """A classic mistake with an op: the checker re-runs the engine with it made and compares.

    `rank` orders the mistakes a wrong entry is tested against (the first that explains it wins); `applies` says
    whether it can change anything in an exercise; an op reads `run.broken(code)` where the mistake is made, or,
    for a mistake no rule of the op makes, `overrides` gives the quantities it changes (the checker re-runs with
    them given)."""

    code: str
    rank: int
    sentence: str
    applies: Callable[["Exercise"], bool]
    overrides: Callable[["Exercise", Any, Mapping[str, Any]], dict[str, Any]] | None = None


@dataclass(frozen=True)
class Node:
    """One layer of the exercise's graph: its number k, its op, its parameters, and the quantities it reads."""

    k: int
    op: str
    params: Any
    inputs: tuple[str, ...]


@dataclass(frozen=True)
class Grad:
    """The gradient arriving at a layer's output: ∂L/∂(its output A), or, fused with the loss, ∂L/∂(its Z)."""

    value: Any
    at: str = "A"  # "A" or "Z"


@dataclass(frozen=True)
class Backward:
    """What a layer's backward pass gives: its parameters' gradients and, per input, (step name, value) parts."""

    params: dict[str, Any] = field(default_factory=dict)
    inputs: tuple[tuple[str, str, Any], ...] = ()  # (input quantity, name of the step holding the part, value)


@dataclass(frozen=True)
class KindInfo:
    """What a KIND of `symnet generate` builds, its defaults, and which options it takes."""

    sizes: tuple[int, ...]  # default widths, input first (matmul: rows of A, columns of A, columns of B)
    batch: int | None = 1  # default batch; None: --batch not offered
    activations: tuple[str, ...] = ()  # offered --activation values, default first; () : not offered
    losses: tuple[str, ...] = ()  # offered --loss values, default first; () : not offered
    layers: tuple[int, int] = (1, 1)  # least and most layers (len(sizes) - 1)


@dataclass(frozen=True)
class Kind:
    """A KIND of `symnet generate` an op offers: its options, and `build(rng, options)` giving a candidate (spec data,
    header notes) or None to draw again (the generator then keeps it only if the engine finds every answer friendly:
    `symnet.friendly.problems`, which asks each layer's op too)."""

    info: KindInfo
    build: Callable[..., Any]


class Op:
    """The base of every op; a module's `OP` (or `OPS`) is registered by its `name`."""

    name: ClassVar[str] = ""
    layer: ClassVar[bool] = False  # a `type` of the [[layers]] tables
    keys: ClassVar[tuple[Key, ...]] = ()
    mistakes: ClassVar[tuple[Mistake, ...]] = ()
    kinds: ClassVar[dict[str, Kind]] = {}  # the KINDs of `symnet generate` it offers
    summary: ClassVar[str] = ""
    image: ClassVar[bool] = False  # reads its input as the maps of one sample (an image, sequences in rows)

    # ------------------------------------------------------------ layer ops

    def parse(self, table: Mapping, read: "Reader") -> Any:
        """The layer's parameters from its spec table (`read` knows the layer, its input and the bounds)."""
        raise NotImplementedError

    def out_rows(self, params: Any, rows: int) -> int:
        """Rows of the layer's output, for `rows` rows of input."""
        return rows

    def out_shape(self, params: Any, shape: tuple[int, int]) -> tuple[int, int]:
        """(rows, columns) of the layer's output for an input of `shape`: by default `out_rows`, the same columns."""
        return self.out_rows(params, shape[0]), shape[1]

    def out_maps(self, params: Any, maps: tuple[int, int, int] | None,
                 shape: tuple[int, int]) -> tuple[int, int, int] | None:
        """The (channels, height, width) of its output's maps, one map per row, for input maps `maps` (None: its
        input is not maps) of `shape`: by default the input's, when the output keeps the input's shape."""
        return maps if self.out_shape(params, shape) == shape else None

    def outputs(self, k: int) -> tuple[str, ...]:
        """The quantities its forward pass names (their shapes are its output's)."""
        return (f"A{k}",)

    def inputs(self, k: int, params: Any, prev: str) -> tuple[str, ...]:
        """The quantities it reads: the layer below's output `prev`, and any it names (a skip)."""
        return (prev,)

    def trainable(self, params: Any) -> dict[str, Any]:
        """Its parameters that gradient descent updates, by name without the layer number: {"W": W, "b": b}."""
        return {}

    def with_trained(self, params: Any, new: Mapping[str, Any]) -> Any:
        """The parameters after an update (`new` as `trainable` names them, SymPy values)."""
        return params

    def entries(self, params: Any, rows: int, batch: int) -> int:
        """About how many entries its quantities hold, for `rows` × `batch` input (checked against bounds.entries before
        any work): by default six output-shaped quantities (value, derivative, gradients) and two per parameter."""
        out = self.out_rows(params, rows) * batch
        return 6 * out + 2 * sum(v.rows * v.cols for v in self.trainable(params).values())

    def count(self, params: Any) -> int:
        """How many numbers it learns (the exercise's parameter count)."""
        return 0

    def activation(self, params: Any) -> Any:
        """The activation its output ends with (the loss fuses with softmax and sigmoid), or None."""
        return None

    def approximates(self, params: Any) -> bool:
        """True when the layer makes a labelled approximation (3 for e, a rounded statistic)."""
        return False

    def forward(self, run: "Run", node: Node, params: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Compute and record the forward pass; return every quantity it names ({"Z3": …, "A3": …})."""
        raise NotImplementedError

    def backward(self, run: "Run", node: Node, params: Mapping[str, Any], saved: Mapping[str, Any], grad: Grad,
                 need: frozenset[str]) -> Backward:
        """Compute and record the backward pass from `grad`; give the parameters' gradients and the parts of the
        gradients of the inputs in `need` (`run.grad_name` names each part's step)."""
        raise NotImplementedError

    def friendly(self, params: Any, solution: "Solution", k: int) -> list[str]:
        """The ways the solved layer is not friendly by hand (empty when it is; see `symnet generate`)."""
        return []


@cache
def modules() -> tuple[Any, ...]:
    """Every module of this package, imported once, by name."""
    infos = sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name)
    return tuple(importlib.import_module(f"{__name__}.{info.name}") for info in infos)


@cache
def registry() -> dict[str, Op]:
    """Every op, by name."""
    found: dict[str, Op] = {}
    for module in modules():
        for o in getattr(module, "OPS", ()) or ((module.OP,) if hasattr(module, "OP") else ()):
            found[o.name] = o
    return found


@cache
def op(name: str) -> Op:
    """The op called `name`: its own file's (ops/<name>.py, imported when first asked for: a command imports the
    ops it uses, not every op and what each one imports), else any module's that registers it."""
    if name in _names():
        found = getattr(importlib.import_module(f"{__name__}.{name}"), "OP", None)
        if found is not None and found.name == name:
            return found
    return registry()[name]


@cache
def _names() -> frozenset[str]:
    return frozenset(m.name for m in pkgutil.iter_modules(__path__))


def layer_op(name: str) -> Op | None:
    """The layer op whose `type` is `name`, or None."""
    try:
        found = op(name)
    except KeyError:
        return None
    return found if found.layer else None


def layer_types() -> dict[str, Op]:
    """The layer ops, by `type`."""
    return {n: o for n, o in registry().items() if o.layer}


@cache
def generator_kinds() -> dict[str, Kind]:
    """The KINDs of `symnet generate` the ops offer, by name."""
    return {name: kind for o in registry().values() for name, kind in o.kinds.items()}


@cache
def mistakes() -> tuple[Mistake, ...]:
    """Every declared mistake (an op's, or a module's `MISTAKES` for what several ops share, the activations'), in
    the order a wrong entry is tested against them."""
    found = [m for o in registry().values() for m in o.mistakes]
    found += [m for module in modules() for m in getattr(module, "MISTAKES", ())]
    return tuple(sorted(found, key=lambda m: m.rank))
