"""Re-score saved responses: lm-eval samples JSONL or plain JSONL records.

Plain records: {"response", "gold", optional "task" ("aime"/"math"), "mode", "id"}.
lm-eval samples records: {"doc_id", "doc", "target", "resps", ...}; their task
kind comes from --task or the file name (samples_<task>_<date>.jsonl).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from scorers.integer_match import AIME_RANGE
from scorers.jsonl import iter_objects
from scorers.registry import load_task_metrics, task_kind_for


class InputError(ValueError):
    """Bad input; the message names the file, line and field."""


@dataclass
class Record:
    source: str  # "file:line"
    id: str
    kind: str
    mode: str | None
    gold: str
    responses: list[str]
    is_sample_file: bool


def read_records(path: Path, task: str | None = None, mode: str | None = None) -> Iterator[Record]:
    kinds = load_task_metrics()
    if task is not None and task not in kinds:
        raise InputError(f"--task {task!r}: must be one of {sorted(kinds)}")
    stem = path.stem[len("samples_"):] if path.stem.startswith("samples_") else path.stem
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    with handle:
        for lineno, rec in iter_objects(_lines(handle, path), str(path), InputError):
            where = f"{path}:{lineno}"
            if "resps" in rec:
                yield _from_lm_eval(rec, where, task or task_kind_for(stem), mode, path)
            else:
                yield _from_plain(rec, where, task, mode, kinds)


def _lines(handle, path: Path) -> Iterator[str]:
    """The file's lines as text; a line that is not UTF-8 is an error naming it."""
    for lineno, line in enumerate(handle, 1):
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}:{lineno}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _from_lm_eval(rec: dict, where: str, kind: str | None, mode: str | None, path: Path) -> Record:
    for key in ("doc", "target"):
        if key not in rec:
            raise InputError(f"{where}: lm-eval sample without field {key!r}")
    _check_gold(rec, "target", where)
    if kind is None:
        raise InputError(f"{where}: cannot tell the task kind from the file name {path.name!r}; pass --task")
    responses = [r for group in rec["resps"] for r in (group if isinstance(group, list) else [group])]
    if not responses or not all(isinstance(r, str) for r in responses):
        raise InputError(f"{where}: field 'resps' must hold response strings")
    doc = rec["doc"] if isinstance(rec["doc"], dict) else {}
    ident = doc.get("id", rec.get("doc_id"))
    return Record(where, str(ident), kind, mode, str(rec["target"]), responses, True)


def _from_plain(rec: dict, where: str, task: str | None, mode: str | None, kinds: dict) -> Record:
    for key in ("response", "gold"):
        if key not in rec:
            raise InputError(f"{where}: missing field {key!r} (plain records need 'response' and 'gold')")
    if not isinstance(rec["response"], str):
        raise InputError(f"{where}: field 'response' must be a string")
    _check_gold(rec, "gold", where)
    kind = rec.get("task", task) or _guess_kind(str(rec["gold"]))
    if kind not in kinds:
        raise InputError(f"{where}: field 'task' is {kind!r}; must be one of {sorted(kinds)}")
    line = where.rsplit(":", 1)[1]
    return Record(where, str(rec.get("id", line)), kind, rec.get("mode", mode), str(rec["gold"]), [rec["response"]], False)


def _check_gold(rec: dict, field: str, where: str) -> None:
    # null would be graded as the answer "None"
    if not isinstance(rec[field], (str, int)) or isinstance(rec[field], bool):
        raise InputError(f"{where}: field {field!r} must be the answer as a string or integer, got {rec[field]!r}")


def _guess_kind(gold: str) -> str:
    # A gold that is an integer in AIME's range is graded as AIME; anything else as MATH.
    text = gold.strip()
    return "aime" if text.isdigit() and AIME_RANGE[0] <= int(text) <= AIME_RANGE[1] else "math"


def score_record(record: Record) -> dict:
    task = load_task_metrics()[record.kind]
    per_metric = {name: [scorer(r, record.gold) for r in record.responses] for name, scorer in task.scorers().items()}
    primary = task.primary_for(record.mode)

    def shape(values: list):
        return values if record.is_sample_file and len(record.responses) > 1 else values[0]

    out = {
        "id": record.id,
        "source": record.source,
        "task": record.kind,
        "mode": record.mode,
        "correct": shape([v.correct for v in per_metric[primary]]),
        "verdicts": {m: shape([v.correct for v in vs]) for m, vs in per_metric.items()},
        "extracted": {m: shape([v.extracted for v in vs]) for m, vs in per_metric.items()},
    }
    notes = {m: shape([v.note for v in vs]) for m, vs in per_metric.items() if any(v.note for v in vs)}
    if notes:
        out["notes"] = notes
    return out


def summarise(rows: list[dict]) -> list[dict]:
    """Per (task, mode, metric): mean accuracy over records (avg@k inside a
    record), its standard error and n."""
    groups: dict[tuple, list[float]] = defaultdict(list)
    for row in rows:
        for metric, verdict in row["verdicts"].items():
            values = verdict if isinstance(verdict, list) else [verdict]
            groups[(row["task"], row["mode"], metric)].append(sum(values) / len(values))
    summary = []
    for (task, mode, metric), scores in groups.items():
        n = len(scores)
        mean = sum(scores) / n
        var = sum((s - mean) ** 2 for s in scores) / (n - 1) if n > 1 else 0.0
        summary.append({"task": task, "mode": mode, "metric": metric, "n": n, "mean": mean, "stderr": math.sqrt(var / n)})
    return summary


def format_summary(summary: list[dict]) -> str:
    lines = [f"{'task':<6} {'mode':<12} {'metric':<28} {'n':>6} {'accuracy':>9} {'stderr':>8}"]
    for s in summary:
        lines.append(
            f"{s['task']:<6} {s['mode'] or '-':<12} {s['metric']:<28} {s['n']:>6} {s['mean']:>9.4f} {s['stderr']:>8.4f}"
        )
    return "\n".join(lines)
