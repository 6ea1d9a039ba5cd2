"""math_equiv: MATH-500 final answers judged equivalent by math-verify.

Extraction and the easy verdicts are pure string work (scorers/math_answer.py);
the rest goes to math-verify in a bounded child process (scorers/sympy_worker.py).
Verdicts are cached per (gold, answer), since k samples of one item mostly
state the same few answers.
"""

from __future__ import annotations

import functools

from scorers.math_answer import MAX_ANSWER_CHARS, quick_verdict, read_math_answer
from scorers.notation import as_pmatrix, respell, respelling_note
from scorers.sympy_worker import SympyWorker
from scorers.verdict import Verdict, joined_notes, preview

_worker = SympyWorker()
# math-verify reads the end of the part: the final answer is there, and its patterns
# cost more than linear time on a long text.
_READ_CHARS = 1500
# No answer, an answer phrase stating a sentence, the last math span, a short text.
MAX_COMPARISONS = 2  # bounded sympy comparisons per response: the stated answer, math-verify's reading
_WEAK_READINGS = (None, "prose", "span", "text")
READ_BY_MATH_VERIFY = "read by math-verify's extraction"


def math_equiv(response: str, gold: str) -> Verdict:
    """The stated answer (scorers/math_answer.py) against gold. When the response states
    none in a box, an answer phrase or a final "... is X" sentence, math-verify's own
    extraction reads the same part of the response as a second candidate (prose and
    several-span answers it knows), and either being equivalent is a correct answer. Where
    the project reads an answer firmly, its rules decide (a decimal comma: README). The note
    says why when it is not a plain comparison, and what a reading beyond the plain ones read
    (boxes joined by prose, math spans as one list, an option letter, unicode in a sentence,
    matrices in other brackets, equations joined by "and", a comma and a space)."""
    stated = read_math_answer(response)
    correct, note = (False, "no answer") if stated.answer is None else answers_equivalent(gold, stated.answer)
    if not correct and stated.source in _WEAK_READINGS and stated.part.strip():
        found_correct, _, found = _worker.extracted_equivalent(gold, stated.part[-_READ_CHARS:])
        if found_correct:
            return Verdict(True, preview(found or ""), READ_BY_MATH_VERIFY)
    return Verdict(correct, None if stated.answer is None else preview(stated.answer), joined_notes(note, stated.note))


def answers_equivalent(gold: str, answer: str) -> tuple[bool, str | None]:
    """(verdict, note) for two stated answers."""
    return _cached_verdict(gold, answer)


@functools.lru_cache(maxsize=1 << 16)
def _cached_verdict(gold: str, answer: str) -> tuple[bool, str | None]:
    read = respelling_note(answer)
    quick = quick_verdict(gold, answer)
    if quick is not None:
        return quick, read
    if len(answer) > MAX_ANSWER_CHARS:
        return False, f"answer over {MAX_ANSWER_CHARS} chars, compared as text only"
    verdict, note = _worker.equivalent(as_pmatrix(gold), respell(answer))
    return verdict, joined_notes(note, read)
