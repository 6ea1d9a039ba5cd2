"""A server that dies mid-case or never starts fails only its own model's cases,
with its log's tail, and leaves no process behind. These run real vLLM servers
(the tiny model on vLLM's CPU build), in a child `pytest evals` run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def run_evals(tmp_path: Path, fault: str, *args: str, interrupt_after: float | None = None):
    """Run `pytest evals` with a fault; return (exit code, {test id: outcome, message}, new live processes)."""
    report = tmp_path / "report.xml"
    command = [
        sys.executable, "-m", "pytest", "evals", "-p", "tests.faults", "-p", "no:cacheprovider",
        "--artifacts", str(tmp_path / "artifacts"), f"--junitxml={report}", "-q", *args,
    ]
    before = {p.pid for p in psutil.process_iter()}
    started = time.time()
    env = {**os.environ, "SUITE_FAULT": fault}
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if interrupt_after is not None:
        _wait_for_first_finished_case(tmp_path / "artifacts", proc, interrupt_after)
        proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=1500)
    time.sleep(2)  # let the kernel reap the killed group
    left = [
        p for p in psutil.process_iter(["pid", "cmdline", "create_time"])
        if p.pid not in before and p.info["create_time"] >= started - 1 and p.pid != os.getpid()
        and p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    ]
    outcomes = {}
    if report.exists():
        for case in ET.parse(report).getroot().iter("testcase"):
            failure = case.find("failure")
            error = case.find("error")
            skipped = case.find("skipped")
            node = failure if failure is not None else error
            outcome = "failed" if failure is not None else "error" if error is not None else "skipped" if skipped is not None else "passed"
            text = "" if node is None else (node.get("message", "") + "\n" + (node.text or ""))
            outcomes[case.get("name").split("[", 1)[1].rstrip("]")] = (outcome, text)
    return proc.returncode, outcomes, left, output


def _wait_for_first_finished_case(artifacts: Path, proc, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if any(artifacts.glob("*/*/summary.json")):
            return
        time.sleep(0.5)


def test_server_killed_mid_case_fails_only_its_model(tmp_path):
    code, outcomes, left, output = run_evals(
        tmp_path, "kill:fp8:2", "--precision", "fp8,nvfp4", "--task", "aime24", "--limit", "4"
    )
    assert code == 1, output[-3000:]
    fp8 = {k: v for k, v in outcomes.items() if k.startswith("fp8-")}
    nvfp4 = {k: v for k, v in outcomes.items() if k.startswith("nvfp4-")}
    assert len(fp8) == len(nvfp4) == 4, outcomes.keys()
    assert all(outcome == "passed" for outcome, _ in nvfp4.values()), nvfp4
    assert all(outcome == "failed" for outcome, _ in fp8.values()), fp8
    first = fp8["fp8-aime24-answer_only"][1]
    assert "the server died during the case" in first and "--- last" in first and "fp8.log" in first
    later = fp8["fp8-aime24-think"][1]
    assert "is not running" in later and "--- last" in later
    assert left == [], [p.info["cmdline"] for p in left]


def test_server_that_cannot_start_fails_only_its_model(tmp_path):
    code, outcomes, left, output = run_evals(
        tmp_path, "badarg:fp8", "--precision", "fp8,nvfp4", "--task", "aime24", "--mode", "int_only", "--limit", "2"
    )
    assert code == 1, output[-3000:]
    assert outcomes["nvfp4-aime24-int_only"][0] == "passed"
    outcome, message = outcomes["fp8-aime24-int_only"]
    assert outcome == "error"
    assert "exited with code" in message and "no-such-dtype" in message
    assert left == [], [p.info["cmdline"] for p in left]


def test_interrupt_stops_every_server(tmp_path):
    code, outcomes, left, output = run_evals(
        tmp_path, "", "--precision", "nvfp4", "--task", "aime24", "--limit", "2", interrupt_after=600
    )
    assert code == 2, output[-3000:]  # pytest's exit code for an interrupted run
    finished = list((tmp_path / "artifacts").glob("*/*/summary.json"))
    assert finished, "the case finished before the interrupt is kept"
    assert left == [], [p.info["cmdline"] for p in left]
