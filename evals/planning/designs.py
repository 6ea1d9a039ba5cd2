"""A profile's runs in two designs, side by side, per precision:

  uniform  every item of a case drawn the case's `repeats` times (`baseline_repeats` in a
           baseline), judged once at the end;
  planned  samples per item where they inform (evals/planning/allocation.py), at the least
           scale at which every pool still detects a drop of its margin with the planned
           power, drawn in looks that stop what is settled (evals/gate/sequential.py).

A planned run's GPU-hours depend on when its tests settle. Under no change (the run an
upgrade that broke nothing makes), a test is settled at look j when its drop's upper bound
at the futility confidence is below what it must rule out: with the drop's estimate normal
around 0 and its standard error at look j, that has probability
Phi(bound / se_j - z). A case stops when every test reading it has settled; its chance of
that is taken as the product of its tests' (they are positively correlated, so the true
chance is higher and the expected cost lower than this). `bench/bench_gate.py` measures
the cost of simulated runs beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from evals.config.matrix import REFERENCE_PRECISION, Matrix
from evals.gate import noise, sensitivity
from evals.gate.looks import Watch, bound, drop_stderr, watches
from evals.gate.policy import Policy
from evals.gate.sequential import Looks
from evals.planning.allocation import Allocation, Goal, allocate
from evals.planning.power import Planned, planned_tests


# Shares of the profile's baseline-to-run ratio the planner tries for its baselines.
BASELINE_SHARES = (1.0, 0.8, 0.6, 0.5, 0.4, 0.3)


@dataclass(frozen=True)
class DesignCost:
    gpu_hours_per_run: float  # expected, for a run under no change
    gpu_hours_per_run_at_most: float  # every look drawn
    gpu_hours_per_baseline: float
    output_tokens_per_run: float  # expected
    detects: dict[str, float | None]  # per pool (by name): the drop (share) detected with power 0.9 by the whole plan
    baseline_share: float = 1.0  # of the profile's ratio of baseline to run samples, as planned

    def as_data(self) -> dict:
        return {"gpu_hours_per_run": round(self.gpu_hours_per_run, 2),
                "gpu_hours_per_run_at_most": round(self.gpu_hours_per_run_at_most, 2),
                "gpu_hours_per_baseline": round(self.gpu_hours_per_baseline, 2),
                "output_tokens_per_run": round(self.output_tokens_per_run),
                "baseline_share": self.baseline_share,
                "detects_with_power_0.9": {name: None if d is None else round(d, 4) for name, d in self.detects.items()}}


@dataclass(frozen=True)
class Items:
    """A precision's items, all its cases' in a row, as the planner sees them."""

    cases: list[str]
    span: dict[str, slice]  # case id -> its items
    rates: np.ndarray  # (item sets, items)
    tokens: np.ndarray
    hours: np.ndarray
    run_k: np.ndarray  # per item: the case's repeats
    baseline_k: np.ndarray

    @property
    def ratio(self) -> np.ndarray:
        """Per item: baseline over run samples of its case."""
        return self.baseline_k / self.run_k

    def mask(self, case_ids) -> np.ndarray:
        out = np.zeros(self.rates.shape[-1], bool)
        for case_id in case_ids:
            out[self.span[case_id]] = True
        return out


def items_of(tests: list[Planned]) -> Items:
    singles = [t for t in tests if t.kind == "case"]
    sets = max(t.rates.shape[0] for t in singles)
    spans, start = {}, 0
    for test in singles:
        spans[test.cases[0].id] = slice(start, start + test.rates.shape[1])
        start += test.rates.shape[1]
    stack = lambda field: np.concatenate([np.broadcast_to(getattr(t, field), (sets, t.rates.shape[1])) for t in singles],  # noqa: E731
                                         axis=1)
    run_k = np.concatenate([t.case_k("repeats") for t in singles])
    baseline_k = np.concatenate([t.case_k("baseline_repeats") for t in singles])
    return Items([t.cases[0].id for t in singles], spans, stack("rates"), stack("tokens"), stack("hours"),
                 run_k, baseline_k)


def as_seen(tests: list[Planned], items: Items, seed: int = 0) -> np.ndarray:
    """The item rates a run plans from: another precision's baseline of the items, shrunk.
    Rates planned from published accuracy are the truth of their item sets, which no run
    knows: each set is seen through a baseline drawn at its case's baseline_repeats (the
    planner's cost is then the run's, not that of a plan made from the truth)."""
    if all(t.source == "baseline" for t in tests if t.kind == "case"):
        return items.rates
    rng = np.random.default_rng(seed)
    k = np.broadcast_to(items.baseline_k, items.rates.shape)
    seen = np.empty_like(items.rates)
    for case_id, span in items.span.items():
        correct = noise.draw(rng, items.rates[:, span], k[:, span])
        seen[:, span] = [noise.shrunk_rates(row, k_row) for row, k_row in zip(correct, k[:, span])]
    return seen


def goals(tests: list[Watch], items: Items, policy: Policy, power: float) -> list[Goal]:
    """Every pool must detect a drop of its margin with `power`; a pool the uniform design
    cannot bring to its margin keeps what the uniform design detects."""
    out = []
    for test in tests:
        if test.kind != "pooled":
            continue
        mask = items.mask(test.cases)
        alpha = policy.alpha_for("pooled")
        design = sensitivity.Design.of(items.rates[:, mask], items.baseline_k[mask], items.run_k[mask])
        drop = test.margin
        if sensitivity.power(design, drop, alpha) < power:
            drop = sensitivity.detectable_drop(design, alpha, power) or drop
        out.append(Goal(test.id, mask, drop, alpha))
    return out


def expected_run_k(items: Items, plan: Allocation, tests: list[Watch], policy: Policy, looks: Looks) -> np.ndarray:
    """Per item, the samples a run under no change is expected to draw (item sets as rows).
    The reference precision's recovery tests are the quantized precisions' to wait for:
    the reference's cases draw on only for their own tests, as the run does. A recovery
    test's reference cases are taken as planned like the precision's own (the same items)."""
    reading = {case_id: [t for t in tests if case_id in t.cases] for case_id in items.cases}
    k_of = lambda ids, k: np.concatenate([k[:, items.span[i]] for i in ids], axis=1)  # noqa: E731
    bounds = {}
    for test in tests:
        rates = k_of(test.cases, items.rates)
        first = k_of(test.cases, plan.run_k if test.recovery else plan.baseline_k)
        bounds[test.id] = bound(test, policy, rates, first, k_of(test.cases, plan.run_k))
    settles: dict[tuple[str, int], np.ndarray] = {}  # (test, look) -> chance it settles there, per item set

    def settles_at(test: Watch, look: int) -> np.ndarray:
        if (test.id, look) not in settles:  # the same for every case the test reads
            rates = k_of(test.cases, items.rates)
            now = looks.samples(k_of(test.cases, plan.run_k), look)
            first = now if test.recovery else k_of(test.cases, plan.baseline_k)
            z = stats.t.ppf(looks.futility_confidence, max(1, rates.shape[-1] - 1))
            settles[test.id, look] = stats.norm.cdf(bounds[test.id] / drop_stderr(rates, first, now) - z)
        return settles[test.id, look]

    expected = looks.samples(plan.run_k, 1).astype(float)
    for case_id, span in items.span.items():
        going = np.ones(items.rates.shape[0])  # chance the case is still drawing, per item set
        for look in range(1, looks.count):
            settled = np.ones_like(going)
            for test in reading[case_id]:
                settled *= settles_at(test, look)
            going = going * (1 - settled)
            step = looks.samples(plan.run_k[:, span], look + 1) - looks.samples(plan.run_k[:, span], look)
            expected[:, span] += going[:, None] * step
    return expected


@dataclass(frozen=True)
class Chosen:
    plan: Allocation
    expected: np.ndarray  # per item, the run samples expected under no change
    share: float  # of the profile's ratio of baseline to run samples
    goals: list[Goal]


def choose(matrix: Matrix, profile: str, precision: str, items: Items, seen: np.ndarray) -> Chosen:
    """The planned design of a precision's items: samples per item from the rates `seen`,
    at the baseline share of least cost per run plus a share of a baseline."""
    planning = matrix.planning
    policy = Policy(matrix.gate, matrix.test_counts(profile))
    looks = Looks(matrix.gate.looks, matrix.gate.futility_confidence)
    cases = [c for c in matrix.cases(profile) if c.id in items.span or c.precision == REFERENCE_PRECISION]
    # this precision's tests (its recovery tests read the reference's cases, planned alike)
    watching = [t for t in watches(matrix, policy, cases) if t.cases[0] in items.span]
    pool_goals = goals(watching, items, policy, planning.target_power)
    floor = np.array([planning.allocation.floor(int(k)) for k in items.run_k])

    def at(k) -> float:
        return float(np.mean(np.sum(items.hours * k, axis=-1)))

    def planned_at(share: float) -> tuple[Allocation, np.ndarray]:
        plan, _ = allocate(seen, items.tokens, items.ratio * share, pool_goals, planning.target_power, floor,
                           planning.allocation.most, planning.allocation.surest)
        return plan, expected_run_k(items, plan, watching, policy, looks)

    # A smaller baseline needs more run samples for the same power: the least cost of a run
    # plus its share of a baseline (planning.runs_per_baseline), as `power --recommend` weighs
    # them, among the plans whose every look costs no more than a uniform run.
    plans = {share: planned_at(share) for share in BASELINE_SHARES}
    within = [s for s in plans if at(plans[s][0].run_k) <= at(items.run_k)] or [BASELINE_SHARES[0]]
    share = min(within, key=lambda s: at(plans[s][1]) + at(plans[s][0].baseline_k) / planning.runs_per_baseline)
    return Chosen(*plans[share], share, pool_goals)


def compare(matrix: Matrix, profile: str, precision: str, snapshots: Path, artifacts: Path | None = None) -> dict[str, DesignCost]:
    """{"uniform": ..., "planned": ...} for one precision of a profile."""
    tests = planned_tests(matrix, profile, precision, snapshots, artifacts)
    items = items_of(tests)
    chosen = choose(matrix, profile, precision, items, as_seen(tests, items))

    def at(k) -> float:
        return float(np.mean(np.sum(items.hours * k, axis=-1)))

    def tokens(k) -> float:
        return float(np.mean(np.sum(items.tokens * k, axis=-1)))

    def detects(run_k, baseline_k) -> dict[str, float | None]:
        return {goal.name.split("-", 1)[1]: sensitivity.detectable_drop(sensitivity.Design.of(
            items.rates[:, goal.items], np.broadcast_to(baseline_k, items.rates.shape)[:, goal.items],
            np.broadcast_to(run_k, items.rates.shape)[:, goal.items]), goal.alpha) for goal in chosen.goals}

    plan = chosen.plan
    uniform = DesignCost(at(items.run_k), at(items.run_k), at(items.baseline_k), tokens(items.run_k),
                         detects(items.run_k, items.baseline_k))
    planned = DesignCost(at(chosen.expected), at(plan.run_k), at(plan.baseline_k), tokens(chosen.expected),
                         detects(plan.run_k, plan.baseline_k), chosen.share)
    return {"uniform": uniform, "planned": planned}
