"""The catalogue's answers files written by hand (tests/answers), and what `symnet check` diagnoses in them."""

from __future__ import annotations

from pathlib import Path

ANSWERS = Path(__file__).resolve().parents[1] / "answers"


def diagnoses(cli, spec_name: str, answers: str) -> dict[str, set]:
    """The diagnosis codes `symnet check` gives each wrong quantity of an answers file (exit 1: a wrong answer)."""
    run = cli("check", spec_name, ANSWERS / answers, "--format", "json")
    assert run.code == 1, run.err
    out = {}
    for name, q in run.json()["quantities"].items():
        codes = {e["diagnosis"] for e in q.get("entries", []) if not e["correct"]}
        if codes:
            out[name] = codes
    return out
