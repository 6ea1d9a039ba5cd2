"""Runs a server command and takes its whole process group down with the test process.

    python -m evals.engine.guard COMMAND...

vLLM's API server starts its engine core and workers as children; a parent-death
signal on the API server alone leaves them orphaned when the test process is
killed outright (SIGKILL, OOM killer). This guard leads the server's process
group: when its parent dies, or when it is told to stop, it kills the group."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1
GRACE_S = 15.0  # for the server's own shutdown, before the group is killed


def _kill_group(signum=None, frame=None) -> None:
    os.killpg(os.getpgrp(), signal.SIGKILL)  # the guard goes too: that is its last act


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m evals.engine.guard COMMAND...", file=sys.stderr)
        return 2
    parent = os.getppid()
    signal.signal(signal.SIGTERM, _kill_group)
    signal.signal(signal.SIGINT, _kill_group)
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the signal was armed
        _kill_group()
    child = subprocess.Popen(argv)  # same process group: the group is the server
    stopping: list[float] = []

    def stop(signum, frame) -> None:
        # Told to stop, or the parent died: let the server shut down, then leave nothing.
        if not stopping:
            stopping.append(time.monotonic())
            child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while (code := child.poll()) is None and not (stopping and time.monotonic() - stopping[0] > GRACE_S):
        time.sleep(0.2)
    if stopping:
        _kill_group()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
