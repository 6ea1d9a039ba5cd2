"""Looks: a run draws each item's samples in rounds and judges every test after each, so
that what is settled stops costing GPU-hours.

Round j of `count` brings every item to ceil(j/count) of its planned samples. After it,
each test still open is judged on what has been drawn:

  regression / improvement
      its exact p-value below the alpha this look may spend: an O'Brien-Fleming-type
      spending function (Lan-DeMets), alpha(t) = 2 - 2 Phi(z_{alpha/2} / sqrt(t)) at the
      share t = j/count of the plan, each look spending alpha(t_j) - alpha(t_{j-1}). By the
      union bound a test fails a run under no change with probability at most its alpha,
      however the looks' statistics are correlated; early looks spend almost nothing (at a
      third of the plan, 1e-10 of an alpha of 2e-4), so the last keeps about 97% of it.
  settled: no regression the test could see
      the upper bound of its drop, at `futility_confidence`, below what it must rule out:
      its margin, or the drop the whole plan would detect with power 0.9 if that is
      larger (a case of 30 items cannot rule out a 5-point drop at any k: it is settled
      once the plan could not have shown it a regression). Stopping here never makes a
      false alarm; it costs power when the true drop is at that size, which the stricter
      confidence of an interim look keeps small (`bench/bench_gate.py` measures it).

A case stops drawing when every test that reads its samples is settled or has failed;
the last look judges what is still open as a fixed design would.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


@functools.lru_cache(maxsize=4096)
def spent(alpha: float, share: float) -> float:
    """Alpha spent by the share `share` of the plan (O'Brien-Fleming-type, Lan-DeMets)."""
    if share >= 1:
        return alpha
    if share <= 0:
        return 0.0
    return float(2 * stats.norm.sf(stats.norm.isf(alpha / 2) / math.sqrt(share)))


@dataclass(frozen=True)
class Looks:
    count: int  # 1: a fixed design, judged once
    futility_confidence: float

    def samples(self, planned, look: int) -> np.ndarray:
        """Samples per item drawn by the end of round `look` (1-based)."""
        planned = np.asarray(planned, dtype=np.int64)
        return np.ceil(planned * look / self.count).astype(np.int64) if look < self.count else planned

    def alpha(self, alpha: float, look: int) -> float:
        """The alpha a test may spend at `look`."""
        return spent(alpha, look / self.count) - spent(alpha, (look - 1) / self.count)

    def final(self, look: int) -> bool:
        return look >= self.count


def settled_below(upper: float, bound: float) -> bool:
    """Whether a test's upper bound of its drop (at the looks' futility confidence) rules
    out what it must: the test is settled with no regression it could see."""
    return math.isfinite(upper) and upper < bound
