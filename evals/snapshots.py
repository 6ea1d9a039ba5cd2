"""syrupy extensions: where the suite's snapshots live and how they are written."""

from __future__ import annotations

from pathlib import Path

from syrupy.extensions.json import JSONSnapshotExtension

SNAPSHOTS_DIR = Path(__file__).resolve().parents[1] / "snapshots"


class PlanSnapshot(JSONSnapshotExtension):
    """snapshots/plan/<profile>.json: the rendered GPU plan of a profile."""

    @classmethod
    def dirname(cls, *, test_location) -> str:
        return str(SNAPSHOTS_DIR / "plan")

    @classmethod
    def get_snapshot_name(cls, *, test_location, index=0) -> str:
        return str(index)
