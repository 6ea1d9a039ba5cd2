"""JSON files of a run, written atomically (a reader, or a crash, never sees half a
file) and read with errors that name the file."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from scorers.jsonl import write_atomic


def write_json(path: Path, data: Any) -> None:
    """Atomic: a reader (or a crash) never sees half a file."""
    write_atomic(path, lambda out: json.dump(data, out, indent=2, ensure_ascii=False, default=_plain))


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
