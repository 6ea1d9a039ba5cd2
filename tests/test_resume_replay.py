"""A run killed halfway regenerates, when resumed, only what it had not kept; a resumed
run with nothing left to generate starts no engine; a replay of the run's generations
needs no engine and reproduces its metrics exactly. Requests are counted by the vLLM
server's own access log, not by the suite."""

import json
import re
import signal
from pathlib import Path

import pytest

from evals.engine.server import log_by_start
from tests.evals_run import COMMITTED_BASELINES, run_evals, the_run

pytestmark = pytest.mark.engine

CASES = ["fp8-aime24-answer_only", "fp8-aime24-int_only", "fp8-aime24-think", "fp8-aime24-think_final"]
SELECT = ("--precision", "fp8", "--task", "aime24", "--progress-interval", "0")
ITEMS = 20  # the tiny profile's aime24 limit
KILLED_AFTER = 30  # responses kept before the kill: mid-way through the model's generation pass


def requests_per_start(log: Path) -> list[int]:
    """Chat requests the server answered, per server start."""
    return [sum(bool(re.search(r'"POST /v1/chat/completions HTTP/1\.1" 200', line)) for line in start)
            for start in log_by_start(log)]


def metrics(run: Path) -> dict:
    return {case: json.loads((run / case / "summary.json").read_text())["metrics"] for case in CASES}


def verdicts(run: Path) -> dict:
    return {case: [(s["item"], s["response"], s["verdicts"]) for s in map(json.loads, (run / case / "samples.jsonl").open())]
            for case in CASES}


def test_killed_run_resumes_without_regenerating_and_replays_exactly(tmp_path):
    code, _, left, output = run_evals(tmp_path, f"die-after:{KILLED_AFTER}", *SELECT, env=COMMITTED_BASELINES)
    assert code == -signal.SIGKILL, output[-3000:]
    assert not left, f"processes left after the kill: {left}"
    run = the_run(tmp_path)
    kept = (run / "generations" / "fp8.jsonl").read_text().splitlines()
    assert len(kept) == KILLED_AFTER
    assert list(json.loads((run / "manifest.json").read_text())["finished"]) == []  # the pass comes before any case
    log = run / "servers" / "fp8.log"
    assert requests_per_start(log)[0] >= KILLED_AFTER  # requests in flight at the kill were lost

    code, outcomes, left, output = run_evals(tmp_path, "", *SELECT, "--resume", "last", env=COMMITTED_BASELINES)
    assert code == 0, output[-3000:]
    assert all(outcomes[c][0] == "passed" for c in CASES), outcomes
    assert not left
    assert requests_per_start(log)[1] == len(CASES) * ITEMS - KILLED_AFTER  # only the unfinished part
    assert len((run / "generations" / "fp8.jsonl").read_text().splitlines()) == len(CASES) * ITEMS
    progress = (run / "progress.log").read_text()
    total = len(CASES) * ITEMS
    assert f"fp8 generation pass ({len(CASES)} cases): {total}/{total} requests, {KILLED_AFTER} reused" in progress
    # Each case then reads its responses: those the killed session kept, and the pass's.
    reused = [int(m.group(1) or 0) for c in CASES for m in [re.search(
        rf"{c}: {ITEMS}/{ITEMS} requests(?:, (\d+) reused)?(?:, \d+ from the generation pass)?(?:, \d+ tok/s)?, done",
        progress)]]  # a case all of whose responses the killed session kept also prints its rate (0 tok/s)
    assert sum(reused) == KILLED_AFTER, progress
    assert f"fp8-aime24-think: {ITEMS}/{ITEMS} requests" in output  # progress reaches the terminal too
    resumed = metrics(run)

    code, outcomes, _, output = run_evals(tmp_path, "", *SELECT, "--resume", "last", env=COMMITTED_BASELINES)
    assert code == 0, output[-3000:]
    assert len(requests_per_start(log)) == 2, "everything was kept: no engine should start"

    replay_root = tmp_path / "replay"
    replay_root.mkdir()
    code, outcomes, left, output = run_evals(replay_root, "", "--replay", str(run), env=COMMITTED_BASELINES)
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
