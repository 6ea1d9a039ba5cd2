"""Statistics of the gate, as pure functions of counts.

A comparison is a set of strata: one per item (of one case, or of every case a pooled
test pools), each with the reference's correct samples out of its k and the current
run's out of its own k. The two k may differ (a baseline made with more samples per
item than a run). Everything here is decided by those integer counts.

  Drop test: the exact conditional test of a common odds ratio of 1 across strata
    (Cochran-Mantel-Haenszel, exact form). Given each stratum's total of correct
    samples, the reference's share of them is hypergeometric; the statistic is the
    reference's total, whose null distribution is the convolution of the strata's
    hypergeometrics. One-sided both ways: a large total is a drop, a small one a rise.
    With one sample per item on both sides this is the exact McNemar test.
  Size of the drop: the mean per-stratum difference of solve rates, with a one-sided
    upper bound (Student's t) from the larger of two standard errors: that of the
    strata's paired differences, and the binomial one of each stratum's samples at
    its solve rate over both sides (shrunk), so that a few items that did not move
    cannot prove a small drop impossible.
  Recovery: the ratio of two runs' mean accuracies on the same items, with a
    log-ratio (delta method) interval that uses their paired covariance.
  Aggregates only (the seed report's table): unpaired, two-sided Fisher's exact test
    (k = 1) or Welch's t-test with Welch-Satterthwaite degrees of freedom.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import fft, stats

from evals.gate.noise import shrunk_rates


@dataclass(frozen=True)
class Strata:
    """Per stratum: correct samples out of k, for the reference and the current run."""

    labels: tuple[str, ...]
    ref_correct: np.ndarray
    ref_k: np.ndarray
    cur_correct: np.ndarray
    cur_k: np.ndarray

    def __post_init__(self) -> None:
        sizes = {len(self.labels), *(len(a) for a in (self.ref_correct, self.ref_k, self.cur_correct, self.cur_k))}
        if len(sizes) != 1:
            raise ValueError(f"strata arrays of different lengths: {sorted(sizes)}")
        if np.any(self.ref_k < 1) or np.any(self.cur_k < 1):
            raise ValueError("every stratum needs at least one sample on each side")
        if np.any((self.ref_correct < 0) | (self.ref_correct > self.ref_k) | (self.cur_correct < 0) | (self.cur_correct > self.cur_k)):
            raise ValueError("correct counts must lie in 0..k")

    @classmethod
    def of(cls, labels, ref_correct, ref_k, cur_correct, cur_k) -> "Strata":
        as_int = lambda values: np.asarray(values, dtype=np.int64).reshape(-1)  # noqa: E731
        ref_k, cur_k = np.broadcast_to(ref_k, len(labels)), np.broadcast_to(cur_k, len(labels))
        return cls(tuple(labels), as_int(ref_correct), as_int(ref_k), as_int(cur_correct), as_int(cur_k))

    @classmethod
    def paired(cls, reference: Mapping[str, tuple[int, int]], current: Mapping[str, tuple[int, int]]) -> "Strata":
        """From {item: (correct, k)} of both sides, which must hold the same items."""
        differing = sorted(set(reference) ^ set(current))
        if differing:
            raise ValueError(f"a paired comparison needs the same items; differing: {differing[:10]}")
        items = sorted(reference)
        return cls.of(items, [reference[i][0] for i in items], [reference[i][1] for i in items],
                      [current[i][0] for i in items], [current[i][1] for i in items])

    @classmethod
    def concat(cls, parts: Mapping[str, "Strata"]) -> "Strata":
        """Several comparisons as one, labels prefixed with their part's name ("case/item")."""
        labels = tuple(f"{name}/{label}" for name, part in parts.items() for label in part.labels)
        join = lambda field: np.concatenate([getattr(p, field) for p in parts.values()]) if parts else np.zeros(0, np.int64)  # noqa: E731
        return cls(labels, join("ref_correct"), join("ref_k"), join("cur_correct"), join("cur_k"))

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def ref_rates(self) -> np.ndarray:
        return self.ref_correct / self.ref_k

    @property
    def cur_rates(self) -> np.ndarray:
        return self.cur_correct / self.cur_k

    def moved(self) -> tuple[list[str], list[str]]:
        """Labels of strata whose solve rate fell / rose, largest change first. Compared as
        counts (a*k_cur vs c*k_ref), never as float rates."""
        lhs, rhs = self.ref_correct * self.cur_k, self.cur_correct * self.ref_k
        change = self.ref_rates - self.cur_rates
        order = np.argsort(-np.abs(change), kind="stable")
        worse = [self.labels[i] for i in order if lhs[i] > rhs[i]]
        better = [self.labels[i] for i in order if lhs[i] < rhs[i]]
        return worse, better


@dataclass(frozen=True)
class DropTest:
    """One-sided exact p-values of the stratified test, both directions."""

    p_drop: float  # P(reference total >= observed): the current run is worse
    p_rise: float  # P(reference total <= observed): the current run is better
    informative: int  # strata with both outcomes present (the others carry no information)


def drop_test(strata: Strata) -> DropTest:
    """Exact conditional test of 'no change in any stratum' (CMH, exact form)."""
    a, K, k = strata.ref_correct, strata.ref_k, strata.cur_k
    m, _N = a + strata.cur_correct, K + k
    low, high = np.maximum(0, m - k), np.minimum(K, m)
    informative = high > low
    offset = int(low[~informative].sum())  # strata with one possible value add it
    observed = int(a.sum())
    if not informative.any():
        return DropTest(1.0, 1.0, 0)
    pmf, start = _hypergeometric_sum(K[informative], k[informative], m[informative])
    index = observed - offset - start
    tail_up = float(np.clip(pmf[max(index, 0):].sum(), 0.0, 1.0)) if index < len(pmf) else 0.0
    tail_down = float(np.clip(pmf[: index + 1].sum(), 0.0, 1.0)) if index >= 0 else 0.0
    return DropTest(tail_up, tail_down, int(informative.sum()))


def _hypergeometric_sum(K: np.ndarray, k: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, int]:
    """The distribution of the sum of independent hypergeometrics (reference's share of
    each stratum's m correct samples): (pmf, smallest value). Strata of one kind
    (K, k, m) share a pmf, so the convolution is a product of powers of spectra."""
    kinds = Counter(zip(K.tolist(), k.tolist(), m.tolist()))
    pieces = [(_hypergeometric(K_s, k_s, m_s), count) for (K_s, k_s, m_s), count in kinds.items()]
    start = sum(lo * count for (lo, _, _), count in pieces)
    size = sum((hi - lo) * count for (lo, hi, _), count in pieces) + 1
    if len(pieces) == 1 and pieces[0][1] == 1:
        return pieces[0][0][2], start
    if size <= 64:  # small: direct convolution, exact to rounding
        out = np.ones(1)
        for (_, _, pmf), count in pieces:
            for _ in range(count):
                out = np.convolve(out, pmf)
        return out, start
    n = fft.next_fast_len(size, real=True)
    rows = np.zeros((len(pieces), n))
    for row, ((_, _, pmf), _) in enumerate(pieces):
        rows[row, : len(pmf)] = pmf
    counts = np.array([count for _, count in pieces], dtype=float)[:, None]
    spectrum = np.prod(fft.rfft(rows, axis=1) ** counts, axis=0)
    return np.clip(fft.irfft(spectrum, n)[:size], 0.0, None), start


@functools.lru_cache(maxsize=4096)
def _hypergeometric(K: int, k: int, m: int) -> tuple[int, int, np.ndarray]:
    """The reference's share of a stratum's m correct samples: (smallest, largest, pmf)."""
    lo, hi = max(0, m - k), min(K, m)
    pmf = stats.hypergeom.pmf(np.arange(lo, hi + 1), K + k, m, K)
    return lo, hi, pmf / pmf.sum()


@functools.lru_cache(maxsize=1024)
def _t_quantile(confidence: float, df: int) -> float:
    return float(stats.t.ppf(confidence, df))


@dataclass(frozen=True)
class DropSize:
    """The mean per-stratum drop of solve rate (reference - current), with its standard
    error from the strata's paired differences."""

    drop: float
    stderr: float
    df: int

    def upper(self, confidence: float) -> float:
        """One-sided upper confidence bound of the drop."""
        if self.df < 1:
            return math.inf
        return self.drop + _t_quantile(confidence, self.df) * self.stderr

    def p_beyond(self, margin: float) -> float:
        """One-sided p-value of 'the drop is at most `margin`' (small: the drop exceeds it)."""
        if self.df < 1:
            return 1.0
        if self.stderr == 0:
            return 0.0 if self.drop > margin else 1.0
        return float(stats.t.sf((self.drop - margin) / self.stderr, self.df))


def drop_size(strata: Strata) -> DropSize:
    diffs = strata.ref_rates - strata.cur_rates
    n = len(diffs)
    if n < 2:
        return DropSize(float(diffs.mean()) if n else 0.0, math.inf, 0)
    paired = float(diffs.std(ddof=1) / math.sqrt(n))
    # Each item's variance at its rate over both sides' samples (shrunk): a run's few
    # samples of an item (one, at a first look) would say little of it on their own.
    both = shrunk_rates(strata.ref_correct + strata.cur_correct, strata.ref_k + strata.cur_k)
    binomial = math.sqrt(float(np.sum(both * (1 - both) * (1 / strata.ref_k + 1 / strata.cur_k)))) / n
    return DropSize(float(diffs.mean()), max(paired, binomial), n - 1)


@dataclass(frozen=True)
class Recovery:
    """Current accuracy over the reference's (e.g. FP8 / BF16 of one run), with an interval."""

    ratio: float
    low: float
    high: float
    note: str = ""


def recovery(strata: Strata, confidence: float = 0.95) -> Recovery:
    """Log-ratio interval by the delta method, with the paired covariance of the two
    means over items. No resampling, so nothing is dropped: a reference with no correct
    answer has no ratio (NaN, with a note); a current run with none gets ratio 0 and an
    upper bound as if it had half a correct sample."""
    q, r = strata.cur_rates, strata.ref_rates
    n = len(q)
    if n == 0 or r.mean() == 0:
        return Recovery(math.nan, math.nan, math.nan, "the reference solved nothing: recovery is undefined")
    q_mean, r_mean = q.mean(), r.mean()
    note = ""
    if q_mean == 0:
        q_mean, note = 0.5 / float(strata.cur_k.sum()), "no correct answer: the upper bound assumes half of one"
    if n < 2:
        return Recovery(float(q.mean() / r_mean), math.nan, math.nan, "one item: no interval")
    cov = np.cov(np.vstack([q, r]), ddof=1) / n
    var_log = cov[0, 0] / q_mean**2 + cov[1, 1] / r_mean**2 - 2 * cov[0, 1] / (q_mean * r_mean)
    half = stats.norm.ppf(0.5 + confidence / 2) * math.sqrt(max(var_log, 0.0))
    ratio = float(q.mean() / r_mean)
    centre = math.log(q_mean / r_mean)
    low = 0.0 if q.mean() == 0 else math.exp(centre - half)
    return Recovery(ratio, float(low), float(math.exp(centre + half)), note)


@dataclass(frozen=True)
class Unpaired:
    """Two aggregates compared (no per-item data on one side): two-sided."""

    reference: float
    current: float
    p_value: float
    test: str

    def describe(self) -> str:
        return (f"{self.reference:.1%} -> {self.current:.1%} ({(self.current - self.reference) * 100:+.1f} points); "
                f"p={self.p_value:.3g} by {self.test}")


def unpaired(reference_mean: float, reference_n: int, current_mean: float, current_n: int, k: int = 1,
             reference_stderr: float | None = None, current_stderr: float | None = None) -> Unpaired:
    """k = 1: Fisher's exact test on the correct counts. k > 1 (means of avg@k): Welch's t
    from mean, stderr and n, which both sides must give."""
    if k == 1:
        a, b = round(reference_mean * reference_n), round(current_mean * current_n)
        p = stats.fisher_exact([[a, reference_n - a], [b, current_n - b]]).pvalue
        return Unpaired(reference_mean, current_mean, float(p), "Fisher's exact (unpaired)")
    for name, value in (("reference stderr", reference_stderr), ("current stderr", current_stderr)):
        if value is None or not math.isfinite(value):
            raise ValueError(f"Welch's t-test needs the {name}, got {value!r}")
    v_ref, v_cur = reference_stderr**2, current_stderr**2
    if v_ref + v_cur == 0:
        p = 1.0 if reference_mean == current_mean else 0.0
    else:
        t = (current_mean - reference_mean) / math.sqrt(v_ref + v_cur)
        terms = [v**2 / (n - 1) for v, n in ((v_ref, reference_n), (v_cur, current_n)) if v > 0 and n > 1]
        df = (v_ref + v_cur) ** 2 / sum(terms) if terms else 1.0  # Welch-Satterthwaite
        p = 2 * stats.t.sf(abs(t), df=df)
    return Unpaired(reference_mean, current_mean, float(p), "Welch's t (unpaired)")
