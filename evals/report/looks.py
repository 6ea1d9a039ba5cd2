"""The report's account of a run's samples: per precision, what the uniform design would
have drawn, what the plan would draw and what the looks drew (the manifest's `draws`),
and at which look, and how, each test ended (looks/<precision>.json, evals/run/looks.py)."""

from __future__ import annotations

from pathlib import Path

from evals.artifacts.jsonio import read_json

HOW = {"settled": "settled early", "failed": "failed", "last look": "judged at the last look"}


def looks_data(run_dir: Path, manifest: dict) -> dict[str, dict]:
    """Per precision: {"draws": ..., "looks": n, "tests": {test: {ended, look, ...}}, "plan": where from}."""
    out: dict[str, dict] = {}
    for precision, model in manifest.get("models", {}).items():
        looks = read_json(run_dir / "looks" / f"{precision}.json") if (run_dir / "looks" / f"{precision}.json").exists() else None
        plan = manifest.get("plans", {}).get(precision, {})
        if not looks and not model.get("draws"):
            continue
        out[precision] = {"draws": model.get("draws"), "looks": (looks or {}).get("looks", 1),
                          "tests": (looks or {}).get("tests", {}),
                          "plan": plan.get("uniform") or "planned from {}'s baselines".format(
                              ", ".join(sorted({s.split("-", 1)[0] for s in plan.get("sources", {}).values()})))}
    return out


def looks_lines(report: dict) -> list[str]:
    """The report's section: a line per precision, then its tests by how they ended."""
    data = report.get("looks") or {}
    if not data:
        return []
    lines = ["", "## Samples drawn and looks", "",
             "Samples per item are planned from another precision's baseline where one exists, and a run draws them in "
             "looks that stop what is settled (README: Samples where they inform).", ""]
    for precision, entry in data.items():
        draws = entry.get("draws") or {}
        if draws:
            ahead = draws.get("generated", draws["drawn"]) - draws["drawn"]
            lines.append(f"- **{precision}**: drew {draws['drawn']:,} samples of the {draws['planned']:,} planned "
                         f"({draws['drawn'] / max(1, draws['uniform']):.0%} of the uniform design's {draws['uniform']:,})"
                         + (f", and generated {ahead:,} more ahead of a look that then stopped their cases" if ahead else "")
                         + "; "
                         f"samples per item {'uniform: ' if not entry['plan'].startswith('planned') else ''}{entry['plan']}.")
        by_how: dict[str, list[str]] = {}
        for test, ended in sorted(entry["tests"].items()):
            by_how.setdefault(f"{HOW.get(ended['ended'], ended['ended'])} at look {ended['look']} of {entry['looks']}",
                              []).append(test)
        for how, tests in sorted(by_how.items()):
            lines.append(f"  - {how}: {', '.join(tests)}")
    return lines
