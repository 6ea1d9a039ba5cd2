"""A run's samples per item, planned before it starts (evals/planning/designs.py `choose`).

Each item's solve rate is read from another precision's committed baseline of the same
task and mode (the reference precision's for a quantized case, the first quantized one's
for the reference): independent of the baseline the run is compared with, so the plan is
fixed before either is looked at and the gate's exact test stays exact. A precision is
planned when every case of it in the profile has such a baseline over the same items;
else its runs are uniform (the profile's repeats), and `why` says what is missing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evals import data
from evals.artifacts.jsonio import DamagedFile
from evals.artifacts.types import Record
from evals.config.matrix import REFERENCE_PRECISION, Case, CaseId, Matrix
from evals.gate import noise
from evals.planning.designs import Items, choose
from evals.planning.power import item_lengths, output_tokens
from evals.planning.throughput import Rates


@dataclass(frozen=True)
class ItemPlan:
    """Per case id and item: samples in a run and in a baseline; where each case's rates came from."""

    run_k: dict[str, dict[str, int]]
    baseline_k: dict[str, dict[str, int]]
    sources: dict[str, str]  # case id -> the baseline (a case id) whose rates planned it
    share: float  # of the profile's ratio of baseline to run samples

    def as_data(self) -> dict:
        return {"sources": self.sources, "baseline_share": self.share, "run_k": self.run_k, "baseline_k": self.baseline_k}


def case_items(case: Case) -> list[str]:
    """The case's item ids, in lm-eval's order (the first `limit` of its data set)."""
    ids = _item_ids(case.task.name)
    return list(ids[: case.limit or len(ids)])


@functools.cache
def _item_ids(task: str) -> tuple[str, ...]:
    """A data set's item ids, read (and checked against its digest) once per process."""
    return tuple(str(r["id"]) for r in data.load(task))


def uniform_k(matrix: Matrix, case: Case) -> int:
    """The samples per item the profile's uniform design draws of a case (a baseline's, for a baseline run)."""
    if not case.item_k:
        return case.repeats
    configured = next(c for c in matrix.cases(case.profile) if c.id == case.id)
    return configured.baseline_repeats if case.baseline else configured.repeats


def _source_order(precision: str, precisions: list[str]) -> list[str]:
    others = [p for p in precisions if p != precision]
    return sorted(others, key=lambda p: p != REFERENCE_PRECISION)  # the reference first


def sources(matrix: Matrix, profile: str, precision: str, snapshots: Path) -> tuple[dict[str, Record], str | None]:
    """Per case of the precision, the other precision's baseline its plan reads; and why
    the precision cannot be planned (None: it can)."""
    cases = [c for c in matrix.cases(profile) if c.precision == precision]
    precisions = list(dict.fromkeys(c.precision for c in matrix.cases(profile)))
    found: dict[str, Record] = {}
    for case in cases:
        items = set(case_items(case))
        for other in _source_order(precision, precisions):
            path = snapshots / profile / f"{CaseId(other, case.task.name, case.mode.name)}.json"
            if not path.exists():
                continue
            try:
                record = Record.from_json(path.read_text(encoding="utf-8"), path, "baseline")
                if set(record.counts) == items:
                    found[case.id] = record
                    break
            except DamagedFile:
                continue
        else:
            return found, f"no other precision's baseline of {case.task.name} {case.mode.name} over its items"
    return found, None


def plan_precision(matrix: Matrix, profile: str, precision: str, snapshots: Path,
                   artifacts: Path | None = None) -> tuple[ItemPlan | None, str | None]:
    """The precision's plan, or None and why not."""
    if matrix.planning is None:
        return None, f"{matrix.source} has no `planning` section"
    found, why = sources(matrix, profile, precision, snapshots)
    if why:
        return None, why
    cases = [c for c in matrix.cases(profile) if c.precision == precision]
    planning = matrix.planning
    rates_model = Rates(planning, artifacts)
    spans, start, parts = {}, 0, []
    for case in cases:
        ids = case_items(case)
        counts = found[case.id].counts
        seen = noise.shrunk_rates(np.array([counts[i][0] for i in ids]), np.array([counts[i][1] for i in ids]))
        mean = min(output_tokens(matrix, case, snapshots)[0], case.generation.get("max_gen_toks", np.inf))
        tokens = item_lengths(seen[None, :], mean, planning.unsolved_length)[0]
        per_token = rates_model.of(case, mean).gpu_hours(1.0, planning.gpus)
        parts.append((seen, tokens, tokens * per_token, case))
        spans[case.id] = slice(start, start + len(ids))
        start += len(ids)
    row = lambda i: np.concatenate([p[i] for p in parts])[None, :]  # noqa: E731
    run_k = np.concatenate([np.full(len(p[0]), p[3].repeats) for p in parts])
    baseline_k = np.concatenate([np.full(len(p[0]), p[3].baseline_repeats) for p in parts])
    items = Items([c.id for c in cases], spans, row(0), row(1), row(2), run_k, baseline_k)
    chosen = choose(matrix, profile, precision, items, items.rates)
    per_case = lambda k: {c.id: dict(zip(case_items(c), map(int, k[0, spans[c.id]]))) for c in cases}  # noqa: E731
    return ItemPlan(per_case(chosen.plan.run_k), per_case(chosen.plan.baseline_k),
                    {c.id: found[c.id].case for c in cases}, chosen.share), None
