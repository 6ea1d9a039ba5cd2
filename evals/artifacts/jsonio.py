"""JSON files of a run, written atomically (a reader, or a crash, never sees half a
file) and read with errors that name the file. A write that fails (a full disk, a
quota, an I/O error) leaves the file as it was and raises WriteFailed naming it."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

from scorers.jsonl import write_atomic


class WriteFailed(OSError):
    """A run's file could not be written (ENOSPC, EDQUOT, EIO, ...): the message names the
    file, the system's reason and what became of the file; `errno` is the cause's."""

    def __init__(self, message: str, cause: OSError | None = None):
        super().__init__(message)
        if cause is not None:
            self.errno = cause.errno  # strerror and filename stay unset: str() is the message


def reason(exc: OSError) -> str:
    """An OSError as "[Errno 28] No space left on device" (its file, if any, named apart)."""
    if exc.errno is None or not exc.strerror:  # a WriteFailed: its message says it all
        return str(exc)
    return f"[Errno {exc.errno}] {exc.strerror}" + (f" ({exc.filename})" if exc.filename else "")


def write_whole(path: Path, write: Callable[[TextIO], None]) -> None:
    """Write a file all or nothing (a temporary file in the same folder, synced to disk,
    then renamed over it); on an OSError the file is as it was and WriteFailed names it.
    The sync makes a full disk or an I/O error show here rather than after the rename, and
    a crash never leaves the renamed file without its content."""

    def synced(out: TextIO) -> None:
        write(out)
        out.flush()
        os.fsync(out.fileno())

    try:
        write_atomic(path, synced)
    except OSError as exc:
        raise WriteFailed(f"{path}: could not be written ({reason(exc)}); "
                          "the file was left as it was", exc) from exc


def write_json(path: Path, data: Any) -> None:
    """Atomic: a reader (or a crash) never sees half a file; WriteFailed if it cannot be written."""
    write_whole(path, lambda out: json.dump(data, out, indent=2, ensure_ascii=False, default=_plain))


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    """One JSON object per line, atomic like write_json."""
    write_whole(path, lambda out: out.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def _plain(value: Any) -> Any:
    """JSON for what json cannot write itself: numpy scalars as numbers, sets as lists,
    anything else as its text (lm-eval's results hold dtypes and functions)."""
    if isinstance(value, set):
        return sorted(value, key=str)
    item = getattr(value, "item", None)  # a numpy scalar
    if callable(item) and getattr(value, "shape", None) == ():
        return item()
    return str(value)


class DamagedFile(ValueError):
    """A run's file that exists but cannot be read; the message names it."""


def read_json(path: Path) -> Any:
    """A JSON file's content, or None if there is no such file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise DamagedFile(f"{path}: cannot be read ({exc})") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise DamagedFile(f"{path}: not valid JSON ({exc or type(exc).__name__})") from None


def read_object(path: Path) -> dict:
    """A JSON object file's content ({} if there is no such file)."""
    data = read_json(path)
    if data is not None and not isinstance(data, dict):
        raise DamagedFile(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data or {}


@contextlib.contextmanager
def fields_of(*paths: Path):
    """Reading the fields of these files: a missing or malformed field is a DamagedFile
    that names them, not a bare KeyError."""
    try:
        yield
    except DamagedFile:
        raise
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
        raise DamagedFile(f"{' or '.join(map(str, paths))}: missing or malformed field "
                          f"({type(exc).__name__}: {exc})") from None
