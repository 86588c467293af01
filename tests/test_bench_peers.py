"""The benchmark's peers (bench/peers.py), the passes written by hand that its ratios are measured against, give
symnet's gradients exactly on small nets of every kind the benchmark times: its claims compare like with like."""

from __future__ import annotations

import sys

import pytest
import sympy as sp

from symnet import engine, spec
from symnet.algebra.rationals import to_flint

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import peers  # noqa: E402  (bench/ is not a package)

CASES = [("relu", "identity", "squared_error", 0.0), ("leaky_relu", "identity", "mse", 0.0),
         ("identity", "identity", "squared_error", 0.0), ("relu", "softmax", "cross_entropy", 0.3),
         ("relu", "softmax", "mse", 0.3)]


def inputs(ex):
    return [to_flint(l.W) for l in ex.layers], [to_flint(l.b) for l in ex.layers], to_flint(ex.X), to_flint(ex.loss.Y)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c[:3])))
def test_peers_give_symnets_gradients(case, seed):
    hidden, out, loss, whole = case
    ex = spec.from_data(peers.network([3, 4, 4, 3], 2, seed=seed, out=out, loss=loss, hidden=hidden, whole=whole))
    sol = engine.solve(ex)
    assert sol.backend == "flint"
    Ws, bs, X, Y = inputs(ex)
    sW, sb, sX, sY = [sp.Matrix(l.W) for l in ex.layers], [sp.Matrix(l.b) for l in ex.layers], sp.Matrix(ex.X), \
        sp.Matrix(ex.loss.Y)
    by_hand = peers.raw_flint_variant(Ws, bs, X, Y, hidden, out, loss)
    by_sympy = peers.sympy_matrix_variant(sW, sb, sX, sY, hidden, out, loss)
    L = len(ex.layers)
    for k in range(1, L + 1):
        assert peers_matrix(by_hand[L - k][0]) == sol[f"dL/dW{k}"] == by_sympy[L - k][0], k
        assert peers_matrix(by_hand[L - k][1]) == sol[f"dL/db{k}"] == by_sympy[L - k][1], k
    if (hidden, out, loss) == ("relu", "identity", "squared_error"):
        plain = peers.raw_flint(Ws, bs, X, Y)
        assert all(a[0] == b[0] and a[1] == b[1] for a, b in zip(plain, by_hand))
        assert all(a[0] == b[0] for a, b in zip(peers.sympy_matrix(sW, sb, sX, sY), by_sympy))


def peers_matrix(m) -> sp.Matrix:
    """An fmpq_mat as a SymPy matrix of rationals."""
    return sp.Matrix(m.nrows(), m.ncols(), lambda i, j: sp.Rational(int(m[i, j].p), int(m[i, j].q)))


def test_the_e_softmax_peer_gives_symnets_gradients():
    data = peers.network([3, 4, 3], 2, seed=1, out="softmax", loss="cross_entropy", small=True)
    ex = spec.from_data(data)
    sol = engine.solve(ex)
    g = peers.sympy_softmax([sp.Matrix(l.W) for l in ex.layers], [sp.Matrix(l.b) for l in ex.layers],
                            sp.Matrix(ex.X), sp.Matrix(ex.loss.Y))
    for k in (1, 2):  # (the peer writes e^z/Σe^z, symnet each column shifted by its least z: equal at 50 digits)
        assert all(abs(sp.N(a - b, 50)) < 1e-45 for a, b in zip(g[2 - k][0], sol[f"dL/dW{k}"])), k


def test_the_diff_route_builds_symnets_loss():
    data = {"X": [[1], [-1]], "layers": [{"W": {"symbol": "w", "shape": [2, 2]}, "activation": "tanh"},
                                         {"W": [[1, -2], [3, 1]], "activation": "softmax"}],
            "loss": {"kind": "cross_entropy", "Y": [[1], [0]]}}
    ex = spec.from_data(data)
    assert peers.sympy_forward_loss(ex) == engine.solve(ex)["L"]


def test_the_benchmark_imports_and_judges_its_targets(capsys):
    import run  # bench/run.py

    fake = {"raw": (2.0, 1.6, 9), "symnet": (1.4, 1.1, 9), "symnet_fresh": (2.2, 1.8, 9), "sympy_matrix": (40.0, 30.0, 9),
            "variants": (0.9, [("relu", "identity", 0.0, 30.0, 20.0), ("relu", "softmax", 0.15, 8.0, 5.0)]),
            "softmax": (3.0, 2.9, 9), "softmax_all": (6.0, 5.8, 9), "raw_same": (2.0, 1.8, 9),
            "softmax_sympy": (5000.0, 5000.0, 1), "symbolic": ({"rule_ms": 1, "diff_ms": 2, "rule_ops": 3, "diff_ops": 4,
                                                                "rule_cse": 5, "diff_cse": 6}, True),
            "cmd_mlp": (1.15, 1.18), "cmd_floor": (0.9, 0.95), "cmd_markdown": (1.1, 1.15),
            "cmd_keys": ("backprop", 0.4, 0.5, 7), "cmd_class_set": 21.0, "agree": True}
    run.targets(fake)
    lines = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("  [met]") for line in lines) == 11 and not any("MISSED" in line for line in lines)
    run.targets({**fake, "symnet": (1.4, 2.0, 9), "agree": False, "cmd_mlp": (2.3, 2.4), "cmd_floor": (2.1, 2.2),
                 "cmd_markdown": (1.25, 1.3), "cmd_keys": ("conv", 1.2, 1.3, 9), "cmd_class_set": 31.0})
    out = capsys.readouterr().out
    assert "[MISSED] rational pass ≥ 20× faster than sympy.Matrix: 15×" in out
    assert "[MISSED] exact results agree across backends" in out
    assert ("[MISSED] solve MLP.toml --format json (32-64-64-64-10, batch 16) within 1.2× of its raw-flint script: "
            "2.30× [2.40×]; import sympy alone is 2.10× [2.20×] the script") in out
    assert "[MISSED] solve backprop --format markdown within 1.2× of import sympy: 1.25× [1.30×]" in out
    assert "[MISSED] no built-in's key over 1 s: the slowest of 9, conv, 1.20 s [1.30 s]" in out
    assert "[MISSED] a class set of 500 students under 30 s with --jobs 2: 31.0 s" in out


def test_the_mlp_spec_of_the_benchmark_is_read_by_its_raw_script_as_by_symnet(tmp_path, monkeypatch):
    """bench/raw_mlp.py, the reference of `solve MLP.toml --format json`, writes symnet's JSON byte for byte."""
    import contextlib
    import io

    import raw_mlp
    import run

    from symnet.export import dumps, to_json

    path = tmp_path / "mlp.toml"
    run.mlp_spec(path)
    text = path.read_text()
    assert 'X = [[-2, 2, 0, "9/5", 1, "7/5", 2, -1, -0.3,' in text  # integers, decimals and fractions
    out = io.StringIO()
    monkeypatch.setattr(sys, "argv", ["raw_mlp.py", str(path)])
    with contextlib.redirect_stdout(out):
        raw_mlp.main()
    assert out.getvalue() == dumps(to_json(spec.load(str(path)).solve()))
