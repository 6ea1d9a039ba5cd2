"""The gate's false alarms, power and cost on simulated runs of the whole full profile,
in the uniform and the planned design side by side (bench/planned_simulation.py, on the
noise model of evals/gate/noise.py: item rates spread over 0..1, independent draws for
baseline and run, changes that flip items both ways).

    python bench/bench_gate.py                 # 2,000 runs per false-alarm cell of the planned design
    python bench/bench_gate.py --runs 200 --compare-runs 100 --power-runs 100   # a quick look

Designs:
  uniform, equal shares   every item the case's repeats, one look, the alpha split of
                          before (case 0.25, pooled 0.45, recovery 0.1, pooled recovery 0.2;
                          a test's drop and rise halves);
  uniform                 the same samples, the config's alpha split (gate.alpha_shares,
                          gate.directions);
  planned                 samples per item from another precision's baseline, the config's
                          looks and alpha split, baselines at the planner's share
                          (python -m evals plan --estimate --json).

Columns: whole-run false alarms under no change (goal <= alpha = 0.01; with the 95%
Clopper-Pearson upper bound that many runs allow), the simulated GPU-hours of a run under
no change over the uniform design's, and power of the named pooled test of fp8 against a
drop of its margin (AIME thinking 5 points, MATH500 3) and against "easy items damaged"
(only the items solved >= 90% of the time lose, 5 points over the AIME thinking cases).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from bench.planned_simulation import Change, Simulation  # noqa: E402
from evals.config.matrix import load_matrix, pooled_cases  # noqa: E402
from evals.config.paths import snapshots_dir  # noqa: E402
from evals.gate import noise  # noqa: E402
from evals.gate.stats import Strata, drop_test  # noqa: E402
from evals.gate.policy import Policy  # noqa: E402
from evals.planning.designs import compare  # noqa: E402

PROFILE = "full"
BEFORE = {"alpha_shares": {"case": 0.25, "pooled": 0.45, "recovery": 0.1, "pooled_recovery": 0.2},
          "directions": {"drop": 0.5, "rise": 0.5}}
DESIGNS = ("uniform, equal shares", "uniform", "planned")
CHUNK = 50


def _simulation(design: str, concentration: float, only: frozenset[str] | None, shares: tuple) -> Simulation:
    matrix = load_matrix()
    gate = dataclasses.replace(matrix.gate, **BEFORE) if design == "uniform, equal shares" else matrix.gate
    policy = Policy(gate, matrix.test_counts(PROFILE))
    return Simulation(matrix, PROFILE, planned=design == "planned", concentration=concentration, policy=policy,
                      baseline_share=dict(shares), only=set(only) if only else None)


def _chunk(design, concentration, only, shares, change, watch, runs, seed):
    """(runs with a failed test, GPU-hours drawn, uniform GPU-hours) over `runs` simulated runs."""
    sim = _simulation(design, concentration, only, shares)
    rng = np.random.default_rng(seed)
    failed = hours = uniform = 0.0
    for _ in range(runs):
        outcome = sim.run(rng, change)
        failed += outcome.failed.get(watch, False) if watch else any(outcome.failed.values())
        hours += sum(outcome.hours.values())
        uniform += sum(outcome.uniform_hours.values())
    return failed, hours, uniform


def _cell(pool, runs, seed, design, concentration=noise.CONCENTRATION, only=None, shares=(), change=None, watch=None):
    chunks = [pool.submit(_chunk, design, concentration, only, shares, change, watch, min(CHUNK, runs - start),
                          seed * 100_003 + start) for start in range(0, runs, CHUNK)]
    return runs, chunks


def _result(cell) -> tuple[float, float, float]:
    runs, chunks = cell
    parts = [c.result() for c in chunks]
    failed, hours, uniform = (sum(p[i] for p in parts) for i in range(3))
    upper = stats.beta.ppf(0.975, failed + 1, runs - failed) if failed < runs else 1.0
    return failed / runs, upper, hours / uniform


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2000, help="simulated whole runs for the planned design's false alarms")
    parser.add_argument("--compare-runs", type=int, default=1000, help="... for the other designs and concentrations")
    parser.add_argument("--power-runs", type=int, default=1000, help="simulated runs per power cell")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    matrix = load_matrix()
    started = time.monotonic()
    planner = {p: compare(matrix, PROFILE, p, snapshots_dir()) for p in ("bf16", "fp8", "nvfp4")}
    shares = tuple((p, d["planned"].baseline_share) for p, d in planner.items())
    planned_ratio = sum(d["planned"].gpu_hours_per_run for d in planner.values()) / sum(
        d["uniform"].gpu_hours_per_run for d in planner.values())
    pools = {name: frozenset(c.id for c in cases)
             for (precision, name), cases in pooled_cases(matrix.pools, matrix.cases(PROFILE)).items() if precision == "fp8"}
    c = noise.CONCENTRATION
    with ProcessPoolExecutor(args.workers) as pool:
        alarms = {(design, c): _cell(pool, args.runs if design == "planned" else args.compare_runs, 1, design, c,
                                     shares=shares) for design in DESIGNS}
        for other in (1.0, 4.0):
            alarms[("planned", other)] = _cell(pool, args.compare_runs, 2, "planned", other, shares=shares)
        power = {}
        goals = (("aime_thinking", 0.05, False), ("math500", 0.03, False), ("aime_thinking", 0.05, True))
        for name, drop, easy in goals:
            watch = f"pooled fp8-{name}"
            for design in DESIGNS:
                change = Change(pools[name], drop, easy)
                power[(name, drop, easy, design)] = _cell(pool, args.power_runs, 3, design, c, frozenset({watch}), shares,
                                                          change, watch)
            if easy:  # the whole precision's pool sees it too
                change = Change(pools[name], drop, easy)
                for design in ("uniform", "planned"):
                    power[("all", drop, easy, design)] = _cell(pool, args.power_runs, 4, design, c,
                                                               frozenset({"pooled fp8-all"}), shares, change, "pooled fp8-all")
        print(f"Gate on simulated runs of profile {PROFILE!r} (run alpha {matrix.gate.alpha:g}, {matrix.gate.looks} looks "
              f"for the planned design, baselines at {dict(shares)} of the profile's ratio).\n")
        header = f"{'design':<24} {'c':>4} {'runs':>6} {'false alarms':>13} {'(95% up to)':>11} {'GPU-hours vs uniform':>21}"
        print(header)
        print("-" * len(header))
        for (design, conc), cell in alarms.items():
            rate, upper, ratio = _result(cell)
            print(f"{design:<24} {conc:>4g} {cell[0]:>6} {rate:>13.4f} {upper:>11.4f} {ratio:>21.3f}", flush=True)
        print(f"\nThe planner's expected GPU-hours per run under no change, planned over uniform: {planned_ratio:.3f} "
              "(python -m evals plan --profile full --estimate --json)\n")
        header = f"{'pooled test of fp8':<22} {'change':<28} {'design':<24} {'runs':>6} {'power':>7} {'GPU-hours vs uniform':>21}"
        print(header)
        print("-" * len(header))
        for (name, drop, easy, design), cell in power.items():
            rate, _, ratio = _result(cell)
            what = f"{drop * 100:g} points" + (", easy items only" if easy else "")
            print(f"{name:<22} {what:<28} {design:<24} {cell[0]:>6} {rate:>7.3f} {ratio:>21.3f}", flush=True)
        print("\nWhy a baseline is planned from another precision's baseline, not from its own samples as they come:")
        for line in own_outcomes_baseline(args.seed):
            print(line, flush=True)
    print(f"\n{time.monotonic() - started:.0f} s")


def own_outcomes_baseline(seed: int, runs: int = 3000) -> list[str]:
    """One pooled test at a coarse alpha (0.05) on 120 AIME-like items (rates from the noise
    model around 0.8), run k=10 against a baseline of 30 per item, under no change; beside
    it the same baseline stopping an item after 8 samples when they all agree (its rate
    "pinned" by its own outcomes). Selecting on the baseline's own outcomes biases it (an
    item stopped at 8 of 8 was lucky), and the exact test is no longer exact."""
    rng = np.random.default_rng(seed)
    n, full, run_k, first = 120, 30, 10, 8
    labels = [str(i) for i in range(n)]
    fixed = adaptive = 0
    for _ in range(runs):
        rates = noise.random_item_rates(rng, 0.8, n)
        draws = rng.random((n, full)) < rates[:, None]
        run = rng.binomial(run_k, rates)
        fixed += drop_test(Strata.of(labels, draws.sum(1), full, run, run_k)).p_drop < 0.05
        agree = draws[:, :first].all(1) | ~draws[:, :first].any(1)
        baseline = np.where(agree, draws[:, :first].sum(1), draws.sum(1))
        adaptive += drop_test(Strata.of(labels, baseline, np.where(agree, first, full), run, run_k)).p_drop < 0.05
    return [f"  false alarms at alpha 0.05 in {runs} runs: a baseline of {full} per item {fixed / runs:.4f}; "
            f"stopping an item at {first} when its samples agree {adaptive / runs:.4f}"]


if __name__ == "__main__":
    main()
