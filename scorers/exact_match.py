"""exact_match: lm-eval's own strict verdict, with what it compared.

The verdict must equal lm-eval's `aime` and `hendrycks_math500` exact_match on
the same response (tests/test_exact_match.py checks it against lm-eval's
`process_results`), so the normalisation is lm-eval's own code; only the
choice of the compared span is restated here, because lm-eval does not expose
it. It is the metric the seed report used and why its numbers were near zero.
"""

from __future__ import annotations

import functools
import importlib

from scorers.verdict import Verdict, preview

TASKS = ("aime", "math")


@functools.cache
def _reference():
    # lm-eval's aime utils hold the same is_equiv/strip_string as hendrycks_math's,
    # without importing `datasets`.
    return importlib.import_module("lm_eval.tasks.aime.utils")


def exact_match(response: str, gold: str, task: str = "aime") -> Verdict:
    if task not in TASKS:
        raise ValueError(f"exact_match task must be one of {TASKS}, got {task!r}")
    ref = _reference()
    dollars = [i for i, ch in enumerate(response) if ch == "$"]
    answer = response if len(dollars) <= 1 else response[dollars[0] + 1 : dollars[-1]]
    if task == "aime":
        boxed = ref.last_boxed_only_string(response)
        if boxed is not None:
            try:
                content = ref.remove_boxed(boxed)
            except (AssertionError, IndexError):
                content = None
            if content is not None:
                answer = content
    return Verdict(bool(ref.is_equiv(answer, str(gold))), preview(answer))
