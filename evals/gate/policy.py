"""How a run judges: the run's alpha split over its profile's tests, the margins, the
confidence of the bound that clears a test, and whether an inconclusive test fails.

The split is over every gate test the profile defines (config.TEST_KINDS, counted by
`Matrix.test_counts`), not over what a command selects, so a case is judged the same
in a narrowed run as in a whole one, and a whole run under no change fails any test
with probability at most alpha (a weighted Bonferroni: the tests overlap, so it is less;
`bench/bench_gate.py` measures it). The weights put alpha where the question is: most
on the pooled tests, and on a test's drop rather than its rise (config `gate`).
"""

from __future__ import annotations

from dataclasses import dataclass

from evals.artifacts.types import GateTerms
from evals.config.matrix import TEST_KINDS, Case, GateSettings, Pool


@dataclass(frozen=True)
class Policy:
    settings: GateSettings
    tests: dict[str, int]  # gate tests of each kind in the profile
    strict: bool = False
    margin_override: float | None = None  # --gate-margin: one margin for every test

    def alpha_for(self, kind: str, direction: str = "drop") -> float:
        """One one-sided test's share of the run's alpha: its kind's share, split equally
        among the profile's tests of the kind, then over the directions it is judged in."""
        tests = max(1, self.tests.get(kind, 0))
        both_ways = TEST_KINDS[kind] == 2
        return self.settings.alpha * self.settings.alpha_shares[kind] / tests * (
            self.settings.directions[direction] if both_ways else 1.0)

    def case_margin(self, case: Case) -> float:
        return self.margin_override if self.margin_override is not None else case.margin(self.settings.margin)

    def pool_margin(self, pool: Pool) -> float:
        if self.margin_override is not None:
            return self.margin_override
        return pool.margin if pool.margin is not None else self.settings.margin

    def terms(self, kind: str, margin: float, sampled: bool) -> GateTerms:
        """How one test of this kind is judged, as its record keeps it."""
        return GateTerms(self.alpha_for(kind), self.settings.alpha, margin, self.settings.confidence, self.strict, sampled,
                         self.alpha_for(kind, "rise") if TEST_KINDS[kind] == 2 else None)
