"""False-alarm rate and power of the gate, from simulated reruns (bench/gate_simulation.py).

    python bench/bench_gate.py            # 2,000 reruns per row; about a minute

Default gate: alpha 0.01 and a 3-point minimum effect. Goals (issue 4): with
realistic greedy noise, false alarms <= alpha; a true 5-point drop on n=500,
k=1 caught with power >= 0.9; the paired test beats an unpaired one on the same
data. The sensitivity rows show how power falls as more items flip between
identical runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.gate_simulation import simulate  # noqa: E402

ROWS = [
    # label, n, k, drop, fragile share
    ("MATH-500, k=1, no change", 500, 1, 0.0, 0.10),
    ("MATH-500, k=1, 5-point drop", 500, 1, 0.05, 0.10),
    ("MATH-500, k=1, 3-point drop", 500, 1, 0.03, 0.10),
    ("AIME, n=30, k=8, no change", 30, 8, 0.0, 0.10),
    ("AIME, n=30, k=8, 10-point drop", 30, 8, 0.10, 0.10),
    ("MATH-500, k=1, no change, 25% fragile", 500, 1, 0.0, 0.25),
    ("MATH-500, k=1, 5-point drop, 25% fragile", 500, 1, 0.05, 0.25),
    ("MATH-500, k=1, no change, all fragile", 500, 1, 0.0, 1.0),
    ("MATH-500, k=1, 5-point drop, all fragile", 500, 1, 0.05, 1.0),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reruns", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"{'scenario':<44} {'flips/way':>9} {'paired: fails':>13} {'unpaired: fails':>15}")
    for label, n, k, drop, fragile in ROWS:
        reruns = args.reruns if k == 1 else max(100, args.reruns // 10)  # permutation tests are slower
        o = simulate(n=n, k=k, reruns=reruns, drop=drop, fragile_share=fragile, seed=args.seed)
        kind = "false alarms" if drop == 0 else "power"
        print(f"{label:<44} {o.mean_flips_each_way:>9.1f} {o.paired_fail_rate:>13.4f} {o.unpaired_fail_rate:>15.4f}   ({kind}, {reruns} reruns)")


if __name__ == "__main__":
    main()
