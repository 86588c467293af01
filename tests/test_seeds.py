"""Every number of SEEDS.md, exactly, through `symnet solve NAME --format json`."""

from __future__ import annotations

import pytest


def col(*xs: str) -> list[list[str]]:
    return [[x] for x in xs]


def rows(text: str) -> list[list[str]]:
    """SEEDS.md's notation: rows separated by ';', entries by ','."""
    return [[x.strip() for x in r.split(",")] for r in text.split(";")]


SEEDS: dict[str, dict[str, object]] = {
    "matmul": {"C": rows("3, 9, 4; 1, -1, 0")},
    "single-neuron": {"Z1": col("-1"), "A1": col("0")},
    "four-neurons": {"Z1": col("-1", "3", "5", "3"), "A1": col("0", "3", "5", "3")},
    "hidden-layer": {
        "Z1": col("-1", "3", "5", "3"), "A1": col("0", "3", "5", "3"),
        "Z2": col("-2", "3"), "A2": col("0", "3"),
    },
    "batch": {
        "Z1": rows("-1, -5, -5; 3, 2, 1; 5, 2, 3; 3, -1, -1"),
        "A1": rows("0, 0, 0; 3, 2, 1; 5, 2, 3; 3, 0, 0"),
        "Z2": rows("-2, 0, -2; 3, 3, 4"),
        "A2": rows("0, 0, 0; 3, 3, 4"),
    },
    "mlp7": {
        "Z1": rows("5, 3; 4, 4; 3, 5; 7, 9; 9, 7"), "A1": rows("5, 3; 4, 4; 3, 5; 7, 9; 9, 7"),
        "Z2": rows("6, 2; 1, 7"), "A2": rows("6, 2; 1, 7"),
        "Z3": rows("7, 9; 5, -5; 8, 16"), "A3": rows("7, 9; 5, 0; 8, 16"),
        "Z4": rows("2, 9; 3, 16"), "A4": rows("2, 9; 3, 16"),
        "Z5": rows("3, 16; 2, 9"), "A5": rows("3, 16; 2, 9"),
        "Z6": rows("1, 7; 5, 25"), "A6": rows("1, 7; 5, 25"),
        "Z7": rows("-4, -18"), "A7": rows("-4, -18"),
    },
    "backprop": {
        "Z1": col("-1", "3", "5", "3"), "A1": col("0", "3", "5", "3"),
        "Z2": col("2", "4"), "A2": col("2", "4"),
        "Z3": col("3", "3", "-1"),
        "A3": col("exp(4)/(1 + 2*exp(4))", "exp(4)/(1 + 2*exp(4))", "1/(1 + 2*exp(4))"),
        "L": "log(2)",
        "dL/dZ3": col("1/2", "-1/2", "0"),
        "dL/dW3": rows("1, 2; -1, -2; 0, 0"), "dL/db3": col("1/2", "-1/2", "0"),
        "dL/dA2": col("1", "-1"), "dL/dZ2": col("1", "-1"),
        "dL/dW2": rows("0, 3, 5, 3; 0, -3, -5, -3"), "dL/db2": col("1", "-1"),
        "dL/dA1": col("1", "-2", "2", "-1"), "dL/dZ1": col("0", "-2", "2", "-1"),
        "dL/dW1": rows("0, 0, 0; -4, -2, -6; 4, 2, 6; -2, -1, -3"), "dL/db1": col("0", "-2", "2", "-1"),
        "W3'": rows("19/10, -1/5; 1/10, 11/5; 1, 1"), "b3'": col("-21/20", "-99/20", "-7"),
    },
}


@pytest.mark.parametrize("name", list(SEEDS))
def test_seed_quantities_exact(cli, name: str) -> None:
    run = cli("solve", name, "--format", "json")
    assert run.code == 0, run.err
    quantities = run.json()["quantities"]
    for q, expected in SEEDS[name].items():
        assert quantities[q] == expected, q


def test_hidden_layer_parameter_count(cli) -> None:
    assert cli("solve", "hidden-layer", "--format", "json").json()["parameters"] == 4 * (3 + 1) + 2 * (4 + 1)


def test_backprop_softmax_rounds_to_the_worksheet_values(cli) -> None:
    import sympy as sp

    a3 = cli("solve", "backprop", "--format", "json").json()["quantities"]["A3"]
    values = [sp.sympify(r[0]) for r in a3]  # the test, not the package, parses the contract's strings
    assert [round(float(v), 4) for v in values] == [0.4955, 0.4955, 0.0091]
    assert sum(values).simplify() == 1


def test_examples_lists_the_seven_seeds(cli) -> None:
    run = cli("examples")
    assert run.code == 0
    names = [line.split()[0] for line in run.out.splitlines()]
    assert names[:7] == ["matmul", "single-neuron", "four-neurons", "hidden-layer", "batch", "mlp7", "backprop"]
    assert all(len(line.split(None, 1)) == 2 for line in run.out.splitlines())


def test_json_document_shape(cli) -> None:
    doc = cli("solve", "matmul", "--format", "json").json()
    assert doc["title"] == "Matrix multiplication" and doc["kind"] == "matmul"
    assert doc["quantities"]["C"] == rows("3, 9, 4; 1, -1, 0")
