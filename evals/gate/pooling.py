"""Pooled tests: many cases of one precision as one stratified comparison.

Quantization damage is spread thin: a point here, an item there, in every case, all
one way. Each case alone cannot tell that from noise; pooled, stratified by case and
item (labels "case/item"), the same counts can. A pool takes what the run has: cases
without a comparable baseline or result are left out and named.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from evals.artifacts.types import Record
from evals.gate import records
from evals.gate.decision import Decision
from evals.gate.stats import Strata


@dataclass(frozen=True)
class Pooled:
    strata: Strata
    cases: list[str]  # pooled
    left_out: dict[str, str] = field(default_factory=dict)  # case id -> why


def against_baselines(case_ids: list[str], current: Mapping[str, Record | None],
                      baselines: Mapping[str, Record | None]) -> Pooled:
    """Each case's record of this run against its baseline, where the two are comparable."""
    parts, left_out = {}, {}
    for case_id in case_ids:
        record, baseline = current.get(case_id), baselines.get(case_id)
        if record is None:
            left_out[case_id] = "no result in this run"
        elif baseline is None:
            left_out[case_id] = "no baseline"
        elif mismatch := records.differing(record, baseline):
            left_out[case_id] = f"baseline not comparable ({', '.join(sorted(mismatch))})"
        else:
            parts[case_id] = records.strata(record, baseline)
    return Pooled(Strata.concat(parts), list(parts), left_out)


def against_reference(pairs: list[tuple[str, str]], current: Mapping[str, Record | None]) -> Pooled:
    """Each quantized case against the reference precision's same task and mode, this run."""
    parts, left_out = {}, {}
    for reference_id, case_id in pairs:
        quantized, reference = current.get(case_id), current.get(reference_id)
        if quantized is None or reference is None:
            left_out[case_id] = f"no result for {case_id if quantized is None else reference_id} in this run"
        elif set(quantized.items) != set(reference.items):
            left_out[case_id] = f"not the same items as {reference_id}"
        else:
            parts[case_id] = records.strata(quantized, reference)
    return Pooled(Strata.concat(parts), list(parts), left_out)


def left_out_lines(pooled: Pooled, most: int = 4) -> list[str]:
    """The cases a pool left out, grouped by why."""
    why: dict[str, list[str]] = {}
    for case, reason in pooled.left_out.items():
        why.setdefault(reason, []).append(case)
    return [f"  left out, {reason}: {len(cases)} case(s) ({', '.join(cases[:most])}{', ...' if len(cases) > most else ''})"
            for reason, cases in why.items()]


def by_case(decision: Decision, most: int = 8) -> list[str]:
    """Per pooled case, the items that moved each way, the cases with most net loss first."""
    worse: dict[str, list[str]] = {}
    better: dict[str, list[str]] = {}
    for moved, labels in ((worse, decision.worse), (better, decision.better)):
        for label in labels:
            case, item = label.split("/", 1)
            moved.setdefault(case, []).append(item)
    cases = sorted(set(worse) | set(better), key=lambda c: (len(better.get(c, [])) - len(worse.get(c, [])), c))
    lines = []
    for case in cases:
        lost, gained = worse.get(case, []), better.get(case, [])
        shown = ", ".join(lost[:most]) + (", ..." if len(lost) > most else "")
        lines.append(f"  {case}: worse on {len(lost)}" + (f" [{shown}]" if lost else "") + f", better on {len(gained)}")
    return lines
