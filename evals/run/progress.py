"""Progress of a case during long runs: requests done of total, tokens/s, ETA.

One line when the case (or a model's generation pass) starts, then at most one per
interval, then one at the end, so a CI log of a many-hour run stays readable. Lines come
as answers arrive and, while requests are out and none answers, from the pool's
heartbeat (evals/engine/client.py): a line after an interval with none, saying how many
requests are out and how long since the last answer, so a hung server is seen long
before the stall bound (--stall-timeout) ends the pool. Reused
responses (kept by an earlier session: a resumed run) count as done but not toward
the rate, which measures this engine now; so do the ones this session's generation
pass made before the case read them (the pass's own lines give its rate).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

DEFAULT_INTERVAL_S = 30.0


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


class Progress:
    def __init__(self, case_id: str, write: Callable[[str], None], interval: float = DEFAULT_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic):
        self.case_id, self.write, self.interval, self.clock = case_id, write, interval, clock
        self.total = 0
        self.done = self.reused = self.from_pass = self.tokens = 0
        self.started = self.last_line = None

    def start(self, total: int) -> None:
        self.total += total
        if self.started is None:
            self.started = self.last_line = self.clock()
            self.write(f"{self.case_id}: {self.total} requests")

    def update(self, completion_tokens: int | None, reused: bool = False, from_pass: bool = False) -> None:
        self.done += 1
        if reused:
            self.reused += 1
        elif from_pass:
            self.from_pass += 1
        else:
            self.tokens += completion_tokens or 0
        now = self.clock()
        if self.done < self.total and now - self.last_line >= self.interval:
            self.last_line = now
            self.write(self.line())

    def heartbeat(self, out: int, silent_s: float) -> None:
        """The pool's heartbeat while `out` requests are out, the last answer `silent_s`
        seconds ago: a line if none was written for an interval."""
        if self.started is None:
            return
        now = self.clock()
        if now - self.last_line >= self.interval:
            self.last_line = now
            self.write(f"{self.line()}, {out} out, no answer for {_duration(silent_s)}")

    def finish(self) -> None:
        if self.started is not None:
            self.write(self.line(final=True))

    def line(self, final: bool = False) -> str:
        elapsed = max(self.clock() - self.started, 1e-9)
        generated = self.done - self.reused - self.from_pass
        parts = [f"{self.case_id}: {self.done}/{self.total} requests"]
        if self.reused:
            parts.append(f"{self.reused} reused")
        if self.from_pass:
            parts.append(f"{self.from_pass} from the generation pass")
        if generated or not self.from_pass:
            parts.append(f"{self.tokens / elapsed:.0f} tok/s")
        if final:
            parts.append(f"done in {_duration(elapsed)}")
        elif generated:
            parts.append(f"ETA {_duration((self.total - self.done) * elapsed / generated)}")
        return ", ".join(parts)


class ProgressLog:
    """Where a run's progress lines go: its progress.log, each line stamped, and the terminal."""

    def __init__(self, path: Path, terminal: Callable[[str], None], interval: float = DEFAULT_INTERVAL_S):
        self.path, self.terminal, self.interval = Path(path), terminal, interval

    def write(self, line: str) -> None:
        stamped = f"{time.strftime('%H:%M:%S')} {line}"
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(stamped + "\n")
        self.terminal(stamped)

    def progress(self, label: str) -> Progress:
        return Progress(label, self.write, self.interval)
