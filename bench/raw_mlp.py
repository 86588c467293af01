"""The reference for `symnet solve MLP.toml --format json`: the same JSON by hand, with tomllib and python-flint.

`python bench/raw_mlp.py MLP.toml`: a dense network (ReLU or identity layers, squared error, mean over the batch)
read from its TOML, passed forward and back in fmpq_mat, every quantity written as `symnet solve` writes it."""

from __future__ import annotations

import json
import sys
import tomllib
from fractions import Fraction

from flint import fmpq, fmpq_mat


def entry(v: int | str | Fraction) -> fmpq:
    """A TOML entry (an integer, a decimal read as a Fraction, or a string "k/d") as an fmpq."""
    q = Fraction(v)
    return fmpq(q.numerator, q.denominator)


def matrix(v: list) -> fmpq_mat:
    """A list of rows, or a flat list (a column)."""
    rows = v if isinstance(v[0], list) else [[x] for x in v]
    return fmpq_mat(len(rows), len(rows[0]), [entry(x) for r in rows for x in r])


def rows(m: fmpq_mat) -> list[list[str]]:
    """A matrix as rows of strings ("-7/3")."""
    e, c = [str(x) for x in m.entries()], m.ncols()
    return [e[i:i + c] for i in range(0, len(e), c)]


def main() -> None:
    """Read the TOML named on the command line, print the JSON."""
    with open(sys.argv[1], "rb") as f:
        spec = tomllib.load(f, parse_float=Fraction)
    X, Y = matrix(spec["X"]), matrix(spec["loss"]["Y"])
    Ws = [matrix(l["W"]) for l in spec["layers"]]
    bs = [matrix(l["b"]) for l in spec["layers"]]
    relu = [l.get("activation", "identity") == "relu" for l in spec["layers"]]
    N, L = X.ncols(), len(Ws)
    ones_row = fmpq_mat(1, N, [1] * N)
    q: dict[str, fmpq_mat | fmpq] = {"X": X}
    A, As, masks = X, [X], []
    for k in range(L):  # Zk = Wk·A(k−1) + bk·1ᵀ, Ak = ReLU(Zk) or Zk
        Z = Ws[k] * A + bs[k] * ones_row
        pos = [z > 0 for z in Z.entries()]
        A = fmpq_mat(Z.nrows(), N, [z if p else 0 for z, p in zip(Z.entries(), pos)]) if relu[k] else Z
        masks.append(fmpq_mat(Z.nrows(), N, [1 if p or not relu[k] else 0 for p in pos]))
        q[f"Z{k + 1}"], q[f"A{k + 1}"] = Z, A
        As.append(A)
    q["Y"] = Y
    D = A - Y
    q["L"] = sum((d * d for d in D.entries()), fmpq(0)) / (2 * N)  # ½·Σ(ŷ − y)² / N
    dA = D / N
    for k in range(L, 0, -1):
        M = masks[k - 1]
        dZ = fmpq_mat(dA.nrows(), N, [g * m for g, m in zip(dA.entries(), M.entries())])
        q[f"dL/dA{k}"], q[f"dA{k}/dZ{k}"], q[f"dL/dZ{k}"] = dA, M, dZ
        q[f"dL/dW{k}"], q[f"dL/db{k}"] = dZ * As[k - 1].transpose(), dZ * fmpq_mat(N, 1, [1] * N)
        if k > 1:
            dA = Ws[k - 1].transpose() * dZ
    lines = [f"  {json.dumps(k)}: {json.dumps(str(v) if isinstance(v, fmpq) else rows(v))}" for k, v in q.items()]
    count = sum(W.nrows() * W.ncols() + b.nrows() for W, b in zip(Ws, bs))
    sys.stdout.write(f'{{\n "title": {json.dumps(spec.get("title", ""))},\n "kind": "network",\n "quantities": {{\n'
                     + ",\n".join(lines) + f"\n }},\n \"parameters\": {count}\n}}\n")


if __name__ == "__main__":
    main()
