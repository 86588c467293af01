"""The exception hierarchy: every error a user can cause is a SymnetError."""

from __future__ import annotations


class SymnetError(Exception):
    """A user-facing error: `FILE: field: what is wrong`, shown on one line, exit status 2."""

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.field = field

    def located(self, source: str | None = None, field: str | None = None) -> "SymnetError":
        """Return this error with a missing source or field filled in (prefixing the field)."""
        if field and self.field:
            field = f"{field}{'' if self.field.startswith('[') else '.'}{self.field}"
        err = type(self)(self.message, source=self.source or source, field=field or self.field)
        return err

    def __str__(self) -> str:
        parts = [_printable(p) for p in (self.source, self.field) if p]
        if self.field and len(parts[-1]) > 100:
            parts[-1] = parts[-1][:97] + "..."
        return ": ".join(parts + [_printable(" ".join(self.message.split()))])


def _printable(text: str) -> str:
    """Text kept on one line with no terminal control: an unprintable character shows as its escape (\\n, \\x1b)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


class SpecError(SymnetError):
    """An exercise spec that cannot be read, is malformed, or does not fit together."""


class EntryError(SpecError):
    """One entry (a number or small expression) that the grammar refuses."""


class BoundError(SpecError):
    """Input or work beyond one of the named bounds in `symnet.bounds`."""


class AnswersError(SymnetError):
    """An answers file for `symnet check` that cannot be read or does not fit the exercise."""


class RenderError(SymnetError):
    """A document that cannot be produced (for example, no TeX installed for PDF)."""


class UsageError(SymnetError):
    """A command line that does not parse."""
