"""One slip anywhere in a forward pass, carried honestly: exactly one mistake, everything after it carried.

The student's numbers come from a plain-integer forward pass written here, independent of the engine."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from symnet import load


def _forward(name: str, slip: tuple[str, int, int, int] | None) -> dict[str, list[list[int]]]:
    """Every Zk and Ak of a built-in seed, with `slip` = (quantity, row, col, delta) added where it is made."""
    ex = load(name)
    A = [[int(v) for v in ex.X.row(i)] for i in range(ex.X.rows)]
    out = {}
    for k, layer in enumerate(ex.layers, 1):
        W = [[int(v) for v in layer.W.row(i)] for i in range(layer.W.rows)]
        b = [int(v) for v in layer.b]
        Z = [[sum(W[i][m] * A[m][j] for m in range(len(A))) + b[i] for j in range(len(A[0]))] for i in range(len(W))]
        Z = _slipped(Z, f"Z{k}", slip)
        relu = layer.activation == "relu"
        A = _slipped([[max(0, z) if relu else z for z in row] for row in Z], f"A{k}", slip)
        out[f"Z{k}"], out[f"A{k}"] = Z, A
    return out


def _slipped(M: list[list[int]], name: str, slip: tuple[str, int, int, int] | None) -> list[list[int]]:
    if slip is None or slip[0] != name:
        return M
    _, i, j, delta = slip
    M = [row[:] for row in M]
    M[i % len(M)][j % len(M[0])] += delta
    return M


def _slips(layers: int) -> st.SearchStrategy:
    names = [f"{q}{k}" for k in range(1, layers + 1) for q in "ZA"]
    return st.tuples(st.sampled_from(names), st.integers(0, 4), st.integers(0, 2),
                     st.integers(-3, 3).filter(bool))


def _assert_one_mistake(seed: str, slip: tuple[str, int, int, int]) -> None:
    answers = _forward(seed, slip)
    right = _forward(seed, None)
    v = load(seed).check(answers)
    assert [n for n, _ in v.mistakes] == [slip[0]]
    for q in v.quantities:
        wrong = [e for e in q.entries if not e.correct]
        assert bool(wrong) == (answers[q.name] != right[q.name]), q.name
        if q.name != slip[0]:
            assert all(e.diagnosis == "carried_error" and e.carried_from == slip[0] for e in wrong), (q.name, wrong)


@settings(max_examples=40, deadline=None)
@given(_slips(2))
def test_one_slip_in_the_batch_seed(slip):
    _assert_one_mistake("batch", slip)


@settings(max_examples=40, deadline=None)
@given(_slips(7))
def test_one_slip_in_the_seven_layer_seed(slip):
    _assert_one_mistake("mlp7", slip)
