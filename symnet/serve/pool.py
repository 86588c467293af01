"""The server's worker processes: each request runs in one, which is killed when it runs past its time or memory.

SymPy cannot be interrupted from another thread, so the work is never done in the server's process: a worker (warm:
templates compiled, SymPy imported) takes one request at a time; past the run budget it is killed (SIGKILL) and
replaced, and the request is answered with the budget's one line."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from ..budget import MEMORY, TIMEOUT  # the command line's defaults: seconds per request, MB per worker

TICK = 0.05  # seconds between two looks at a running request's clock and memory
LINE = 256 * 2**20  # the longest answer line read from a worker (a page of the largest exercise within the bounds)


@dataclass(frozen=True)
class Budget:
    """The run budget of every request (None: no limit) and the bounds a worker reads specs with (--bound)."""

    seconds: float | None = TIMEOUT
    megabytes: int | None = MEMORY
    bounds: tuple[str, ...] = ()
    workers: int = 2


@dataclass(frozen=True)
class Reply:
    """A worker's answer: the HTTP status and the JSON body, as bytes."""

    status: int
    body: bytes


def error(status: int, line: str) -> Reply:
    """A reply of one error line."""
    return Reply(status, json.dumps({"error": line}, ensure_ascii=False).encode("utf-8"))


def resident_mb(pid: int) -> float:
    """The resident memory of process `pid` in MB (0 where it cannot be read)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


@dataclass(eq=False)
class Worker:
    """One worker process and its pipes."""

    proc: asyncio.subprocess.Process
    served: int = field(default=0)

    @classmethod
    async def start(cls, budget: Budget) -> "Worker":
        """A new worker, once it says it is ready."""
        config = json.dumps({"bounds": list(budget.bounds), "memory": budget.megabytes})
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "symnet.serve.worker", config, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, limit=LINE, env=_environment())
        assert proc.stdout is not None
        ready = await proc.stdout.readline()
        if ready != b"ready\n":
            await _end(proc)
            raise RuntimeError("a symnet serve worker did not start (see the messages above)")
        return cls(proc)

    async def call(self, task: str, body: bytes, budget: Budget) -> tuple[Reply, bool]:
        """Run one request: its reply, and whether this worker must be replaced (killed, or it asked to be)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        request = json.dumps({"task": task, "body": base64.b64encode(body).decode("ascii")})
        self.proc.stdin.write(request.encode("ascii") + b"\n")
        await self.proc.stdin.drain()
        read = asyncio.ensure_future(self._read())
        loop = asyncio.get_running_loop()
        start = loop.time()
        while True:
            over = None
            elapsed = loop.time() - start
            if budget.seconds is not None and elapsed > budget.seconds:
                over = (f"still running after {budget.seconds:g} s (bound: --timeout); raise it with symnet serve "
                        "--timeout SECONDS, or make the exercise smaller")
            elif budget.megabytes is not None and resident_mb(self.proc.pid) > budget.megabytes:
                over = (f"needs more than {budget.megabytes} MB of memory (bound: --memory); raise it with symnet "
                        "serve --memory MB, or make the exercise smaller")
            if over is not None:
                read.cancel()
                await _end(self.proc)
                return error(400, f"symnet: error: {task}: {over}"), True
            wait = TICK if budget.seconds is None else min(TICK, max(budget.seconds - elapsed, 0) + 0.001)
            done, _ = await asyncio.wait({read}, timeout=wait)
            if done:
                break
        try:
            header, payload = read.result()
        except (ValueError, asyncio.IncompleteReadError, json.JSONDecodeError):
            await _end(self.proc)
            return error(500, "symnet: error: a worker stopped while answering (see the server's log)"), True
        self.served += 1
        return Reply(int(header["status"]), payload), bool(header.get("restart"))

    async def _read(self) -> tuple[dict[str, Any], bytes]:
        assert self.proc.stdout is not None
        header = await self.proc.stdout.readline()
        if not header:
            raise asyncio.IncompleteReadError(b"", None)
        payload = await self.proc.stdout.readline()
        if not payload.endswith(b"\n"):
            raise asyncio.IncompleteReadError(payload, None)
        return json.loads(header), payload.rstrip(b"\n")

    async def stop(self) -> None:
        """End the worker: its stdin closed, then killed if it lingers."""
        if self.proc.returncode is None and self.proc.stdin is not None:
            self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 2)
            except TimeoutError:
                pass
        await _end(self.proc)


async def _end(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        try:
            proc.kill()
        except ProcessLookupError:
            pass
        await proc.wait()


def _environment() -> dict[str, str]:
    """The server's environment, with this checkout's symnet first on the path (as the server imported it)."""
    import symnet

    root = os.path.dirname(os.path.dirname(os.path.abspath(symnet.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


class Pool:
    """`budget.workers` workers; a request waits for a free one."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.idle: asyncio.Queue[Worker] = asyncio.Queue()
        self.all: set[Worker] = set()
        self.replacing: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Start every worker (in parallel), ready to answer."""
        for w in await asyncio.gather(*(Worker.start(self.budget) for _ in range(self.budget.workers))):
            self.all.add(w)
            self.idle.put_nowait(w)

    async def run(self, task: str, body: bytes) -> Reply:
        """Run one request in a free worker, within the budget."""
        worker = await self.idle.get()
        try:
            reply, replace = await worker.call(task, body, self.budget)
        except BaseException:
            self._replace(worker)
            raise
        if replace:
            self._replace(worker)
        else:
            self.idle.put_nowait(worker)
        return reply

    def _replace(self, worker: Worker) -> None:
        self.all.discard(worker)

        async def again() -> None:
            await worker.stop()
            fresh = await Worker.start(self.budget)
            self.all.add(fresh)
            self.idle.put_nowait(fresh)

        task = asyncio.ensure_future(again())
        self.replacing.add(task)
        task.add_done_callback(self.replacing.discard)

    async def close(self) -> None:
        """Stop every worker."""
        for t in list(self.replacing):
            t.cancel()
        await asyncio.gather(*(w.stop() for w in list(self.all)), return_exceptions=True)
        self.all.clear()
