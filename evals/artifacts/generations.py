"""Generations kept as they arrive, so a rerun regenerates nothing finished and a
replay needs no engine.

    <run>/generations/<precision>.jsonl   one line per response, appended and synced on arrival:
        {"key": ..., "context": {...}, "case": ..., "response": <the server's JSON>}

A response counts as kept (found by `get`, by a resumed run, by a replay) only once its
line is on disk. An append that fails (a full disk, a quota, an I/O error) cuts the file
back to its last whole line and raises StoreWriteError naming the file and the reason:
the response is not kept, and its case, which cannot have it, fails. If even the cut
fails, the store refuses every later append (the file ends in a torn line, which the
next session that opens it cuts off).

A response is reused only for the same key: its context (the model's id and
revision or the tiny model's build, the server's arguments, the engine version,
the GPU architecture) and the whole request as sent except its routing (served
name, request id): messages, sampling settings, per-repeat seed, stop strings,
max tokens, chat template switches. Anything else changed means a new
generation. Only finished generations (finish reason stop or length) are kept.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from evals.artifacts.jsonio import WriteFailed, reason

# Parts of a request that route it, not what it asks for.
_ROUTING = ("model", "request_id")


class StoreError(ValueError):
    """A generations file is unreadable; the message names the file and line."""


class StoreWriteError(WriteFailed):
    """A response could not be appended to a generations file (ENOSPC, EDQUOT, EIO, ...);
    the message names the file and the reason. The response is not kept."""


def request_key(context: dict[str, Any], payload: dict[str, Any]) -> str:
    request = {k: v for k, v in payload.items() if k not in _ROUTING}
    blob = json.dumps({"context": context, "request": request}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def finished(response: dict) -> bool:
    """A generation worth keeping: it ended by a stop or by the token limit."""
    choices = response.get("choices") or [{}]
    return all(c.get("finish_reason") in ("stop", "length") for c in choices)


class GenerationStore:
    """One precision's responses of a run: read once on open, appended as they arrive."""

    def __init__(self, path: Path, context: dict[str, Any], writable: bool = True):
        self.path, self.context, self.writable = Path(path), context, writable
        self._responses: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._broken: str | None = None  # why appends are refused: a failed append could not be undone
        if self.path.exists():
            self._read()
        self._earlier = set(self._responses)  # kept by an earlier session (read on open), not made by this one

    def __len__(self) -> int:
        return len(self._responses)

    def _read(self) -> None:
        data = self.path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        if len(complete) < len(data) and self.writable:
            # A write torn by a kill: that request is simply not done. Cut it off,
            # so the next record starts on a line of its own.
            with open(self.path, "r+b") as f:
                f.truncate(len(complete))
        for number, line in enumerate(complete.split(b"\n"), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                self._responses[record["key"]] = record["response"]
            except (ValueError, KeyError, TypeError) as exc:
                raise StoreError(f"{self.path}:{number}: not a generation record ({exc})") from None

    def key(self, payload: dict[str, Any]) -> str:
        return request_key(self.context, payload)

    def get(self, key: str) -> dict | None:
        return self._responses.get(key)

    def __contains__(self, key: str) -> bool:
        return key in self._responses

    def kept_earlier(self, key: str) -> bool:
        """Kept by an earlier session (a resumed run), not made by this one."""
        return key in self._earlier

    def put(self, key: str, case: str, response: dict) -> None:
        """Append a finished response and sync it to disk; only then is it kept.
        StoreWriteError if it could not be written (the file is cut back to its last whole
        line), and at once for every put after an append that could not be undone."""
        if not self.writable or not finished(response):
            return
        line = json.dumps({"key": key, "context": self.context, "case": case, "response": response}, ensure_ascii=False)
        data = (line + "\n").encode("utf-8")
        with self._lock:
            if self._broken is not None:
                raise StoreWriteError(f"{self.path}: no response is appended any more this session: {self._broken}")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            except OSError as exc:  # nothing was written
                raise StoreWriteError(f"{self.path}: a response could not be kept ({reason(exc)})", exc) from exc
            size = None
            try:
                size = os.fstat(fd).st_size  # the file's whole lines: what is left if this append fails
                _append(fd, data)
                _sync(fd)
            except OSError as exc:
                os.close(fd)
                raise self._undo(size, exc) from exc
            except BaseException:  # a Ctrl-C between two writes: no torn line before the next append
                os.close(fd)
                self._undo(size, OSError(errno.EINTR, "interrupted"))
                raise
            try:
                os.close(fd)
            except OSError as exc:  # a network filesystem may report a failed write only here
                raise self._undo(size, exc) from exc
            self._responses[key] = response

    def _undo(self, size: int | None, exc: OSError) -> StoreWriteError:
        """After a failed append: the file cut back to `size` (its whole lines before it),
        or, if that fails, the store broken. The error to raise, naming file and reason."""
        failed = f"{self.path}: a response could not be kept ({reason(exc)})"
        try:
            if size is None:
                raise OSError(f"its size before the append is unknown ({reason(exc)})")
            os.truncate(self.path, size)
        except OSError as cut:
            self._broken = (f"an append failed ({reason(exc)}) and cutting the file back to its last whole line "
                            f"failed too ({reason(cut)}); a resumed run cuts the torn line off")
            return StoreWriteError(f"{self.path}: a response could not be kept: {self._broken}", exc)
        return StoreWriteError(f"{failed}; the file was cut back to its last whole line", exc)


def _append(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:  # a write that makes no progress is a full disk that does not say so
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def _sync(fd: int) -> None:
    """The append on disk: a full disk or a failed write-back (some filesystems report
    either only here) fails this put, before the response counts as kept."""
    (getattr(os, "fdatasync", None) or os.fsync)(fd)
