"""Each case's samples per item in this run: planned from other precisions' baselines
(evals/planning/item_plan.py) when the run starts, or the plan a resumed or replayed run
was made with (its manifest's `plans`), so that its kept samples mean what they meant."""

from __future__ import annotations

from pathlib import Path

from evals.config.matrix import Case, Matrix
from evals.planning.item_plan import case_items, plan_precision


def planned_cases(matrix: Matrix, profile: str, cases: list[Case], snapshots: Path, artifacts: Path | None,
                  kept: dict | None, uniform: str | None = None) -> tuple[list[Case], dict[str, dict]]:
    """The cases with their samples per item, and the plans as the manifest keeps them
    (per precision: the plan, or {"uniform": why}). `kept`: the plans of the run resumed
    or replayed (None: a new run, planned now); `uniform`: why this run is not planned at all."""
    plans: dict[str, dict] = dict(kept or {})
    if kept is None:
        for precision in dict.fromkeys(c.precision for c in cases):
            if uniform or not all(c.sampled for c in cases if c.precision == precision):
                plans[precision] = {"uniform": uniform or "greedy decoding: one answer per item tells all it can"}
                continue
            plan, why = plan_precision(matrix, profile, precision, snapshots, artifacts)
            plans[precision] = plan.as_data() if plan is not None else {"uniform": why}
    out = []
    for case in cases:
        per_item = plans.get(case.precision, {}).get("baseline_k" if case.baseline else "run_k", {}).get(case.id)
        if per_item:  # the case's own items (a --limit'ed run draws the first of the profile's)
            per_item = {item: per_item[item] for item in case_items(case)}
        out.append(case.planned(per_item) if per_item else case)
    return out, plans
