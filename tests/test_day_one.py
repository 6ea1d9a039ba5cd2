"""A profile's first day, on the tiny profile with no baselines: a plain run stops before any
engine starts and prints the way in; --smoke runs every mechanism on 2 items with baselines of
its own; the baseline run (--snapshot-update: the profile's baseline_repeats samples per item,
drawn apart from a run's), the run most likely to be interrupted, killed halfway, regenerates
when resumed (without repeating the flag) only what it had not kept and stays a baseline run;
a resumed run with nothing left to generate starts no engine; a run then passes against the
new baselines (the kept tiny run's FP8, tests/kept_run.py, replayed: only its verdict is new);
a replay of the baseline run's generations needs no engine and reproduces its metrics exactly.
Requests are counted by the vLLM server's own access log, not by the suite. Engines start three
times: the smoke run's, the killed session's and its resume's. Baselines are written to a
temporary folder."""

import json
import re
import signal
from pathlib import Path

import pytest

from evals.config.matrix import load_matrix
from evals.engine.server import log_by_start
from tests.evals_run import run_evals, the_run
from tests.kept_run import narrowed_copy

pytestmark = pytest.mark.engine

CASES = ["fp8-aime24-int_only", "fp8-aime24-think"]
SELECT = ("--precision", "fp8", "--task", "aime24", "--mode", "int_only,think", "--progress-interval", "0")
_CASE = next(c for c in load_matrix().cases("tiny") if c.id == CASES[0])
ITEMS, BASELINE_K, RUN_K = _CASE.limit, _CASE.baseline_repeats, _CASE.repeats
PER_CASE = ITEMS * BASELINE_K  # requests of a case in a baseline run
KILLED_AFTER = 60  # responses kept before the kill: mid-way through the model's generation pass


def requests_per_start(log: Path) -> list[int]:
    """Chat requests the server answered, per server start."""
    return [sum(bool(re.search(r'"POST /v1/chat/completions HTTP/1\.1" 200', line)) for line in start)
            for start in log_by_start(log)]


def metrics(run: Path) -> dict:
    return {case: json.loads((run / case / "summary.json").read_text())["metrics"] for case in CASES}


def verdicts(run: Path) -> dict:
    return {case: [(s["item"], s["response"], s["verdicts"]) for s in map(json.loads, (run / case / "samples.jsonl").open())]
            for case in CASES}


def test_day_one_no_baselines_smoke_baseline_run_killed_resumed_then_a_run(tiny_run, tmp_path):
    # No baselines: nothing starts; the way in, with each step's command.
    code, _, left, output = run_evals(tmp_path, "", *SELECT)
    assert code == 4 and not left, output[-3000:]
    command = " ".join(SELECT)  # the command as given (the harness's own options come before it)
    assert f"profile 'tiny' has no baseline for any of the {len(CASES)} case(s) this run would gate" in output
    for step in ("1. pytest evals ", f"{command} --smoke\n", "2. pytest evals ", f"{command} --snapshot-update\n",
                 f"{command} --resume last` continues it as a baseline run"):
        assert step in output, output[-3000:]
    assert not (tmp_path / "artifacts").exists() or not any((tmp_path / "artifacts").iterdir())

    # --smoke: every mechanism on 2 items, one sample each, against baselines of its own.
    smoke_root = tmp_path / "smoke"
    code, outcomes, left, output = run_evals(smoke_root, "", *SELECT, "--smoke", env={"SUITE_SNAPSHOTS_DIR": str(tmp_path / "snapshots")})
    assert code == 0 and not left, output[-3000:]
    # Its cases pass against the baselines it wrote; its pools have none from before it (skipped).
    assert {o for o, _ in outcomes.values()} <= {"passed", "skipped"} and all(outcomes[c][0] == "passed" for c in CASES), outcomes
    smoke = the_run(smoke_root)
    assert json.loads((smoke / "manifest.json").read_text())["smoke"] is True
    for case in CASES:
        made = json.loads((smoke / "smoke-baselines" / "tiny" / f"{case}.json").read_text())
        assert made["k"] == 1 and len(made["items"]) == 2
    assert not (tmp_path / "snapshots").exists()  # the profile's baselines are untouched

    code, _, left, output = run_evals(tmp_path, f"die-after:{KILLED_AFTER}", *SELECT, "--snapshot-update")
    assert code == -signal.SIGKILL, output[-3000:]
    assert not left, f"processes left after the kill: {left}"
    run = the_run(tmp_path)
    kept = (run / "generations" / "fp8.jsonl").read_text().splitlines()
    assert len(kept) == KILLED_AFTER
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["baseline"] is True and list(manifest["finished"]) == []  # the pass comes before any case
    log = run / "servers" / "fp8.log"
    assert requests_per_start(log)[0] >= KILLED_AFTER  # requests in flight at the kill were lost

    # Resumed without repeating --snapshot-update: it stays a baseline run, and says so.
    code, outcomes, left, output = run_evals(tmp_path, "", *SELECT, "--resume", "last")
    assert code == 0, output[-3000:]
    assert "that run is a baseline run (--snapshot-update); it continues as one" in output
    assert all(outcomes[c][0] == "passed" for c in CASES), outcomes
    assert not left
    total = len(CASES) * PER_CASE
    assert requests_per_start(log)[1] == total - KILLED_AFTER  # only the unfinished part
    generated = [json.loads(line) for line in (run / "generations" / "fp8.jsonl").open()]
    assert len(generated) == total and json.loads((run / "manifest.json").read_text())["baseline"] is True
    progress = (run / "progress.log").read_text()
    assert f"fp8 generation pass ({len(CASES)} cases): {total}/{total} requests, {KILLED_AFTER} reused" in progress
    # Each case then reads its responses: those the killed session kept, and the pass's.
    reused = [int(m.group(1) or 0) for c in CASES for m in [re.search(
        rf"{c}: {PER_CASE}/{PER_CASE} requests(?:, (\d+) reused)?(?:, \d+ from the generation pass)?(?:, \d+ tok/s)?, done",
        progress)]]  # a case all of whose responses the killed session kept also prints its rate (0 tok/s)
    assert sum(reused) == KILLED_AFTER, progress
    assert f"fp8-aime24-think: {PER_CASE}/{PER_CASE} requests" in output  # progress reaches the terminal too
    # The baselines it wrote hold baseline_repeats samples per item, drawn apart from a run's:
    # none of its requests is one the kept tiny run (a run, same settings) sent.
    for case in CASES:
        baseline = json.loads((tmp_path / "snapshots" / "tiny" / f"{case}.json").read_text())
        assert baseline["k"] == BASELINE_K > RUN_K and len(baseline["items"]) == ITEMS
        assert {ratio.split("/")[1] for ratio in baseline["items"].values()} == {str(BASELINE_K)}
    run_keys = {json.loads(line)["key"] for line in (tiny_run / "generations" / "fp8.jsonl").open()}
    assert not run_keys & {g["key"] for g in generated}
    resumed = metrics(run)

    code, outcomes, _, output = run_evals(tmp_path, "", *SELECT, "--resume", "last")
    assert code == 0, output[-3000:]
    assert len(requests_per_start(log)) == 2, "everything was kept: no engine should start"

    # A run against the new baselines (one case: a run's samples, its own seeds) passes. The
    # run is the kept tiny run's FP8 (tests/kept_run.py: a run, today's settings), replayed:
    # only the verdict is new here, so no engine starts for it.
    runs = tmp_path / "runs"
    fp8_run = narrowed_copy(tiny_run, tmp_path / "kept", ("fp8",))  # FP8 alone: no BF16 reference for drift
    code, outcomes, left, output = run_evals(runs, "", "--replay", str(fp8_run), "--task", "aime24", "--mode", "int_only",
                                             env={"SUITE_SNAPSHOTS_DIR": str(tmp_path / "snapshots")})
    assert code == 0 and not left, output[-3000:]
    planned = json.loads((fp8_run / "manifest.json").read_text())["plans"]["fp8"]["run_k"][CASES[0]]  # a run's samples
    assert outcomes[CASES[0]][0] == "passed" and json.loads((the_run(runs) / CASES[0] / "record.json").read_text())["k"] == max(planned.values())
    assert not (the_run(runs) / "servers").exists()

    replay_root = tmp_path / "replay"
    replay_root.mkdir()
    code, outcomes, left, output = run_evals(replay_root, "", "--replay", str(run),
                                             env={"SUITE_SNAPSHOTS_DIR": str(tmp_path / "snapshots")})
    assert code == 0, output[-3000:]
    assert {c for c, (o, _) in outcomes.items() if o == "passed"} == {*CASES, "fp8-all", "fp8-aime_thinking", "fp8-aime_non_thinking"}
    replayed = the_run(replay_root)
    assert not (replayed / "servers").exists() and not left
    assert json.loads((replayed / "manifest.json").read_text())["replay_of"] == str(run)
    assert metrics(replayed) == resumed
    assert verdicts(replayed) == verdicts(run)
    report = json.loads((replayed / "report.json").read_text())
    assert {c: report["cases"][c]["mean"] for c in CASES} == {c: m[report["cases"][c]["primary"]]["mean"] for c, m in resumed.items()}
    assert (replayed / "report.png").read_bytes()[:4] == b"\x89PNG"
    assert "| FP8 |" in (replayed / "report.md").read_text()
    # lm-eval's environment description, computed once per process (evals/lmeval/runner.py), is in every case's results.
    environments = {json.loads((replayed / c / "results.json").read_text())["pretty_env_info"] for c in CASES}
    assert len(environments) == 1 and "PyTorch version" in environments.pop()
