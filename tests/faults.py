"""A pytest plugin that injects engine faults into a `pytest evals` run.

Loaded by every child run of tests/evals_run.py (`-p tests.faults`), which sets
SUITE_FAULT: `kill:PRECISION:N` SIGKILLs that precision's server group when
its N-th request is being sent (mid-pass: the first case); `badarg:PRECISION` gives that
server an argument vLLM rejects, so it fails to start; `degrade:PRECISION`
serves that precision's tiny model with noisy weights (evals/engine/tiny/quantize.py: it
loses some 8-10 points spread over every case) under the same
configuration, as a kernel bug would; `subtle:PRECISION` serves it with a little of
that noise (its answers stay, its token distributions move: evals/drift/);
`degrade:PRECISION:N` and `subtle:PRECISION:N` with the N-th other draw of that noise
(evals/engine/tiny/build.py);
`die-after:N` SIGKILLs the pytest process
itself right after the N-th response is kept (a run killed halfway, mid-case,
with requests in flight); `nospace:NAME` makes every write to a file of that name
(fnmatch, e.g. `.ended`, `*.jsonl`) under --artifacts fail with ENOSPC, as a disk
that is full when that file is written (FullDisk below, which the suite's own
tests also use in-process). Several faults, one per model, are comma-separated.
"""

from __future__ import annotations

import builtins
import errno
import fnmatch
import os
import signal
from pathlib import Path

import pytest

FAULT = os.environ.get("SUITE_FAULT", "")


def pytest_configure(config):
    for fault in filter(None, FAULT.split(",")):  # several, one per model: "badarg:bf16,kill:fp8:2"
        kind, _, rest = fault.partition(":")
        if kind == "kill":
            precision, _, nth = rest.partition(":")
            _kill_on_request(precision, int(nth))
        elif kind == "badarg":
            _bad_argument(rest)
        elif kind in ("degrade", "subtle"):
            precision, _, draw = rest.partition(":")
            _serve_variant(precision, {"degrade": "noisy", "subtle": "subtle"}[kind], int(draw or 0))
        elif kind == "die-after":
            _die_after(int(rest))
        elif kind == "nospace":
            FullDisk(config.getoption("artifacts"), names=(rest,)).install()
        else:
            raise pytest.UsageError(f"SUITE_FAULT: unknown fault {fault!r}")


def _kill_on_request(precision: str, nth: int) -> None:
    from evals.engine import server as engine
    from evals.engine.client import Client

    original = Client.post
    sent = {"n": 0}

    async def post(self, session, base_url, request):
        model = request.payload["model"]
        if model.endswith(f"-{precision}"):
            sent["n"] += 1
            if sent["n"] == nth:
                for server in list(engine._LIVE):
                    if server.served_name == model:
                        os.killpg(server.proc.pid, signal.SIGKILL)
        return await original(self, session, base_url, request)

    Client.post = post


def _bad_argument(precision: str) -> None:
    from evals.engine import server

    original = server.server_args

    def server_args(case):
        args = original(case)
        return {**args, "dtype": "no-such-dtype"} if case.precision == precision else args

    server.server_args = server_args


def _serve_variant(precision: str, scheme: str, draw: int) -> None:
    from evals.engine.tiny.build import ensure_drawn
    from evals.engine.weights import Weights

    original = Weights.path

    def path(self, model):
        if model.is_tiny and self.matrix.profiles["tiny"]["precisions"].get(precision) == model.name:
            return str(ensure_drawn(scheme, draw, self.matrix)), None
        return original(self, model)

    Weights.path = path


def _die_after(nth: int) -> None:
    from evals.artifacts.generations import GenerationStore

    original = GenerationStore.put
    kept = {"n": 0}

    def put(self, *args, **kwargs):
        original(self, *args, **kwargs)
        kept["n"] += 1
        if kept["n"] == nth:
            os.kill(os.getpid(), signal.SIGKILL)

    GenerationStore.put = put


class FullDisk:
    """A filesystem under `root` with `free` bytes left for what is written from now on
    (measured by the size of its files, so cutting a file back frees its space; raise
    `free` and space comes back), or, with `names`, none at all for files of those names
    (an atomic write's temporary file `.NAME.*.tmp` counts as NAME) and no limit for the
    rest. A write that does not fit writes what fits and fails with ENOSPC, as a full disk
    does. Faulted: os.write on a descriptor, and file objects from open() and os.fdopen()
    (each of their writes goes to the file at once, so what a failed write leaves is
    exactly what fit)."""

    def __init__(self, root, free: int = 0, names: tuple[str, ...] = ()):
        self.root, self.free, self.names = Path(root).resolve(), free, tuple(names)
        self.root.mkdir(parents=True, exist_ok=True)
        self.base = 0 if self.names else self._used()
        self.failed: list[str] = []  # each file a write to failed

    def _used(self) -> int:
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())

    def room(self, path: str) -> int | None:
        """Bytes a write to `path` may still put on disk; None: not on this disk."""
        path = Path(path.removesuffix(" (deleted)"))
        if not path.is_relative_to(self.root):
            return None
        if self.names:
            name = path.name
            if name.startswith(".") and name.endswith(".tmp"):  # scorers/jsonl.py's `.NAME.XXXX.tmp`
                name = name[1:].rsplit(".", 2)[0]
            return 0 if any(fnmatch.fnmatch(name, n) for n in self.names) else None
        return max(0, self.free - (self._used() - self.base))

    def _full(self, path) -> OSError:
        self.failed.append(str(path))
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def install(self, patch=None) -> FullDisk:
        """Fault this process's writes: with `patch(obj, name, value)` (a monkeypatch's
        setattr, undone after the test), else for good (a child run)."""
        patch = patch or setattr
        real_write, real_open, real_fdopen = os.write, builtins.open, os.fdopen
        disk = self

        def fd_path(fd: int) -> str:
            try:
                return os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                return ""

        def write(fd, data):
            room = disk.room(fd_path(fd))
            if room is None or len(data) <= room:
                return real_write(fd, data)
            if room == 0:
                raise disk._full(fd_path(fd))
            return real_write(fd, bytes(memoryview(data)[:room]))  # a short write, as a nearly full disk gives

        class File:
            def __init__(self, handle, path):
                self._handle, self._path = handle, path

            def write(self, text):
                data = text.encode(getattr(self._handle, "encoding", None) or "utf-8") if isinstance(text, str) else bytes(text)
                self._handle.flush()
                room = disk.room(self._path)
                if room is not None and len(data) > room:
                    if room:
                        real_write(self._handle.fileno(), data[:room])
                    raise disk._full(self._path)
                written = self._handle.write(text)
                self._handle.flush()
                return written

            def writelines(self, lines):
                for line in lines:
                    self.write(line)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self._handle.close()

            def __iter__(self):
                return iter(self._handle)

            def __getattr__(self, name):
                return getattr(self._handle, name)

        def writing(mode) -> bool:
            return any(c in str(mode) for c in "wax+")

        def open_(file, mode="r", *args, **kwargs):
            handle = real_open(file, mode, *args, **kwargs)
            if writing(mode) and isinstance(file, (str, os.PathLike)) and disk.room(os.path.realpath(file)) is not None:
                return File(handle, os.path.realpath(file))
            return handle

        def fdopen(fd, mode="r", *args, **kwargs):
            path = fd_path(fd)
            handle = real_fdopen(fd, mode, *args, **kwargs)
            return File(handle, path) if writing(mode) and disk.room(path) is not None else handle

        patch(os, "write", write)
        patch(builtins, "open", open_)
        patch(os, "fdopen", fdopen)
        return self


@pytest.hookimpl(trylast=True)
def pytest_report_header(config):
    return f"injected fault: {FAULT or 'none'}"
