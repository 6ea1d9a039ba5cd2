"""Each case's items as the HTML report shows them (evals/report/html.py): the problem, the
gold, every sample's response with what the scorer read, and the baseline's responses beside
them where they can be found.

Where a baseline's responses are: the run named by `--against`; else the run its record
names (`Record.run`: the run folder that made it, looked for beside this one). They are used
only when their counts are the baseline's (the same responses, not another draw); otherwise,
and when there are none, the case says where they would come from.

The baseline's texts are kept for the items that flipped (a baseline holds several times a
run's samples; every item keeps its baseline verdicts and answers). Long responses are cut
to their head and tail (the answer is at the end); the full text of a
cut one is beside the report, in `<case>/responses.html` (evals/report/html.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.artifacts.jsonio import DamagedFile, read_json
from evals.artifacts.run_folder import read_samples
from evals.artifacts.types import Record, Sample
from evals.gate.records import item_counts

WHOLE_CHARS = 8_000  # a response up to this long is kept whole
HEAD_CHARS, TAIL_CHARS = 1_500, 4_500  # what a longer one keeps
_BOX = re.compile(r"\\boxed\s*\{")


@dataclass(frozen=True)
class Baseline:
    """Where a case's baseline responses come from, or why there are none."""

    samples: list[Sample] | None
    source: str  # the samples file, or where it would be
    why: str | None = None  # why none are shown
    counts: dict[str, tuple[int, int]] | None = None  # per item (correct, k): the record compared with


def read_span(text: str, extracted: str | None) -> tuple[int, int] | None:
    """Where in the response the scorer read its answer: the last place its extracted text
    stands, else the last \\boxed{...}; None when neither is found."""
    if extracted:
        at = text.rfind(extracted)
        if at >= 0:
            return at, at + len(extracted)
    boxes = list(_BOX.finditer(text))
    if not boxes:
        return None
    start, depth = boxes[-1].start(), 0
    for i in range(boxes[-1].end() - 1, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return start, i + 1
    return start, len(text)


def shown_text(text: str, span: tuple[int, int] | None) -> dict[str, Any]:
    """The response as the page holds it: whole, or head and tail with how much was cut;
    `hl` = [part, start, end] of the span in the part that holds it (0: text or head, 1: tail)."""
    if len(text) <= WHOLE_CHARS:
        return {"text": text, **({"hl": [0, *span]} if span else {})}
    tail_from = len(text) - TAIL_CHARS
    out: dict[str, Any] = {"head": text[:HEAD_CHARS], "tail": text[tail_from:], "cut": tail_from - HEAD_CHARS}
    if span and span[1] <= HEAD_CHARS:
        out["hl"] = [0, *span]
    elif span and span[0] >= tail_from:
        out["hl"] = [1, span[0] - tail_from, span[1] - tail_from]
    return out


def sample_entry(sample: Sample, primary: str, text: bool = True) -> dict[str, Any]:
    """A sample as the page holds it: its verdict, what the scorer read, how it ended, and
    (if `text`) the response as shown_text gives it."""
    extracted = sample.extracted.get(primary)
    entry = {"r": sample.repeat, "ok": sample.correct, "ans": extracted, "note": (sample.notes or {}).get(primary),
             "fin": sample.finish_reason, "tok": sample.completion_tokens}
    return {**entry, **shown_text(sample.response, read_span(sample.response, extracted))} if text else entry


def problem_of(sample: Sample) -> str:
    """The problem as the model was asked it: the last user message sent."""
    users = [m.get("content") for m in sample.messages or [] if m.get("role") == "user"]
    return users[-1] if users and isinstance(users[-1], str) else ""


def baseline_responses(run_dir: Path, case_id: str, against: Path | None) -> Baseline:
    """The responses the case was compared with (see the module's note)."""
    if against is not None:
        path = against / case_id / "samples.jsonl"
        if not path.exists():
            return Baseline(None, str(path), f"--against {against}: no responses of {case_id} there")
        samples = list(read_samples(path))
        return Baseline(samples, str(path), counts=item_counts(samples))
    where = run_dir / case_id / "baseline.json"
    data = read_json(where)
    if data is None:
        return Baseline(None, str(where), "the case was compared with no baseline")
    record = Record.from_data(data, where)
    if not record.run:
        return Baseline(None, "", f"its baseline (made {record.created}) names no run that made it (made before "
                                  "baselines kept it): pass --against RUN to show that run's responses", record.counts)
    path = run_dir.parent / record.run / case_id / "samples.jsonl"
    if not path.exists():
        return Baseline(None, str(path), f"its baseline was made by run {record.run}, not found beside this run "
                                         f"({path}): copy that run folder there, or pass --against RUN", record.counts)
    samples = list(read_samples(path))
    if item_counts(samples) != record.counts:
        return Baseline(None, str(path), f"the responses in {path} are not those the baseline counts "
                                         "(another session replaced them): pass --against RUN", record.counts)
    return Baseline(samples, str(path), counts=record.counts)


def case_items(run_dir: Path, case_id: str, primary: str, flips: dict[str, str], against: Path | None) -> tuple[dict, dict[str, str]]:
    """A case's page data (its items, each with the run's and the baseline's samples) and the
    full texts of its cut responses, by "run|base/item/repeat"."""
    path = run_dir / case_id / "samples.jsonl"
    missing = None if path.exists() else f"{path}: not there (the run's responses of this case are gone)"
    try:
        run_samples = list(read_samples(path)) if path.exists() else []
    except DamagedFile as exc:  # the page shows the other cases, and names the file and line here
        run_samples, missing = [], str(exc)
    try:
        base = baseline_responses(run_dir, case_id, against)
    except DamagedFile as exc:
        base = Baseline(None, "", str(exc))
    by_item: dict[str, dict] = {}
    full: dict[str, str] = {}
    for side, samples in (("run", run_samples), ("base", base.samples or [])):
        for s in samples:
            item = by_item.setdefault(s.item, {"id": s.item, "problem": problem_of(s), "gold": s.gold,
                                               "flip": flips.get(s.item), "run": [], "base": []})
            # A baseline holds several times a run's samples: its texts only where the item flipped.
            entry = sample_entry(s, primary, text=side == "run" or bool(item["flip"]))
            if "cut" in entry:
                full[f"{side}/{s.item}/{s.repeat}"] = s.response
            item[side].append(entry)
    for item in by_item.values():
        for side in ("run", "base"):
            item[side].sort(key=lambda e: e["r"])
        item["base_count"] = (base.counts or {}).get(item["id"])
    return {"case": case_id, "primary": primary, "baseline": {"source": base.source, "why": base.why},
            "missing": missing,
            "items": sorted(by_item.values(), key=lambda i: i["id"])}, full
