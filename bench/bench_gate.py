"""The gate's false alarms and power, on simulated runs of the whole full profile
(bench/gate_simulation.py, on the noise model of evals/gate/noise.py).

    python bench/bench_gate.py                 # 2,000 runs per false-alarm cell; ~15 minutes on 2 cores
    python bench/bench_gate.py --runs 300      # a quick look

One table. Each row is a task set (a pooled test, or one case) at a run k and a
baseline k; the rest of the profile keeps its defaults. Columns: how often a whole
run of the profile under no change fails any of its tests (suite-level false alarms,
goal <= alpha = 0.01; with the 95% upper bound that many runs allow), and how often the row's test calls a regression when its cases'
accuracy dropped by 3, 5 or 10 points (FP8's cases, one logit shift for all of them;
goal at the defaults: power >= 0.9 against the pool's margin, 5 points for AIME
thinking, 3 for MATH500). The noise
model's concentration (c) sets how much of the noise is within items; the gate is
planned at 2, and the last rows show the defaults at 1 and 4.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scipy import stats  # noqa: E402

from bench.gate_simulation import Suite, false_alarms, power  # noqa: E402
from evals.config.matrix import load_matrix  # noqa: E402
from evals.gate import noise  # noqa: E402

PROFILE, PRECISION = "full", "fp8"
DROPS = (0.03, 0.05, 0.10)


def rows(matrix) -> list[tuple[str, str, tuple[str, ...], tuple[int, int] | None, float]]:
    """(label, pool or case, tasks whose k the row sets, (run k, baseline k) or None for the defaults, c)."""
    c = noise.CONCENTRATION
    return [
        ("AIME thinking pool (defaults)", "pool aime_thinking", ("aime24", "aime25"), None, c),
        ("AIME thinking pool", "pool aime_thinking", ("aime24", "aime25"), (8, 8), c),
        ("AIME thinking pool", "pool aime_thinking", ("aime24", "aime25"), (15, 15), c),
        ("AIME24 think, one case (defaults)", "case aime24-think", ("aime24",), None, c),
        ("MATH500 pool (defaults)", "pool math500", ("math500",), None, c),
        ("MATH500 pool", "pool math500", ("math500",), (1, 1), c),
        ("MATH500 think, one case (defaults)", "case math500-think", ("math500",), None, c),
        ("all of a precision (defaults)", "pool all", (), None, c),
        ("AIME thinking pool (defaults)", "pool aime_thinking", ("aime24", "aime25"), None, 1.0),
        ("AIME thinking pool (defaults)", "pool aime_thinking", ("aime24", "aime25"), None, 4.0),
        ("MATH500 pool (defaults)", "pool math500", ("math500",), None, 1.0),
        ("MATH500 pool (defaults)", "pool math500", ("math500",), None, 4.0),
    ]


def _suite(ks: tuple[tuple[str, int, int], ...], c: float) -> Suite:
    return Suite(load_matrix(), PROFILE, {task: (run_k, base_k) for task, run_k, base_k in ks}, concentration=c)


def _false_alarms(ks, c, runs, seed):
    outcome = false_alarms(_suite(ks, c), runs, seed)
    return outcome.false_alarm_rate, outcome.fails


def _test_cases(suite: Suite, test: str):
    kind, name = test.split(" ", 1)
    if kind == "pool":
        return suite.pool_cases(PRECISION, name)
    return [case for case in suite.cases if case.id == f"{PRECISION}-{name}"]


def _power(ks, c, test, drop, runs, seed):
    suite = _suite(ks, c)
    return power(suite, _test_cases(suite, test), drop, runs, seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2000, help="simulated runs per false-alarm cell (default 2000)")
    parser.add_argument("--power-runs", type=int, default=1000, help="simulated runs per power cell (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    matrix = load_matrix()
    defaults = {case.task.name: (case.repeats, case.baseline_repeats) for case in matrix.cases(PROFILE)}
    started = time.monotonic()
    table = []
    with ProcessPoolExecutor(args.workers) as pool:
        alarms, _powers = {}, []
        for label, test, tasks, k, c in rows(matrix):
            ks = tuple(sorted((t, *(k or defaults[t])) for t in tasks))
            if (ks, c) not in alarms:
                alarms[(ks, c)] = pool.submit(_false_alarms, ks, c, args.runs, args.seed)
            cells = [pool.submit(_power, ks, c, test, drop, args.power_runs, args.seed + i + 1) for i, drop in enumerate(DROPS)]
            shown = k or (defaults[tasks[0]] if tasks else ("default", "default"))
            suite = _suite(ks, c)
            n = sum(suite.n[case.id] for case in _test_cases(suite, test))
            table.append((label, n, shown, c, alarms[(ks, c)], cells))
        print(f"Gate on simulated runs of profile {PROFILE!r} (alpha {matrix.gate.alpha:g}); drops applied to {PRECISION}'s cases.")
        print(f"False alarms: {args.runs} runs per cell; power: {args.power_runs} runs per cell.\n")
        header = f"{'task set':<36} {'n':>5} {'run k':>6} {'base k':>6} {'c':>4} {'false alarms':>13} {'(95% up to)':>11} " + " ".join(
            f"{f'power {d * 100:g}':>9}" for d in DROPS)
        print(header)
        print("-" * len(header))
        for label, n, (run_k, base_k), c, alarm, cells in table:
            rate, fails = alarm.result()
            # Clopper-Pearson: how high the true rate may be, given this many failed runs.
            upper = stats.beta.ppf(0.975, rate * args.runs + 1, args.runs - rate * args.runs)
            print(f"{label:<36} {n:>5} {run_k:>6} {base_k:>6} {c:>4g} {rate:>13.4f} {upper:>11.4f} "
                  + " ".join(f"{cell.result():>9.3f}" for cell in cells), flush=True)
    print(f"\n{time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
