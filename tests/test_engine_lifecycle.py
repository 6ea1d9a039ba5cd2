"""A server that dies mid-case or never starts fails only its own model's cases, with its
log's tail, and leaves no process behind; --vllm-url tests a server that is already
running instead of starting one. One child `pytest evals` run holds all three, a model
each: BF16's server (tensor parallel 2) given an argument vLLM rejects, FP8's server
killed at its second request, NVFP4 on a server this test starts (--vllm-url). Its
baselines (made with --snapshot-update in a temporary folder) are not the point. Ctrl-C: see
tests/test_resume_keeps_results.py; SIGKILL of pytest itself: tests/test_day_one.py."""

from __future__ import annotations

import json

import pytest

from tests.evals_run import run_evals, the_run

pytestmark = pytest.mark.engine
MODES = ("answer_only", "int_only", "think")


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    from evals.config.matrix import load_matrix
    from evals.engine.server import VllmServer, cpu_env
    from evals.engine.server import server_args
    from evals.engine.tiny.build import ensure_built

    root = tmp_path_factory.mktemp("faulty")
    matrix = load_matrix()
    args = server_args(next(c for c in matrix.cases("tiny") if c.precision == "nvfp4"))
    with VllmServer(str(ensure_built("nvfp4", matrix)), "tiny-nvfp4", args, root / "remote.log", env=cpu_env(args)) as server:
        code, outcomes, left, output = run_evals(
            root, "badarg:bf16,kill:fp8:2", "--task", "aime24", "--mode", ",".join(MODES), "--limit", "4",
            "--snapshot-update", "--vllm-url", f"nvfp4={server.url}")
    return {"code": code, "outcomes": outcomes, "left": left, "output": output, "run": the_run(root), "url": server.url}


def cases(outcomes: dict, precision: str) -> dict:
    return {k: v for k, v in outcomes.items() if k.startswith(f"{precision}-aime24-") and k.split("-", 2)[2] in MODES}


def test_nothing_is_left_running(faulty):
    assert faulty["code"] == 1, faulty["output"][-3000:]
    assert faulty["left"] == []


def test_server_killed_mid_case_fails_only_its_model(faulty):
    fp8 = cases(faulty["outcomes"], "fp8")
    assert len(fp8) == 3 and all(outcome == "failed" for outcome, _ in fp8.values()), fp8
    first = fp8["fp8-aime24-answer_only"][1]
    assert "the server died during the case" in first and "--- last" in first and "fp8.log" in first
    later = fp8["fp8-aime24-think"][1]
    assert "is not running" in later and "--- last" in later
    assert all(outcome == "passed" for outcome, _ in cases(faulty["outcomes"], "nvfp4").values())


def test_server_that_cannot_start_fails_only_its_model(faulty):
    bf16 = cases(faulty["outcomes"], "bf16")
    assert len(bf16) == 3, bf16
    for outcome, message in bf16.values():
        assert outcome == "error" and "exited with code" in message and "no-such-dtype" in message
        assert "--- last" in message and "bf16.log" in message  # the server's own log, its tail
    assert all(outcome == "failed" for outcome, _ in cases(faulty["outcomes"], "fp8").values())  # its own fault


def test_vllm_url_tests_a_running_server_instead_of_starting_one(faulty):
    nvfp4 = cases(faulty["outcomes"], "nvfp4")
    assert len(nvfp4) == 3 and all(v == ("passed", "") for v in nvfp4.values()), nvfp4
    run = faulty["run"]
    assert not (run / "servers" / "nvfp4.log").exists()  # the run started no NVFP4 server of its own
    assert json.loads((run / "manifest.json").read_text())["models"]["nvfp4"]["url"] == faulty["url"]
