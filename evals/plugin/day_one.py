"""A profile's first day: a run that could gate nothing stops before any server starts.

With no baseline for any case a session would run and gate, every test would fail for want
of one, after the whole run's GPU-hours, and none of its generations could seed the baseline
run (other samples per item, other seeds). So the session stops at collection and prints the
way in, each step with its estimated cost (evals/planning/estimate.py):

  1. --smoke: every mechanism on a few items, one sample each (minutes);
  2. --snapshot-update: the baselines (an interrupted one continues with --resume last);
  3. the runs, against them.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from evals.artifacts.jsonio import DamagedFile
from evals.config.matrix import SMOKE_ITEMS, SMOKE_MAX_TOKENS
from evals.config.paths import snapshots_dir
from evals.gate import baselines
from evals.plugin.selection import selection
from evals.run.selection import Selection


@pytest.hookimpl(trylast=True)  # after -k/-m and the GPU skips (evals/plugin/hooks.py)
def pytest_collection_modifyitems(config, items):
    chosen = selection(config)
    if chosen.replay or chosen.resume or chosen.snapshot_update or config.getoption("collectonly"):
        return
    running = {_case_of(i) for i in items if not i.get_closest_marker("skip")} - {None}
    cases = [c for c in chosen.cases if c.id in running]
    if not cases or any(_has_baseline(c) for c in cases):
        return
    raise pytest.UsageError(way_in(chosen, cases, shlex.join(["pytest", *config.invocation_params.args]),
                                   Path(config.getoption("artifacts"))))


def _case_of(item) -> str | None:
    params = item.callspec.params if hasattr(item, "callspec") else {}
    case = params.get("case")
    return case.id if case is not None else None


def _has_baseline(case) -> bool:
    try:
        return baselines.read(case.profile, case.id) is not None
    except DamagedFile:
        return True  # there is one; its test says what is wrong with it


def way_in(chosen: Selection, cases: list, command: str, artifacts: Path) -> str:
    """What to run first, with the cost of each step."""
    from evals.planning.estimate import estimate  # only for a session it refuses: not at every start-up
    from evals.planning.throughput import Rates
    matrix, profile = chosen.matrix, chosen.profile
    snapshots = snapshots_dir()
    rates = Rates(matrix.planning, artifacts)  # the manifests under `artifacts` read once for both estimates

    def hours(selected: list) -> tuple[float | None, float | None]:
        """GPU-hours of a run and of its baselines (None on the CPU)."""
        if not any(c.gpu for c in selected):
            return None, None
        rows = estimate(matrix, selected, snapshots, rates=rates)
        return sum(r.gpu_hours for r in rows), sum(r.baseline_gpu_hours for r in rows)

    smoke = [c.as_smoke(chosen.limit) for c in cases]
    smoke_hours, _ = hours(smoke)
    run_hours, baseline_hours = hours(cases)
    ks = sorted({(c.task.name, c.baseline_repeats) for c in cases})
    cost = lambda h: f"about {h:.1f} GPU-hours (python -m evals estimate)" if h is not None else "on the CPU"  # noqa: E731
    return "\n".join([
        f"profile {profile!r} has no baseline for any of the {len(cases)} case(s) this run would gate "
        f"({snapshots / profile}/): it would fail every test for want of one after the whole run ({cost(run_hours)}), and none of its "
        "generations could seed the baselines (other samples per item, other seeds). Nothing was started. The way in:",
        f"  1. {command} --smoke",
        f"       every mechanism (servers, sampling, scorers, gate, drift, report) on {chosen.limit or SMOKE_ITEMS} items "
        f"per task, one sample each of at most {SMOKE_MAX_TOKENS:,} tokens, against baselines of its own: "
        f"{cost(smoke_hours)}",
        f"  2. {command} --snapshot-update",
        f"       the baselines ({', '.join(f'{t}: {k} samples per item' for t, k in ks)}): {cost(baseline_hours)}; "
        f"interrupted, `{command} --resume last` continues it as a baseline run",
        f"  3. commit {snapshots / profile}/, then: {command}",
        f"       each run against them: {cost(run_hours)}",
    ])
