"""Hostile answers files for `symnet check backprop FILE`'s comparison: numbers too large or too small to compare,
decimals asking for rounding at thousands of places, and answers too involved to decide.

Each case is (id, file name, content); tests/test_check_hostile_answers.py holds the outcome written by hand.
REFUSED files must give one located error line (exit 2); JUDGED files get a verdict (exit 0 or 1)."""

from __future__ import annotations

TOWER = "(2^63)^64"  # 2^4032: within power_bits; eight of them make 2^32256, within result_bits
BIG = "*".join([TOWER] * 8)

REFUSED: list[tuple[str, str, str]] = [
    # decimals: few significant digits, but rounding asked at 10^5 places (before: int() of 100002 digits, a traceback)
    ("float-100000-zeros", "a.toml", "L = 0." + "0" * 100_000 + "1\n"),
    ("float-5000-zeros-only", "a.toml", "A3 = [0." + "0" * 5000 + ", 0.5, 0.1]\n"),
    ("float-4200-zeros", "a.toml", "L = 0." + "0" * 4200 + "1\n"),
    ("string-150-zeros", "a.toml", 'L = "0.' + "0" * 150 + '1"\n'),
    ("nested-places", "a.toml", "\"W3'\" = [[1, 0." + "0" * 100 + "1], [1, 1], [1, 1]]\n"),
    ("float-exponent", "a.toml", "L = 1e999999\n"),
    ("float-100000-digits", "a.json", '{"L": 1.' + "1" * 100_000 + "}"),
    # powers SymPy combines from bounded pieces: exp(64)^64 is e^4096, held to the exponent bound (before: a hang,
    # the float turned into an exact integer of 6·10^12 bits)
    ("exp-power-tower", "a.toml", 'L = "(((((exp(64)^64)^64)^64)^64)^64)^64"\n'),
    ("exp-power-tiny", "a.toml", 'L = "1/(1 + ((exp(64)^64)^64)^64)"\n'),
    ("exp-power-in-log", "a.toml", 'L = "log(1 + ((exp(64)^64)^64)^64)"\n'),
    ("root-power-tower", "a.toml", 'L = "((((((sqrt(2)+1)^64+1)^64+1)^64+1)^64+1)^64+1)^64"\n'),
    ("E-power-in-matrix", "a.toml", 'A3 = [0.4955, "((E^64)^64)^64", 0.0091]\n'),
]

JUDGED: list[tuple[str, str, str]] = [
    # 2^32256 (9711 digits) for Z1[1]: the re-run from it refuses e^z, and that message printed the number
    # (before: a traceback, Python refusing to print an integer of more than 4300 digits)
    ("big-integer-in-z", "a.toml", f'Z1 = ["{BIG}", 3, 5, 3]\n'),
    # log(2) + R, R = 1/(2·3·5·…·23)^64 ≈ 10^-535: not log(2), though the two agree to 534 digits
    ("log-plus-tiny", "a.toml", 'L = "log(2) + 2^-64*3^-64*5^-64*7^-64*11^-64*13^-64*17^-64*19^-64*23^-64"\n'),
    # log(2) + (log(3) + √2)·R: not log(2) either, but nothing within the bounds shows it
    ("log-plus-tiny-terms", "a.toml", 'L = "log(2) + log(3)*2^-64*3^-64*5^-64*7^-64*11^-64*13^-64*17^-64*19^-64*23^-64 + sqrt(2)*2^-64*3^-64*5^-64*7^-64*11^-64*13^-64*17^-64*19^-64*23^-64"\n'),
    # log(2) written otherwise, and the softmax written otherwise
    ("log-forms", "a.toml", 'L = "log(6) - log(3)"\n'),
    ("log-of-product", "a.toml", 'L = "log(2*exp(4)) - 4"\n'),
    ("softmax-forms", "a.toml", 'A3 = ["1/(2 + exp(-4))", "exp(4)/(exp(4) + exp(4) + 1)", "1/(1 + 2*exp(4))"]\n'),
]
