"""The noise model the gate is planned and checked on.

Items differ: some a model always solves, some never, many in between. Each item has
its own solve rate, spread over 0..1 by a Beta distribution whose mean is the task's
accuracy (the beta-binomial model: a mixture of binomials fitted to that accuracy).
Its concentration c sets how much of a single sample's variance is within items,
c / (c + 1): the noise a rerun sees. Published per-item data to fit it is scarce. One
public pair of figures, DeepSeek-R1-Distill-Qwen-32B on AIME24 (pass@1 72.6, majority
vote of 64 samples 83.3), fits c = 3.3 if the vote needs a solve rate above 0.5, and
c = 0.9 if a plurality over scattered wrong answers wins from 0.3. The gate is planned
at c = 2 (two thirds within items); `bench/bench_gate.py` shows 1 and 4 beside it.

Every run, baseline or not, draws every sample afresh. A changed model moves every
item's rate by a logit shift: a common part (the drop) plus a per-item part
(`SPREAD`, drawn once per changed model), so some items get better while most get
worse, and sampled answers flip both ways.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special

CONCENTRATION = 2.0
SPREAD = 0.5  # logits: standard deviation of the per-item part of a change
_EDGE = 1e-6  # rates are kept inside (0, 1) so that their logits are finite
# Gauss-Hermite nodes: expectations over the per-item part of a change.
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(9)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def random_item_rates(rng: np.random.Generator, accuracy: float, n: int,
                      concentration: float = CONCENTRATION) -> np.ndarray:
    return np.clip(rng.beta(accuracy * concentration, (1 - accuracy) * concentration, n), _EDGE, 1 - _EDGE)


def shrunk_rates(correct: np.ndarray, k: np.ndarray, concentration: float = CONCENTRATION) -> np.ndarray:
    """Solve rates estimated from observed counts, shrunk towards their mean (the Beta
    posterior mean), so an item seen 1/1 is not taken as certain."""
    correct, k = np.asarray(correct, float), np.asarray(k, float)
    mean = float(np.clip(correct.sum() / k.sum(), 0.02, 0.98)) if k.sum() else 0.5
    return np.clip((correct + concentration * mean) / (k + concentration), _EDGE, 1 - _EDGE)


def item_rate_sets(accuracy: float, n: int, sets: int, concentration: float = CONCENTRATION, seed: int = 0) -> np.ndarray:
    """`sets` item sets of n solve rates drawn from the noise model (rows): what a test
    planned from a task's accuracy averages its power over."""
    return random_item_rates(np.random.default_rng(seed), accuracy, sets * n, concentration).reshape(sets, n)


def changed_moments(rates: np.ndarray, shift, spread: float = SPREAD) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per item after a change of `shift` logits (plus the per-item part): the expected
    rate, the expected p(1-p), and the variance of the rate over the per-item part."""
    logits = (special.logit(rates) - shift)[..., None] - spread * _NODES
    p = special.expit(logits)
    mean = p @ _WEIGHTS
    within = (p * (1 - p)) @ _WEIGHTS
    between = (p**2) @ _WEIGHTS - mean**2
    return mean, within, np.maximum(between, 0.0)


def shift_for_drop(rates: np.ndarray, drop: float, spread: float = SPREAD) -> float:
    """The common logit shift whose expected accuracy drop is `drop` (a share, e.g. 0.05)."""
    target = rates.mean() - drop
    if drop == 0 and spread == 0:
        return 0.0
    lowest = changed_moments(rates, 40.0, spread)[0].mean()
    if not lowest < target < rates.mean() + 1:
        raise ValueError(f"a drop of {drop:.3f} from a mean of {rates.mean():.3f} is not reachable")
    return float(optimize.brentq(lambda s: changed_moments(rates, s, spread)[0].mean() - target, -40.0, 40.0, xtol=1e-6))


def changed_rates(rng: np.random.Generator, rates: np.ndarray, shift: float, spread: float = SPREAD) -> np.ndarray:
    """One changed model's item rates: the common shift plus a fresh per-item part."""
    if shift == 0 and spread == 0:
        return rates
    return special.expit(special.logit(rates) - shift - spread * rng.standard_normal(len(rates)))


def draw(rng: np.random.Generator, rates: np.ndarray, k) -> np.ndarray:
    """Correct samples per item: k fresh samples at each item's rate."""
    return rng.binomial(np.broadcast_to(k, rates.shape), rates)
