"""Statistics of the gate: is a change of accuracy more than noise?

Runs are compared item by item (paired): greedy decoding flips some items
between identical runs (vLLM is not batch-invariant), in both directions, so
comparing two means cries wolf or misses real drops; counting which items
flipped, and which way, does neither. A change fails the gate only when it is
both significant (p < alpha) and at least a minimum effect.

  k = 1 (one sample per item): exact McNemar test (a two-sided binomial test
        on the discordant items).
  k > 1 (avg@k per item): paired sign-flip permutation test of the mean
        per-item difference (exact for few items, 20,000 resamples beyond).
  aggregates only (the seed report's table): unpaired, Fisher's exact test
        (k = 1) or Welch's t-test from mean, stderr and n.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

DEFAULT_ALPHA = 0.01
DEFAULT_MIN_EFFECT = 0.03  # 3 points of accuracy
_PERMUTATIONS = 20_000


@dataclass(frozen=True)
class Comparison:
    """A current run against a reference, item by item where possible."""

    n: int
    reference: float  # mean accuracy (avg@k)
    current: float
    p_value: float
    test: str
    worse: list[str] = field(default_factory=list)  # items that lost correct samples
    better: list[str] = field(default_factory=list)
    alpha: float = DEFAULT_ALPHA
    min_effect: float = DEFAULT_MIN_EFFECT

    @property
    def delta(self) -> float:
        return self.current - self.reference

    @property
    def significant(self) -> bool:
        return self.p_value < self.alpha

    @property
    def verdict(self) -> str:
        """'regression', 'improvement' (both fail the gate) or 'unchanged'."""
        if self.significant and self.delta <= -self.min_effect:
            return "regression"
        if self.significant and self.delta >= self.min_effect:
            return "improvement"
        return "unchanged"

    def outcome(self) -> dict:
        """The comparison as data (artifacts, report); the means are named by the caller."""
        return {"delta": self.delta, "p_value": self.p_value, "test": self.test, "verdict": self.verdict,
                "worse": self.worse, "better": self.better}

    def describe(self) -> str:
        size = f"{self.reference:.1%} -> {self.current:.1%} ({self.delta * 100:+.1f} points, n={self.n})"
        gate = f"p={self.p_value:.3g} by {self.test}; fails at p<{self.alpha:g} and |delta|>={self.min_effect * 100:g} points"
        flips = f"worse on {len(self.worse)} item(s){_list(self.worse)}; better on {len(self.better)}{_list(self.better)}"
        return f"{self.verdict}: {size}; {gate}; {flips}"


def _list(items: list[str], most: int = 12) -> str:
    if not items:
        return ""
    shown = ", ".join(items[:most])
    return f" [{shown}{', ...' if len(items) > most else ''}]"


def paired(
    reference: dict[str, float],
    current: dict[str, float],
    k: int,
    alpha: float = DEFAULT_ALPHA,
    min_effect: float = DEFAULT_MIN_EFFECT,
    seed: int = 0,
) -> Comparison:
    """Compare per-item scores (share of k samples correct) on the same items."""
    missing = sorted(set(reference) ^ set(current))
    if missing:
        raise ValueError(f"paired comparison needs the same items; differing: {missing[:10]}")
    items = sorted(reference)
    ref = np.array([reference[i] for i in items], dtype=float)
    cur = np.array([current[i] for i in items], dtype=float)
    worse = [i for i, r, c in zip(items, ref, cur) if c < r]
    better = [i for i, r, c in zip(items, ref, cur) if c > r]
    if k == 1:
        discordant = len(worse) + len(better)
        p = 1.0 if discordant == 0 else stats.binomtest(len(better), discordant, 0.5).pvalue
        test = "exact McNemar"
    else:
        p = _sign_flip_p(cur - ref, seed)
        test = "paired sign-flip permutation"
    return Comparison(len(items), float(ref.mean()), float(cur.mean()), float(p), test, worse, better, alpha, min_effect)


def _sign_flip_p(diffs: np.ndarray, seed: int) -> float:
    nonzero = diffs[diffs != 0]
    if len(nonzero) == 0:
        return 1.0
    observed = abs(nonzero.mean())
    if len(nonzero) <= 16:  # exact: every sign pattern
        signs = np.array(np.meshgrid(*[[-1, 1]] * len(nonzero))).reshape(len(nonzero), -1).T
    else:
        signs = np.random.default_rng(seed).choice([-1, 1], size=(_PERMUTATIONS, len(nonzero)))
    means = np.abs((signs * nonzero).mean(axis=1))
    # +1 in numerator and denominator for the resampled case keeps p > 0 and valid.
    if len(nonzero) <= 16:
        return float((means >= observed - 1e-12).mean())
    return float(((means >= observed - 1e-12).sum() + 1) / (len(means) + 1))


def unpaired(
    reference_mean: float,
    reference_n: int,
    current_mean: float,
    current_n: int,
    k: int = 1,
    reference_stderr: float | None = None,
    current_stderr: float | None = None,
    alpha: float = DEFAULT_ALPHA,
    min_effect: float = DEFAULT_MIN_EFFECT,
) -> Comparison:
    """Compare two aggregates (no per-item data on one side)."""
    if k == 1:
        a = round(reference_mean * reference_n)
        b = round(current_mean * current_n)
        p = stats.fisher_exact([[a, reference_n - a], [b, current_n - b]]).pvalue
        test = "Fisher's exact (unpaired)"
    else:
        se = math.hypot(reference_stderr or 0.0, current_stderr or 0.0)
        if se == 0:
            p = 1.0 if reference_mean == current_mean else 0.0
        else:
            t = (current_mean - reference_mean) / se
            p = 2 * stats.t.sf(abs(t), df=max(1, min(reference_n, current_n) - 1))
        test = "Welch's t (unpaired)"
    return Comparison(current_n, reference_mean, current_mean, float(p), test, alpha=alpha, min_effect=min_effect)


def recovery(quantized: dict[str, float], reference: dict[str, float], confidence: float = 0.95, seed: int = 0,
             resamples: int = 5_000) -> tuple[float, float, float]:
    """Accuracy of a quantized model over the reference's (FP8 / BF16), with a
    paired bootstrap confidence interval over items."""
    items = sorted(reference)
    q = np.array([quantized[i] for i in items])
    r = np.array([reference[i] for i in items])
    point = q.mean() / r.mean() if r.mean() > 0 else math.nan
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(items), size=(resamples, len(items)))
    rq, rr = q[picks].mean(axis=1), r[picks].mean(axis=1)
    ratios = np.divide(rq, rr, out=np.full_like(rq, np.nan), where=rr > 0)
    ratios = ratios[~np.isnan(ratios)]
    if len(ratios) == 0:
        return float(point), math.nan, math.nan
    lo, hi = np.quantile(ratios, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(point), float(lo), float(hi)
