"""symnet's exact passes timed side by side with raw python-flint, SymPy, numpy and torch: `python bench/run.py`."""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sympy as sp  # noqa: E402
from flint import fmpq_mat  # noqa: E402
from peers import (  # noqa: E402
    BATCH,
    WIDTHS,
    domain_matrix,
    network,
    numpy_pass,
    raw_flint,
    raw_flint_variant,
    sympy_forward_loss,
    sympy_matrix,
    sympy_matrix_variant,
    sympy_softmax,
    torch_pass,
)
from sympy.core.cache import clear_cache  # noqa: E402
from sympy.polys.domains import QQ  # noqa: E402

from symnet import engine, spec  # noqa: E402
from symnet.algebra.rationals import max_bits, to_flint  # noqa: E402
from symnet.bounds import DEFAULT  # noqa: E402
from symnet.export import value_str  # noqa: E402
from symnet.expr import parse_entry  # noqa: E402

# ---------------------------------------------------------------- timing


def timed(f: Callable[[], object], repeat: int, budget: float) -> tuple[float, float, int]:
    """(median ms, min ms, runs) of f, run `repeat` times or until `budget` seconds are spent (at least once)."""
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < repeat and (not times or time.perf_counter() - start < budget):
        t0 = time.perf_counter()
        f()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), min(times), len(times)


def interleaved(fs: dict[str, Callable[[], object]], repeat: int, budget: float) -> dict[str, tuple[float, float, int]]:
    """`timed` for several functions at once, run in turns, so that a busy moment of the machine hits them alike."""
    times: dict[str, list[float]] = {k: [] for k in fs}
    start = time.perf_counter()
    for _ in range(repeat):
        for k, f in fs.items():
            t0 = time.perf_counter()
            f()
            times[k].append((time.perf_counter() - t0) * 1e3)
        if time.perf_counter() - start > budget * len(fs):
            break
    return {k: (statistics.median(v), min(v), len(v)) for k, v in times.items()}


def row(name: str, t: tuple[float, float, int], ref: float | None, torch_ms: float | None, note: str = "") -> str:
    med, lo, n = t
    vs_ref = f"{med / ref:8.2f}×" if ref else " " * 9
    vs_torch = f"{med / torch_ms:9.1f}×" if torch_ms else " " * 10
    return f"  {name:<44} {med:10.3f} {lo:10.3f} {n:5d} {vs_ref} {vs_torch}  {note}"


HEADER = f"  {'method':<44} {'median ms':>10} {'min ms':>10} {'runs':>5} {'× flint':>9} {'× torch':>10}"


# ---------------------------------------------------------------- helpers


def optional(name: str):
    try:
        return __import__(name)
    except ImportError:
        return None


def flint_inputs(ex) -> tuple[list, list, fmpq_mat, fmpq_mat]:
    return [to_flint(l.W) for l in ex.layers], [to_flint(l.b) for l in ex.layers], to_flint(ex.X), to_flint(ex.loss.Y)


def floats(m) -> list[float]:
    return [float(x) for x in m.entries()]


def factored_floats(F) -> list[list[float]]:
    """A factored ∂L/∂W (const + scale·Σ coef·atom) evaluated in float64, for the check against torch."""
    Z = F.atoms.Z
    cols = []
    for k in range(Z.ncols()):
        z = [float(Z[i, k]) for i in range(Z.nrows())]
        e = [math.exp(v - max(z)) for v in z]
        cols.append([v / sum(e) for v in e])
    s = float(F.scale)
    return [[float(F.const[j, m]) + s * sum(float(c) * cols[k][i] for c, i, k in F.terms(j, m))
             for m in range(F.const.ncols())] for j in range(F.const.nrows())]


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    import flint

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    parts = [f"{os.cpu_count()} cores ({usable} usable)", model, f"Python {platform.python_version()}",
             f"SymPy {sp.__version__}", f"python-flint {flint.__version__}"]
    for name in ("numpy", "torch"):
        mod = optional(name)
        if mod:
            parts.append(f"{name} {mod.__version__}")
    return ", ".join(parts) + f"; load average {load[0]:.2f}" if load[0] != "?" else ""


# ---------------------------------------------------------------- the sections


def rational_section(repeat: int, budget: float, results: dict) -> None:
    print(f"\n== rational MLP {WIDTHS}, batch {BATCH}, ReLU, squared error: forward + backward ==")
    data = network(WIDTHS, BATCH)
    ex = spec.from_data(data)
    Ws, bs, X, Y = flint_inputs(ex)
    np, torch = optional("numpy"), optional("torch")
    t_torch = None
    if torch is not None:
        torch.set_num_threads(1)
        tW = [torch.tensor([floats(W)[i * W.ncols():(i + 1) * W.ncols()] for i in range(W.nrows())],
                           dtype=torch.float64) for W in Ws]
        tb = [torch.tensor([[float(x)] for x in b.entries()], dtype=torch.float64) for b in bs]
        tX = torch.tensor([[float(X[i, j]) for j in range(X.ncols())] for i in range(X.nrows())], dtype=torch.float64)
        tY = torch.tensor([[float(Y[i, j]) for j in range(Y.ncols())] for i in range(Y.nrows())], dtype=torch.float64)
        t_torch = timed(lambda: torch_pass(torch, tW, tb, tX, tY), repeat * 4, budget)
    engine.solve(ex)  # converts the exercise's inputs to flint once (cached per exercise, as the checker reuses it)

    def fresh():
        engine._FLINT.clear()
        return engine.solve(ex)

    dWs, dbs = [M.to_DM(QQ).to_dense() for M in [l.W for l in ex.layers]], [l.b.to_DM(QQ).to_dense() for l in ex.layers]
    dX, dY = ex.X.to_DM(QQ).to_dense(), ex.loss.Y.to_DM(QQ).to_dense()
    turns = interleaved({"raw": lambda: raw_flint(Ws, bs, X, Y), "symnet": lambda: engine.solve(ex), "fresh": fresh,
                         "dm": lambda: domain_matrix(dWs, dbs, dX, dY)}, repeat, budget)
    t_raw, t_sym, t_fresh, t_dm = turns["raw"], turns["symnet"], turns["fresh"], turns["dm"]
    ref, tref = t_raw[0], t_torch[0] if t_torch else None
    results["raw"], results["symnet"], results["symnet_fresh"] = t_raw, t_sym, t_fresh
    print(HEADER)
    print(row("python-flint fmpq_mat, by hand (reference)", t_raw, ref, tref))
    print(row("symnet solve (flint path)", t_sym, ref, tref, "inputs converted once"))
    print(row("symnet solve, converting the inputs each time", t_fresh, ref, tref))

    def read_all():
        sol = fresh()
        for s in sol.steps:
            _ = s.value, s.operands
        return sol

    print(row("symnet solve + every value read as SymPy", timed(read_all, max(3, repeat // 10), budget), ref, tref,
              "boundary conversion"))
    print(row("SymPy DomainMatrix over QQ, dense", t_dm, ref, tref))
    sW, sb = [sp.Matrix(l.W) for l in ex.layers], [sp.Matrix(l.b) for l in ex.layers]
    sX, sY = sp.Matrix(ex.X), sp.Matrix(ex.loss.Y)
    t_spm = timed(lambda: sympy_matrix(sW, sb, sX, sY), max(3, repeat // 5), budget)
    results["sympy_matrix"] = t_spm
    print(row("sympy.Matrix of Rationals", t_spm, ref, tref))
    t_symp = timed(lambda: engine.solve(ex, backend="sympy"), max(3, repeat // 10), budget)
    print(row("symnet solve (SymPy path, forced)", t_symp, ref, tref))
    if np is not None:
        nW = [np.array(floats(W)).reshape(W.nrows(), W.ncols()) for W in Ws]
        nb = [np.array(floats(b)).reshape(-1, 1) for b in bs]
        nX, nY = np.array(floats(X)).reshape(X.nrows(), X.ncols()), np.array(floats(Y)).reshape(Y.nrows(), Y.ncols())
        t_np = timed(lambda: numpy_pass(np, nW, nb, nX, nY), repeat * 4, budget)
        print(row("numpy float64 (inexact)", t_np, ref, tref))
    if t_torch:
        print(row("torch float64 autograd (inexact, 1 thread)", t_torch, ref, tref))
    # agreement
    sol = engine.solve(ex)
    g_raw = raw_flint(Ws, bs, X, Y)
    L = len(Ws)
    exact = all(sol.step(f"dL/dW{k}").raw == g_raw[L - k][0] and sol.step(f"dL/db{k}").raw == g_raw[L - k][1]
                for k in range(1, L + 1))
    g_dm = domain_matrix(dWs, dbs, dX, dY)
    exact_dm = all(g_dm[L - k][0].to_Matrix() == sol[f"dL/dW{k}"] for k in range(1, L + 1))
    g_sp = sympy_matrix(sW, sb, sX, sY)
    exact_sp = all(g_sp[L - k][0] == sol[f"dL/dW{k}"] for k in range(1, L + 1))
    line = f"  agreement: symnet = raw flint {exact}, = DomainMatrix {exact_dm}, = sympy.Matrix {exact_sp}"
    if np is not None:
        g_np = numpy_pass(np, nW, nb, nX, nY)
        err = max(abs(float(a) - b) for k in range(L) for a, b in zip(g_raw[k][0].entries(), g_np[k][0].ravel()))
        line += f"; max |numpy − exact| {err:.1e}"
    if t_torch:
        g_t = torch_pass(torch, tW, tb, tX, tY)
        err = max(abs(float(a) - b) for k in range(L)
                  for a, b in zip(g_raw[k][0].entries(), g_t[k][0].ravel().tolist()))
        line += f"; max |torch − exact| {err:.1e}"
    results["agree"] = exact and exact_dm and exact_sp
    print(line)


VARIANTS = [  # (hidden, output, loss, whole): the other all-rational cases the fast path takes
    ("leaky_relu", "identity", "mse", 0.0),
    ("identity", "identity", "squared_error", 0.0),
    ("relu", "softmax", "cross_entropy", 0.15),  # exp_base 2 on whole Z, |z| ≤ 12 here
    ("relu", "softmax", "mse", 0.15),
    ("relu", "softmax", "cross_entropy", 0.25),  # Z spread over ±30: entries of 300 bits
]
def variants_section(repeat: int, budget: float, results: dict) -> None:
    print(f"\n== the other rational cases, same widths {WIDTHS} and batch {BATCH}: each against its pass by hand ==")
    print(f"  {'hidden, output, loss':<34} {'raw flint':>10} {'symnet':>10} {'ratio':>7} {'sympy.Matrix':>13} "
          f"{'× symnet':>9}"
          f" {'max bits':>9}   (min ms of runs)")
    worst, versus = 0.0, []
    for hidden, out, loss, whole in VARIANTS:
        ex = spec.from_data(network(WIDTHS, BATCH, seed=3, out=out, loss=loss, hidden=hidden, whole=whole))
        Ws, bs, X, Y = flint_inputs(ex)
        assert engine.solve(ex).backend == "flint"
        turns = interleaved({"raw": lambda: raw_flint_variant(Ws, bs, X, Y, hidden, out, loss),
                             "sym": lambda: engine.solve(ex)}, repeat, budget)
        sW, sb = [sp.Matrix(l.W) for l in ex.layers], [sp.Matrix(l.b) for l in ex.layers]
        sX, sY = sp.Matrix(ex.X), sp.Matrix(ex.loss.Y)
        t_sp = timed(lambda: sympy_matrix_variant(sW, sb, sX, sY, hidden, out, loss), max(3, repeat // 10), budget)
        r, s_, p = turns["raw"][1], turns["sym"][1], t_sp[1]
        sol, g = engine.solve(ex), raw_flint_variant(Ws, bs, X, Y, hidden, out, loss)
        g_sp = sympy_matrix_variant(sW, sb, sX, sY, hidden, out, loss)
        L = len(Ws)
        bits = max(max_bits(sol.step(f"dL/dW{k}").raw) for k in range(1, L + 1))
        agree = all(sol.step(f"dL/dW{k}").raw == g[L - k][0] and sol.step(f"dL/db{k}").raw == g[L - k][1]
                    and sol[f"dL/dW{k}"] == g_sp[L - k][0] for k in range(1, L + 1))
        results["agree"] = results.get("agree", True) and agree
        worst = max(worst, s_ / r)
        versus.append((hidden, out, whole, p / s_, p / r))
        print(f"  {hidden + ', ' + out + ', ' + loss:<34} {r:10.3f} {s_:10.3f} {s_ / r:6.2f}× {p:13.3f} {p / s_:8.0f}×"
              f" {bits:9d}   agree {agree}")
    results["variants"] = (worst, versus)


def softmax_section(repeat: int, budget: float, results: dict, slow: bool) -> None:
    print("\n== the same MLP with a softmax (e) output and cross-entropy: exact, factored over the softmax atoms ==")
    data = network(WIDTHS, BATCH, out="softmax", loss="cross_entropy", small=True)
    roomy = replace(DEFAULT, expression_nodes=10**5, quantity_nodes=10**8)  # written out, its gradients are huge
    ex = spec.from_data(data, "<bench>", roomy)
    assert engine.solve(ex).backend == "flint"
    print(f"  (bounds raised to expression_nodes={roomy.expression_nodes}, quantity_nodes={roomy.quantity_nodes}: "
          "written out, the gradients are beyond the defaults)")
    same = spec.from_data({**data, "layers": data["layers"][:-1] + [{**data["layers"][-1], "activation": "identity"}],
                           "loss": {**data["loss"], "kind": "squared_error"}})
    inputs = flint_inputs(same)

    def multiplied_out():
        sol = engine.solve(ex)
        for k in range(1, len(WIDTHS)):
            sol.step(f"dL/dW{k}").raw.blocks()

    turns = interleaved({"raw": lambda: raw_flint(*inputs), "sym": lambda: engine.solve(ex), "all": multiplied_out},
                        repeat, budget)
    t_raw, t, t_all = turns["raw"], turns["sym"], turns["all"]
    results["raw_same"], results["softmax"], results["softmax_all"] = t_raw, t, t_all
    ref = t_raw[0]
    print(HEADER)
    print(row("python-flint by hand, squared error, same net", t_raw, ref, None, "the reference here"))
    print(row("symnet solve (factored softmax atoms)", t, ref, None, "vs the raw-flint squared-error pass"))
    print(row("  + every dL/dW coefficient multiplied out", t_all, ref, None, "rational coefficient of each atom"))
    sol = engine.solve(ex)
    F = sol.step("dL/dW1").raw
    terms = sum(len(F.terms(j, m)) for j in range(F.const.nrows()) for m in range(F.const.ncols()))
    print(f"  dL/dW1: {F.const.nrows()}×{F.const.ncols()} entries, {terms} atom terms in all "
          f"(≤ {len(WIDTHS) and WIDTHS[-1] * BATCH} atoms per entry), bits of the largest coefficient {F.bits()}")
    torch = optional("torch")
    if torch is not None:
        Ws, bs, X, Y = flint_inputs(ex)
        tW = [torch.tensor([[float(W[i, j]) for j in range(W.ncols())] for i in range(W.nrows())], dtype=torch.float64)
              for W in Ws]
        tb = [torch.tensor([[float(x)] for x in b.entries()], dtype=torch.float64) for b in bs]
        tX = torch.tensor([[float(X[i, j]) for j in range(X.ncols())] for i in range(X.nrows())], dtype=torch.float64)
        tY = torch.tensor([[float(Y[i, j]) for j in range(Y.ncols())] for i in range(Y.nrows())], dtype=torch.float64)
        g = torch_pass(torch, tW, tb, tX, tY, softmax=True)
        L = len(Ws)
        err = max(abs(a - b) for k in range(1, L + 1)
                  for ra, rb in zip(factored_floats(sol.step(f"dL/dW{k}").raw), g[L - k][0].tolist())
                  for a, b in zip(ra, rb))
        print(f"  agreement: max |torch float64 − symnet exact (evaluated)| over every dW entry {err:.1e}")
        results["softmax_err"] = err
    # exactness at the boundary: the JSON string reads back, through symnet's own grammar, as the exact value
    v = sol["dL/dW4"][0, 0]
    text = value_str(v)
    back = parse_entry(text, replace(DEFAULT, entry_length=10**6, expression_nodes=10**6))
    print(f"  dL/dW4[1,1] as JSON writes it ({len(text)} characters) reads back as the same value "
          f"(the difference expands to 0): {sp.expand(back - v) == 0}")
    if not slow:
        print("  sympy.Matrix with symbolic exp: skipped (--quick)")
        return
    Wm, bm = [sp.Matrix(l.W) for l in ex.layers], [sp.Matrix(l.b) for l in ex.layers]
    Xm, Ym = sp.Matrix(ex.X), sp.Matrix(ex.loss.Y)
    t0 = time.perf_counter()
    g_sym = sympy_softmax(Wm, bm, Xm, Ym)
    slow_ms = (time.perf_counter() - t0) * 1e3
    results["softmax_sympy"] = (slow_ms, slow_ms, 1)
    print(row("sympy.Matrix, exp symbolic (run once)", (slow_ms, slow_ms, 1), ref, None))
    ops = sum(sp.count_ops(x) for x in g_sym[0][0])
    ours = sum(sp.count_ops(x) for x in sol["dL/dW4"])
    print(f"  operations in dL/dW4: sympy.Matrix {ops}, symnet (as read) {ours}")
    same = all(abs(sp.N(a - b, 30)) < 1e-25 for a, b in list(zip(g_sym[0][0], sol["dL/dW4"]))[:20])
    print(f"  agreement (first 20 entries of dL/dW4 at 30 digits): {same}")
    print(f"  ratio: sympy.Matrix symbolic / symnet factored = {slow_ms / t[0]:.0f}× (medians)")


def symbolic_section(results: dict) -> None:
    print("\n== symbolic weights: explicit chain rule (symnet, SymPy path) vs sympy.diff of the loss (fastest of 3) ==")
    nets = {
        "2 layers, sigmoid, squared error, batch 2": {
            "X": [[1, 2], [-1, 3]],
            "layers": [{"W": {"symbol": "w", "shape": [3, 2]}, "b": [0, 1, -1], "activation": "sigmoid"},
                       {"W": {"symbol": "v", "shape": [2, 3]}}],
            "loss": {"kind": "squared_error", "Y": [[1, 0], [0, 1]]}},
        "3 layers, tanh, tanh, softmax + cross-entropy": {
            "X": [[1], [-1]],
            "layers": [{"W": {"symbol": "w", "shape": [2, 2]}, "activation": "tanh"},
                       {"W": [[1, -2], [3, 1]], "activation": "tanh"},
                       {"W": {"symbol": "v", "shape": [2, 2]}, "activation": "softmax"}],
            "loss": {"kind": "cross_entropy", "Y": [[1], [0]]}},
        "3 layers, sigmoid, sigmoid, linear, squared error": {
            "X": [[1], [2]],
            "layers": [{"W": {"symbol": "w", "shape": [2, 2]}, "activation": "sigmoid"},
                       {"W": {"symbol": "u", "shape": [2, 2]}, "activation": "sigmoid"},
                       {"W": {"symbol": "v", "shape": [1, 2]}}],
            "loss": {"kind": "squared_error", "Y": [[1]]}},
    }
    totals = {"rule_ms": 0.0, "diff_ms": 0.0, "rule_ops": 0, "diff_ops": 0, "rule_cse": 0, "diff_cse": 0}
    each = []
    for name, data in nets.items():
        ex = spec.from_data(data)
        ks = [k for k, l in enumerate(ex.layers, 1) if l.W.free_symbols]
        def by_rule():
            return engine.solve(ex)

        def by_diff():
            L = sympy_forward_loss(ex)  # the loss by plain SymPy matrices (sympy.diff needs it built first)
            return L, {k: [sp.diff(L, w) for w in ex.layers[k - 1].W] for k in ks}

        runs: dict[str, list[float]] = {"rule": [], "diff": []}
        for _ in range(3):  # in turns, each from SymPy's cold cache, so neither reuses the other's work
            for key, route in (("rule", by_rule), ("diff", by_diff)):
                clear_cache()
                t0 = time.perf_counter()
                out = route()
                runs[key].append((time.perf_counter() - t0) * 1e3)
                if key == "rule":
                    sol = out
                else:
                    L, diffs = out
        t_rule, t_diff = min(runs["rule"]), min(runs["diff"])
        ours, theirs = [x for k in ks for x in sol[f"dL/dW{k}"]], [x for k in ks for x in diffs[k]]
        ops_rule, ops_diff = sum(map(sp.count_ops, ours)), sum(map(sp.count_ops, theirs))
        cse_rule, cse_diff = cse_ops(ours), cse_ops(theirs)
        symbols = sorted(set().union(*[ex.layers[k - 1].W.free_symbols for k in ks]), key=str)
        pt = {w: sp.Rational(i + 1, 7) for i, w in enumerate(symbols)}
        agree = L == sol["L"] and all(abs(sp.N((a - b).subs(pt), 30)) < 1e-25 for a, b in zip(ours, theirs))
        print(f"  {name}")
        print(f"    chain rule (forward + backward) {t_rule:7.1f} ms, {ops_rule:5d} ops, {cse_rule:4d} after CSE | "
              f"forward + sympy.diff {t_diff:7.1f} ms, {ops_diff:5d} ops, {cse_diff:4d} after CSE | agree {agree}")
        for key, v in zip(totals, (t_rule, t_diff, ops_rule, ops_diff, cse_rule, cse_diff)):
            totals[key] += v
        each.append(t_rule < t_diff and cse_rule < cse_diff)
    print(f"  all: chain rule {totals['rule_ms']:.0f} ms, {totals['rule_ops']} ops ({totals['rule_cse']} after CSE); "
          f"sympy.diff {totals['diff_ms']:.0f} ms, {totals['diff_ops']} ops ({totals['diff_cse']} after CSE)")
    results["symbolic"] = (totals, all(each))


def cse_ops(exprs: list) -> int:
    """Operations once common subexpressions are named (as a hand derivation names Z, A, ∂L/∂Z)."""
    named, reduced = sp.cse(exprs)
    return sum(sp.count_ops(e) for _, e in named) + sum(sp.count_ops(e) for e in reduced)


def scaling_section(repeat: int, budget: float) -> None:
    print("\n== scaling of the exact pass (squared error): symnet vs raw flint ==")
    print(f"  {'widths':<26} {'batch':>5} {'raw flint ms':>13} {'symnet ms':>10} {'ratio':>7} {'max bits':>9}"
          "   (min of runs)")
    cases = [([w, w, w, w, 10], 8) for w in (16, 32, 64, 128, 256)] + [([16, 32, 32, 32, 10], n) for n in (1, 32, 128)]
    for widths, batch in cases:
        ex = spec.from_data(network(widths, batch, seed=2), "<bench>", replace(DEFAULT, rows=512, cols=512))
        Ws, bs, X, Y = flint_inputs(ex)
        engine.solve(ex)
        turns = interleaved({"raw": lambda: raw_flint(Ws, bs, X, Y), "sym": lambda: engine.solve(ex)}, repeat, budget)
        r, s = turns["raw"][1], turns["sym"][1]
        sol = engine.solve(ex)
        bits = max(max_bits(sol.step(f"dL/dW{k}").raw) for k in range(1, len(widths)))
        print(f"  {str(widths):<26} {batch:5d} {r:13.3f} {s:10.3f} {s / r:6.2f}× {bits:9d}")


def training_section() -> None:
    print("\n== bit growth of exact gradient descent (largest updated weight per step) ==")
    data = {"X": [["1/2", 1], [2, "-1/3"]],
            "layers": [{"W": [["1/3", "2/7"], ["5/11", "-1/13"]], "b": ["1/5", "1/9"], "activation": "relu"},
                       {"W": [["1/17", "3/19"], ["2/3", "-1/4"]], "activation": "relu"},
                       {"W": [["1/2", "-3/5"]]}],
            "loss": {"kind": "squared_error", "Y": [[5, 1]]}, "train": {"learning_rate": "1/10", "steps": 5}}
    sol = engine.solve(spec.from_data(data))
    print(f"  3 layers, 5 steps, exact: {list(sol.bits)} bits")
    data["train"]["round"] = 4
    sol = engine.solve(spec.from_data(data))
    print(f"  the same with [train] round = 4: {list(sol.bits)} bits (the rounded weights are marked ≈)")


MLP_WIDTHS, MLP_BATCH = [32, 64, 64, 64, 10], 16


def mlp_spec(path: Path) -> None:
    """The 32-64-64-64-10 MLP (ReLU, squared error) with a batch of 16 as a spec file, its numbers written in every
    plain form: whole ones as TOML integers, tenths as TOML decimals (0.7), the others as strings ("9/5")."""
    from fractions import Fraction

    from symnet.expr import FloatText
    from symnet.generate import to_toml

    def plain(v):
        if isinstance(v, list):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, str) and v[:1] in "-0123456789":
            q = Fraction(v)
            return int(q) if q.denominator == 1 else FloatText(str(float(q))) if q.denominator == 10 else v
        return v

    path.write_text(to_toml(plain(network(MLP_WIDTHS, MLP_BATCH))), encoding="utf-8")


def default_env() -> dict[str, str]:
    """This environment with Python's default of caching bytecode (PYTHONDONTWRITEBYTECODE taken out)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def processes(commands: dict[str, list[str]], turns: int) -> dict[str, tuple[list[float], list[float], bytes]]:
    """Each command as a whole process, run in turns `turns` times (after one run each, so that every module's
    bytecode is cached, as Python does by default): its wall seconds, its CPU seconds, and its standard output."""
    import resource

    env = default_env()
    out: dict[str, tuple[list[float], list[float], bytes]] = {}
    for k, args in commands.items():
        out[k] = ([], [], subprocess.run([sys.executable, *args], cwd=ROOT, env=env, check=True,
                                         capture_output=True).stdout)
    for _ in range(turns):
        for k, args in commands.items():
            r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
            subprocess.run([sys.executable, *args], cwd=ROOT, env=env, check=True, capture_output=True)
            t, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
            out[k][0].append(t)
            out[k][1].append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    return out


def commands_section(results: dict, turns: int, class_set: bool) -> None:
    print(f"\n== whole commands: processes run in turns ({turns} turns), each against its reference "
          "(ratios of wall time: median, fastest; of CPU time: median) ==")
    with tempfile.TemporaryDirectory(prefix="symnet-bench-") as tmp:
        mlp = Path(tmp) / "mlp.toml"
        mlp_spec(mlp)
        size = mlp.stat().st_size
        names = spec.builtin_names()
        solve = ["-m", "symnet", "solve"]
        commands = {"raw": [str(ROOT / "bench" / "raw_mlp.py"), str(mlp)],
                    "mlp": solve + [str(mlp), "--format", "json"], "sympy": ["-c", "import sympy"],
                    "sympy_exit": ["-c", "import os, sympy; os._exit(0)"],
                    "json": solve + ["backprop", "--format", "json"]}
        commands.update({f"key {n}": solve + [n, "--format", "markdown"] for n in names})
        try:
            runs = processes(commands, turns)
        except subprocess.CalledProcessError as e:
            print(f"  failed: {' '.join(e.cmd[1:])}: {e.stderr.decode()[-200:].strip()}")
            return
        traced = subprocess.run([sys.executable, "-X", "importtime", *commands["mlp"]], cwd=ROOT, env=default_env(),
                                check=True, capture_output=True, text=True).stderr
        results["mlp_sympy"] = sorted({line.split("|")[-1].strip() for line in traced.splitlines()
                                       if line.split("|")[-1].strip().split(".")[0] in ("sympy", "mpmath")})
    med = {k: statistics.median(w) for k, (w, _, _) in runs.items()}
    low = {k: min(w) for k, (w, _, _) in runs.items()}
    cpu = {k: statistics.median(c) for k, (_, c, _) in runs.items()}

    def line(label: str, k: str, ref: str, note: str = "") -> tuple[float, float]:
        r, m = low[k] / low[ref], med[k] / med[ref]
        print(f"  {label:<66} {m:7.2f}× {r:7.2f}× {cpu[k] / cpu[ref]:7.2f}×  {note}")
        return r, m

    head = f"  {'':<66} {'median':>8} {'fastest':>8} {'CPU':>8}"
    same = runs["mlp"][2] == runs["raw"][2]
    results["agree"] = results.get("agree", True) and same
    print(f"  the MLP {'-'.join(map(str, MLP_WIDTHS))} with a batch of {MLP_BATCH} ({size // 1000} kB of TOML) "
          f"to JSON, against bench/raw_mlp.py: tomllib and python-flint by hand, the same JSON")
    print(head)
    line("python bench/raw_mlp.py MLP.toml (reference)", "raw", "raw")
    results["cmd_mlp"] = line("symnet solve MLP.toml --format json", "mlp", "raw", f"the same bytes: {same}")
    results["cmd_floor"] = line("python -c 'import sympy' (what any command importing SymPy pays)", "sympy", "raw")
    print(f"  against python -c 'import sympy' ({med['sympy'] * 1e3:.0f} ms median here)")
    print(head)
    line("  the same without teardown (os._exit, as symnet exits)", "sympy_exit", "sympy")
    results["cmd_markdown"] = line("symnet solve backprop --format markdown", "key backprop", "sympy")
    line("symnet solve backprop --format json", "json", "sympy")
    print("  every built-in's key, symnet solve NAME --format markdown (× import sympy; seconds: median, fastest)")
    for n in names:
        k = f"key {n}"
        line(f"  {n}", k, "sympy", f"{med[k]:.2f} s, {low[k]:.2f} s")
    slowest = max(names, key=lambda n: low[f"key {n}"])
    results["cmd_keys"] = (slowest, low[f"key {slowest}"], med[f"key {slowest}"], len(names))
    if class_set:
        with tempfile.TemporaryDirectory(prefix="symnet-bench-") as tmp:
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "symnet", "generate", "hidden-layer", "--count", "500", "--out",
                            str(Path(tmp) / "set"), "--jobs", "2"], cwd=ROOT, env=default_env(), check=True,
                           capture_output=True)
            secs = time.perf_counter() - t0
        results["cmd_class_set"] = secs
        print(f"  symnet generate hidden-layer --count 500 --out DIR --jobs 2 (a spec, worksheet and key per student; "
              f"one run): {secs:.1f} s")


def targets(results: dict) -> None:
    print("\n== targets (ratios of the fastest runs, the least disturbed on a shared machine; medians in brackets) ==")

    def check(ok: bool, text: str) -> None:
        print(f"  [{'met' if ok else 'MISSED'}] {text}")

    def ratio(a: str, b: str) -> tuple[float, float]:
        return results[a][1] / results[b][1], results[a][0] / results[b][0]

    r, m = ratio("symnet", "raw")
    f, fm = ratio("symnet_fresh", "raw")
    check(r <= 1.5, f"rational pass within 1.5× of raw flint: {r:.2f}× [{m:.2f}×]; converting the inputs on every "
          f"call: {f:.2f}× [{fm:.2f}×]")
    r, m = ratio("sympy_matrix", "symnet")
    check(r >= 20, f"rational pass ≥ 20× faster than sympy.Matrix: {r:.0f}× [{m:.0f}×]")
    if "variants" in results:
        slow, versus = results["variants"]
        check(slow <= 1.5, f"the other rational cases (leaky ReLU, identity, base-2 softmax, mse) within 1.5× of "
              f"their raw-flint pass: at worst {slow:.2f}×")
        dense = [r for h, o, w, r, _ in versus if not w]
        sparse = [(r, rr) for h, o, w, r, rr in versus if w]

        def span(xs: list[float]) -> str:
            return f"{min(xs):.0f}×" if round(min(xs)) == round(max(xs)) else f"{min(xs):.0f}–{max(xs):.0f}×"

        print(f"  [info] against sympy.Matrix: {min(dense):.0f}× or more on the dense rational nets; "
              f"{span([r for r, _ in sparse])} on the sparse whole-number nets a base-2 softmax needs (whole Z), "
              f"where sympy.Matrix adds small integers and skips zeros (raw flint by hand is "
              f"{span([rr for _, rr in sparse])} there)")
    if "softmax" in results:
        r, m = ratio("softmax", "raw_same")
        a, am = ratio("softmax_all", "raw_same")
        check(r <= 4, f"softmax+CE with e within 4× of raw flint squared error: {r:.2f}× [{m:.2f}×]; with every dW "
              f"coefficient multiplied out {a:.2f}× [{am:.2f}×]")
    if "softmax_sympy" in results:
        r, m = ratio("softmax_sympy", "softmax")
        check(r >= 300, f"softmax+CE with e ≥ 300× faster than sympy.Matrix with symbolic exp: {r:.0f}× [{m:.0f}×]")
    if "symbolic" in results:
        t, each = results["symbolic"]
        check(each and t["rule_ops"] < t["diff_ops"],
              f"symbolic chain rule faster and smaller than sympy.diff on every net: {t['rule_ms']:.0f} vs "
              f"{t['diff_ms']:.0f} ms, {t['rule_cse']} vs {t['diff_cse']} operations after CSE "
              f"({t['rule_ops']} vs {t['diff_ops']} written out as trees)")
    if "cmd_mlp" in results:
        (r, m), (f, fm) = results["cmd_mlp"], results["cmd_floor"]
        check(r <= 1.2, f"solve MLP.toml --format json (32-64-64-64-10, batch 16) within 1.2× of its raw-flint script: "
              f"{r:.2f}× [{m:.2f}×]; import sympy alone is {f:.2f}× [{fm:.2f}×] the script")
    if "mlp_sympy" in results:
        found = results["mlp_sympy"]
        check(not found, f"solve MLP.toml --format json imports no SymPy module (python -X importtime): "
              f"{len(found)} imported{': ' + ', '.join(found[:3]) if found else ''}")
    if "cmd_markdown" in results:
        r, m = results["cmd_markdown"]
        check(r <= 1.2, f"solve backprop --format markdown within 1.2× of import sympy: {r:.2f}× [{m:.2f}×]")
    if "cmd_keys" in results:
        name, t, tm, n = results["cmd_keys"]
        check(t <= 1.0, f"no built-in's key over 1 s: the slowest of {n}, {name}, {t:.2f} s [{tm:.2f} s]")
    if "cmd_class_set" in results:
        t = results["cmd_class_set"]
        check(t < 30, f"a class set of 500 students under 30 s with --jobs 2: {t:.1f} s")
    check(results.get("agree", False), "exact results agree across backends")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repeat", type=int, default=100, help="runs per timing (default 100; medians and minima reported)")
    p.add_argument("--budget", type=float, default=3.0, help="seconds at most per timing (default 3)")
    p.add_argument("--quick", action="store_true",
                   help="skip the slow symbolic-exp sympy.Matrix run and the whole commands")
    p.add_argument("--turns", type=int, default=9, help="turns of the whole commands (default 9)")
    p.add_argument("--no-class-set", action="store_true", help="skip the class set of 500 students")
    args = p.parse_args()
    print(f"machine: {machine()}")
    results: dict = {}
    rational_section(args.repeat, args.budget, results)
    variants_section(max(5, args.repeat // 2), args.budget, results)
    softmax_section(args.repeat, args.budget, results, slow=not args.quick)
    symbolic_section(results)
    scaling_section(max(5, args.repeat // 5), args.budget)
    training_section()
    if not args.quick:
        commands_section(results, args.turns, class_set=not args.no_class_set)
    targets(results)


if __name__ == "__main__":
    main()
