"""A fuzzer over the whole command line: spec structures, entry strings, answers files and options, in-process.

For every case: exit 0, 1 or 2; no traceback; on exit 2 one stderr line starting `symnet: error:`; finished within
its budget (--timeout, plus the budget's grace); no file changed in its folder but the output it named.

Profiles (HYPOTHESIS_PROFILE): `ci` (the default: a fixed, small sample, a few seconds per test) and `long` (as many
cases as FUZZ_SECONDS allows per test, then the test stops by skipping, its cases all checked). FUZZ_REPORT=FILE
writes the counts (cases, outcomes, the slowest case, peak memory) as JSON when the session ends, e.g.

    HYPOTHESIS_PROFILE=long FUZZ_SECONDS=450 FUZZ_REPORT=fuzz.json python -m pytest -q tests/test_fuzz.py
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import io
import json
import os
import re
import resource
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symnet.budget import GRACE, resident_mb
from symnet.cli import main

settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True, database=None,
                          suppress_health_check=list(HealthCheck))
settings.register_profile("long", max_examples=10**7, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck))
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
FUZZ_SECONDS = float(os.environ.get("FUZZ_SECONDS", "0"))  # long profile: time box per test
TIMEOUT = 10  # --timeout of each case (seconds)
MEMORY = 1500  # --memory of each case (MB)
PREFIX = "symnet: error: "

STATS: dict = {"cases": 0, "outcomes": Counter(), "budget": Counter(), "slowest": (0.0, ""), "peak_mb": 0.0,
               "tests": Counter(), "errors": Counter(), "budget_cases": []}


def _report() -> None:
    path = os.environ.get("FUZZ_REPORT")
    if not path:
        return
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    doc = {"profile": PROFILE, "cases": STATS["cases"], "outcomes": dict(STATS["outcomes"]),
           "budget_lines": dict(STATS["budget"]), "budget_cases": STATS["budget_cases"][:40],
           "per_test": dict(STATS["tests"]),
           "commonest_errors": dict(STATS["errors"].most_common(15)),
           "slowest_seconds": round(STATS["slowest"][0], 2), "slowest_case": STATS["slowest"][1],
           "peak_resident_mb_after_a_case": round(STATS["peak_mb"], 1), "peak_rss_mb_process": round(peak, 1)}
    Path(path).write_text(json.dumps(doc, indent=1) + "\n")


atexit.register(_report)


# ---------------------------------------------------------------- strategies

NAMES = st.sampled_from(["x", "y", "w11", "b1", "x_1", "x_1_2", "alpha", "omicron", "nabs", "xprime", "x__y", "x_",
                         "e1", "lamda", "Symbol", "lambda", "oo", "nan", "inf", "E", "I", "pi", "exp", "S", "w" * 40])
NUMBERS = st.one_of(st.integers(-5, 5), st.integers(-10**45, 10**45),
                    st.sampled_from(["0", "1", "-1", "0.5", "1e-3", "1e999", "1e-50", "0." + "0" * 90 + "1", "-3/4",
                                     "1/3", "2.5e3", "1_000", "0x1F", ".5", "5.", "1/0", "0/0"]))
ATOMS = st.one_of(NUMBERS.map(str), NAMES, st.sampled_from(["e", "E", "(1)", "log(6)-log(2)-log(3)", "sqrt(2)"]))


@st.composite
def expressions(draw, depth: int = 0) -> str:
    """A string in (or near) the entry grammar: numbers, names, operators, functions, nesting, junk."""
    if depth > 3 or draw(st.integers(0, 3)) == 0:
        return draw(ATOMS)
    kind = draw(st.integers(0, 6))
    a = draw(expressions(depth + 1))
    if kind == 0:
        return f"{draw(st.sampled_from(['exp', 'log', 'ln', 'sqrt', 'eval', 'tanh']))}({a})"
    if kind == 1:
        return f"-({a})"
    if kind == 2:
        return f"({a})^{draw(st.sampled_from(['2', '64', '65', '-1', '1/2', '(1/3)', '9^9', 'x', '0.5']))}"
    if kind == 3:
        return f"1/({a})"
    if kind == 4:
        return a + draw(st.sampled_from([" +", "**", "((", ")", ";", "__", "\x00", "\u202e", "é", " 2", "."]))
    op = draw(st.sampled_from(["+", "-", "*", "/", "^", "**"]))
    return f"{a} {op} {draw(expressions(depth + 1))}"


ENTRIES = st.one_of(NUMBERS, expressions(), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                    st.none(), st.text(max_size=30))


def matrices(rows: int, cols: int, entries=ENTRIES, hostile: bool = True):
    """A list of rows (or a flat list for one column); hostile, also the wrong shapes, a scalar, a symbol table."""
    rows_of = st.lists(st.lists(entries, min_size=cols, max_size=cols), min_size=rows, max_size=rows)
    if not hostile:
        return rows_of
    return st.one_of(
        st.lists(st.lists(entries, min_size=cols, max_size=cols), min_size=rows, max_size=rows),
        st.lists(entries, min_size=rows, max_size=rows) if cols == 1 else st.nothing(),
        st.lists(st.lists(entries, min_size=0, max_size=cols + 1), min_size=0, max_size=rows + 1),
        entries,
        st.fixed_dictionaries({"symbol": NAMES, "shape": st.just([rows, cols])}),
    )


FRIENDLY = st.one_of(st.integers(-3, 3), st.sampled_from(["1/2", "-1/3", "0.5", "x", "sqrt(2)", "exp(1)", "log(2)"]))
ACTIVATIONS = ["identity", "relu", "leaky_relu", "sigmoid", "tanh", "softmax"]


@st.composite
def specs(draw) -> dict:
    """A network spec, mostly well formed (small friendly numbers), sometimes hostile in one place."""
    hostile = draw(st.integers(0, 3)) == 0
    entries = ENTRIES if hostile else FRIENDLY
    widths = draw(st.lists(st.integers(1, 3), min_size=2, max_size=4))
    batch = draw(st.integers(1, 2))
    spec: dict = {"X": draw(matrices(widths[0], batch, entries, hostile))}
    layers = []
    for a, b in zip(widths, widths[1:]):
        layer: dict = {"W": draw(matrices(b, a, entries, hostile))}
        if draw(st.booleans()):
            layer["b"] = draw(matrices(b, 1, entries, hostile))
        layer["activation"] = draw(st.sampled_from(ACTIVATIONS + (["rleu", ""] if hostile else [])))
        if layer["activation"] in ("sigmoid", "tanh", "softmax") and draw(st.integers(0, 3)) == 0:
            layer["exp_base"] = draw(st.one_of(st.sampled_from([3, 2, "1/(10^40 - 1)", "1/2"]), entries)
                                     if hostile else st.sampled_from([3, 2, "1/(10^40 - 1)", "1/2"]))
        if hostile and draw(st.integers(0, 3)) == 0:
            layer[draw(st.sampled_from(["alpha", "bias", "skip", "temperature", "activaton"]))] = draw(
                st.one_of(entries, st.sampled_from(["X", "A1", False, True])))
        layers.append(layer)
    spec["layers"] = layers
    if draw(st.booleans()):
        kinds = ["cross_entropy", "squared_error", "mse", "bce"] + (["hinge"] if hostile else [])
        spec["loss"] = {"kind": draw(st.sampled_from(kinds)),
                        "Y": draw(matrices(widths[-1], batch, st.integers(0, 1) if not hostile else entries, hostile))}
        if draw(st.integers(0, 3)) == 0:
            spec["loss"]["reduction"] = draw(st.sampled_from(["mean", "sum", "max"]))
        if draw(st.integers(0, 4)) == 0:
            spec["loss"]["predictions"] = draw(matrices(widths[-1], batch, st.sampled_from([0.5, 1, "0.25"]), hostile))
        if draw(st.booleans()):
            spec["train"] = {"learning_rate": draw(st.one_of(st.just("1/10"), entries)),
                             "steps": draw(st.one_of(st.integers(1, 3), st.integers(-2, 30), entries) if hostile
                                           else st.integers(1, 3))}
            if draw(st.integers(0, 2)) == 0:
                spec["train"]["round"] = draw(st.one_of(st.integers(0, 4), st.integers(-1, 50)) if hostile
                                              else st.integers(0, 4))
    if hostile and draw(st.integers(0, 3)) == 0:
        spec[draw(st.sampled_from(["title", "description", "kind", "count_parameters", "lyers"]))] = draw(
            st.one_of(st.text(max_size=40), st.sampled_from(["matmul", "network", "\x1b[2J", True])))
    return spec


MATMUL = st.fixed_dictionaries({"kind": st.just("matmul"), "A": matrices(2, 2), "B": matrices(2, 1)})


def toml_value(v: object) -> str:
    """A TOML literal for the plain data the strategies make (None, which TOML lacks, as a string)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if v != v else ("inf" if v > 0 else "-inf") if v in (float("inf"), float("-inf")) else repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {toml_value(x)}" for k, x in v.items()) + " }"
    return json.dumps(str(v), ensure_ascii=False)


def to_toml(spec: dict) -> str:
    """The spec as TOML: scalars and arrays at the top, then [[layers]], [loss], [train]."""
    lines = [f"{json.dumps(k)} = {toml_value(v)}" for k, v in spec.items() if not isinstance(v, (dict, list))
             or k in ("X", "A", "B", "Y")]
    for layer in spec.get("layers", []) if isinstance(spec.get("layers"), list) else []:
        lines.append("[[layers]]")
        lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in layer.items()]
    for table in ("loss", "train"):
        if isinstance(spec.get(table), dict):
            lines.append(f"[{table}]")
            lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in spec[table].items()]
    return "\n".join(lines) + "\n"


def mutate(text: str, cut: int, junk: str) -> str:
    """The text cut short, or with junk spliced in, or as it is."""
    if cut == 0:
        return text
    if cut == 1:
        return text[: len(text) // 2]
    return text[: len(text) // 3] + junk + text[len(text) // 3:]


QUANTITIES = st.sampled_from(["X", "Z1", "A1", "Z2", "A2", "Z3", "A3", "L", "dL/dZ3", "dL/dW3", "dL/db3", "dL/dA2",
                              "dL/dZ1", "dL/dW1", "W1'", "b1'", "W3'", "C", "Yhat", "z1", "__import__('os')", "student"])


@st.composite
def answers(draw) -> dict:
    """An answers file: quantities of the built-in backprop exercise (and others), values of any shape."""
    out: dict = {}
    for name in draw(st.lists(QUANTITIES, min_size=0, max_size=4, unique=True)):
        rows = draw(st.integers(1, 4))
        out[name] = draw(st.one_of(matrices(rows, 1, st.one_of(NUMBERS, FRIENDLY, ENTRIES)), ENTRIES))
    if draw(st.booleans()):
        out["student"] = draw(st.one_of(st.text(max_size=20), st.integers()))
    return out


FORMATS = {"solve": ["markdown", "latex", "json", "text", "pdf", "html"], "worksheet": ["markdown", "latex", "pdf"],
           "check": ["text", "json", "csv"]}
BOUNDS = st.sampled_from(["rows=3", "exponent=65", "expression_nodes=100", "function_depth=2", "steps=1", "nope=1",
                          "rows=-1", "digits=5", "result_bits=64", "entries=10"])


@st.composite
def options(draw, command: str) -> list[str]:
    """Options for one command: formats (a PDF now and then, in the long profile), outputs, bounds, budgets; valid
    ones mostly, a hostile one in a case out of four."""
    hostile = draw(st.integers(0, 3)) == 0
    argv: list[str] = []
    formats = FORMATS[command] if PROFILE == "long" else [f for f in FORMATS[command] if f != "pdf"]
    if not hostile:
        formats = [f for f in formats if f not in ("html", "csv")]
    if draw(st.booleans()):
        argv += ["--format", draw(st.sampled_from(formats))]
    outputs = ["out.txt", "-", "/dev/stdout", "link"] + (["", "s.toml", "sub", "no/such/f"] if hostile else [])
    if command != "check" and draw(st.booleans()):
        argv += ["-o", draw(st.sampled_from(outputs))]
    if command == "check" and draw(st.booleans()):
        argv += ["--csv", draw(st.sampled_from(["class.csv", "-", "link"] + (["", "a0.toml", "sub"] if hostile else [])))]
    if command != "check" and draw(st.integers(0, 3)) == 0:
        argv += ["--decimals", str(draw(st.integers(-2, 40) if hostile else st.integers(0, 6)))]
    for _ in range(draw(st.integers(0, 1))):
        argv += ["--bound", draw(BOUNDS if hostile else st.sampled_from(["rows=3", "function_depth=2", "steps=1"]))]
    if hostile and draw(st.booleans()):
        argv += [draw(st.sampled_from(["--timeout", "--memory", "--nope", "--format"])),
                 draw(st.sampled_from(["-1", "0", "abc", "1e9", "3"]))]
    return argv


# ---------------------------------------------------------------- running one case


def snapshot(folder: Path) -> dict[str, str]:
    """Every path in the folder and what it is: a file's content hash, a link's target, a folder."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        if p.is_symlink():
            out[rel] = "link:" + os.readlink(p)
        elif p.is_dir():
            out[rel] = "folder"
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            out[rel] = "special"
    return out


OUTPUT_OPTIONS = ("--output", "--csv", "--report", "--feedback")


def is_output_option(arg: str) -> bool:
    """-o, or an output option however argparse lets it be abbreviated (--outp is --output)."""
    return arg == "-o" or len(arg) > 3 and any(o.startswith(arg) for o in OUTPUT_OPTIONS)


def named_outputs(argv: list[str]) -> set[str]:
    """The files a command line names as its outputs (and, through a link, its target)."""
    out = set()
    for i, a in enumerate(argv[:-1]):
        if is_output_option(a):
            out.add(argv[i + 1])
            if argv[i + 1] == "link":
                out.add("target.txt")
    return out


def run_case(test: str, argv: list[str], files: dict[str, str | bytes]) -> None:
    """Run `symnet ARGV` in a fresh folder holding `files`; check every promise; count the outcome."""
    if PROFILE == "long" and FUZZ_SECONDS and time.monotonic() - STARTED.setdefault(test, time.monotonic()) > FUZZ_SECONDS:
        pytest.skip(f"time box of {FUZZ_SECONDS:g} s reached after {STATS['tests'][test]} cases (all checked)")
    here = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="symnet-fuzz-") as tmp:
        folder = Path(tmp)
        for name, content in files.items():
            (folder / name).write_bytes(content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content)
        (folder / "sub").mkdir()
        (folder / "target.txt").write_text("old\n")
        (folder / "link").symlink_to("target.txt")
        before = snapshot(folder)
        out, err = io.BytesIO(), io.StringIO()
        stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
        os.chdir(folder)
        start = time.monotonic()
        try:
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(err):
                code = main(argv + ["--timeout", str(TIMEOUT), "--memory", str(MEMORY)]
                            if argv and argv[0] in FORMATS and "--timeout" not in argv and "--memory" not in argv
                            else argv)
        finally:
            os.chdir(here)
        elapsed = time.monotonic() - start
        after = snapshot(folder)
    text = err.getvalue()
    case = f"{test}: symnet {' '.join(repr(a) if ' ' in a or not a else a for a in argv)}"
    STATS["cases"] += 1
    STATS["tests"][test] += 1
    STATS["outcomes"][code] += 1
    if code == 2:
        STATS["errors"][error_kind(text)] += 1
    if "(bound: --" in text:
        STATS["budget"][text.split("(bound: ")[1].split(")")[0]] += 1
        STATS["budget_cases"].append(f"{elapsed:.1f} s  {case}  [{files_summary(files)}]"[:1500])
    STATS["slowest"] = max(STATS["slowest"], (elapsed, case + f"  [{files_summary(files)}]"))
    STATS["peak_mb"] = max(STATS["peak_mb"], resident_mb())
    assert code in (0, 1, 2), (case, code, text)
    assert "Traceback" not in text, (case, text)
    if code == 2:
        assert text.startswith(PREFIX) and text.endswith("\n") and text.count("\n") == 1, (case, text)
    assert elapsed <= TIMEOUT + GRACE + 5, (case, elapsed)
    changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
    allowed = named_outputs(argv)
    assert {p for p in changed if p not in allowed and not p.startswith(tuple(a + "/" for a in allowed))} == set(), (
        case, changed, text)


STARTED: dict[str, float] = {}


def error_kind(line: str) -> str:
    """An error line without its file and the values in it: what kind of refusal it is."""
    message = line[len(PREFIX):].strip()
    message = message.split(": ", 1)[1] if ": " in message and message.split(": ", 1)[0].endswith(
        (".toml", ".json", "backprop", "matmul")) else message
    message = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", message)
    return re.sub(r"\d+", "N", message)[:70]


def files_summary(files: dict[str, str | bytes], width: int = 1200) -> str:
    return "; ".join(f"{k}={v[:width]!r}" for k, v in files.items())


# ---------------------------------------------------------------- the fuzz tests

FUZZ = settings.get_profile(PROFILE)


@FUZZ
@given(st.one_of(specs(), MATMUL), st.sampled_from(["solve", "worksheet"]), st.data(), st.booleans())
def test_fuzz_specs_through_solve_and_worksheet(spec, command, data, as_json):
    name = "s.json" if as_json else "s.toml"
    text = json.dumps(spec, ensure_ascii=False) if as_json else to_toml(spec)
    run_case("specs", [command, name, *data.draw(options(command))], {name: text})


@FUZZ
@given(expressions(), st.sampled_from(["X", "W", "b", "Y", "learning_rate", "exp_base"]), st.data())
def test_fuzz_entry_strings_in_every_place(entry, where, data):
    spec = {"X": [1, 2], "layers": [{"W": [[1, -1], [2, 1]], "b": [0, 1], "activation": "sigmoid"},
                                    {"W": [[1, 2]], "activation": "identity"}],
            "loss": {"kind": "squared_error", "Y": [1]}, "train": {"learning_rate": "1/10"}}
    if where == "X":
        spec["X"] = [entry, 2]
    elif where == "W":
        spec["layers"][0]["W"][0][0] = entry
    elif where == "b":
        spec["layers"][0]["b"][1] = entry
    elif where == "Y":
        spec["loss"]["Y"] = [entry]
    elif where == "learning_rate":
        spec["train"]["learning_rate"] = entry
    else:
        spec["layers"][0]["exp_base"] = entry
    run_case("entries", ["solve", "s.toml", "--format", data.draw(st.sampled_from(["json", "markdown", "latex"]))],
             {"s.toml": to_toml(spec)})


@FUZZ
@given(st.lists(answers(), min_size=1, max_size=3), st.booleans(), st.data())
def test_fuzz_answers_files(files, as_json, data):
    names = {f"a{i}.{'json' if as_json else 'toml'}": (json.dumps(a) if as_json else to_toml(a))
             for i, a in enumerate(files)}
    run_case("answers", ["check", "backprop", *names, *data.draw(options("check"))], names)


@FUZZ
@given(st.one_of(specs(), MATMUL), st.integers(0, 2), st.sampled_from(["\x00", "\ufeff", "]]", "=", "\\u00", "é\udcff",
                                                                        "[[layers]]", '"', "\n[loss]\n"]),
       st.booleans())
def test_fuzz_broken_files(spec, cut, junk, as_json):
    name = "s.json" if as_json else "s.toml"
    text = mutate(json.dumps(spec) if as_json else to_toml(spec), cut, junk)
    run_case("broken", ["solve", name, "--format", "json"], {name: text.encode("utf-8", "replace")})


@FUZZ
@given(st.lists(st.one_of(st.sampled_from(["solve", "worksheet", "check", "generate", "examples", "--version", "-h",
                                           "backprop", "matmul", "mlp", "s.toml", "--seed", "-1", "--count", "2",
                                           "--out", "set", "--sizes", "3,0", "--batch", "9999", "--jobs", "0",
                                           "--format", "pdf", "--", "-o", ""]),
                          st.text(max_size=8)), min_size=0, max_size=6))
def test_fuzz_command_lines(argv):
    if "-h" in argv or "--help" in argv:  # argparse prints help and exits (SystemExit): not a case
        argv = [a for a in argv if a not in ("-h", "--help")]
    if "--count" in argv or "--out" in argv:  # class sets of thousands of students: not a quick case
        argv = [a for a in argv if a not in ("--count", "--out")]
    if "serve" in argv:  # a server runs until it is stopped (its budget is per request: tests/test_serve_*.py); the
        argv = [a for a in argv if a != "serve"]  # 30-minute run drew `symnet serve` from text and waited on it

    run_case("argv", argv, {"s.toml": 'X = [1]\n[[layers]]\nW = [[2]]\nactivation = "relu"\n'})
