"""Run symnet inside a private mount namespace (unshare), on a tmpfs, with real device nodes: never the machine's /dev.

`python namespace.py SCRATCH` is the driver run inside the namespace: it mounts a tmpfs on SCRATCH, makes a
character device there (mknod as root; in a user namespace, /dev/null bound onto a file), a block device of an
unused major number, and a tmpfs over /dev itself with its own /dev/stdout link, runs the CLI cases of CASES as
real processes and prints what it saw as JSON: exit status, stdout, stderr, and each path's file type after."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

# name: (argv, path whose type is reported afterwards, stdout to a file?)
CASES = {
    "char-device": (["solve", "matmul", "-o", "{S}/null"], "{S}/null"),
    "char-device-csv": (["check", "backprop", "{S}/a.toml", "{S}/b.toml", "--csv", "{S}/null"], "{S}/null"),
    "link-to-device": (["solve", "matmul", "-o", "{S}/link"], "{S}/null"),
    "block-device": (["solve", "matmul", "-o", "{S}/blk"], "{S}/blk"),
    "dev-stdout": (["solve", "matmul", "--format", "json", "-o", "/dev/stdout"], "/dev/stdout"),
    "dev-stdout-csv": (["check", "backprop", "{S}/a.toml", "{S}/b.toml", "--csv", "/dev/stdout"], "/dev/stdout"),
}


def kind(path: str) -> str:
    """The file type of a path, not following a final symbolic link: file, link, char, block, fifo, missing."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return "missing"
    for name, test in (("link", stat.S_ISLNK), ("char", stat.S_ISCHR), ("block", stat.S_ISBLK),
                       ("fifo", stat.S_ISFIFO), ("file", stat.S_ISREG), ("folder", stat.S_ISDIR)):
        if test(mode):
            return name
    return "other"


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


def setup(S: str) -> None:
    sh("mount", "--make-rprivate", "/")  # (unshare --propagation private does it too: nothing leaves this namespace)
    os.makedirs(S, exist_ok=True)
    sh("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", S)
    try:
        os.mknod(f"{S}/null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # the null device, as /dev/null is
        os.mknod(f"{S}/blk", 0o600 | stat.S_IFBLK, os.makedev(240, 0))  # a major for local use: no such device
    except PermissionError:  # a user namespace: no mknod, but a bind mount of the real null device
        Path(f"{S}/null").touch()
        sh("mount", "--bind", "/dev/null", f"{S}/null")
    os.symlink(f"{S}/null", f"{S}/link")
    Path(f"{S}/a.toml").write_text('A3 = [0.4955, 0.4955, 0.0091]\n')
    Path(f"{S}/b.toml").write_text('"dL/dZ1" = [1, -2, 2, -1]\n')
    sh("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", "/dev")  # this namespace's own /dev
    os.symlink("/proc/self/fd/1", "/dev/stdout")
    if kind(f"{S}/blk") == "block":
        os.mknod("/dev/null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))


def main(S: str) -> None:
    setup(S)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    seen = {}
    for name, (argv, path) in CASES.items():
        argv = [a.replace("{S}", S) for a in argv]
        path = path.replace("{S}", S)
        if name == "block-device" and kind(path) != "block":
            continue
        with open(f"{S}/stdout", "w+b") as out:
            done = subprocess.run([sys.executable, "-m", "symnet", *argv], stdout=out, stderr=subprocess.PIPE,
                                  env=env, cwd=S, timeout=120)
            out.seek(0)
            text = out.read().decode("utf-8", "replace")
        seen[name] = {"code": done.returncode, "out": text, "err": done.stderr.decode("utf-8", "replace"),
                      "kind": kind(path), "target": os.readlink(path) if kind(path) == "link" else None}
    print(json.dumps(seen))


if __name__ == "__main__":
    main(sys.argv[1])
