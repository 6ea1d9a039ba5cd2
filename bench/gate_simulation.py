"""Simulated reruns for the gate: how often it cries wolf, how often it catches a drop.

The noise model is greedy decoding's: each item has a success probability p_i
(MATH-500-like difficulty, mean accuracy ~0.8). A stable item gives the same
outcome in every run (its draw u_i is fixed); a fragile item (a share of items,
10% by default: the ones whose long outputs diverge when the batch changes)
redraws its outcome each run. Items therefore flip both ways between identical
runs, at a few percent each way. A true drop of d points lowers every p_i in
proportion; stable items keep u_i, so the pairing between runs is real.
With k > 1 samples per item (sampling, T > 0) every sample is a fresh draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evals.stats import DEFAULT_ALPHA, DEFAULT_MIN_EFFECT, paired, unpaired


@dataclass(frozen=True)
class Outcome:
    reruns: int
    paired_fail_rate: float  # verdict != unchanged
    unpaired_fail_rate: float
    paired_regression_rate: float
    unpaired_regression_rate: float
    mean_flips_each_way: float


def _scores(rng, p, u, fragile, k):
    if k == 1:
        draws = np.where(fragile, rng.random(len(p)), u)
        return (draws < p).astype(float)
    return (rng.random((len(p), k)) < p[:, None]).mean(axis=1)


def simulate(
    n: int = 500,
    k: int = 1,
    reruns: int = 2000,
    drop: float = 0.0,
    fragile_share: float = 0.10,
    mean_accuracy: float = 0.8,
    alpha: float = DEFAULT_ALPHA,
    min_effect: float = DEFAULT_MIN_EFFECT,
    seed: int = 0,
) -> Outcome:
    rng = np.random.default_rng(seed)
    concentration = 2.0
    p = rng.beta(mean_accuracy * concentration, (1 - mean_accuracy) * concentration, n)
    u = rng.random(n)
    fragile = rng.random(n) < fragile_share
    items = [f"item{i}" for i in range(n)]
    baseline = _scores(rng, p, u, fragile, k)
    reference = dict(zip(items, baseline))
    degraded = p * (1 - drop / p.mean()) if drop else p
    fails = unpaired_fails = regressions = unpaired_regressions = flips = 0
    for run in range(reruns):
        current = dict(zip(items, _scores(rng, degraded, u, fragile, k)))
        result = paired(reference, current, k, alpha, min_effect, seed=run)
        other = unpaired(result.reference, n, result.current, n, k,
                         reference_stderr=_stderr(baseline), current_stderr=_stderr(np.array(list(current.values()))),
                         alpha=alpha, min_effect=min_effect)
        fails += result.verdict != "unchanged"
        unpaired_fails += other.verdict != "unchanged"
        regressions += result.verdict == "regression"
        unpaired_regressions += other.verdict == "regression"
        flips += (len(result.worse) + len(result.better)) / 2
    return Outcome(reruns, fails / reruns, unpaired_fails / reruns, regressions / reruns, unpaired_regressions / reruns, flips / reruns)


def _stderr(scores: np.ndarray) -> float:
    return float(scores.std(ddof=1) / np.sqrt(len(scores)))
