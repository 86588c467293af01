"""The verdicts of a check, as immutable data: per entry, per quantity, per answers file."""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

# Diagnosis codes, in the order a wrong entry is tested for them (see `diagnose`).
CARRIED = "carried_error"
ROUNDED = "rounded"
TRANSPOSED = "transposed"
SIGN_FLIPPED = "sign_flipped"
BIAS_COLUMN = "bias_column"  # ∂L/∂[W | b] given for ∂L/∂W
BIAS_NOT_SUMMED = "bias_not_summed"  # ∂L/∂b given per sample, as ∂L/∂Z
UNDECIDED = "undecided"  # not shown equal or different within the bounds: neither right nor a known mistake
ROUNDING_ERROR = "rounding_error"  # a decimal near the value that is not its rounding at the digits written


@dataclass(frozen=True)
class EntryVerdict:
    """One entry that is not exactly right as written: wrong, or right only after rounding."""

    row: int  # from 1
    col: int  # from 1
    given: sp.Expr  # the exact value of what was written
    written: str | None  # the text as written (a decimal or a string), else None
    expected: sp.Expr
    correct: bool
    diagnosis: str | None = None
    carried_from: str | None = None  # for carried_error: the first wrong step (a quantity name)


@dataclass(frozen=True)
class QuantityVerdict:
    """One quantity: right or not, its non-exact entries, and a diagnosis when one explains it all."""

    name: str
    correct: bool
    right: int  # entries right (exactly or rounded)
    total: int  # entries expected
    shape_given: tuple[int, ...]  # () for a scalar
    shape_expected: tuple[int, ...]
    entries: tuple[EntryVerdict, ...] = ()  # wrong or rounded entries only; none when the shape is wrong
    diagnosis: str | None = None
    carried_from: str | None = None

    @property
    def shape_ok(self) -> bool:
        """False when the quantity was given in the wrong shape."""
        return self.shape_given == self.shape_expected or _size(self.shape_given) == 1 == _size(self.shape_expected)

    @property
    def codes(self) -> tuple[str, ...]:
        """The distinct diagnoses of the wrong entries (or of the whole quantity), in order."""
        found = [e.diagnosis for e in self.entries if not e.correct and e.diagnosis]
        if self.diagnosis and self.diagnosis != ROUNDED and not self.entries:
            found.insert(0, self.diagnosis)
        return tuple(dict.fromkeys(found))


def _size(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


@dataclass(frozen=True)
class Verdict:
    """Every verdict on one answers file."""

    source: str
    student: str
    title: str
    quantities: tuple[QuantityVerdict, ...]
    missing: tuple[str, ...] = ()  # quantities asked and not answered, in the order of the computation
    asked: tuple[str, ...] = ()  # the quantities asked (every computed quantity unless told otherwise)
    student_id: str = ""  # the answers file's `id`, when it has one

    @property
    def correct(self) -> bool:
        """True when every answer is right (exactly or rounded) and no quantity asked is missing."""
        return not self.missing and all(q.correct for q in self.quantities)

    @property
    def right(self) -> int:
        """Entries right, over all quantities."""
        return sum(q.right for q in self.quantities)

    @property
    def total(self) -> int:
        """Entries answered, over all quantities."""
        return sum(q.total for q in self.quantities)

    @property
    def mistakes(self) -> tuple[tuple[str, str], ...]:
        """(quantity, code) for each wrong step's own mistake; carried errors are not counted."""
        out = []
        for q in self.quantities:
            if q.correct:
                continue
            codes = [c for c in q.codes if c != CARRIED]
            own = [e for e in q.entries if not e.correct and e.diagnosis != CARRIED]
            if codes:
                out += [(q.name, c) for c in codes]
            elif own or not q.entries:
                out.append((q.name, ""))  # wrong, and no known mistake explains it
        return tuple(out)

    def __getitem__(self, name: str) -> QuantityVerdict:
        return next(q for q in self.quantities if q.name == name)
