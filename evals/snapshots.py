"""syrupy extensions: where the suite's snapshots live and how they are written."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

from syrupy.extensions.json import JSONSnapshotExtension
from syrupy.data import SnapshotCollections
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from evals.gate.records import GateResult, compare, gate_summary

# SUITE_SNAPSHOTS_DIR points a run at other baselines (the suite's own tests use a copy).
SNAPSHOTS_DIR = Path(os.environ.get("SUITE_SNAPSHOTS_DIR", Path(__file__).resolve().parents[1] / "snapshots"))


@functools.lru_cache(maxsize=16)
def _gate(serialized: str, stored: str) -> GateResult:
    """The gate on a record and a baseline file as syrupy hands them over; cached, so the
    artifacts' outcome, syrupy's comparison and its failure message share one comparison."""
    return compare(json.loads(serialized), json.loads(stored))


def _serialize(record: dict) -> str:
    return json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class _NamedFiles:
    """Snapshots named by what they hold (a case id, a profile), not by the test.

    syrupy's unused-snapshot cleanup relates files to tests by name; it would
    count other cases' baselines (and the seed reference beside them) as unused
    and delete them on a partial `--snapshot-update`. These files are found
    only by name, so there is nothing to clean up: the matrix config says
    which cases exist."""

    def discover_snapshots(self, *, test_location, ignore_extensions=None) -> SnapshotCollections:
        return SnapshotCollections()

    @classmethod
    def get_snapshot_name(cls, *, test_location, index=0) -> str:
        return str(index)


class PlanSnapshot(_NamedFiles, JSONSnapshotExtension):
    """snapshots/plan/<profile>.json: the rendered GPU plan of a profile."""

    @classmethod
    def dirname(cls, *, test_location) -> str:
        return str(SNAPSHOTS_DIR / "plan")


class BaselineSnapshot(_NamedFiles, SingleFileSnapshotExtension):
    """snapshots/<profile>/<case>.json: one readable baseline per case.

    The serializer writes the record as sorted, indented JSON (one line per
    item); the comparator is the statistical gate, not string equality, so a
    rerun within tolerance matches and its baseline file stays untouched, even
    under --snapshot-update. The `accept` variant never matches: a pooled test
    that fails under --snapshot-update rewrites its cases' baselines through it,
    though each case alone passed (evals/test_precision.py)."""

    profile = "tiny"
    accept = False
    file_extension = "json"
    _write_mode = WriteMode.TEXT

    @classmethod
    def for_profile(cls, profile: str, accept: bool = False) -> type["BaselineSnapshot"]:
        return type(f"BaselineSnapshot_{profile}{'_accept' if accept else ''}", (cls,), {"profile": profile, "accept": accept})

    @classmethod
    def dirname(cls, *, test_location) -> str:
        return str(SNAPSHOTS_DIR / cls.profile)

    @classmethod
    def path(cls, profile: str, case_id: str) -> Path:
        return SNAPSHOTS_DIR / profile / f"{case_id}.{cls.file_extension}"

    @classmethod
    def outcome(cls, profile: str, record: dict) -> tuple[dict, dict | None]:
        """The gate's outcome for a record against its committed baseline, as data, and
        that baseline (None if there is none)."""
        path = cls.path(profile, record["case"])
        if not path.exists():
            return {"status": "missing"}, None
        stored = path.read_text(encoding="utf-8")
        baseline = json.loads(stored)
        return gate_summary(_gate(_serialize(record), stored), baseline), baseline

    def serialize(self, data, **kwargs) -> str:
        return _serialize(data)

    def matches(self, *, serialized_data, snapshot_data) -> bool:
        return not self.accept and _gate(serialized_data, snapshot_data).passed

    def diff_lines(self, serialized_data, snapshot_data):
        current = json.loads(serialized_data)
        if not snapshot_data:
            yield (f"No baseline for {current['case']} in {SNAPSHOTS_DIR / self.profile}. Create it with: "
                   f"pytest evals --profile {self.profile} --snapshot-update")
            return
        yield from _gate(serialized_data, snapshot_data).lines(current["case"])
