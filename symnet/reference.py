"""The spec reference, written from the ops' own key declarations (symnet.ops) so that it cannot drift from them."""

from __future__ import annotations

from dataclasses import dataclass

# Where an op's keys are written in a spec, for the ops that are not a `type` of [[layers]]. An op missing here is
# listed under its own name; tests/test_docs_site.py fails until it is placed.
TABLES = {"given": "top level", "matmul": 'top level, with kind = "matmul"', "gan": 'top level, with kind = "gan"',
          "parameters": "top level",
          "loss": "[loss]", "update": "[train]", "fork": "(no keys: it is made where a quantity feeds two layers)"}
# The keys spec.py reads itself, around the ops' tables.
SPEC_KEYS = {
    "title": ("text", "the document's title (escaped wherever it is printed)"),
    "description": ("text", "a sentence under the title"),
    "kind": ('"network", "matmul" or "gan"', "a network (the default), a single matrix product, or a GAN (its keys: "
             "the gan section)"),
    "X": ("matrix, or a flat list for one column", "the input: one sample per column"),
    "layers": ("array of tables [[layers]]", "the layers, in order; each table's type picks its op (default dense)"),
    "loss": ("table [loss]", "the loss, below"),
    "train": ("table [train]", "gradient descent, below"),
    "grading": ("table [grading]", "how symnet check gives points: asked, each, points, partial_credit, "
                "follow_through, penalty, out_of (Checking and grading)"),
}


@dataclass(frozen=True)
class Entry:
    """One documented key: its name, what it holds, what it does, its default and whether it is required."""

    name: str
    holds: str
    doc: str
    default: str | None = None
    required: bool = False


@dataclass(frozen=True)
class Section:
    """One op (or the spec's own top level): its name, where its keys go, a summary and its keys."""

    name: str
    table: str
    summary: str
    keys: tuple[Entry, ...]


def sections() -> list[Section]:
    """The spec's top level, then every op of `symnet.ops.registry()`: layer types first, then the rest, by name."""
    from . import ops

    top = Section("the spec", "top level", "the keys every spec may hold",
                  tuple(Entry(k, h, d) for k, (h, d) in SPEC_KEYS.items()))
    found = sorted(ops.registry().values(), key=lambda o: (not o.layer, o.name))
    out = [top]
    for op in found:
        table = f'[[layers]] with type = "{op.name}"' if op.layer else TABLES.get(op.name, op.name)
        keys = tuple(Entry(k.name, k.holds, k.doc, k.default, k.required) for k in op.keys)
        out.append(Section(op.name, table, op.summary, keys))
    return out


def _cell(text: str | None) -> str:
    """Text for a Markdown table cell: pipes escaped, on one line."""
    return " ".join((text or "").replace("|", "\\|").split())


def markdown() -> str:
    """The reference as Markdown: per section a heading, where its keys go, and a table of them."""
    lines: list[str] = []
    for s in sections():
        lines += [f"### {s.name}", "", f"**{s.table}** — {s.summary}.", ""]
        if not s.keys:
            continue
        lines += ["| key | holds | what it does | default |", "|---|---|---|---|"]
        for k in s.keys:
            default = "required" if k.required else (f"`{_cell(k.default)}`" if k.default else "—")
            lines.append(f"| `{k.name}` | {_cell(k.holds)} | {_cell(k.doc)} | {default} |")
        lines.append("")
    return "\n".join(lines)
