"""The committed baselines, snapshots/<profile>/<case>.json: read, checked, and judged
against a run's record (the syrupy extension in evals/plugin/snapshots.py writes them and
hands syrupy these judgements)."""

from __future__ import annotations

import functools
from pathlib import Path

from evals.artifacts.jsonio import DamagedFile
from evals.artifacts.types import Record
from evals.config.paths import snapshots_dir
from evals.gate.decision import MISSING, UNREADABLE
from evals.gate.records import GateResult, gate_summary, judge


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


@functools.lru_cache(maxsize=256)
def parse(text: str, where: Path) -> Record:
    """A baseline file's text as a Record; DamagedFile naming the file (and the item and value
    of a count that cannot be, e.g. a hand-edited "5/1"). Cached: a session reads each
    baseline for its case, its pools and syrupy's comparison."""
    record = Record.from_json(text, where, "baseline")
    record.counts  # checked now: an unreadable baseline, which --snapshot-update replaces
    return record


def read(profile: str, case_id: str) -> Record | None:
    """A case's committed baseline (None if there is none); DamagedFile if unreadable."""
    where, text = stored(profile, case_id)
    return None if text is None else parse(text, where)


_records: dict[str, Record] = {}  # a record's text -> the record, so a record judged before is never parsed back


def _record(text: str) -> Record:
    return _records.get(text) or Record.from_json(text, "(the run's record)")


@functools.lru_cache(maxsize=64)
def _judged(record: str, text: str, where: Path) -> GateResult:
    return judge(_record(record), parse(text, where))


def judged(record: Record, text: str) -> GateResult:
    """The gate on a record and its baseline file's text; cached, so the artifacts' outcome,
    syrupy's comparison and its failure message share one comparison."""
    _records[record.text] = record
    return _judged(record.text, text, path(record.profile, record.case))


def judged_text(record: str, text: str) -> GateResult:
    """The same, for a record as syrupy hands it over: its text."""
    return judged(_record(record), text)


def outcome(profile: str, record: Record) -> tuple[dict, Record | None]:
    """The gate's outcome for a record against its committed baseline, as data, and that
    baseline (None if there is none, or if it cannot be read)."""
    try:
        where, text = stored(profile, record.case)
        if text is None:
            return {"status": MISSING}, None
        result = judged(record, text)
        baseline = parse(text, where)
    except DamagedFile as exc:
        return {"status": UNREADABLE, "error": str(exc)}, None
    return gate_summary(result, baseline), baseline
