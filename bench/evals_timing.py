"""Wall time of one `pytest evals` run in a fresh artifacts folder, for side-by-side benchmarks."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pytest_evals_seconds(*extra: str) -> float:
    """Seconds of `pytest evals EXTRA...`; exits with its output if it fails."""
    with tempfile.TemporaryDirectory() as artifacts:
        began = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pytest", "evals", "-q", "-p", "no:cacheprovider",
                               "--artifacts", artifacts, *extra], cwd=ROOT, capture_output=True, text=True)
        took = time.perf_counter() - began
    if done.returncode != 0:
        sys.exit(f"pytest evals {' '.join(extra)} failed ({done.returncode}):\n{done.stdout[-3000:]}")
    return took
