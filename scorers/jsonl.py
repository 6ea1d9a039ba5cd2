"""JSONL: reading lines that must each be a JSON object (errors name file and line), and
writing files whole or not at all."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterable, Iterator, TextIO


def iter_objects(lines: Iterable[str], where: str, error: type[Exception]) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line; `error(f"{where}:{line}: ...")` otherwise."""
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(f"{where}:{lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        except RecursionError:
            raise error(f"{where}:{lineno}: JSON nested too deeply to read") from None
        if not isinstance(obj, dict):
            raise error(f"{where}:{lineno}: expected a JSON object, got {type(obj).__name__}")
        yield lineno, obj


def write_atomic(path: Path, write: Callable[[TextIO], None]) -> None:
    """Write a file all or nothing: a reader (or a crash) never sees half of it. A symlink
    stays a symlink (its target is replaced), and the file's mode follows the umask."""
    path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            write(out)
        os.replace(tmp, path)
    except BaseException:
        # A Ctrl-C just after the replace finds no temporary file: it must still be a Ctrl-C.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it; set it straight back
    os.umask(mask)
    return mask


def write_jsonl_atomic(path: Path, rows: Iterable[dict]) -> None:
    write_atomic(path, lambda out: out.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
