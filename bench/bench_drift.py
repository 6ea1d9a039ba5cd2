"""The drift tests' cost and their statistics.

    python bench/bench_drift.py --parts cost,simulation [--rounds 2]

cost        wall time of `pytest evals` (the tiny CPU matrix) with its drift tests and
            without them (-k "not test_drift"), side by side, alternating; the ratio.
simulation  the drift test (evals/drift/gate.py) on simulated runs: responses of varied
            length, each with its own mean KLD (lognormal: some drift far more than
            others), tokens exponential around it; independent draws for baseline and
            run. False alarms when nothing changed, and power when the run's mean KLD is
            a multiple of the baseline's, at margin 0 and at the tiny profile's margin.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.evals_timing import pytest_evals_seconds  # noqa: E402
from evals.drift import gate  # noqa: E402


def cost(rounds: int) -> None:
    with_drift, without = [], []
    for i in range(rounds):
        with_drift.append(pytest_evals_seconds())
        without.append(pytest_evals_seconds("-k", "not test_drift"))
        print(f"round {i + 1}: with drift {with_drift[-1]:.1f} s, without {without[-1]:.1f} s", flush=True)
    a, b = statistics.median(with_drift), statistics.median(without)
    print(f"median wall time of `pytest evals`: with drift {a:.1f} s, without {b:.1f} s; ratio {a / b:.3f} (goal <= 1.25)")


def simulated(rng: np.random.Generator, responses: int, mean_kld: float) -> dict:
    """Responses of 20-200 tokens; each response's own mean KLD lognormal around the run's
    (some responses drift far more than others), its tokens exponential around that."""
    tokens = rng.integers(20, 200, size=responses)
    own = mean_kld * rng.lognormal(-0.5, 1.0, size=responses)  # mean 1: the run's mean KLD
    sums = rng.gamma(tokens, own)  # the sum of `tokens` exponential draws of mean `own`
    return {"fingerprint": {}, "sequences": {f"r/{i}": [float(s), int(n)] for i, (s, n) in enumerate(zip(sums, tokens))}}


def simulation(runs: int, responses: int) -> None:
    from evals.config import load_matrix

    settings = load_matrix().drift("tiny")
    rng = np.random.default_rng(0)
    print(f"{runs} simulated runs each, {responses} responses, baseline mean KLD 1e-3, confidence {settings.confidence}:")
    for margin in (0.0, settings.margin):
        for growth in (1.0, 1.5, 2.0, 3.0):
            fails = 0
            for _ in range(runs):
                baseline, run = simulated(rng, responses, 1e-3), simulated(rng, responses, growth * 1e-3)
                run["settings"] = {"margin": margin, "floor": 0.0, "confidence": settings.confidence}
                fails += not gate.compare(run, baseline, seed=int(rng.integers(1 << 30))).passed
            what = "false alarms" if growth == 1.0 else "detected"
            print(f"  margin {margin:<4g} run mean KLD x{growth:<4g}: {what} {fails}/{runs} = {fails / runs:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default="simulation,cost")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--responses", type=int, default=200)
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if "simulation" in parts:
        simulation(args.runs, args.responses)
    if "cost" in parts:
        cost(args.rounds)


if __name__ == "__main__":
    main()
