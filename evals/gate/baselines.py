"""The committed baselines, snapshots/<profile>/<case>.json: read, checked, and judged
against a run's record (the syrupy extension in evals/plugin/snapshots.py writes them
and hands syrupy these judgements)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from evals.artifacts.jsonio import DamagedFile, fields_of
from evals.config.paths import snapshots_dir
from evals.gate.records import GateResult, gate_summary, item_counts, judge


def path(profile: str, case_id: str) -> Path:
    return snapshots_dir() / profile / f"{case_id}.json"


def stored(profile: str, case_id: str) -> tuple[Path, str | None]:
    """A case's baseline file and its text (None if there is none); DamagedFile if unreadable."""
    where = path(profile, case_id)
    try:
        return where, where.read_text(encoding="utf-8")
    except FileNotFoundError:
        return where, None
    except (OSError, UnicodeDecodeError) as exc:
        raise DamagedFile(f"{where}: an unreadable baseline ({exc})") from None


def serialize(record: dict) -> str:
    """A record as its baseline file holds it: sorted, indented JSON."""
    return json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@functools.lru_cache(maxsize=64)
def parse(text: str, where: Path) -> dict:
    """A baseline file's text, checked for what the gate reads; DamagedFile naming the file.
    Cached: a session reads each baseline for its case, its pools and syrupy's comparison."""
    try:
        baseline = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise DamagedFile(f"{where}: an unreadable baseline, not valid JSON ({exc or type(exc).__name__})") from None
    with fields_of(where):
        if not isinstance(baseline.get("fingerprint"), dict) or not isinstance(baseline["primary"], str):
            raise TypeError("'fingerprint' must be an object and 'primary' a metric name")
        item_counts(baseline)  # every item "correct/k"
    return baseline


def read(profile: str, case_id: str) -> dict | None:
    """A case's committed baseline (None if there is none); DamagedFile if unreadable."""
    where, text = stored(profile, case_id)
    return None if text is None else parse(text, where)


@functools.lru_cache(maxsize=16)
def judged(serialized: str, text: str, where: Path) -> GateResult:
    """The gate on a record and a baseline file's text; cached, so the artifacts' outcome,
    syrupy's comparison and its failure message share one comparison."""
    return judge(json.loads(serialized), parse(text, where))


def outcome(profile: str, record: dict) -> tuple[dict, dict | None]:
    """The gate's outcome for a record against its committed baseline, as data, and that
    baseline (None if there is none, or if it cannot be read)."""
    try:
        where, text = stored(profile, record["case"])
        if text is None:
            return {"status": "missing"}, None
        result = judged(serialize(record), text, where)
    except DamagedFile as exc:
        return {"status": "unreadable", "error": str(exc)}, None
    return gate_summary(result, parse(text, where)), parse(text, where)
