"""Plain views of a solution: the contract's JSON quantity map and a readable text listing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sympy as sp
from flint import fmpq, fmpq_mat

from .algebra.flint import Mask
from .bounds import long_numbers
from .exercise import Value
from .record import Solution, Step


def value_str(v: sp.Expr) -> str:
    """One value as a string that SymPy's parser reads back to the same exact value. SymPy's order of a sum's terms
    evaluates every numeric factor to sort them (`complex()` of each e-power, level by level: 90 % of a 20-step
    rounded sigmoid network's JSON); a value holding an irrational number keeps its terms in SymPy's stored order."""
    return sp.sstr(v, order="none") if _irrational(v) else sp.sstr(v)


def _irrational(v: sp.Expr) -> bool:
    """True when v holds a number that is not rational (e^z, a log, tanh, √3): sorting its terms costs evaluations."""
    return any(a.is_number and not a.is_Rational for a in v.atoms(sp.Pow, sp.Function, sp.NumberSymbol))


def value_json(v: Value) -> Any:
    """A matrix as a list of rows of strings; a scalar as one string."""
    if isinstance(v, sp.MatrixBase):
        from .sympy_private import rational_rows

        rows = rational_rows(v)
        if rows is not None:  # rationals, written from SymPy's own ground types: "-7/3"
            return [[str(x) for x in row] for row in rows]  # (as value_str writes them; no Rational made)
        return [[value_str(x) for x in v.row(i)] for i in range(v.rows)]
    return value_str(v)


def raw_json(raw: Any) -> Any:
    """A value as the fast algebra holds it, when that is rationals (an fmpq_mat, a mask of them, an fmpq), written
    as `value_json` writes its SymPy value (str(fmpq) is sstr's "-7/3"), with no SymPy number made; else None."""
    if isinstance(raw, Mask):
        raw = raw.build()
    if isinstance(raw, fmpq_mat):
        e, c = [str(x) for x in raw.entries()], raw.ncols()
        return [e[i:i + c] for i in range(0, len(e), c)]
    if isinstance(raw, fmpq):
        return str(raw)
    return None


def step_json(s: Step) -> Any:
    """One step's value as `value_json` writes it: from the fast algebra's rationals when it holds them."""
    out = raw_json(s.raw)
    return value_json(s.value) if out is None else out


def firsts(solution: Solution, epoch: int = 1) -> dict[str, Step]:
    """The first step of each quantity name in one gradient-descent step (the ones `Solution` maps names to)."""
    out: dict[str, Step] = {}
    for s in solution.steps:
        if s.epoch == epoch:
            out.setdefault(s.qualified, s)  # (a GAN's D.Z1: its part's name)
    return out


def quantities_json(steps: dict[str, Step]) -> dict[str, Any]:
    """The contract's quantity map: names to rows of strings (or a string)."""
    return {name: step_json(s) for name, s in steps.items() if name != "parameters"}


@long_numbers()
def to_json(solution: Solution) -> dict[str, Any]:
    """The contract's `solve --format json` document (with `parameters` and, for several steps, `steps`)."""
    ex = solution.exercise
    out: dict[str, Any] = {"title": ex.title, "kind": ex.kind, "quantities": quantities_json(firsts(solution))}
    if ex.kind == "network":
        out["parameters"] = ex.parameters
    if solution.epochs > 1:
        out["steps"] = [quantities_json(firsts(solution, k)) for k in range(1, solution.epochs + 1)]
    if solution.bits:
        out["bits"] = [b or None for b in solution.bits]  # per step, the largest updated weight's size (null: n/a)
    return out


def dumps(doc: dict[str, Any]) -> str:
    """JSON text with one quantity a line, readable in a terminal and a diff."""
    def block(d: dict[str, Any], indent: str) -> str:
        items = [f"{indent} {json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}"
                 for k, v in d.items()]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"

    parts = []
    for k, v in doc.items():
        if k == "quantities":
            v_text = block(v, " ")
        elif k == "steps":
            v_text = "[" + ", ".join(block(q, "  ") for q in v) + "]"
        else:
            v_text = json.dumps(v, ensure_ascii=False)
        parts.append(f" {json.dumps(k)}: {v_text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def _decimal(v: sp.Expr | fmpq, d: int) -> str:
    """A rational (SymPy's or flint's) with at most d decimals written as a decimal (-0.14); anything else as
    `value_str`."""
    if not (isinstance(v, fmpq) or v.is_Rational) or (v * 10**d).q != 1:
        return value_str(v)
    n = abs(int(v * 10**d))
    digits = str(n).rjust(d + 1, "0")
    text = digits[:-d] + "." + digits[-d:] if d else digits
    return ("-" if v < 0 else "") + text


def _grid(v: Value, show: Callable[[sp.Expr], str] = value_str) -> list[str]:
    if not isinstance(v, sp.MatrixBase):
        return [show(v)]
    return _aligned([[show(x) for x in v.row(i)] for i in range(v.rows)])


def _step_grid(s: Step) -> list[str]:
    """A step's value as `_grid` writes it: from the fast algebra's rationals when it holds them."""
    cells = raw_json(s.raw)
    if cells is None:
        return _grid(s.value)
    return [cells] if isinstance(cells, str) else _aligned(cells)


def _round_grid(s: Step, d: int) -> list[str]:
    """A rounded step's value as decimals: from the fast algebra's rationals when it holds them."""
    m = s.raw
    if isinstance(m, fmpq_mat):
        c = m.ncols()
        cells = [_decimal(x, d) for x in m.entries()]
        return _aligned([cells[i:i + c] for i in range(0, len(cells), c)])
    return _grid(s.value, lambda v: _decimal(v, d))


def _aligned(cells: list[list[str]]) -> list[str]:
    """Rows of cells, each column right-aligned, in brackets."""
    widths = [max(len(r[j]) for r in cells) for j in range(len(cells[0]))]
    return ["[ " + "  ".join(c.rjust(w) for c, w in zip(r, widths)) + " ]" for r in cells]


@long_numbers()
def to_text(solution: Solution) -> str:
    """Every quantity, in the order computed, as readable plain text."""
    ex = solution.exercise
    lines = [ex.title or ex.source, ""]
    epoch = 1
    for s in solution.steps:
        if s.epoch != epoch:
            epoch = s.epoch
            lines += [f"--- gradient-descent step {epoch} ---", ""]
        label = "Yhat ≈ (the given, rounded predictions)" if s.kind == "approx" else f"{s.qualified} ="
        body = _step_grid(s) if s.kind != "round" else []
        if s.kind == "round":
            d = int(s.raw_operand("decimals"))
            label = f"{s.qualified} (the exact {s.sources[0]} rounded to {d} decimals, an approximation) ="
            body = _round_grid(s, d)
        lines += [f"{label} {body[0]}"] if len(body) == 1 else [label] + ["  " + r for r in body]
    for k, size in enumerate(solution.bits, 1):  # 0: no updated weight is rational (symbols, e), so no size
        said = f"{size} bits" if size else "n/a (no updated weight is a rational number)"
        lines.append(f"{'' if k > 1 else chr(10)}largest updated weight after gradient-descent step {k}: {said}")
    return "\n".join(lines).rstrip() + "\n"
