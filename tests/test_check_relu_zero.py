"""The diagnosis relu_derivative_at_zero: ReLU′(0) taken as 1, so the gradient is wrong exactly where Z = 0.

The exercise is built by hand so that Z1 has an exact 0 (the generator and the seeds avoid one):

    X = [1, 2]ᵀ, W1 = [[1, −1], [1, 1], [−1, 0]], b1 = [1, −1, 0]ᵀ, ReLU
        Z1 = [1 − 2 + 1, 1 + 2 − 1, −1 + 0 + 0]ᵀ = [0, 2, −1]ᵀ,  A1 = [0, 2, 0]ᵀ
    W2 = [[2, −1, 3]], b2 = [1], identity:  Z2 = A2 = 0 − 2 + 0 + 1 = −1
    squared error, Y = 1:  L = ½(−1 − 1)² = 2,  ∂L/∂Z2 = Ŷ − Y = −2
    ∂L/∂A1 = W2ᵀ·(−2) = [−4, 2, −6]ᵀ
    right:    ∂A1/∂Z1 = [0, 1, 0]ᵀ    ∂L/∂Z1 = [0, 2, 0]ᵀ     ∂L/∂W1 = ∂L/∂Z1·Xᵀ = [[0, 0], [2, 4], [0, 0]]
    ReLU′(0)=1: ∂A1/∂Z1 = [1, 1, 0]ᵀ  ∂L/∂Z1 = [−4, 2, 0]ᵀ   ∂L/∂W1 = [[−4, −8], [2, 4], [0, 0]]
    (skipping the mask altogether would give ∂L/∂Z1 = ∂L/∂A1 = [−4, 2, −6]ᵀ: wrong at (3, 1) too)
    η = 1/2:  W1' = W1 − ½·∂L/∂W1 = [[1, −1], [0, −1], [−1, 0]], b1' = b1 − ½·∂L/∂b1 = [1, −2, 0]ᵀ
              with the mistake:     [[3, 3], [0, −1], [−1, 0]],                      [3, −2, 0]ᵀ
    leaky ReLU (α = 1/10): A1 = [0, 2, −1/10]ᵀ, Z2 = −2 − 3/10 + 1 = −13/10, ∂L/∂Z2 = −23/10,
        ∂L/∂A1 = [−23/5, 23/10, −69/10]ᵀ, ∂A1/∂Z1 = [1/10, 1, 1/10]ᵀ, ∂L/∂Z1 = [−23/50, 23/10, −69/100]ᵀ;
        with the mistake ∂L/∂Z1 = [−23/5, 23/10, −69/100]ᵀ
"""

from __future__ import annotations

from pathlib import Path

import pytest

from symnet.check.report import FEEDBACK

ANSWERS = Path(__file__).resolve().parent / "answers"
CODE = "relu_derivative_at_zero"
SENTENCE = "ReLU′(0) was taken as 1: where Z is exactly 0 the derivative is 0 (α for leaky ReLU), as where Z < 0."

SPEC = """title = "ReLU at zero"
X = [1, 2]

[[layers]]
W = [[1, -1], [1, 1], [-1, 0]]
b = [1, -1, 0]
activation = "{activation}"

[[layers]]
W = [[2, -1, 3]]
b = [1]
activation = "identity"

[loss]
kind = "squared_error"
Y = [1]

[train]
learning_rate = "1/2"
"""


@pytest.fixture
def spec(tmp_path: Path):
    def write(activation: str = "relu") -> Path:
        path = tmp_path / f"{activation}.toml"
        path.write_text(SPEC.format(activation=activation), encoding="utf-8")
        return path

    return write


def entries(doc: dict, name: str) -> list[tuple]:
    q = doc["quantities"][name]
    return [(e["row"], e["col"], e["expected"], e["given"], e["diagnosis"], e.get("carried_from"))
            for e in q["entries"] if not e["correct"]]


def test_feedback_sentence():
    assert FEEDBACK[CODE] == SENTENCE


def test_the_gradient_is_wrong_where_z_is_zero_and_the_rest_is_carried(cli, spec):
    r = cli("check", spec(), ANSWERS / "relu-derivative-at-zero.toml", "--format", "json")
    assert (r.code, r.err) == (1, "")
    doc = r.json()
    assert doc["quantities"]["dL/dA1"]["correct"] is True
    assert entries(doc, "dL/dZ1") == [(1, 1, "0", "-4", CODE, None)]
    q = doc["quantities"]["dL/dZ1"]
    assert (q["diagnosis"], q["feedback"], q["right"], q["total"]) == (CODE, SENTENCE, 2, 3)
    assert entries(doc, "dL/dW1") == [(1, 1, "0", "-4", "carried_error", "dL/dZ1"),
                                      (1, 2, "0", "-8", "carried_error", "dL/dZ1")]
    assert entries(doc, "dL/db1") == [(1, 1, "0", "-4", "carried_error", "dL/dZ1")]
    assert entries(doc, "W1'") == [(1, 1, "1", "3", "carried_error", "dL/dZ1"),
                                   (1, 2, "-1", "3", "carried_error", "dL/dZ1")]
    assert entries(doc, "b1'") == [(1, 1, "1", "3", "carried_error", "dL/dZ1")]


def test_text_report_line_and_feedback(cli, spec):
    r = cli("check", spec(), ANSWERS / "relu-derivative-at-zero.toml", "--require", "answered")
    assert r.code == 1
    lines = r.out.splitlines()
    at = lines.index("dL/dZ1  2/3  wrong")
    assert lines[at + 1:at + 3] == ["  (1, 1) expected 0, given -4  [relu_derivative_at_zero]", f"  → {SENTENCE}"]
    assert lines[-1] == ("17/24 entries right in 6 quantities. Mistakes: relu_derivative_at_zero in dL/dZ1; "
                         "carried_error in dL/dW1, dL/db1, W1', b1'.")


def test_the_derivative_itself_written_with_a_one_at_zero(cli, spec, tmp_path):
    answers = tmp_path / "a.toml"
    answers.write_text('"dA1/dZ1" = [1, 1, 0]\n', encoding="utf-8")
    doc = cli("check", spec(), answers, "--format", "json").json()
    assert entries(doc, "dA1/dZ1") == [(1, 1, "0", "1", CODE, None)]


def test_from_scratch_when_only_the_weight_gradient_is_written(cli, spec, tmp_path):
    # both entries of row 1 are also what skipping the mask gives; row 3 (Z = −1) is right, so only ReLU′(0) = 1 fits
    answers = tmp_path / "a.toml"
    answers.write_text('"dL/dW1" = [[-4, -8], [2, 4], [0, 0]]\n', encoding="utf-8")
    doc = cli("check", spec(), answers, "--format", "json").json()
    assert entries(doc, "dL/dW1") == [(1, 1, "0", "-4", CODE, None), (1, 2, "0", "-8", CODE, None)]


def test_leaky_relu_slope_one_at_zero(cli, spec, tmp_path):
    answers = tmp_path / "a.toml"
    answers.write_text('"dL/dZ1" = ["-23/5", "23/10", "-69/100"]\n', encoding="utf-8")
    doc = cli("check", spec("leaky_relu"), answers, "--format", "json").json()
    assert entries(doc, "dL/dZ1") == [(1, 1, "-23/50", "-23/5", CODE, None)]


def test_skipping_the_mask_is_still_unmasked_gradient(cli, spec, tmp_path):
    # ∂L/∂Z1 = ∂L/∂A1 = [−4, 2, −6]: wrong at (1, 1), where Z = 0, and at (3, 1), where Z < 0
    answers = tmp_path / "a.toml"
    answers.write_text('"dL/dZ1" = [-4, 2, -6]\n', encoding="utf-8")
    doc = cli("check", spec(), answers, "--format", "json").json()
    assert entries(doc, "dL/dZ1") == [(1, 1, "0", "-4", "unmasked_gradient", None),
                                      (3, 1, "0", "-6", "unmasked_gradient", None)]


def test_no_zero_in_z_no_such_diagnosis(cli):
    # the backprop seed's Z1 = [−1, 3, 5, 3] has no 0: a ReLU′(0) = 1 student gets every entry right there
    r = cli("check", "backprop", ANSWERS / "backprop-unmasked.toml", "--format", "json")
    assert CODE not in r.out
