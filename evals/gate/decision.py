"""The gate's decision rule: what a comparison of counts means for a test.

Against a baseline (a case, or a precision's pooled cases):
  regression      the one-sided drop test is significant at the test's share of the
                  run's alpha: fails;
  improvement     the same test the other way: fails, and asks for --snapshot-update;
  no regression beyond the margin
                  the one-sided upper confidence bound of the drop is below the margin;
  inconclusive    neither: this many samples cannot rule out a drop of the margin. It
                  passes unless --gate-strict, and says what would settle it.
Quantized against the reference precision of the same run (recovery): some loss is
expected of quantization, so the null is a drop of at most the margin; a run fails
("regression") only when its drop is significantly beyond the margin.

Each decision carries the drop it could detect (power 0.9, evals/gate/sensitivity.py),
so "no regression" and "inconclusive" are read with their size.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Literal

from scipy import stats as scipy_stats

from evals.gate import noise, sensitivity
from evals.gate.stats import Strata, drop_size, drop_test

# What a test decides from its counts.
Judgement = Literal["regression", "improvement", "no regression beyond the margin", "inconclusive"]
FAILING: frozenset[str] = frozenset({"regression", "improvement"})
# Everything a gate test can end as: a judgement, or why none was made.
Status = Literal[Judgement, "missing", "unreadable", "not comparable", "no comparable case"]
MISSING: Status = "missing"  # no baseline
UNREADABLE: Status = "unreadable"  # a baseline file that cannot be read
NOT_COMPARABLE: Status = "not comparable"  # a baseline made under another configuration
NO_COMPARABLE_CASE: Status = "no comparable case"  # a test over several cases, none of which can be compared
Kind = Literal["baseline", "recovery"]


@dataclass(frozen=True)
class Decision:
    kind: Kind
    verdict: Judgement
    strata: int
    reference: float  # mean solve rate per stratum
    current: float
    drop: float  # reference - current
    upper: float  # one-sided upper confidence bound of the drop
    p_value: float  # of the test that decides a regression
    p_rise: float | None  # of the test that decides an improvement (baseline only)
    test: str
    alpha: float
    margin: float
    confidence: float
    ref_k: int  # samples per item (the most, if they differ)
    cur_k: int
    worse: list[str] = field(default_factory=list)  # strata that lost, largest change first
    better: list[str] = field(default_factory=list)
    detectable: float | None = None  # drop detected with power 0.9 at these sizes
    settle: str | None = None  # inconclusive: what would settle it
    rise_alpha: float | None = None  # of the test that decides an improvement, where it differs from `alpha`

    def failed(self, strict: bool = False) -> bool:
        return self.verdict in FAILING or (strict and self.verdict == "inconclusive")

    def as_data(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        size = (f"{self.reference:.1%} -> {self.current:.1%} ({-self.drop * 100:+.1f} points over {self.strata} items; "
                f"upper {self.confidence:.0%} bound of the drop {_points(self.upper)}, margin {self.margin * 100:g})")
        rule = "beyond the margin, one-sided" if self.kind == "recovery" else "one-sided"
        gate = f"p={self.p_value:.3g} for a drop ({rule}, {self.test}), fails at p<{self.alpha:.2g}"
        if self.p_rise is not None:
            gate += f"; p={self.p_rise:.3g} for a rise" + (f", fails at p<{self.rise_alpha:.2g}" if self.rise_alpha else "")
        seen = f"detectable drop at k={self.cur_k} (baseline k={self.ref_k}): " + (
            f"{self.detectable * 100:.1f} points" if self.detectable is not None else "none within reach")
        if self.kind == "recovery":
            seen = f"detects drops beyond {self.detectable * 100:.1f} points" if self.detectable is not None else ""
        parts = [f"{self.verdict}: {size}", gate, seen, _moved(self.worse, self.better)]
        if self.settle:
            parts.append(self.settle)
        return "; ".join(p for p in parts if p)


def _points(share: float) -> str:
    return "unbounded" if not math.isfinite(share) else f"{share * 100:.1f} points"


def _moved(worse: list[str], better: list[str], most: int = 12) -> str:
    def listed(items: list[str]) -> str:
        return f" [{', '.join(items[:most])}{', ...' if len(items) > most else ''}]" if items else ""

    return f"worse on {len(worse)}{listed(worse)}; better on {len(better)}{listed(better)}"


def judge_change(strata: Strata, alpha: float, margin: float, confidence: float, sampled: bool = True,
                 explain: bool = True, rise_alpha: float | None = None) -> Decision:
    """A run against its baseline: regression, improvement, no regression beyond the
    margin, or inconclusive. `sampled`: whether more samples per item are possible
    (greedy decoding gives one answer per item, so only more items would settle it).
    `explain`: also name the items that moved, work out the detectable drop and what
    would settle an inconclusive test (the verdict does not depend on them; simulated
    runs skip them). `alpha` is the drop test's, `rise_alpha` the rise test's (default: the same)."""
    test = drop_test(strata)
    size = drop_size(strata)
    upper = size.upper(confidence)
    if test.p_drop < alpha:
        verdict: Judgement = "regression"
    elif test.p_rise < (alpha if rise_alpha is None else rise_alpha):
        verdict = "improvement"
    elif upper < margin:
        verdict = "no regression beyond the margin"
    else:
        verdict = "inconclusive"
    detectable = settle = None
    worse: list[str] = []
    better: list[str] = []
    if explain:
        design = _design(strata)
        detectable = sensitivity.detectable_drop(design, alpha) if len(strata) else None
        settle = _settle(design, detectable, margin, alpha, sampled) if verdict == "inconclusive" else None
        worse, better = strata.moved()
    return Decision(
        "baseline", verdict, len(strata), float(strata.ref_rates.mean()) if len(strata) else math.nan,
        float(strata.cur_rates.mean()) if len(strata) else math.nan, size.drop, upper, test.p_drop, test.p_rise,
        "exact stratified CMH", alpha, margin, confidence, _most(strata.ref_k), _most(strata.cur_k), worse, better,
        detectable, settle, rise_alpha,
    )


def judge_recovery(strata: Strata, alpha: float, margin: float, confidence: float, explain: bool = True) -> Decision:
    """A quantized run against the reference precision's run, on the same items."""
    size = drop_size(strata)
    p_beyond = size.p_beyond(margin)
    upper = size.upper(confidence)
    if p_beyond < alpha:
        verdict: Judgement = "regression"
    elif upper < margin:
        verdict = "no regression beyond the margin"
    else:
        verdict = "inconclusive"
    detectable = None
    if size.df >= 1 and math.isfinite(size.stderr):
        reach = scipy_stats.t.isf(alpha, size.df) + scipy_stats.t.ppf(sensitivity.POWER, size.df)
        detectable = margin + reach * size.stderr
    worse, better = strata.moved() if explain else ([], [])
    return Decision(
        "recovery", verdict, len(strata), float(strata.ref_rates.mean()) if len(strata) else math.nan,
        float(strata.cur_rates.mean()) if len(strata) else math.nan, size.drop, upper, p_beyond, None,
        "paired t on the drop", alpha, margin, confidence, _most(strata.ref_k), _most(strata.cur_k), worse, better,
        detectable,
    )


def _most(values) -> int:
    return int(max(values)) if len(values) else 0


def _design(strata: Strata) -> sensitivity.Design:
    return sensitivity.Design.of(noise.shrunk_rates(strata.ref_correct, strata.ref_k), strata.ref_k, strata.cur_k)


def _settle(design: sensitivity.Design, detectable: float | None, margin: float, alpha: float, sampled: bool) -> str:
    """What would settle an inconclusive test: a drop of the margin detected with power 0.9."""
    wanted = f"to detect a drop of {margin * 100:g} points with power {sensitivity.POWER:g}"
    if not sampled:
        if detectable is None:
            return f"greedy decoding gives one answer per item: far more items would be needed {wanted}"
        # The detectable drop shrinks as 1/sqrt(items): scale this test's items (a row of
        # `rates` is one item set; its length, not the number of rows, counts them).
        items = math.ceil(design.rates.shape[-1] * (detectable / margin) ** 2)
        return f"greedy decoding gives one answer per item: about {items:,} items would be needed {wanted}"
    k = sensitivity.run_k_for(design, margin, alpha)
    if k is not None:
        return f"runs of k={k} samples per item would be needed {wanted}"
    bigger = max(sensitivity.MAX_K, int(design.ref_k.max()))
    k = sensitivity.run_k_for(design.with_k(ref_k=bigger), margin, alpha)
    if k is not None:
        return f"a baseline of k={bigger} and runs of k={k} would be needed {wanted}"
    return f"more than {sensitivity.MAX_K} samples per item, or more items, would be needed {wanted}"
