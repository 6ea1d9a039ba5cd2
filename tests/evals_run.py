"""Run `pytest evals` in a child process, with a fault injected (tests/faults.py),
and read back what happened: exit code, each case's outcome and message, and
any process the run left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Callable

import psutil

ROOT = Path(__file__).resolve().parents[1]
# The committed baselines, read only (no test here passes --snapshot-update with them).
COMMITTED_BASELINES = {"SUITE_SNAPSHOTS_DIR": str(ROOT / "snapshots")}


def the_run(tmp_path: Path) -> Path:
    """The one run folder a `run_evals(tmp_path, ...)` made (several: an error)."""
    [run] = [manifest.parent for manifest in (tmp_path / "artifacts").glob("*/manifest.json")]
    return run


def pytest_evals(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`pytest evals ARGS` in a child process, no fault, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "evals", "-p", "no:cacheprovider", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})},
    )


def run_evals(tmp_path: Path, fault: str, *args: str, interrupt_when: Callable[[], bool] | None = None,
              env: dict[str, str] | None = None):
    """Run `pytest evals` with a fault; return (exit code, {case id: (outcome, message)}, processes left, output).

    Baselines are read from tmp_path/snapshots unless `env` names others, so the
    repository's are never touched. Every process of the run inherits a unique
    environment token, so processes it leaves behind are found even after they
    are orphaned."""
    report = tmp_path / "report.xml"
    command = [
        sys.executable, "-m", "pytest", "evals", "-p", "tests.faults", "-p", "no:cacheprovider",
        "--artifacts", str(tmp_path / "artifacts"), f"--junitxml={report}", "-q", *args,
    ]
    token = uuid.uuid4().hex
    env = {**os.environ, "SUITE_SNAPSHOTS_DIR": str(tmp_path / "snapshots"), **(env or {}),
           "SUITE_FAULT": fault, "SUITE_TEST_RUN": token}
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        # A background shell starts jobs with SIGINT ignored, and Python keeps it so: restore Ctrl-C.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    if interrupt_when is not None:
        deadline = time.time() + 900
        while time.time() < deadline and proc.poll() is None and not interrupt_when():
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=1500)
    return proc.returncode, _outcomes(report), _processes_left(token, _server_sessions(tmp_path / "artifacts")), output


def _server_sessions(artifacts: Path) -> set[int]:
    """The session ids of the servers a run started (its manifests record them)."""
    sessions = set()
    for manifest in artifacts.glob("*/manifest.json"):
        for model in json.loads(manifest.read_text()).get("models", {}).values():
            if "session" in model:
                sessions.add(model["session"])
    return sessions


def _processes_left(token: str, sessions: set[int], wait_s: float = 30.0) -> list[list[str]]:
    """Processes of the run still alive after up to `wait_s`: by the run's environment token,
    or by a server's session (vLLM's engine processes rewrite their environment block with
    their process title, so the token alone would miss them)."""
    deadline = time.time() + wait_s
    while True:
        left = []
        for process in psutil.process_iter(["cmdline"]):
            try:
                if process.status() == psutil.STATUS_ZOMBIE:
                    continue
                if os.getsid(process.pid) in sessions or process.environ().get("SUITE_TEST_RUN") == token:
                    left.append(process.info["cmdline"])
            except (psutil.NoSuchProcess, psutil.AccessDenied, ProcessLookupError):
                continue
        if not left or time.time() > deadline:
            return left
        time.sleep(1.0)


def _outcomes(report: Path) -> dict[str, tuple[str, str]]:
    outcomes = {}
    if not report.exists():
        return outcomes
    for case in ET.parse(report).getroot().iter("testcase"):
        if "[" not in case.get("name", ""):
            continue  # the nameless entry junitxml writes for an interrupted session
        node, outcome = None, "passed"
        for tag in ("failure", "error", "skipped"):
            if case.find(tag) is not None:
                node, outcome = case.find(tag), {"failure": "failed"}.get(tag, tag)
                break
        text = "" if node is None else node.get("message", "") + "\n" + (node.text or "")
        # Ids repeat across modules (test_recovery[fp8-aime24-think]): the case's or pool's own test, run first, wins.
        outcomes.setdefault(case.get("name").split("[", 1)[1].rstrip("]"), (outcome, text))
    return outcomes
