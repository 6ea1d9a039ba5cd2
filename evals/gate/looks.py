"""A run's gate tests judged at each look (evals/gate/sequential.py says why and how):
which tests read which cases' samples, what each must rule out to be settled early, and
its decision at a look. The run (evals/run/) and the simulations of `bench/` both judge
through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from evals.config.matrix import Case, Matrix, cross_precision_pairs, pooled_cases
from evals.gate import sensitivity
from evals.gate.decision import Decision, judge_change, judge_recovery
from evals.gate.policy import Policy
from evals.gate.sequential import Looks, settled_below
from evals.gate.stats import Strata, drop_size

# How a test left the run's looks: it failed, it was settled early, or the last look judged it.
Ended = Literal["failed", "settled", "last look"]


@dataclass(frozen=True)
class Watch:
    """A gate test as the looks see it."""

    id: str  # "case fp8-aime24-think", "pooled fp8-all", "recovery fp8-aime24-think", "pooled_recovery fp8-all"
    kind: str  # config.TEST_KINDS
    cases: tuple[str, ...]  # the cases it judges (one precision's)
    references: tuple[str, ...]  # recovery: the reference precision's case of each, in order; else ()
    margin: float
    sampled: bool

    @property
    def recovery(self) -> bool:
        return bool(self.references)

    @property
    def reads(self) -> tuple[str, ...]:
        """Every case whose run samples it reads."""
        return self.cases + self.references


def watches(matrix: Matrix, policy: Policy, cases: list[Case]) -> list[Watch]:
    """Every gate test over `cases`: each case and each pool against its baseline, each
    quantized case and pool against the reference precision's."""
    out = [Watch(f"case {c.id}", "case", (c.id,), (), policy.case_margin(c), c.sampled) for c in cases]
    pools = pooled_cases(matrix.pools, cases)
    for (precision, name), taken in pools.items():
        out.append(Watch(f"pooled {precision}-{name}", "pooled", tuple(c.id for c in taken), (),
                         policy.pool_margin(matrix.pools[name]), all(c.sampled for c in taken)))
    pairs = {q.id: r.id for r, q in cross_precision_pairs(cases)}
    for case in cases:
        if case.id in pairs:
            out.append(Watch(f"recovery {case.id}", "recovery", (case.id,), (pairs[case.id],), policy.case_margin(case),
                             case.sampled))
    for (precision, name), taken in pools.items():
        paired = [c for c in taken if c.id in pairs]
        if paired:
            out.append(Watch(f"pooled_recovery {precision}-{name}", "pooled_recovery", tuple(c.id for c in paired),
                             tuple(pairs[c.id] for c in paired), policy.pool_margin(matrix.pools[name]),
                             all(c.sampled for c in paired)))
    return out


def bound(watch: Watch, policy: Policy, rates: np.ndarray, first_k: np.ndarray, run_k: np.ndarray) -> np.ndarray:
    """What the test's upper bound must fall below to settle it before the last look: its
    margin, or the drop its whole plan detects with power 0.9 if larger (normal
    approximation: the one-sided test's and the power's quantiles times the standard
    error of the mean drop); a recovery test, whose null is a drop of its margin, the
    margin plus that. A run of --gate-strict keeps the margin: there an inconclusive test
    fails. `rates`: its items' solve rates as planned (item sets as rows: one bound per
    set); `first_k`: the baseline's samples per item (recovery: the reference's planned
    run samples); `run_k`: the run's planned samples."""
    rates = np.atleast_2d(rates)
    n = rates.shape[-1]
    if policy.strict:
        return np.full(rates.shape[0], watch.margin)
    if n < 2:
        return np.full(rates.shape[0], np.inf)
    reach = stats.t.isf(policy.alpha_for(watch.kind), n - 1) + stats.t.ppf(sensitivity.POWER, n - 1)
    detect = reach * drop_stderr(rates, first_k, run_k)
    return watch.margin + detect if watch.recovery else np.maximum(watch.margin, detect)


def drop_stderr(rates: np.ndarray, first_k, second_k) -> np.ndarray:
    """Per item set: the binomial standard error of the mean drop of solve rates over
    items drawn first_k and second_k times."""
    v = rates * (1 - rates)
    return np.sqrt(np.sum(v * (1 / np.asarray(first_k, float) + 1 / np.asarray(second_k, float)), axis=-1)) / rates.shape[-1]


def judge_at(watch: Watch, strata: Strata, policy: Policy, looks: Looks, look: int, settle_below: float,
             explain: bool | None = None) -> tuple[Decision, Ended | None]:
    """The test's decision on what look `look` has drawn, at the alpha that look may spend;
    how it ended, or None if it stays open."""
    last = looks.final(look)
    explain = last if explain is None else explain
    confidence = policy.settings.confidence
    alpha = looks.alpha(policy.alpha_for(watch.kind), look)
    if watch.recovery:
        decision = judge_recovery(strata, alpha, watch.margin, confidence, explain=explain)
    else:
        decision = judge_change(strata, alpha, watch.margin, confidence, watch.sampled, explain=explain,
                                rise_alpha=looks.alpha(policy.alpha_for(watch.kind, "rise"), look))
    if decision.failed():
        return decision, "failed"
    if last:
        return decision, "last look"
    if settled_below(drop_size(strata).upper(looks.futility_confidence), settle_below):
        return decision, "settled"
    return decision, None


def drawing_on(cases, tests: list[Watch], ended: dict[str, Ended], last: bool) -> set[str]:
    """The cases that draw on after a look: none after the last; else those read by no
    failed test and by some open test (a case no test reads draws its whole plan).
    `ended`: how each test that ended so far ended."""
    if last:
        return set()
    out = set()
    for case_id in cases:
        reading = [t for t in tests if case_id in t.cases]
        if any(ended.get(t.id) == "failed" for t in reading):
            continue
        if reading and all(t.id in ended for t in reading):
            continue
        out.add(case_id)
    return out
