"""Simulated runs of a profile's whole gate in either design, on the gate's noise model
(evals/gate/noise.py), judged by the gate's own code at every look (evals/gate/looks.py).

  uniform  every item the case's repeats (a baseline its baseline_repeats), one look;
  planned  samples per item from another precision's baseline (evals/planning/allocation.py),
           drawn in the config's looks; a case stops when every test reading it has ended.

A simulated run: every task and mode gets its items' solve rates from the noise model
(the same for every precision: no change); the plan is made from an independent baseline
of the other precision (drawn at the profile's baseline_repeats, shrunk as the planner
shrinks it), as the run makes it; every precision's baseline and run then draw their
samples afresh and independently. A change lowers fp8's rates on some cases by a logit
shift with a per-item part (items flip both ways), on all their items or only on the
items the model solves at least 90% of the time ("easy items damaged").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import special

from evals.config.matrix import Matrix, load_matrix
from evals.gate import noise
from evals.gate.looks import Watch, bound, drawing_on, judge_at, watches
from evals.gate.policy import Policy
from evals.gate.sequential import Looks
from evals.gate.stats import Strata
from evals.planning.allocation import Goal, allocate
from evals.planning.power import item_lengths, items, prior_accuracy
from evals.planning.throughput import Rates

EASY = 0.9  # "easy items damaged": items solved at least this often


@dataclass(frozen=True)
class Change:
    cases: frozenset[str]
    drop: float  # expected accuracy drop over the changed items of these cases, as a share
    easy_only: bool = False


@dataclass
class RunOutcome:
    failed: dict[str, bool]  # test id -> failed
    ended: dict[str, tuple[str, int]]  # test id -> (how, look)
    hours: dict[str, float] = field(default_factory=dict)  # precision -> GPU-hours drawn (items' expected lengths)
    uniform_hours: dict[str, float] = field(default_factory=dict)  # what the uniform design draws


class Simulation:
    def __init__(self, matrix: Matrix, profile: str, planned: bool, concentration: float = noise.CONCENTRATION,
                 policy: Policy | None = None, baseline_share: dict[str, float] | None = None,
                 only: set[str] | None = None):
        """`only`: the ids of the tests to simulate (their cases alone are drawn); all by default."""
        self.matrix, self.profile, self.planned, self.concentration = matrix, profile, planned, concentration
        self.policy = policy or Policy(matrix.gate, matrix.test_counts(profile))
        self.looks = Looks(matrix.gate.looks if planned else 1, matrix.gate.futility_confidence)
        every = matrix.cases(profile)
        self.all_cases, self.all_tests = every, watches(matrix, self.policy, every)  # what a plan is made for
        self.tests = [t for t in self.all_tests if only is None or t.id in only]
        read = {case_id for t in self.tests for case_id in t.reads}
        self.cases = [c for c in every if c.id in read]
        self.n = {c.id: items(c) for c in every}
        self.by_id = {c.id: c for c in every}
        self.precisions = list(dict.fromkeys(c.precision for c in self.cases))
        planning = matrix.planning
        self.floor = {c.id: planning.allocation.floor(c.repeats) for c in every}
        self.mean_tokens = {c.id: float(planning.tokens(c)) for c in every}
        rates = Rates(planning, None)  # GPU-hours per output token of each case, by the cost model
        self.hours_per_token = {c.id: rates.of(c, self.mean_tokens[c.id]).gpu_hours(1.0, planning.gpus) for c in every}
        # the planner's choice of baseline size per precision (evals/planning/designs.py)
        self.baseline_share = {p: 1.0 for p in self.precisions} | (baseline_share or {})

    def _rates(self, rng) -> dict[str, np.ndarray]:
        by_key: dict[tuple[str, str], np.ndarray] = {}
        out = {}
        for case in self.all_cases:
            key = (case.task.name, case.mode.name)
            if key not in by_key:
                by_key[key] = noise.random_item_rates(rng, prior_accuracy(case), self.n[case.id], self.concentration)
            out[case.id] = by_key[key]
        return out

    def _plan(self, rng, rates: dict[str, np.ndarray], precision: str) -> tuple[dict, dict]:
        """Per case of `precision`: (run k, baseline k) per item, planned for all its tests;
        and the item rates the plan saw (uniform: the truth, which it does not read)."""
        mine = [c for c in self.all_cases if c.precision == precision]
        if not self.planned:
            return ({c.id: (np.full(self.n[c.id], c.repeats), np.full(self.n[c.id], c.baseline_repeats)) for c in mine},
                    {c.id: rates[c.id] for c in mine})
        estimated, tokens, ratio, floor, spans, start = [], [], [], [], {}, 0
        for case in mine:  # the other precision's baseline, as the planner reads it
            seen = noise.draw(rng, rates[case.id], case.baseline_repeats)
            shrunk = noise.shrunk_rates(seen, np.full(self.n[case.id], case.baseline_repeats))
            estimated.append(shrunk)
            tokens.append(item_lengths(shrunk[None, :], self.mean_tokens[case.id], self.matrix.planning.unsolved_length)[0])
            ratio.append(np.full(self.n[case.id], case.baseline_repeats / case.repeats * self.baseline_share[precision]))
            floor.append(np.full(self.n[case.id], self.floor[case.id]))
            spans[case.id] = slice(start, start + self.n[case.id])
            start += self.n[case.id]
        est = np.concatenate(estimated)[None, :]
        goals = []
        for test in self.all_tests:
            if test.kind == "pooled" and test.cases[0] in spans:
                mask = np.zeros(start, bool)
                for case_id in test.cases:
                    mask[spans[case_id]] = True
                goals.append(Goal(test.id, mask, test.margin, self.policy.alpha_for("pooled")))
        plan, _ = allocate(est, np.concatenate(tokens)[None, :], np.concatenate(ratio), goals,
                           self.matrix.planning.target_power, np.concatenate(floor), self.matrix.planning.allocation.most,
                           self.matrix.planning.allocation.surest)
        return ({case_id: (plan.run_k[0, span], plan.baseline_k[0, span]) for case_id, span in spans.items()},
                {case_id: est[0, span] for case_id, span in spans.items()})

    def counts(self, rng, change: Change | None = None):
        """One simulated run's start: the true rates, the rates after the change, each case's
        planned (run k, baseline k) per item, the rates each plan saw, and the baselines' counts."""
        rates = self._rates(rng)
        plans = {p: self._plan(rng, rates, p) for p in self.precisions}
        current = dict(rates)
        if change is not None:
            current.update(self._changed(rng, rates, change))
        drawn = {c.id for c in self.cases}
        planned_k = {cid: k for p in self.precisions for cid, k in plans[p][0].items() if cid in drawn}
        seen = {cid: r for p in self.precisions for cid, r in plans[p][1].items()}
        baseline = {cid: noise.draw(rng, rates[cid], planned_k[cid][1]) for cid in planned_k}
        return rates, current, planned_k, seen, baseline

    def run(self, rng, change: Change | None = None) -> RunOutcome:
        rates, current, planned_k, seen, baseline = self.counts(rng, change)
        drawn_k = {cid: np.zeros(self.n[cid], np.int64) for cid in planned_k}
        correct = {cid: np.zeros(self.n[cid], np.int64) for cid in planned_k}
        bounds = {t.id: self._bound(t, seen, planned_k) for t in self.tests}
        ended: dict[str, str] = {}
        failed, looked = {}, {}
        drawing = set(planned_k)
        last_drew = {cid: 0 for cid in planned_k}
        for look in range(1, self.looks.count + 1):
            for cid in drawing:
                target = self.looks.samples(planned_k[cid][0], look)
                correct[cid] += rng.binomial(target - drawn_k[cid], current[cid])
                drawn_k[cid] = target
                last_drew[cid] = look
            # as the run's looks judge (evals/run/looks.py): every test whose samples grew
            for test in self.tests:
                if not any(last_drew[c] == look for c in test.cases):
                    continue
                strata = self._strata(test, baseline, planned_k, correct, drawn_k)
                decision, how = judge_at(test, strata, self.policy, self.looks, look, bounds[test.id], explain=False)
                if how is None:
                    ended.pop(test.id, None)
                    continue
                ended[test.id] = how
                failed[test.id] = how == "failed" or (how == "last look" and decision.failed(self.policy.strict))
                looked[test.id] = (how, look)
            drawing = drawing_on([c for c in drawing], self.tests, ended, self.looks.final(look))
        tokens = {p: 0.0 for p in self.precisions}
        uniform = {p: 0.0 for p in self.precisions}
        for cid, k in drawn_k.items():
            case = self.by_id[cid]
            length = item_lengths(rates[cid][None, :], self.mean_tokens[cid], self.matrix.planning.unsolved_length)[0]
            tokens[case.precision] += float(np.sum(length * k)) * self.hours_per_token[cid]
            uniform[case.precision] += float(np.sum(length) * case.repeats) * self.hours_per_token[cid]
        return RunOutcome(failed, looked, tokens, uniform)

    def _bound(self, test: Watch, rates: dict[str, np.ndarray], planned_k) -> float:
        r = np.concatenate([rates[c] for c in test.cases])
        run_k = np.concatenate([planned_k[c][0] for c in test.cases])
        first = np.concatenate([planned_k[c][0] for c in test.references]) if test.recovery else \
            np.concatenate([planned_k[c][1] for c in test.cases])
        return bound(test, self.policy, r, first, run_k)

    def _strata(self, test: Watch, baseline, planned_k, correct, drawn_k) -> Strata:
        parts = {}
        for i, cid in enumerate(test.cases):
            labels = [str(j) for j in range(self.n[cid])]
            if test.recovery:
                ref = test.references[i]
                parts[cid] = Strata.of(labels, correct[ref], drawn_k[ref], correct[cid], drawn_k[cid])
            else:
                parts[cid] = Strata.of(labels, baseline[cid], planned_k[cid][1], correct[cid], drawn_k[cid])
        return Strata.concat(parts) if len(parts) > 1 else next(iter(parts.values()))

    def _changed(self, rng, rates, change: Change) -> dict[str, np.ndarray]:
        ids = [cid for cid in rates if cid in change.cases]
        hit = {cid: (rates[cid] >= EASY) if change.easy_only else np.ones(len(rates[cid]), bool) for cid in ids}
        pooled = np.concatenate([rates[cid][hit[cid]] for cid in ids])
        total = sum(len(rates[cid]) for cid in ids)
        # the drop is over all the cases' items: the hit items carry it all
        shift = noise.shift_for_drop(pooled, change.drop * total / max(1, len(pooled)))
        out = {}
        for cid in ids:
            new = rates[cid].copy()
            logits = special.logit(new[hit[cid]]) - shift - noise.SPREAD * rng.standard_normal(int(hit[cid].sum()))
            new[hit[cid]] = special.expit(logits)
            out[cid] = new
        return out


def pool_case_ids(sim: Simulation, precision: str, pool: str) -> frozenset[str]:
    test = next(t for t in sim.tests if t.id == f"pooled {precision}-{pool}")
    return frozenset(test.cases)


if __name__ == "__main__":  # a quick look
    import time

    sim = Simulation(load_matrix(), "full", planned=True)
    rng = np.random.default_rng(0)
    started = time.monotonic()
    outcome = sim.run(rng)
    print(time.monotonic() - started, sum(outcome.failed.values()), outcome.hours, outcome.uniform_hours)
    print({k: v for k, v in outcome.ended.items()})
