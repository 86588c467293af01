"""Named bounds on input size and work, each quoted in the error it raises."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bounds:
    """Limits that keep every piece of work small; raise one with `dataclasses.replace`."""

    entry_length: int = 200  # characters in one entry
    digits: int = 40  # digits in one number literal
    decimal_exponent: int = 40  # |n| in a literal like 1e-n
    exponent: int = 64  # |p| and |q| of a numeric exponent p/q
    power_bits: int = 4096  # bits of an exact power a^n computed from the input
    nesting: int = 20  # depth of parentheses, signs and powers in one entry
    name_length: int = 32  # characters in a symbol name
    rows: int = 64  # rows of any matrix
    cols: int = 64  # columns of any matrix
    layers: int = 16  # layers in a network
    steps: int = 20  # gradient-descent steps
    file_bytes: int = 1_000_000  # size of a spec or answers file
    result_bits: int = 65536  # bits in the largest numerator/denominator of a result


DEFAULT = Bounds()
