"""Reading JSONL whose every line must be a JSON object, with errors that name file and line."""

from __future__ import annotations

import json
from typing import Iterable, Iterator


def iter_objects(lines: Iterable[str], where: str, error: type[Exception]) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line; `error(f"{where}:{line}: ...")` otherwise."""
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(f"{where}:{lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(obj, dict):
            raise error(f"{where}:{lineno}: expected a JSON object, got {type(obj).__name__}")
        yield lineno, obj
