"""What a drop test can see: its power against a drop, the smallest drop it detects,
and the samples per item that would let it detect a given one.

The power of the stratified drop test (evals/gate/stats.py) is computed in closed form
from the normal approximation of its statistic under the noise model's change
(evals/gate/noise.py): each stratum's expected share of correct samples, its variance
including the per-item part of the change, and the expected null variance the test
divides by. `bench/bench_gate.py` checks it against simulated runs of the real test.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from evals.gate import noise

POWER = 0.9
MAX_K = 64


@dataclass(frozen=True)
class Design:
    """The strata of a test as planned: each item's reference rate, and the samples per
    item of the reference (baseline) and of the run. Rates may hold several item sets
    (rows): a test planned from a task's accuracy alone does not know its items, so its
    power is the mean over item sets drawn from the noise model, as simulated runs see."""

    rates: np.ndarray  # (item sets, items)
    ref_k: np.ndarray  # per item, or per item of each item set (a plan made from each set's rates)
    cur_k: np.ndarray

    @classmethod
    def of(cls, rates, ref_k, cur_k) -> "Design":
        rates = np.atleast_2d(np.asarray(rates, float))
        as_k = lambda k: np.broadcast_to(np.asarray(k, float), rates.shape if np.ndim(k) == 2 else rates.shape[-1:])  # noqa: E731
        return cls(rates, as_k(ref_k), as_k(cur_k))

    def with_k(self, ref_k=None, cur_k=None) -> "Design":
        return Design.of(self.rates, self.ref_k if ref_k is None else ref_k, self.cur_k if cur_k is None else cur_k)

    @property
    def mean(self) -> float:
        return float(self.rates.mean(axis=1).min())

    def shifts(self, drop: float) -> np.ndarray:
        """Per item set, the logit shift that drops its expected accuracy by `drop`."""
        grid, means = _shift_table(self.rates.tobytes(), self.rates.shape)
        targets = self.rates.mean(axis=1) - drop
        if np.any(targets <= means[:, -1]):
            raise ValueError(f"a drop of {drop:.3f} is not reachable from a mean of {self.mean:.3f}")
        # Expected accuracy falls as the shift grows: interpolate the table backwards.
        return np.array([np.interp(t, m[::-1], grid[::-1]) for t, m in zip(targets, means)])


_GRID = np.concatenate([np.linspace(-3, 3, 61), np.geomspace(3.2, 40, 40)])


@functools.lru_cache(maxsize=64)
def _shift_table(rates_bytes: bytes, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Per item set, the expected accuracy after each logit shift of a grid (the planner
    asks for many drops of one design; a table answers them all)."""
    rates = np.frombuffer(rates_bytes).reshape(shape)
    means = np.stack([noise.changed_moments(rates, shift)[0].mean(axis=-1) for shift in _GRID], axis=1)
    return _GRID, means


def power(design: Design, drop: float, alpha: float) -> float:
    """Probability that the one-sided drop test at `alpha` fails a run whose expected
    accuracy is `drop` below the reference's."""
    if drop <= 0:
        return alpha
    return power_at_shift(design, design.shifts(drop), alpha)


def power_at_shift(design: Design, shift: np.ndarray, alpha: float) -> float:
    """`power`, for a change already given as each item set's logit shift."""
    pb, K, k = design.rates, design.ref_k, design.cur_k
    shift = np.ascontiguousarray(np.asarray(shift, float).reshape(-1, 1))
    pr, within_r, between_r = _moments(pb.tobytes(), pb.shape, shift.tobytes(), shift.shape)
    N = K + k
    mean = np.sum(K * k * (pb - pr) / N, axis=-1)
    var_cur = k * within_r + k**2 * between_r  # of the run's correct count
    var = np.sum((k**2 * K * pb * (1 - pb) + K**2 * var_cur) / N**2, axis=-1)
    m_mean = K * pb + k * pr
    m_var = K * pb * (1 - pb) + var_cur
    null_var = np.sum(K * k * (N * m_mean - m_var - m_mean**2) / (N**2 * (N - 1)), axis=-1)
    z = stats.norm.isf(alpha)
    # 0.5: the exact test is discrete, its statistic an integer.
    return float(np.mean(stats.norm.sf((z * np.sqrt(null_var) + 0.5 - mean) / np.sqrt(var))))


@functools.lru_cache(maxsize=64)
def _moments(rates_bytes: bytes, shape: tuple[int, int], shift_bytes: bytes, shift_shape: tuple[int, int]):
    """noise.changed_moments, kept: a search over samples per item asks for the same
    rates and shift many times."""
    rates = np.frombuffer(rates_bytes).reshape(shape)
    return noise.changed_moments(rates, np.frombuffer(shift_bytes).reshape(shift_shape))


def detectable_drop(design: Design, alpha: float, target: float = POWER) -> float | None:
    """The smallest expected drop (a share) detected with probability `target`; None
    if no drop the accuracy leaves room for is."""
    most = design.mean * 0.98
    if most <= 0 or power(design, most, alpha) < target:
        return None
    return float(optimize.brentq(lambda d: power(design, d, alpha) - target, 1e-5, most, xtol=1e-5))


def fewest(reaches, low: int, high: int) -> int | None:
    """The smallest k in low..high for which `reaches(k)` holds, given that it keeps holding
    as k grows (power grows with samples); None if not even `high` does."""
    if not reaches(high):
        return None
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if reaches(middle) else (middle + 1, high)
    return low


def run_k_for(design: Design, drop: float, alpha: float, target: float = POWER, most: int = MAX_K) -> int | None:
    """The fewest samples per item in the run (the reference's fixed) at which a drop of
    `drop` is detected with probability `target`; None beyond `most`."""
    if drop >= design.mean:
        return None
    shift = design.shifts(drop)
    return fewest(lambda k: power_at_shift(design.with_k(cur_k=k), shift, alpha) >= target, 1, most)
