"""`symnet check` over 1,000 random answer files of the backprop seed: it finishes, in-process, without an error.

Each file answers a random subset of the seed's quantities with values drawn from what students write:
the exact value, a rounded decimal, the value with a sign flipped or rows and columns swapped, small
integers and fractions, expressions of the grammar, and the wrong shape. No time is asserted."""

from __future__ import annotations

import json
import random
import time

from .hostile.guard import alarm

FILES = 1000


def _entry(rng: random.Random, exact: str) -> object:
    """One entry as a student might write it."""
    roll = rng.random()
    if roll < 0.35:
        return exact  # the exact value, in the JSON export's own syntax
    if roll < 0.5:
        return rng.randint(-9, 9)
    if roll < 0.6:
        return f"{rng.randint(-9, 9)}/{rng.randint(1, 9)}"
    if roll < 0.75:
        return round(rng.uniform(-3, 3), rng.randint(0, 4))
    if roll < 0.85:
        return rng.choice(["exp(2)/(1 + exp(2))", "log(2)", "-log(3)/2", "sqrt(2)", "1/(1 + e)", "e^2", "0.4955"])
    if roll < 0.95:
        return f"-({exact})"
    return rng.choice(["2^60", "10^39", "-7.0000", "0.000001"])


def _value(rng: random.Random, exact: object) -> object:
    """A whole quantity: usually its shape with random entries; sometimes transposed or the wrong shape."""
    if isinstance(exact, str):
        return _entry(rng, exact)
    rows = [[_entry(rng, v) for v in row] for row in exact]
    roll = rng.random()
    if roll < 0.1 and len(rows[0]) > 0:
        return [list(col) for col in zip(*rows)]  # transposed
    if roll < 0.15:
        return rows[:-1] or [[1, 2]]  # a row short
    if roll < 0.2:
        return [v for row in rows for v in row]  # flattened
    return rows


def _answers(rng: random.Random, quantities: dict[str, object]) -> dict[str, object]:
    names = [n for n in quantities if n not in ("X", "Y")]
    chosen = rng.sample(names, rng.randint(1, len(names)))
    doc: dict[str, object] = {"student": f"student {rng.randint(1, 10**6)}"}
    doc.update((n, _value(rng, quantities[n])) for n in chosen)
    return doc


def test_a_thousand_random_answer_files_check_without_error(cli, tmp_path, capsys):
    key = cli("solve", "backprop", "--format", "json")
    quantities = key.json()["quantities"]
    rng = random.Random(7)
    folder = tmp_path / "class"
    folder.mkdir()
    for i in range(FILES):
        (folder / f"s{i:04d}.json").write_text(json.dumps(_answers(rng, quantities)), encoding="utf-8")
    start = time.perf_counter()
    with alarm(1800):  # a hang guard only: the figure is reported, not asserted
        r = cli("check", "backprop", folder, "--format", "json")
    seconds = time.perf_counter() - start
    assert r.code in (0, 1), r.err
    assert r.err == ""
    doc = r.json()
    assert len(json.dumps(doc)) > FILES
    with capsys.disabled():
        print(f"\n[check] {FILES} random answer files of backprop: {seconds:.1f} s in-process")
