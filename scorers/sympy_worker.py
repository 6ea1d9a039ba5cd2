"""math-verify in a child process, so every comparison returns in bounded time.

math-verify bounds its own work with SIGALRM, which only works in the main
thread of the main interpreter, and cannot interrupt sympy stuck in C (a huge
integer power). Here the work runs in the child's main thread with
math-verify's alarm as the first bound, and the parent waits at most `timeout`
seconds; past that it kills the child and the next call starts a new one. One
class owns the process's whole life (start, calls, kill), in the style of
vLLM's RemoteOpenAIServer test helper. Parsed gold answers are cached in the
child, so each gold is parsed once.

The child is `python -m scorers.sympy_worker` speaking JSON lines on its
stdin/stdout: unlike multiprocessing's spawn, it never re-imports the
caller's `__main__`, so scripts need no `if __name__ == "__main__"` guard.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from pathlib import Path

DEFAULT_TIMEOUT_S = 5.0
_START_TIMEOUT_S = 120.0
_MEMORY_LIMIT_BYTES = 4 << 30  # a runaway power hits MemoryError, not the machine
_GOLD_CACHE_SIZE = 4096
_PROJECT_ROOT = str(Path(__file__).resolve().parents[1])


class SympyWorker:
    """Thread-safe; each process (xdist worker, CLI) makes its own child."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT_S):
        self.timeout = timeout
        self.starts = 0
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None

    def equivalent(self, gold: str, answer: str) -> tuple[bool, str | None]:
        """(verdict, note): note says why when no verdict was reached
        ("timeout", "sympy error: ..."); the verdict is then False."""
        verdict, note, _ = self._ask([gold, answer, None])
        return verdict, note

    def extracted_equivalent(self, gold: str, text: str) -> tuple[bool, str | None, str | None]:
        """(verdict, note, answer): the answer math-verify's own extraction reads in `text`
        (boxes first, then answer phrases, LaTeX and plain expressions), compared with gold."""
        return self._ask([gold, None, text])

    def _ask(self, request: list) -> tuple[bool, str | None, str | None]:
        if not self._lock.acquire(timeout=self.timeout):
            return False, "timeout", None
        try:
            # A (re)start has its own bound, so a slow start never eats the call's.
            if not self._ensure_started():
                return False, "sympy worker failed to start", None
            deadline = time.monotonic() + self.timeout
            try:
                self._proc.stdin.write(json.dumps(request) + "\n")
                self._proc.stdin.flush()
                line = self._readline(deadline)
            except (OSError, ValueError):
                line = None
            if line:
                ok, note, found = json.loads(line)
                return ok, note, found
            self._kill()
            return False, "timeout" if time.monotonic() >= deadline else "sympy worker died", None
        finally:
            self._lock.release()

    def close(self) -> None:
        with self._lock:
            self._kill()

    def _readline(self, deadline: float) -> str | None:
        ready, _, _ = select.select([self._proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        return self._proc.stdout.readline() if ready else None

    def _ensure_started(self) -> bool:
        if self._proc is not None and self._proc.poll() is None:
            return True
        self._kill()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [_PROJECT_ROOT, os.environ.get("PYTHONPATH")])))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "scorers.sympy_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        self.starts += 1
        if self._readline(time.monotonic() + _START_TIMEOUT_S) != "ready\n":
            self._kill()
            return False
        return True

    def _kill(self) -> None:
        if self._proc is None:
            return
        self._proc.kill()
        self._proc.wait()
        for stream in (self._proc.stdin, self._proc.stdout):
            stream.close()
        self._proc = None


def serve() -> None:
    """Child main loop, until EOF: [gold, answer, null] in -> [verdict, note, null] out: are
    they equivalent; [gold, null, text] in -> [verdict, note, answer read in text] out."""
    import logging
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (_MEMORY_LIMIT_BYTES, _MEMORY_LIMIT_BYTES))
    # The protocol owns stdout; anything a library prints goes to stderr.
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    logging.disable(logging.WARNING)  # math-verify logs every parse failure
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    config = [LatexExtractionConfig()]
    # Reading a response: boxes first, as the project's extraction does. The plain-expression
    # reader hands sympy's parse_expr (Python eval) only what its pattern admits: digits,
    # spaces, `.` and + - * / ^ ( ) × ÷, never a name; this process bounds its time and memory.
    reading = [LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig()]
    golds: OrderedDict[str, list] = OrderedDict()

    def parsed(text: str) -> list:
        return parse(f"${text}$", extraction_config=config, parsing_timeout=2)

    # Warm up before saying ready: math-verify imports its LaTeX parser and sympy's
    # printers on first use, which would otherwise count against the first call's bound.
    verify(parsed("\\frac{1}{2}"), parsed("0.5"), timeout_seconds=10)
    protocol.write("ready\n")
    protocol.flush()
    for line in sys.stdin:
        gold, answer, text = json.loads(line)
        found = None
        try:
            gold_expr = golds.get(gold)
            if gold_expr is None:
                gold_expr = golds[gold] = parsed(gold)
                if len(golds) > _GOLD_CACHE_SIZE:
                    golds.popitem(last=False)
            if text is None:
                answer_expr = parsed(answer)
            else:
                answer_expr = parse(text, extraction_config=reading, parsing_timeout=2)
                found = answer_expr[-1] if answer_expr and isinstance(answer_expr[-1], str) else None
            reply = [bool(gold_expr and answer_expr and verify(gold_expr, answer_expr, timeout_seconds=2)), None, found]
        except Exception as exc:  # a verdict for any input; the error's name is the note
            reply = [False, f"sympy error: {type(exc).__name__}", found]
        protocol.write(json.dumps(reply) + "\n")
        protocol.flush()


if __name__ == "__main__":
    serve()
