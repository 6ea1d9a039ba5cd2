"""Generations kept as they arrive, so a rerun regenerates nothing finished and a
replay needs no engine.

    <run>/generations/<precision>.jsonl   one line per response, appended and flushed on arrival:
        {"key": ..., "context": {...}, "case": ..., "response": <the server's JSON>}

A response is reused only for the same key: its context (the model's id and
revision or the tiny model's build, the server's arguments, the engine version,
the GPU architecture) and the whole request as sent except its routing (served
name, request id): messages, sampling settings, per-repeat seed, stop strings,
max tokens, chat template switches. Anything else changed means a new
generation. Only finished generations (finish reason stop or length) are kept.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

# Parts of a request that route it, not what it asks for.
_ROUTING = ("model", "request_id")


class StoreError(ValueError):
    """A generations file is unreadable; the message names the file and line."""


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
        if not self.writable or not finished(response):
            return
        line = json.dumps({"key": key, "context": self.context, "case": case, "response": response}, ensure_ascii=False)
        with self._lock:
            self._responses[key] = response
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as out:
                out.write(line + "\n")
