"""The report of a run, from its artifacts folder: Markdown, JSON, PNG charts and, to look
at, an HTML page (evals/report/html.py; a run writes it at its end).

    python -m evals report artifacts/20261126-101500-full            # writes report.{md,json,png} there
    python -m evals report artifacts/RUN --html                      # and report.html
    python -m evals report artifacts/RUN --against artifacts/OLDER   # and compares the two runs, paired
    python -m evals report artifacts                                 # the newest run under a root

Tables in the seed report's shape (per mode: precision x task, metric ± stderr, n),
Qwen3-32B's published figures beside GPU runs, the gate's verdict per case and per
pool of a precision's cases (drop, its upper bound, the drop the test could detect,
p, flips), cross-precision recovery, truncation and tokens. Every number is read from
the run's files; nothing is recomputed from a model.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

from evals.report.looks import looks_data
from evals.artifacts.jsonio import DamagedFile, fields_of, read_json, read_object, write_json
from evals.artifacts.run_folder import latest_run, read_manifest
from evals.artifacts.types import Record
from evals.gate import records
from evals.gate.decision import NOT_COMPARABLE, judge_change
from evals.report.markdown import render_markdown

Z95 = 1.959964


def _published(run_dir: Path, manifest: dict) -> dict[str, float]:
    """Qwen3-32B's published figures per "task-mode", as the run's manifest recorded them
    when it started (evals/config/matrix.py `Matrix.published`): the run's own config, not
    today's. A run that recorded none shows none."""
    published = manifest.get("published", {})
    if not isinstance(published, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in published.values()):
        raise DamagedFile(f"{run_dir / 'manifest.json'}: field 'published' must map task-mode to an accuracy, "
                          f"got {published!r}")
    return published


def build_report(run_dir: Path, against: Path | None = None) -> dict[str, Any]:
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    recovery = read_object(run_dir / "recovery.json")
    published = _published(run_dir, manifest)
    cases: dict[str, dict] = {}
    for case_id in manifest["cases"]:
        summary = read_json(run_dir / case_id / "summary.json")
        if summary is None:
            continue  # not finished in this run
        with fields_of(run_dir / case_id / "summary.json"):
            cases[case_id] = _case_entry(summary, published)
        cases[case_id].update(gate=read_json(run_dir / case_id / "gate.json"), recovery=recovery.pop(case_id, None))
    report = {
        "run": str(run_dir),
        "profile": manifest.get("profile"),
        "started": manifest.get("started"),
        "replay_of": manifest.get("replay_of"),
        "versions": manifest.get("versions", {}),
        "hardware": manifest.get("hardware", {}),
        "config_digest": manifest.get("config_digest"),
        "missing": [c for c in manifest.get("cases", []) if c not in cases],
        # The quantized kernels each server's vLLM chose (evals/engine/facts.py), by layer kind.
        "kernels": {p: m["kernels"] for p, m in manifest.get("models", {}).items() if m.get("kernels")},
        "cases": cases,
        "pooled": read_object(run_dir / "pooled.json"),
        "drift": _drift(run_dir),
        "pooled_recovery": recovery,  # what is left: the pools' entries
        "looks": looks_data(run_dir, manifest),  # what each precision drew, and where each test ended
    }
    if against is not None:
        report["against"] = compare_runs(run_dir, Path(against))
    return report


def _drift(run_dir: Path) -> dict[str, dict]:
    """Each precision's drift record (evals/drift/), without its per-response sums."""
    records = {path.stem: read_json(path) for path in sorted((run_dir / "drift").glob("*.json"))}
    return {p: {k: v for k, v in r.items() if k != "sequences"} for p, r in records.items() if r}


def _case_entry(summary: dict, published: dict) -> dict:
    """A case's row of the report, from its summary.json."""
    metric = summary["metrics"][summary["primary"]]
    mean, stderr = metric["mean"], metric["stderr"]
    half = Z95 * stderr if stderr is not None and not math.isnan(stderr) else math.nan
    entry = {
        **{k: summary[k] for k in ("precision", "task", "mode", "thinking")}, "primary": summary["primary"], "n": summary["n"], "k": summary["k"],
        "mean": mean, "stderr": stderr,
        "ci95": [max(0.0, mean - half), min(1.0, mean + half)] if not math.isnan(half) else None,
        "metrics": summary["metrics"], "truncation_rate": summary["truncation_rate"],
        "output_tokens": summary["output_tokens"], "generation_seconds": summary.get("generation_seconds"),
    }
    if f"{entry['task']}-{entry['mode']}" in published:
        entry["published"] = published[f"{entry['task']}-{entry['mode']}"]
    return entry


def compare_runs(run_dir: Path, other_dir: Path) -> dict[str, Any]:
    """Each case both runs finished, paired item by item: this run against the other (of
    the same profile: other profiles' cases share ids but not items or settings)."""
    profiles = read_manifest(run_dir)["profile"], read_manifest(other_dir)["profile"]
    if profiles[0] != profiles[1]:
        raise ValueError(f"--against {other_dir}: a run of profile {profiles[1]!r}; {run_dir} is of {profiles[0]!r}")
    out: dict[str, Any] = {"run": str(other_dir), "cases": {}, "only_here": [], "only_there": []}
    here = {p.parent.name for p in run_dir.glob("*/record.json")}
    there = {p.parent.name for p in other_dir.glob("*/record.json")}
    out["only_here"], out["only_there"] = sorted(here - there), sorted(there - here)
    for case_id in sorted(here & there):
        paths = run_dir / case_id / "record.json", other_dir / case_id / "record.json"
        current, reference = (Record.from_data(read_json(path), path) for path in paths)
        if set(current.items) != set(reference.items):
            out["cases"][case_id] = {"status": NOT_COMPARABLE, "why": "different items"}
            continue
        terms = current.gate
        decision = judge_change(records.strata(current, reference), terms.alpha, terms.margin, terms.confidence,
                                terms.sampled, rise_alpha=terms.rise_alpha)
        out["cases"][case_id] = {"status": decision.verdict, **decision.as_data()}
    return out


def write_report(run_dir: Path, against: Path | None = None, out_dir: Path | None = None, html: bool = True) -> dict[str, Path]:
    return save_report(build_report(run_dir, against), Path(out_dir or run_dir), html)


def save_report(report: dict, out: Path, html: bool = True) -> dict[str, Path]:
    """report.json, report.md, report.png (if there is any case) and report.html in `out`."""
    from evals.report.chart import accuracy_chart, drift_chart  # matplotlib only when a chart is drawn
    from evals.report.html import write_html

    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "md": out / "report.md", "png": out / "report.png"}
    if any("histogram" in record for record in report.get("drift", {}).values()):
        paths["drift_png"] = drift_chart(report, out / "drift.png")
    write_json(paths["json"], report)
    paths["md"].write_text(render_markdown(report), encoding="utf-8")
    if report["cases"]:
        accuracy_chart(report, paths["png"])
    else:
        paths.pop("png").unlink(missing_ok=True)  # no stale chart of an earlier session
    if html:
        paths["html"] = write_html(report, out)
    return paths


def add_arguments(parser) -> None:
    parser.add_argument("artifacts", type=Path, help="a run folder, or an artifacts root (its newest run)")
    parser.add_argument("--against", type=Path, help="another run folder to compare with, item by item")
    parser.add_argument("--out", type=Path, help="where to write report.{md,json,png,html} (default: the run folder)")
    parser.add_argument("--html", action="store_true",
                        help="also report.html: every item and response, flips, the baseline's responses and drift, offline")


def command(args) -> int:
    run = args.artifacts if (args.artifacts / "manifest.json").exists() else latest_run(args.artifacts, replays=True)
    other = None
    if args.against is not None:
        other = args.against if (args.against / "manifest.json").exists() else latest_run(args.against, replays=True)
    paths = write_report(run, other, args.out, html=args.html)
    sys.stdout.write(paths["md"].read_text(encoding="utf-8"))
    print(f"\nwrote {', '.join(str(p) for p in paths.values())}", file=sys.stderr)
    return 0
