"""Where the suite's files are: the project, the matrix config, the task YAMLs and the
committed snapshots (baselines, the plan, the seed reference)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EVALS_DIR = PROJECT_ROOT / "evals"
MATRIX_FILE = EVALS_DIR / "config" / "matrix.yaml"
TASKS_DIR = EVALS_DIR / "tasks"


def snapshots_dir() -> Path:
    """The committed snapshots; SUITE_SNAPSHOTS_DIR points a run at other baselines (the
    suite's own tests use a copy)."""
    return Path(os.environ.get("SUITE_SNAPSHOTS_DIR", PROJECT_ROOT / "snapshots"))
