"""Baseline records of a case, and the gate that compares a run with one.

A record holds the case's metrics (mean, stderr, n, k), the per-item outcomes
of its primary metric (correct samples out of k), the configuration
fingerprint that makes two runs comparable, and when it was made. Two records
with different fingerprints are not comparable: the gate says which fields
differ instead of comparing numbers that measure different things.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from evals import stats
from evals.config import Case
from evals.runner import CaseResult
from scorers import SCORER_VERSION


def fingerprint(case: Case, engine: str | None, architecture: str) -> dict[str, Any]:
    """What must be equal for two runs of a case to be compared. `engine` and
    `architecture` are those that made the generations (a replay's are the replayed
    run's, a remote server's are what can be seen of it)."""
    return {
        "model": case.model.model or f"tiny:{case.model.tiny}",
        "revision": case.model.revision,
        "dtype": case.model.dtype,
        "server": dict(case.server),
        "generation": case.lm_eval_call(),
        "engine": engine,
        "gpu_architecture": architecture,
        "scorer_version": SCORER_VERSION,
    }


def build_record(case: Case, result: CaseResult, alpha: float, min_effect: float, engine: str | None,
                 architecture: str) -> dict:
    items: dict[str, list[int]] = {}
    for sample in result.samples:
        correct_k = items.setdefault(sample["item"], [0, 0])
        correct_k[0] += bool(sample["correct"])
        correct_k[1] += 1
    return {
        "case": case.id,
        "profile": case.profile,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "fingerprint": fingerprint(case, engine, architecture),
        "gate": {"alpha": alpha, "min_effect": min_effect},
        "primary": result.primary,
        "n": result.n,
        "k": result.k,
        "metrics": result.metrics,
        "truncation_rate": result.truncation_rate,
        "items": {item: f"{c}/{k}" for item, (c, k) in sorted(items.items())},
    }


def item_scores(record: dict) -> dict[str, float]:
    """Per item: share of its k samples that were correct."""
    out = {}
    for item, ratio in record["items"].items():
        correct, k = ratio.split("/")
        out[item] = int(correct) / int(k)
    return out


@dataclass(frozen=True)
class GateResult:
    comparable: bool
    differing: dict[str, tuple[Any, Any]]  # fingerprint field -> (baseline, current)
    comparison: stats.Comparison | None

    @property
    def passed(self) -> bool:
        return self.comparable and self.comparison is not None and self.comparison.verdict == "unchanged"

    def lines(self, case: str) -> list[str]:
        if not self.comparable:
            fields = "\n".join(f"  {k}: baseline {json.dumps(b)} != current {json.dumps(c)}" for k, (b, c) in self.differing.items())
            return [f"{case}: the baseline was made under another configuration and is not comparable:", fields,
                    "Accept the new configuration's numbers with --snapshot-update."]
        assert self.comparison is not None
        out = [f"{case}: {self.comparison.describe()}"]
        if self.comparison.verdict == "regression":
            out.append("If the drop is expected, accept it with --snapshot-update.")
        elif self.comparison.verdict == "improvement":
            out.append("Accuracy improved beyond the tolerance: record the new baseline with --snapshot-update.")
        return out


def gate_summary(result: GateResult, baseline: dict) -> dict[str, Any]:
    """The gate's outcome as data, for the artifacts and the report."""
    if not result.comparable:
        return {"status": "not comparable", "differing": sorted(result.differing)}
    c = result.comparison
    return {"status": c.verdict, "baseline": c.reference, "current": c.current, **c.outcome(),
            "created": baseline.get("created")}


def compare(current: dict, baseline: dict) -> GateResult:
    keys = sorted(set(current["fingerprint"]) | set(baseline["fingerprint"]))
    differing = {
        k: (baseline["fingerprint"].get(k), current["fingerprint"].get(k))
        for k in keys
        if baseline["fingerprint"].get(k) != current["fingerprint"].get(k)
    }
    if current["primary"] != baseline["primary"]:
        differing["primary"] = (baseline["primary"], current["primary"])
    if set(current["items"]) != set(baseline["items"]):
        differing["items"] = (f"{len(baseline['items'])} items", f"{len(current['items'])} items (not the same set)")
    if differing:
        return GateResult(False, differing, None)
    gate = current["gate"]
    comparison = stats.paired(item_scores(baseline), item_scores(current), current["k"], gate["alpha"], gate["min_effect"])
    return GateResult(True, {}, comparison)
