"""Output safety: -o and --csv never replace a device, a FIFO or a symbolic link; - and /dev/stdout are stdout.

Device nodes are made in a private mount namespace on a tmpfs (tests/hostile/namespace.py), never in the
machine's /dev; everything else runs in-process in a private folder."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from .hostile import guard, namespace

hang_guard = guard.hang_guard
PREFIX = "symnet: error: "


def one_error_line(r) -> str:
    assert r.code == 2, (r.code, r.err)
    assert r.err.startswith(PREFIX) and r.err.count("\n") == 1, r.err
    return r.err[len(PREFIX):-1]


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    assert not list(tmp_path.rglob(".*.tmp")), "a temporary output file was left behind"


@pytest.fixture(scope="module")
def key(tmp_path_factory) -> str:
    """The matmul key as JSON, printed to standard output (the oracle for every file written)."""
    from symnet.export import dumps, to_json
    from symnet.spec import load

    return dumps(to_json(load("matmul").solve()))


# ---------------------------------------------------------------- in a private mount namespace


def _namespace_run(tmp_path: Path) -> dict:
    unshare = shutil.which("unshare")
    if unshare is None or not sys.platform.startswith("linux"):
        pytest.skip("needs util-linux unshare (Linux)")
    flags = ["-m"] if os.geteuid() == 0 else ["-r", "-m"]
    cmd = [unshare, *flags, "--propagation", "private", sys.executable, namespace.__file__, str(tmp_path / "ns")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if done.returncode != 0 and ("unshare failed" in done.stderr or "Operation not permitted" in done.stderr):
        pytest.skip(f"no private mount namespace here: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def seen(tmp_path_factory) -> dict:
    with guard.alarm(300):
        return _namespace_run(tmp_path_factory.mktemp("namespace"))


def test_a_character_device_is_written_in_place_never_replaced(seen):
    for case in ("char-device", "link-to-device", "char-device-csv"):
        assert seen[case]["kind"] == "char", case  # still the device (before: a regular file holding the key)
        assert seen[case]["err"] == "", case
    assert (seen["char-device"]["code"], seen["char-device"]["out"]) == (0, "")
    assert seen["char-device-csv"]["code"] == 1 and seen["char-device-csv"]["out"].startswith("quantity ")


def test_a_block_device_is_refused(seen):
    if "block-device" not in seen:
        pytest.skip("no mknod in a user namespace")
    case = seen["block-device"]
    assert (case["code"], case["out"], case["kind"]) == (2, "", "block")
    assert case["err"].endswith("/ns/blk: is a block device, not a file; not written\n") and case["err"].count("\n") == 1


def test_dev_stdout_is_standard_output_and_stays_a_link(seen, key):
    case = seen["dev-stdout"]
    assert (case["code"], case["err"], case["out"]) == (0, "", key)
    assert (case["kind"], case["target"]) == ("link", "/proc/self/fd/1")
    csv = seen["dev-stdout-csv"]
    assert csv["code"] == 1 and csv["out"].startswith("file,id,student,points,")
    assert (csv["kind"], csv["target"]) == ("link", "/proc/self/fd/1")


# ---------------------------------------------------------------- standard output, empty names, folders


@pytest.mark.parametrize("name", ["-", "/dev/stdout"])
def test_dash_and_dev_stdout_mean_standard_output(cli, work, key, name):
    r = cli("solve", "matmul", "--format", "json", "-o", name)
    assert (r.code, r.err, r.out) == (0, "", key)
    assert list(work.iterdir()) == []


def test_a_pdf_goes_to_standard_output_only_when_asked(work, capsysbinary):
    from symnet.cli import main

    from .conftest import require_tool

    assert main(["solve", "matmul", "--format", "pdf"]) == 2
    assert capsysbinary.readouterr().err == b"symnet: error: PDF output needs -o FILE (or -o - for standard output)\n"
    require_tool("pdflatex")
    assert main(["solve", "matmul", "--format", "pdf", "-o", "-"]) == 0
    out = capsysbinary.readouterr()
    assert out.out.startswith(b"%PDF-") and out.err == b""


@pytest.mark.parametrize("argv, line", [
    (("solve", "matmul", "-o", ""), "-o: an empty file name; name a file, or - for standard output"),
    (("worksheet", "matmul", "-o", ""), "-o: an empty file name; name a file, or - for standard output"),
    (("check", "backprop", "a.toml", "--csv", ""), "--csv: an empty file name; name a file, or - for standard output"),
])
def test_an_empty_output_name_is_one_clear_line(cli, work, argv, line):
    (work / "a.toml").write_text("L = 1\n")
    assert one_error_line(cli(*argv)) == line


def test_a_folder_as_output_is_refused(cli, work):
    (work / "out").mkdir()
    assert one_error_line(cli("solve", "matmul", "-o", "out")) == "out: is a folder; name a file"
    (work / "a.toml").write_text("L = 1\n")
    assert one_error_line(cli("check", "backprop", "a.toml", "--csv", "out")) == "out: is a folder; name a file"


def test_csv_to_standard_output_replaces_the_report(cli, work):
    (work / "a.toml").write_text("A3 = [0.4955, 0.4955, 0.0091]\n")
    (work / "b.toml").write_text('"dL/dZ1" = [1, -2, 2, -1]\n')
    r = cli("check", "backprop", "a.toml", "b.toml", "--csv", "-")
    assert (r.code, r.err) == (1, "")
    assert cli("check", "backprop", "a.toml", "b.toml", "--csv", "class.csv").code == 1
    assert r.out == (work / "class.csv").read_bytes().decode() and r.out.startswith("file,id,student,points,")


# ---------------------------------------------------------------- symbolic links: the target is replaced


def test_a_symbolic_link_keeps_being_a_link_and_its_target_is_replaced_whole(cli, work, key):
    (work / "keys").mkdir()
    target = work / "keys" / "key.json"
    target.write_text("OLD\n")
    target.chmod(0o600)
    os.symlink("keys/key.json", work / "link.json")
    os.symlink("link.json", work / "chain.json")  # a link to a link
    for name in ("link.json", "chain.json"):
        target.write_text("OLD\n")
        inode = target.stat().st_ino
        r = cli("solve", "matmul", "--format", "json", "-o", name)
        assert (r.code, r.out, r.err) == (0, "", "")
        assert target.read_text() == key
        assert target.stat().st_ino != inode  # replaced by a rename (atomic), not truncated and rewritten
    assert os.readlink(work / "link.json") == "keys/key.json" and os.readlink(work / "chain.json") == "link.json"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # and it keeps its permissions
    assert sorted(p.name for p in (work / "keys").iterdir()) == ["key.json"]


def test_a_dangling_link_creates_its_target(cli, work, key):
    (work / "keys").mkdir()
    os.symlink("keys/new.json", work / "link.json")
    assert cli("solve", "matmul", "--format", "json", "-o", "link.json").code == 0
    assert (work / "link.json").is_symlink() and (work / "keys" / "new.json").read_text() == key


def test_a_link_loop_is_one_line(cli, work):
    os.symlink("b.json", work / "a.json")
    os.symlink("a.json", work / "b.json")
    assert one_error_line(cli("solve", "matmul", "-o", "a.json")) == (
        "a.json: cannot write: Too many levels of symbolic links")
    assert (work / "a.json").is_symlink()


def test_a_link_to_an_input_is_refused(cli, work):
    spec = work / "s.toml"
    spec.write_text('kind = "matmul"\nA = [[1]]\nB = [[2]]\n')
    os.symlink("s.toml", work / "out.md")
    assert one_error_line(cli("solve", "s.toml", "-o", "out.md")) == (
        "out.md: -o out.md is an input file; choose another output")
    (work / "a.toml").write_text("C = [[2]]\n")
    assert one_error_line(cli("check", "s.toml", "a.toml", "--csv", "a.toml")) == (
        "a.toml: --csv a.toml is an input file; choose another output")


# ---------------------------------------------------------------- FIFOs and sockets


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_without_a_reader_is_refused_at_once(cli, work):
    os.mkfifo(work / "fifo")
    assert one_error_line(cli("solve", "matmul", "-o", "fifo")) == "fifo: is a FIFO with no reader; not written"
    assert stat.S_ISFIFO(os.lstat(work / "fifo").st_mode)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_with_a_reader_gets_the_output_in_place(cli, work, key):
    os.mkfifo(work / "fifo")
    fd = os.open(work / "fifo", os.O_RDONLY | os.O_NONBLOCK)  # a reader waiting
    chunks: list[bytes] = []

    def read() -> None:
        os.set_blocking(fd, True)
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)

    r = cli("solve", "matmul", "--format", "json", "-o", "fifo")
    reader = threading.Thread(target=read)
    reader.start()
    reader.join(10)
    os.close(fd)
    assert (r.code, r.err) == (0, "")
    assert b"".join(chunks).decode() == key
    assert stat.S_ISFIFO(os.lstat(work / "fifo").st_mode)


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets here")
def test_a_socket_is_refused(cli, work):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind("sock")
        assert one_error_line(cli("solve", "matmul", "-o", "sock")) == "sock: is a socket, not a file; not written"
    finally:
        s.close()
    assert stat.S_ISSOCK(os.lstat(work / "sock").st_mode)
