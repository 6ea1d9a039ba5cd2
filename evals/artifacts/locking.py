"""One process at a time: an exclusive lock on a file, xdist workers and separate runs included;
and a run folder's session lock (`hold`), which a session keeps for as long as it runs and
which names its holder to whoever else asks for it."""

from __future__ import annotations

import contextlib
import fcntl
import json
from pathlib import Path
from typing import IO, Any

SESSION_LOCK = ".session.lock"  # in a run folder: the session writing it (evals/plugin/selection.py)


@contextlib.contextmanager
def locked(path: Path):
    """Hold an exclusive lock on `path` (created if missing) for the block."""
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield  # closing the file releases the lock


class Held(Exception):
    """Another process holds the lock; `holder` is what it wrote into the file about itself
    ({} if it has not written it yet, or it cannot be read)."""

    def __init__(self, path: Path, holder: dict[str, Any]):
        super().__init__(f"{path} is held by {describe(holder)}")
        self.path, self.holder = path, holder


def hold(path: Path, holder: dict[str, Any]) -> IO[str]:
    """Take an exclusive lock on `path` (created if missing) without waiting, and write
    `holder` (who takes it: JSON) into it. The lock lasts as long as the returned file is
    open, at most as long as this process: a crash leaves the file, but no lock. Held,
    naming the holder, if another open file (another process) has it."""
    handle = open(path, "a+", encoding="utf-8")  # "a+": not emptied before the lock is ours
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # BlockingIOError: held elsewhere
        handle.seek(0)
        text = handle.read()
        handle.close()
        try:
            found = json.loads(text)
        except ValueError:
            found = {}
        raise Held(Path(path), found if isinstance(found, dict) else {}) from None
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps(holder, sort_keys=True) + "\n")
    handle.flush()
    return handle


def describe(holder: dict[str, Any]) -> str:
    """A lock's holder as a person reads it: "pid 4242 on gpu-1, started 2026-12-06T22:10:00+00:00 (pytest evals ...)"."""
    if not holder.get("pid"):
        return "another process (it has not said which yet)"
    where = f"pid {holder['pid']}" + (f" on {holder['host']}" if holder.get("host") else "")
    started = f", started {holder['started']}" if holder.get("started") else ""
    command = f" ({holder['command']})" if holder.get("command") else ""
    return where + started + command
