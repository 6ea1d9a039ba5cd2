"""The run's tests over several cases: each pool of a precision's cases against their
baselines (pooled.json), and quantized cases against the reference precision's of the
same run (recovery.json)."""

from __future__ import annotations

from evals.artifacts.run_folder import RunArtifacts
from evals.config.matrix import Case, pooled_cases
from evals.gate import pooling
from evals.gate.decision import NO_COMPARABLE_CASE, Decision, judge_change, judge_recovery
from evals.gate.stats import Recovery, recovery
from evals.run.looks import LookAlphas, looks_of
from evals.run.records import Records
from evals.run.selection import Selection


class Gates:
    def __init__(self, selection: Selection, artifacts: RunArtifacts, records: Records, look_alphas: LookAlphas | None = None):
        """`look_alphas`: the alpha of each test at the look its samples ended (default: from the run folder's looks files)."""
        self.selection, self.artifacts, self.records = selection, artifacts, records
        self.look_alphas = look_alphas or LookAlphas(looks_of(selection), None, [artifacts.dir])
        self.policy = selection.policy
        self._pooled: dict[str, dict] = {}  # "precision-pool" -> its entry in pooled.json, this process's

    def pool_cases(self, precision: str, pool: str) -> list[Case]:
        """The run's cases of a precision that a pool takes."""
        return pooled_cases(self.selection.matrix.pools, self.selection.run_cases).get((precision, pool), [])

    def pooled(self, precision: str, pool: str) -> tuple[pooling.Pooled, Decision | None]:
        """The pool's cases of this run against their baselines, as one stratified test."""
        cases = self.pool_cases(precision, pool)
        ids = [c.id for c in cases]
        records = self.records
        pooled = pooling.against_baselines(ids, {i: records.record(i) for i in ids}, {i: records.baseline(i) for i in ids})
        decision = None
        if pooled.cases:
            margin = self.policy.pool_margin(self.selection.matrix.pools[pool])
            at_look = lambda alpha: self.look_alphas.alpha(alpha, pooled.cases)  # noqa: E731  the alpha of its last look
            decision = judge_change(pooled.strata, at_look(self.policy.alpha_for("pooled")), margin,
                                    self.policy.settings.confidence, sampled=all(c.sampled for c in cases),
                                    rise_alpha=at_look(self.policy.alpha_for("pooled", "rise")))
        entry = _entry(pooled, decision, self.policy.strict)
        self._pooled[f"{precision}-{pool}"] = entry
        self.artifacts.write_pooled(f"{precision}-{pool}", entry)
        return pooled, decision

    def accepted(self, precision: str, pool: str) -> None:
        """The pool failed under --snapshot-update and evals/suite/test_precision.py has written
        every pooled case's baseline file with this run's record: pooled.json says so now."""
        entry = self._pooled.get(f"{precision}-{pool}")
        if not self.selection.snapshot_update or entry is None or entry.get("passed", True):
            return
        entry["accepted"] = True
        self.artifacts.write_pooled(f"{precision}-{pool}", entry)

    def recovery(self, test_id: str, pairs: list[tuple[Case, Case]], margin: float,
                 kind: str) -> tuple[pooling.Pooled, Decision | None, Recovery | None]:
        """Quantized cases against the reference precision's, this run, as one test; its
        entry in recovery.json."""
        ids = [(r.id, q.id) for r, q in pairs]
        pooled = pooling.against_reference(ids, {i: self.records.record(i) for pair in ids for i in pair})
        if not pooled.cases:
            return pooled, None, None
        confidence = self.policy.settings.confidence
        read = [i for pair in ids if pair[1] in pooled.cases for i in pair]  # both sides' samples
        decision = judge_recovery(pooled.strata, self.look_alphas.alpha(self.policy.alpha_for(kind), read), margin, confidence)
        ratio = recovery(pooled.strata, confidence)
        self.artifacts.write_recovery(test_id, _entry(
            pooled, decision, strict=False, references=[r for r, q in ids if q in pooled.cases],
            recovery=ratio.ratio, interval=[ratio.low, ratio.high], interval_note=ratio.note))
        return pooled, decision, ratio


def _entry(pooled: pooling.Pooled, decision: Decision | None, strict: bool, **extra) -> dict:
    """A comparison of several cases as artifact data (pooled.json, recovery.json)."""
    entry = {"cases": pooled.cases, "left_out": pooled.left_out, **extra}
    if decision is None:
        return {**entry, "status": NO_COMPARABLE_CASE}
    return {**entry, "status": decision.verdict, "passed": not decision.failed(strict), **decision.as_data()}
