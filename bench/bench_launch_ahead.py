"""Wall time of `pytest evals` (the tiny CPU matrix, every model generated anew) with its
servers launched together at the session's start (the default) and one at a time as each
model's cases begin (--no-launch-ahead), side by side in one run, alternating, and their ratio.

    python bench/bench_launch_ahead.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.evals_timing import pytest_evals_seconds  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    rounds = parser.parse_args().rounds
    together, one_at_a_time = [], []
    for i in range(rounds):
        together.append(pytest_evals_seconds())
        one_at_a_time.append(pytest_evals_seconds("--no-launch-ahead"))
        print(f"round {i + 1}: together {together[-1]:.1f} s, one at a time {one_at_a_time[-1]:.1f} s", flush=True)
    a, b = statistics.median(together), statistics.median(one_at_a_time)
    print(f"median wall time of `pytest evals`: together {a:.1f} s, one at a time {b:.1f} s; ratio {a / b:.2f}")


if __name__ == "__main__":
    main()
