"""A precision's drift record, and its comparison with the precision's drift baseline.

The test is one-sided: it fails when the run's mean KLD is, with the profile's confidence,
above the baseline's mean KLD (on the same responses) times (1 + margin) plus the floor.
Its lower bound comes from resampling whole responses (evals/drift/stats.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evals.config.matrix import CaseId
from evals.drift import stats
from evals.drift.sequences import Sequence
from evals.drift.tokens import TokenDrift

WORST_SHOWN = 5


def record(precision: str, reference: str, sequences: list[Sequence], drifts: list[list[TokenDrift]],
           fingerprint: dict, settings: dict, context) -> dict:
    """The run's drift of `precision` against `reference`, as baseline data. `context(seq,
    position)` renders the text around a position, for the positions that moved most."""
    parts = {"all": [], "thinking": [], "answer": []}
    by_case: dict[str, list] = {}
    worst = []
    for seq, drift in zip(sequences, drifts):
        split = seq.answer_start - seq.start
        parts["all"].append(drift)
        parts["thinking"].append(drift[:split])
        parts["answer"].append(drift[split:])
        by_case.setdefault(CaseId.parse(seq.case).task_mode, []).append(drift)
        worst += [(t.kld, seq, seq.start + i) for i, t in enumerate(drift)]
    worst.sort(key=lambda w: -w[0])
    return {
        "precision": precision, "reference": reference, "fingerprint": fingerprint, "settings": settings,
        "summary": {name: stats.summarize(stats.Sequences.of(d)) for name, d in parts.items()},
        "by_task_mode": {name: stats.summarize(stats.Sequences.of(d)) for name, d in sorted(by_case.items())},
        "histogram": histogram([t.kld for d in drifts for t in d]),
        "sequences": {f"{seq.case}/{seq.item}": [round(sum(t.kld for t in d), 12), len(d)] for seq, d in zip(sequences, drifts)},
        "moved_most": [{"case": seq.case, "item": seq.item, "position": pos, "kld": kld, "text": context(seq, pos)}
                       for kld, seq, pos in worst[:WORST_SHOWN]],
    }


HISTOGRAM_EDGES = [-12.0 + 0.5 * i for i in range(27)]  # log10 of per-token KLD, 1e-12 to 10 nats


def histogram(klds: list[float]) -> dict:
    """Per-token KLD counts in log10 bins (the report's chart); 0 falls in the first."""
    logs = np.log10(np.clip(np.array(klds, float), 10 ** HISTOGRAM_EDGES[0], 10 ** HISTOGRAM_EDGES[-1]))
    counts, _ = np.histogram(logs, bins=HISTOGRAM_EDGES)
    return {"log10_edges": HISTOGRAM_EDGES, "counts": counts.tolist()}


@dataclass(frozen=True)
class DriftResult:
    differing: list[str]  # fingerprint fields that differ from the baseline's (empty: comparable)
    mean: float
    baseline_mean: float
    threshold: float  # baseline_mean * (1 + margin) + floor
    excess_lower: float  # lower confidence bound of mean - threshold

    @property
    def passed(self) -> bool:
        return not self.differing and self.excess_lower <= 0

    def lines(self, current: dict) -> list[str]:
        name = current["precision"]
        if self.differing:
            return [f"drift of {name}: baseline not comparable ({', '.join(self.differing)}); "
                    f"make it anew with --snapshot-update"]
        verdict = "within" if self.passed else "beyond"
        out = [f"drift of {name} against {current['reference']}: mean KLD {self.mean:.3g} nats, {verdict} the baseline's "
               f"{self.baseline_mean:.3g} x (1 + margin) + floor = {self.threshold:.3g} (excess, lower bound: {self.excess_lower:.3g})"]
        for w in current.get("moved_most", []):
            out.append(f"  {w['case']} item {w['item']} position {w['position']}: KLD {w['kld']:.3g} around {w['text']!r}")
        return out


def judge(current: dict, baseline: dict, seed: int = 0) -> DriftResult:
    """The run against its baseline on the responses both scored (a narrowed run scores
    fewer: it is compared with the baseline's drift on those). Both means are estimates:
    the bound resamples the shared responses for both at once."""
    settings = current["settings"]
    differ = sorted(k for k in set(current["fingerprint"]) | set(baseline["fingerprint"])
                    if current["fingerprint"].get(k) != baseline["fingerprint"].get(k))
    common = sorted(current["sequences"].keys() & baseline["sequences"].keys())
    if not common:
        return DriftResult([*differ, "no response scored in both"], 0.0, 0.0, 0.0, 0.0)
    ours = np.array([current["sequences"][k] for k in common], float)
    theirs = np.array([baseline["sequences"][k] for k in common], float)
    grow, floor = 1 + settings["margin"], settings["floor"]
    mean, baseline_mean = ours[:, 0].sum() / ours[:, 1].sum(), theirs[:, 0].sum() / theirs[:, 1].sum()
    picks = np.random.default_rng(seed).integers(0, len(common), size=(stats.RESAMPLES, len(common)))
    excess = (ours[picks, 0].sum(1) / ours[picks, 1].sum(1)) - grow * (theirs[picks, 0].sum(1) / theirs[picks, 1].sum(1)) - floor
    lower = float(np.quantile(excess, 1 - settings["confidence"]))
    return DriftResult(differ, float(mean), float(baseline_mean), float(baseline_mean * grow + floor), lower)
