"""Wall time of `pytest evals` (the tiny CPU matrix, every model generated anew) with its
servers launched together at the session's start (the default) and one at a time as each
model's cases begin (--no-launch-ahead), side by side in one run, alternating, and their ratio.

    python bench/bench_launch_ahead.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_seconds(*extra: str) -> float:
    with tempfile.TemporaryDirectory() as artifacts:
        began = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pytest", "evals", "-q", "-p", "no:cacheprovider",
                               "--artifacts", artifacts, *extra], cwd=ROOT, capture_output=True, text=True)
        took = time.perf_counter() - began
    if done.returncode != 0:
        sys.exit(f"pytest evals {' '.join(extra)} failed ({done.returncode}):\n{done.stdout[-3000:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    rounds = parser.parse_args().rounds
    together, one_at_a_time = [], []
    for i in range(rounds):
        together.append(run_seconds())
        one_at_a_time.append(run_seconds("--no-launch-ahead"))
        print(f"round {i + 1}: together {together[-1]:.1f} s, one at a time {one_at_a_time[-1]:.1f} s", flush=True)
    a, b = statistics.median(together), statistics.median(one_at_a_time)
    print(f"median wall time of `pytest evals`: together {a:.1f} s, one at a time {b:.1f} s; ratio {a / b:.2f}")


if __name__ == "__main__":
    main()
