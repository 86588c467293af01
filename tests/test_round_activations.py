"""Hand approximations carried forward: `[train] round_activations` and a layer's `round` round sigmoid, tanh and
softmax values (Ak≈, its own step), and everything after starts from the rounded values; checked by hand."""

from __future__ import annotations

import pytest
import sympy as sp

from symnet.engine import solve
from symnet.spec import from_data

R = sp.Rational


def col(*xs) -> sp.ImmutableMatrix:
    return sp.ImmutableMatrix([[x] for x in xs])


ONE_SIGMOID = {"X": [1], "layers": [{"W": [[1]], "b": [0], "activation": "sigmoid"}],
               "loss": {"kind": "squared_error", "Y": [1]},
               "train": {"learning_rate": 1, "steps": 2, "round_activations": 2}}


def test_two_sigmoid_steps_start_from_the_rounded_values():
    sol = from_data(ONE_SIGMOID).solve()
    # step 1: z = 1·1 + 0 = 1, σ(1) = 0.7310… ≈ 0.73
    assert sol["A1"] == col(1 / (1 + sp.exp(-1)))
    assert sol["A1≈"] == col(R(73, 100))
    assert sol.step("A1≈").kind == "round" and sol.step("A1≈").operand("A1") == sol["A1"]
    # L = ½(0.73 − 1)² = ½·0.0729
    assert sol["L"] == R(729, 20000)
    # ∂L/∂A = 0.73 − 1 = −0.27; σ′ = 0.73·0.27 = 0.1971 (from the rounded σ); ∂L/∂Z = −0.27·0.1971 = −0.053217
    assert sol["dL/dA1"] == col(R(-27, 100))
    assert sol["dA1/dZ1"] == col(R(1971, 10000))
    assert sol["dL/dZ1"] == col(R(-53217, 1000000))
    # W′ = 1 − 1·(−0.053217) = 1.053217, b′ = 0.053217
    assert sol["W1'"] == sp.ImmutableMatrix([[R(1053217, 1000000)]]) and sol["b1'"] == col(R(53217, 1000000))
    # step 2: z = 1.053217 + 0.053217 = 1.106434, σ(1.106434) = 0.7515… ≈ 0.75; ∂L/∂Z = −0.25·(0.75·0.25) = −3/64
    two = sol.epoch(2)
    assert two["Z1"] == col(R(1106434, 1000000)) and two["A1≈"] == col(R(3, 4))
    assert two["dL/dZ1"] == col(R(-3, 64))
    assert two["W1'"] == sp.ImmutableMatrix([[R(1053217, 1000000) + R(3, 64)]])


def test_a_layer_round_overrides_train_and_the_next_layer_reads_it():
    data = {"X": [1], "layers": [{"W": [[1]], "activation": "tanh", "round": 1}, {"W": [[2]], "activation": "identity"}],
            "loss": {"kind": "squared_error", "Y": [0]}, "train": {"learning_rate": 1, "round_activations": 3}}
    sol = from_data(data).solve()
    assert sol["A1≈"] == col(R(4, 5))  # tanh(1) = 0.7616… ≈ 0.8 (its own 1 decimal, not train's 3)
    assert sol["Z2"] == col(R(8, 5))  # 2·0.8, from the rounded value
    assert sol.step("Z2").operand("A1") == col(R(4, 5))
    # ∂L/∂A1 = W2ᵀ·∂L/∂Z2 = 2·1.6 = 3.2; tanh′ = 1 − 0.8² = 0.36; ∂L/∂Z1 = 3.2·0.36 = 1.152
    assert sol["dL/dZ1"] == col(R(1152, 1000))


def test_a_rounded_softmax_fuses_with_cross_entropy_and_stays_on_flint():
    data = {"X": [1, 2], "layers": [{"W": [[1, 0], [0, 1], [1, 1]], "activation": "softmax"}],
            "loss": {"kind": "cross_entropy", "Y": [1, 0, 0]}, "train": {"learning_rate": 1, "round_activations": 2}}
    ex = from_data(data)
    sol = ex.solve()
    # z = [1, 2, 3]: softmax = [0.0900, 0.2447, 0.6652] ≈ [0.09, 0.24, 0.67]; ∂L/∂Z = Ŷ − Y = [−0.91, 0.24, 0.67]
    assert sol["A1≈"] == col(R(9, 100), R(24, 100), R(67, 100))
    assert sol["dL/dZ1"] == col(R(-91, 100), R(24, 100), R(67, 100))
    assert sol.backend == "flint"
    other = solve(ex, backend="sympy")
    assert [(s.name, s.value) for s in other.steps] == [(s.name, s.value) for s in sol.steps]


def test_rational_sigmoid_rounds_alike_on_both_algebras():
    data = {"X": [1, -1], "layers": [{"W": [[1, 0], [1, 1]], "activation": "sigmoid", "exp_base": 3},
                                      {"W": [[4, 2]], "activation": "sigmoid", "exp_base": 3}],
            "loss": {"kind": "squared_error", "Y": [1]}, "train": {"learning_rate": "1/2", "round_activations": 2}}
    ex = from_data(data)
    sol = ex.solve()
    assert sol.backend == "flint"
    # σ₃(1) = 1/(1 + 1/3) = 3/4 = 0.75, σ₃(0) = 1/2
    assert sol["A1≈"] == col(R(3, 4), R(1, 2))
    # z = 4·0.75 + 2·0.5 = 4 (whole, so 3^z stays rational); σ₃(4) = 81/82 = 0.9878… ≈ 0.99
    assert sol["Z2"] == col(4) and sol["A2≈"] == col(R(99, 100))
    other = solve(ex, backend="sympy")
    assert [(s.name, s.value) for s in other.steps] == [(s.name, s.value) for s in sol.steps]
    assert ex.approximates


@pytest.mark.parametrize("data, message", [
    ({"X": [1], "layers": [{"W": [[1]], "activation": "relu", "round": 2}]},
     "layers[1].round: round goes only with sigmoid, tanh or softmax"),
    ({"X": [1], "layers": [{"W": [[1]], "activation": "sigmoid", "round": "2"}]},
     "layers[1].round: expected a whole number of decimals, got a string"),
    ({"X": [1], "layers": [{"W": [[1]], "activation": "sigmoid"}], "loss": {"kind": "mse", "Y": [1]},
      "train": {"learning_rate": 1, "round_activations": -1}},
     "train.round_activations: must be from 0 to 40 decimals, got -1"),
])
def test_bad_rounding_is_refused_in_one_line(data, message):
    from symnet.errors import SpecError

    with pytest.raises(SpecError) as e:
        from_data(data, "s.toml")
    assert str(e.value) == f"s.toml: {message}"
