"""syrupy extensions: where the suite's snapshots live and how they are written."""

from __future__ import annotations

import json
import os
from pathlib import Path

from syrupy.extensions.json import JSONSnapshotExtension
from syrupy.data import SnapshotCollections
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from evals.baseline import compare

# SUITE_SNAPSHOTS_DIR points a run at other baselines (the suite's own tests use a copy).
SNAPSHOTS_DIR = Path(os.environ.get("SUITE_SNAPSHOTS_DIR", Path(__file__).resolve().parents[1] / "snapshots"))


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
    under --snapshot-update."""

    profile = "tiny"
    file_extension = "json"
    _write_mode = WriteMode.TEXT

    @classmethod
    def for_profile(cls, profile: str) -> type["BaselineSnapshot"]:
        return type(f"BaselineSnapshot_{profile}", (cls,), {"profile": profile})

    @classmethod
    def dirname(cls, *, test_location) -> str:
        return str(SNAPSHOTS_DIR / cls.profile)

    @classmethod
    def read(cls, profile: str, case_id: str) -> dict | None:
        """The committed baseline of a case, or None."""
        path = SNAPSHOTS_DIR / profile / f"{case_id}.{cls.file_extension}"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def serialize(self, data, **kwargs) -> str:
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    def matches(self, *, serialized_data, snapshot_data) -> bool:
        return compare(json.loads(serialized_data), json.loads(snapshot_data)).passed

    def diff_lines(self, serialized_data, snapshot_data):
        current = json.loads(serialized_data)
        if not snapshot_data:
            yield (f"No baseline for {current['case']} in {SNAPSHOTS_DIR / self.profile}. Create it with: "
                   f"pytest evals --profile {self.profile} --snapshot-update")
            return
        yield from compare(current, json.loads(snapshot_data)).lines(current["case"])
