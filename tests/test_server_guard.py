"""The server guard: when the process that started a server dies outright, nothing of
the server's process group is left (vLLM's engine core and workers are the API server's
children, so a parent-death signal on the API server alone would orphan them)."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]

# A parent that starts a guarded "server" which itself starts a child, then waits.
PARENT = textwrap.dedent("""
    import subprocess, sys, time
    server = [sys.executable, "-c", "import subprocess, time; subprocess.Popen(['sleep', '300']); time.sleep(300)"]
    guard = subprocess.Popen([sys.executable, "-m", "evals.engine.guard", *server], start_new_session=True)
    print(guard.pid, flush=True)
    time.sleep(300)
""")


def session_members(sid: int) -> list[int]:
    members = []
    for process in psutil.process_iter():
        try:
            if os.getsid(process.pid) == sid and process.status() != psutil.STATUS_ZOMBIE:
                members.append(process.pid)
        except (psutil.NoSuchProcess, ProcessLookupError):
            continue
    return members


def test_killing_the_parent_outright_takes_the_whole_server_group_down():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    sid = int(parent.stdout.readline())
    deadline = time.time() + 30
    while len(session_members(sid)) < 3 and time.time() < deadline:  # guard, server, server's child
        time.sleep(0.2)
    assert len(session_members(sid)) == 3
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.time() + 30
    while session_members(sid) and time.time() < deadline:
        time.sleep(0.2)
    assert session_members(sid) == []


def test_without_a_command_it_says_how_to_call_it():
    proc = subprocess.run([sys.executable, "-m", "evals.engine.guard"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and "usage: python -m evals.engine.guard COMMAND" in proc.stderr
