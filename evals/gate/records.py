"""Baseline records of a case, and the gate that compares a run with one.

A record holds the case's metrics (mean, stderr, n, k), the per-item outcomes of its
primary metric (correct samples out of k), the configuration fingerprint that makes
two runs comparable, how the run judges (evals/gate/policy.py), and when it was made.
Two records with different fingerprints are not comparable: the gate says which
fields differ instead of comparing numbers that measure different things. The
samples per item (k) are not part of the fingerprint: a baseline may hold more than
a run (`baseline_repeats`), and the stratified test compares them as counts.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Iterable

from evals.artifacts.types import CaseResult, GateTerms, Record, Sample
from evals.config.matrix import Case
from evals.gate.decision import NOT_COMPARABLE, Decision, Judgement, Status, judge_change
from evals.gate.stats import Strata
from evals.lmeval.call import lm_eval_call
from scorers import SCORER_VERSION


def fingerprint(case: Case, engine: str | None, architecture: str) -> dict[str, Any]:
    """What must be equal for two runs of a case to be compared. `engine` and
    `architecture` are those that made the generations (a replay's are the replayed
    run's, a remote server's are what can be seen of it)."""
    return {
        "model": case.model.source,
        "revision": case.model.revision,
        "dtype": case.model.dtype,
        "server": dict(case.server),
        "generation": lm_eval_call(case).generation(),
        "engine": engine,
        "gpu_architecture": architecture,
        "scorer_version": SCORER_VERSION,
    }


def build_record(case: Case, result: CaseResult, terms: GateTerms, engine: str | None, architecture: str,
                 run: str | None = None) -> Record:
    """The case's record; `run` names the run folder whose samples.jsonl holds its responses."""
    items = item_counts(result.samples)
    return Record(
        case=case.id, profile=case.profile, created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        fingerprint=fingerprint(case, engine, architecture), gate=terms, primary=result.primary, n=result.n,
        k=result.k, metrics=result.metrics, truncation_rate=result.truncation_rate,
        output_tokens=result.output_tokens.get("mean"),
        items={item: f"{c}/{k}" for item, (c, k) in sorted(items.items())}, run=run)


def item_counts(samples: Iterable[Sample]) -> dict[str, tuple[int, int]]:
    """Per item: (samples its primary metric judged correct, samples)."""
    items: dict[str, list[int]] = {}
    for sample in samples:
        correct_k = items.setdefault(sample.item, [0, 0])
        correct_k[0] += bool(sample.correct)
        correct_k[1] += 1
    return {item: (c, k) for item, (c, k) in items.items()}


def differing(current: Record, baseline: Record) -> dict[str, tuple[Any, Any]]:
    """Fingerprint fields (and primary metric, item set) that make two records incomparable."""
    keys = sorted(set(current.fingerprint) | set(baseline.fingerprint))
    out = {k: (baseline.fingerprint.get(k), current.fingerprint.get(k))
           for k in keys if baseline.fingerprint.get(k) != current.fingerprint.get(k)}
    if current.primary != baseline.primary:
        out["primary"] = (baseline.primary, current.primary)
    if set(current.items) != set(baseline.items):
        out["items"] = (f"{len(baseline.items)} items", f"{len(current.items)} items (not the same set)")
    return out


def strata(current: Record, baseline: Record) -> Strata:
    return Strata.paired(baseline.counts, current.counts)


@dataclass(frozen=True)
class GateResult:
    differing: dict[str, tuple[Any, Any]]  # fingerprint field -> (baseline, current); empty: comparable
    decision: Decision | None
    strict: bool = False

    @property
    def comparable(self) -> bool:
        return not self.differing

    @property
    def passed(self) -> bool:
        return self.comparable and self.decision is not None and not self.decision.failed(self.strict)

    @property
    def status(self) -> Status:
        return self.decision.verdict if self.comparable and self.decision else NOT_COMPARABLE

    def lines(self, case: str) -> list[str]:
        if not self.comparable:
            # One line per field: pytest shows a line break inside one line of an assertion's explanation as "\\n".
            fields = [f"  {k}: baseline {json.dumps(b)} != current {json.dumps(c)}" for k, (b, c) in self.differing.items()]
            return [f"{case}: the baseline was made under another configuration and is not comparable:", *fields,
                    "Accept the new configuration's numbers with --snapshot-update."]
        assert self.decision is not None
        return [f"{case}: {self.decision.describe()}", *advice(self.decision.verdict)]


def advice(verdict: Judgement) -> list[str]:
    if verdict == "regression":
        return ["If the drop is expected, accept it with --snapshot-update."]
    if verdict == "improvement":
        return ["Accuracy improved beyond noise: record the new baseline with --snapshot-update."]
    if verdict == "inconclusive":
        return ["--gate-strict fails an inconclusive test."]
    return []


def gate_summary(result: GateResult, baseline: Record) -> dict[str, Any]:
    """The gate's outcome as data, for the artifacts and the report."""
    if not result.comparable:
        return {"status": NOT_COMPARABLE, "differing": sorted(result.differing)}
    return {"status": result.status, "passed": result.passed, **result.decision.as_data(), "created": baseline.created}


def judge(current: Record, baseline: Record) -> GateResult:
    """A run's record against its baseline: not comparable (naming the fields), or the
    stratified test's decision under the run's terms."""
    terms = current.gate
    mismatch = differing(current, baseline)
    if mismatch:
        return GateResult(mismatch, None, terms.strict)
    decision = judge_change(strata(current, baseline), terms.alpha, terms.margin, terms.confidence, sampled=terms.sampled,
                            rise_alpha=terms.rise_alpha)
    return GateResult({}, decision, terms.strict)
