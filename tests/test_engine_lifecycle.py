"""A server that dies mid-case or never starts fails only its own model's cases,
with its log's tail, and leaves no process behind. These run real vLLM servers
(the tiny model on vLLM's CPU build), in a child `pytest evals` run whose
baselines (made with --snapshot-update in a temporary folder) are not the point."""

from __future__ import annotations

import json

import pytest

from tests.evals_run import run_evals

pytestmark = pytest.mark.slow


def test_server_killed_mid_case_fails_only_its_model(tmp_path):
    code, outcomes, left, output = run_evals(
        tmp_path, "kill:fp8:2", "--precision", "fp8,nvfp4", "--task", "aime24", "--limit", "4", "--snapshot-update"
    )
    assert code == 1, output[-3000:]
    fp8 = {k: v for k, v in outcomes.items() if k.startswith("fp8-aime24-")}
    nvfp4 = {k: v for k, v in outcomes.items() if k.startswith("nvfp4-aime24-")}
    assert len(fp8) == len(nvfp4) == 4, outcomes.keys()
    assert all(outcome == "passed" for outcome, _ in nvfp4.values()), nvfp4
    assert all(outcome == "failed" for outcome, _ in fp8.values()), fp8
    first = fp8["fp8-aime24-answer_only"][1]
    assert "the server died during the case" in first and "--- last" in first and "fp8.log" in first
    later = fp8["fp8-aime24-think"][1]
    assert "is not running" in later and "--- last" in later
    assert left == []


def test_server_that_cannot_start_fails_only_its_model(tmp_path):
    code, outcomes, left, output = run_evals(
        tmp_path, "badarg:fp8", "--precision", "fp8,nvfp4", "--task", "aime24", "--mode", "int_only", "--limit", "2",
        "--snapshot-update",
    )
    assert code == 1, output[-3000:]
    assert outcomes["nvfp4-aime24-int_only"][0] == "passed"
    outcome, message = outcomes["fp8-aime24-int_only"]
    assert outcome == "error"
    assert "exited with code" in message and "no-such-dtype" in message
    assert left == []


def test_interrupt_stops_every_server(tmp_path):
    artifacts = tmp_path / "artifacts"

    def second_server_starting() -> bool:  # fp8's cases are done and nvfp4's server is coming up
        return any(artifacts.glob("*/fp8-*/summary.json")) and any(artifacts.glob("*/servers/nvfp4.log"))

    code, outcomes, left, output = run_evals(
        tmp_path, "", "--precision", "fp8,nvfp4", "--task", "aime24", "--mode", "int_only", "--limit", "2",
        "--snapshot-update", interrupt_when=second_server_starting,
    )
    assert code == 2, output[-3000:]  # pytest's exit code for an interrupted run
    assert list(artifacts.glob("*/fp8-aime24-int_only/samples.jsonl")), "the finished case is kept"
    assert not list(artifacts.glob("*/nvfp4-*"))
    assert left == []


def test_vllm_url_tests_a_running_server_instead_of_starting_one(tmp_path):
    from evals.config import load_matrix
    from evals.engine import VllmServer, cpu_env
    from evals.session import server_args
    from evals.tiny.build import ensure_built

    matrix = load_matrix()
    case = next(c for c in matrix.cases("tiny") if c.precision == "nvfp4")
    args = server_args(case)
    with VllmServer(str(ensure_built("nvfp4", matrix)), "tiny-nvfp4", args, tmp_path / "remote.log", env=cpu_env(args)) as server:
        code, outcomes, left, output = run_evals(
            tmp_path, "", "--precision", "nvfp4", "--task", "aime24", "--mode", "int_only", "--limit", "2",
            "--vllm-url", f"nvfp4={server.url}", "--snapshot-update",
        )
    assert code == 0, output[-3000:]
    assert outcomes["nvfp4-aime24-int_only"] == ("passed", "")
    assert {outcome for case, (outcome, _) in outcomes.items() if case != "nvfp4-aime24-int_only"} == {"skipped"}  # no baselines to pool
    artifacts = tmp_path / "artifacts"
    assert not list(artifacts.glob("*/servers/*.log"))  # the run started no server of its own
    [manifest] = artifacts.glob("*/manifest.json")
    assert json.loads(manifest.read_text())["models"]["nvfp4"]["url"] == server.url
    assert left == []
