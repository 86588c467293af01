"""`symnet check`: exact verdicts on a hand calculation, and the classic mistake behind each wrong entry."""

from __future__ import annotations

from .answers import Answer, Answers
from .cli import run_cli
from .diagnose import check, variants
from .report import FEEDBACK, feedback
from .verdict import EntryVerdict, QuantityVerdict, Verdict

__all__ = ["Answer", "Answers", "EntryVerdict", "FEEDBACK", "QuantityVerdict", "Verdict", "check", "variants",
           "feedback", "run_cli"]
