"""Simulated runs of a profile's whole gate, on the gate's noise model.

Every simulated run draws its items' solve rates from the noise model (evals/gate/noise.py:
a Beta around each task's published accuracy, for the mode's thinking style), then every
baseline and every run draws its samples afresh and independently (k per the profile, or
the overrides). Under "no change" all precisions share the item rates, so cross-precision
tests see identical models too. A change lowers one precision's rates on a pool's cases
by a logit shift with a per-item part, so items flip both ways. Every decision is the
gate's own (evals/gate/decision.py), at the profile's alpha split.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from evals.config.matrix import REFERENCE_PRECISION, Case, Matrix, pooled_cases
from evals.gate import noise
from evals.gate.decision import judge_change, judge_recovery
from evals.gate.policy import Policy
from evals.gate.stats import Strata
from evals.planning.power import items, prior_accuracy


@dataclass(frozen=True)
class Change:
    cases: frozenset[str]  # the case ids whose model changed
    drop: float  # expected accuracy drop over all their items, as a share


@dataclass
class Outcome:
    runs: int = 0
    failed_runs: int = 0  # runs in which any test failed
    fails: dict[str, int] = field(default_factory=dict)  # test id -> runs in which it failed

    @property
    def false_alarm_rate(self) -> float:
        return self.failed_runs / self.runs

    def rate(self, test_id: str) -> float:
        return self.fails.get(test_id, 0) / self.runs


class Suite:
    """A profile's cases and gate tests, ready to be simulated."""

    def __init__(self, matrix: Matrix, profile: str, ks: dict[str, tuple[int, int]] | None = None,
                 concentration: float = noise.CONCENTRATION):
        self.matrix, self.profile, self.concentration = matrix, profile, concentration
        self.policy = Policy(matrix.gate, matrix.test_counts(profile))
        self.cases = matrix.cases(profile)
        ks = ks or {}
        self.k = {c.id: ks.get(c.task.name, (c.repeats, c.baseline_repeats)) for c in self.cases}
        self.n = {c.id: items(c) for c in self.cases}
        self.labels = {c.id: [str(i) for i in range(self.n[c.id])] for c in self.cases}
        self.pools = pooled_cases(matrix.pools, self.cases)

    def draw(self, rng: np.random.Generator, change: Change | None, only: set[str] | None = None):
        """One simulated run: per case id, (baseline correct, run correct) counts. A change
        is one logit shift for all its cases (one changed model), sized so that their
        items' expected accuracy, together, drops by `change.drop`."""
        cases = [c for c in self.cases if only is None or c.id in only]
        rates_of: dict[tuple[str, str], np.ndarray] = {}
        for case in cases:  # the same items for every precision
            key = (case.task.name, case.mode.name)
            if key not in rates_of:
                rates_of[key] = noise.random_item_rates(rng, prior_accuracy(case), self.n[case.id], self.concentration)
        rates = {c.id: rates_of[(c.task.name, c.mode.name)] for c in cases}
        changed = [c.id for c in cases if change is not None and c.id in change.cases]
        shift = noise.shift_for_drop(np.concatenate([rates[i] for i in changed]), change.drop) if changed else 0.0
        counts = {}
        for case in cases:
            current = noise.changed_rates(rng, rates[case.id], shift) if case.id in changed else rates[case.id]
            run_k, base_k = self.k[case.id]
            counts[case.id] = (noise.draw(rng, rates[case.id], base_k), noise.draw(rng, current, run_k))
        return counts

    def strata(self, case: Case, counts) -> Strata:
        run_k, base_k = self.k[case.id]
        baseline, current = counts[case.id]
        return Strata.of(self.labels[case.id], baseline, base_k, current, run_k)

    def pooled_strata(self, cases: list[Case], counts) -> Strata:
        return Strata.concat({c.id: self.strata(c, counts) for c in cases})

    def recovery_strata(self, cases: list[Case], counts) -> Strata:
        parts = {}
        for case in cases:
            reference = f"{REFERENCE_PRECISION}-{case.task.name}-{case.mode.name}"
            k = self.k[case.id][0]
            parts[case.id] = Strata.of(self.labels[case.id], counts[reference][1], k, counts[case.id][1], k)
        return Strata.concat(parts)

    def pool_cases(self, precision: str, pool: str) -> list[Case]:
        return self.pools.get((precision, pool), [])

    def decisions(self, counts) -> dict[str, bool]:
        """Every gate test of the profile on one simulated run: test id -> failed."""
        policy, confidence = self.policy, self.policy.settings.confidence
        out = {}
        for case in self.cases:
            decision = judge_change(self.strata(case, counts), policy.alpha_for("case"), policy.case_margin(case),
                                    confidence, case.sampled, explain=False)
            out[f"case {case.id}"] = decision.failed()
        quantized = [c for c in self.cases if c.precision != REFERENCE_PRECISION]
        for case in quantized:
            decision = judge_recovery(self.recovery_strata([case], counts), policy.alpha_for("recovery"),
                                      policy.case_margin(case), confidence, explain=False)
            out[f"recovery {case.id}"] = decision.failed()
        for (precision, name), cases in self.pools.items():
            margin = policy.pool_margin(self.matrix.pools[name])
            out[f"pooled {precision}-{name}"] = self.pooled_decision(cases, counts, margin).failed()
            if precision != REFERENCE_PRECISION:
                decision = judge_recovery(self.recovery_strata(cases, counts), policy.alpha_for("pooled_recovery"),
                                          margin, confidence, explain=False)
                out[f"pooled recovery {precision}-{name}"] = decision.failed()
        return out

    def pooled_decision(self, cases: list[Case], counts, margin: float):
        return judge_change(self.pooled_strata(cases, counts), self.policy.alpha_for("pooled"), margin,
                            self.policy.settings.confidence, all(c.sampled for c in cases), explain=False)


def false_alarms(suite: Suite, runs: int, seed: int = 0) -> Outcome:
    """The whole gate under no change: how often any test fails a run."""
    rng = np.random.default_rng(seed)
    outcome = Outcome()
    for _ in range(runs):
        failed = [test for test, bad in suite.decisions(suite.draw(rng, None)).items() if bad]
        outcome.runs += 1
        outcome.failed_runs += bool(failed)
        for test in failed:
            outcome.fails[test] = outcome.fails.get(test, 0) + 1
    return outcome


def power(suite: Suite, cases: list[Case], drop: float, runs: int, seed: int = 0) -> float:
    """How often the test of these cases (one case, or a pool of one precision's) calls a
    regression when their accuracy dropped by `drop`."""
    rng = np.random.default_rng(seed)
    ids = frozenset(c.id for c in cases)
    policy = suite.policy
    hits = 0
    for _ in range(runs):
        counts = suite.draw(rng, Change(ids, drop), set(ids))
        if len(cases) == 1:
            decision = judge_change(suite.strata(cases[0], counts), policy.alpha_for("case"), policy.case_margin(cases[0]),
                                    policy.settings.confidence, cases[0].sampled, explain=False)
        else:  # a regression does not depend on the margin
            decision = suite.pooled_decision(cases, counts, policy.settings.margin)
        hits += decision.verdict == "regression"
    return hits / runs
