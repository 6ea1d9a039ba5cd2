"""math_equiv: MATH-500 final answers judged equivalent by math-verify.

Extraction and the easy verdicts are pure string work (scorers/math_answer.py);
the rest goes to math-verify in a bounded child process (scorers/sympy_worker.py).
Verdicts are cached per (gold, answer), since k samples of one item mostly
state the same few answers.
"""

from __future__ import annotations

import functools

from scorers.math_answer import MAX_ANSWER_CHARS, extract_math_answer, quick_verdict
from scorers.sympy_worker import SympyWorker
from scorers.verdict import Verdict, preview

_worker = SympyWorker()


def math_equiv(response: str, gold: str) -> Verdict:
    answer = extract_math_answer(response)
    if answer is None:
        return Verdict(False, None, "no answer")
    correct, note = answers_equivalent(gold, answer)
    return Verdict(correct, preview(answer), note)


def answers_equivalent(gold: str, answer: str) -> tuple[bool, str | None]:
    """(verdict, note) for two stated answers."""
    return _cached_verdict(gold, answer)


@functools.lru_cache(maxsize=1 << 16)
def _cached_verdict(gold: str, answer: str) -> tuple[bool, str | None]:
    quick = quick_verdict(gold, answer)
    if quick is not None:
        return quick, None
    if len(answer) > MAX_ANSWER_CHARS:
        return False, f"answer over {MAX_ANSWER_CHARS} chars, compared as text only"
    return _worker.equivalent(gold, answer)


def set_timeout(seconds: float) -> None:
    """Bound on one sympy comparison (default 5 s)."""
    _worker.timeout = seconds
    _cached_verdict.cache_clear()
