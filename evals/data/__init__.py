"""The benchmark data: vendored JSONL verified by sha256, or the hub data set
mapped to the same schema (id, problem, answer, solution).

`load("aime24")` reads the vendored file; `load("aime24", source="hub")`
reads the hub data set named in datasets.toml (needs network).
"""

from __future__ import annotations

import functools
import hashlib
import tomllib
from pathlib import Path

from scorers.jsonl import iter_objects

DATA_DIR = Path(__file__).parent
REGISTRY = DATA_DIR / "datasets.toml"
FIELDS = ("id", "problem", "answer", "solution")
REQUIRED = ("id", "problem", "answer")


class DataError(ValueError):
    """Data that fails verification; the message names the file, line and field."""


@functools.cache
def registry() -> dict[str, dict]:
    return tomllib.loads(REGISTRY.read_text(encoding="utf-8"))


def names() -> list[str]:
    return sorted(registry())


def _entry(name: str) -> dict:
    try:
        return registry()[name]
    except KeyError:
        raise DataError(f"unknown data set {name!r}; {REGISTRY} has {names()}") from None


def load(name: str, source: str = "local") -> list[dict]:
    if source == "local":
        entry = _entry(name)
        return load_jsonl(DATA_DIR / entry["file"], entry["sha256"], entry.get("records"))
    if source == "hub":
        return load_hub(name)
    raise DataError(f"data source must be 'local' or 'hub', got {source!r}")


def load_jsonl(path: Path, sha256: str | None = None, records: int | None = None) -> list[dict]:
    """Read a data file after checking its hash; each line must be a JSON
    object with the schema's required fields."""
    raw = path.read_bytes()
    if sha256 is not None:
        actual = hashlib.sha256(raw).hexdigest()
        if actual != sha256:
            raise DataError(
                f"{path}: sha256 is {actual}, expected {sha256} (from {REGISTRY.name}); "
                "the file was changed or damaged: restore it from git"
            )
    rows = []
    for lineno, row in iter_objects(raw.decode("utf-8").split("\n"), str(path), DataError):
        for field in REQUIRED:
            if not isinstance(row.get(field), str) or not row[field]:
                raise DataError(f"{path}:{lineno}: field {field!r} missing or not a non-empty string")
        rows.append(row)
    if records is not None and len(rows) != records:
        raise DataError(f"{path}: {len(rows)} records, expected {records}")
    return rows


def load_hub(name: str) -> list[dict]:
    import datasets  # only users with network take this path

    hub = _entry(name)["hub"]
    rows = datasets.load_dataset(hub["path"], hub.get("name"), split=hub["split"])
    return map_hub_rows(name, rows)


def map_hub_rows(name: str, rows) -> list[dict]:
    """Hub rows -> the vendored schema."""
    fields = _entry(name)["hub"]["fields"]
    out = []
    for index, row in enumerate(rows):
        record = {}
        for field in FIELDS:
            column = fields.get(field)
            if column is None or column not in row:
                if field in REQUIRED and field != "id":
                    raise DataError(f"{name} (hub): row {index} has no column {column!r} for field {field!r}")
                record[field] = str(index) if field == "id" else None
                continue
            record[field] = row[column]
        record["answer"] = str(record["answer"])  # Maxwell-Jia stores AIME answers as ints
        record["id"] = str(record["id"])
        out.append(record)
    return out
