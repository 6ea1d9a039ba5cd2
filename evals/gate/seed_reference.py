"""The seed report's table as the `seed` profile's reference: aggregates only,
so a run is compared with it unpaired (Fisher's exact test per metric)."""

from __future__ import annotations

import json
from pathlib import Path

from evals.artifacts.types import Record
from evals.gate import stats
from evals.config.paths import snapshots_dir


def reference_file() -> Path:
    return snapshots_dir() / "seed" / "reference.json"


def load_reference(path: Path | None = None) -> dict[str, dict]:
    return json.loads((path or reference_file()).read_text(encoding="utf-8"))["cases"]


def compare_to_reference(record: Record, reference: dict[str, dict]) -> dict[str, stats.Unpaired]:
    """Per metric the reference reports: the run's mean against the report's, unpaired."""
    out = {}
    for metric, ref in reference.items():
        if metric not in record.metrics:
            raise KeyError(f"{record.case}: the run has no metric {metric!r} to compare with the seed report")
        current = record.metrics[metric]
        out[metric] = stats.unpaired(ref["mean"], ref["n"], current["mean"], record.n, k=record.k,
                                     reference_stderr=ref.get("stderr"), current_stderr=current.get("stderr"))
    return out
