"""Final-answer extraction and string canonicalisation for MATH-style answers.

Pure string work, linear in the input. The canonical form decides the easy
cases (equal strings, equal numbers, equal choice letters) without sympy; the
rest goes to math-verify (scorers/sympy_worker.py).
"""

from __future__ import annotations

import re
from fractions import Fraction

from scorers.text import ANSWER_WORD, after_think, iter_last, last_box, strip_think, unwrap_commands

# An answer longer than this is not a final answer but a paragraph: it is not
# sent to sympy (which can take minutes on it) and only matches as a string.
MAX_ANSWER_CHARS = 400
_SHORT_TEXT_CHARS = 64
_SPAN_WINDOW = 2000
_MAX_NESTING = 64

_PHRASE = re.compile(ANSWER_WORD + r"\s*(?i:is|:|=)\s*:?\s*")
_SENTENCE_END = re.compile(r"\.(?:\s|$)|\n")
_MATH_SPAN = re.compile(r"\$\$([^$]+)\$\$|\$([^$]+)\$|\\\(((?:(?!\\\)).)+)\\\)|\\\[((?:(?!\\\]).)+)\\\]", re.S)
_TEXT_WRAPPERS = ("\\text", "\\textbf", "\\mathrm", "\\mbox", "\\mathbf", "\\textit", "\\displaystyle")
_UNIT_TEXT = re.compile(r"(?<=[\d}])\s*\\(?:text|mbox)\{\s[^{}]*\}")
_DROP = re.compile(r"\\left|\\right|\\!|\\,|\\;|\\:|\\ |~|\s|\$|\\\$|\^\{\\circ\}|\^\\circ|°|\\%|%|\\displaystyle")
_VAR_PREFIX = re.compile(r"^[A-Za-z](?:_\{?\w+\}?)?=(?=.)")
_CHOICE = re.compile(r"^\(?([A-Ea-e])\)?$")
_WORDS = re.compile(r"^[A-Za-z][A-Za-z ]*$")
_RATIONAL = re.compile(r"^(-?)(?:(\d+(?:\.\d+)?)|\\frac\{(\d+)\}\{(\d+)\}|(\d+)/(\d+))$")


def extract_math_answer(response: str) -> str | None:
    """The stated final answer, read like integer_match's prefer_final: after
    `</think>` first, then without thinking, then the raw text. Within a part:
    the last `\\boxed{}`/`\\fbox{}`, else the last answer phrase, else the last
    `$...$` span, else the whole part when it is short."""
    final = after_think(response)
    parts = ([final] if final is not None else []) + [strip_think(response), response]
    answer = next(filter(None, map(_answer_in, parts)), None)
    # An answer can itself state an answer ("the answer is $5$ apples" -> "$5$
    # apples" -> "5"): read it until it stands alone, so extraction is idempotent.
    for _ in range(_MAX_NESTING):
        if answer is None:
            break
        inner = _answer_in(answer)
        if inner is None or inner == answer:
            break
        answer = inner
    return answer


def _answer_in(part: str) -> str | None:
    box = last_box(part)
    phrase = next(iter_last(_PHRASE, part), None)
    # The later of the last box and the last answer phrase states the answer.
    if phrase is not None and (box is None or phrase.start() > box[0]):
        end = _SENTENCE_END.search(part, phrase.end())
        answer = _strip_delimiters(part[phrase.end() : end.start() if end else len(part)])
        if answer:
            return answer
    if box is not None:
        return box[1].strip() or None
    # Only the tail: a final answer is at the end, and unclosed `\\(` make a
    # whole-text span search quadratic.
    spans = list(_MATH_SPAN.finditer(part, max(0, len(part) - _SPAN_WINDOW)))
    if spans:
        span = spans[-1]
        return next(g for g in span.groups() if g is not None).strip() or None
    text = part.strip()
    return text if 0 < len(text) <= _SHORT_TEXT_CHARS and "\n" not in text else None


def _strip_delimiters(text: str) -> str:
    text = text.strip().strip("*").strip()
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if text.startswith(left) and text.endswith(right) and len(text) > len(left) + len(right):
            text = text[len(left) : -len(right)].strip()
    return text


def canonical(answer: str) -> str:
    """A spelling-insensitive form: no spacing, sizing, `\\text`, degrees,
    percent or dollar signs; `\\dfrac` is `\\frac`; `x=5` is `5`."""
    text = _UNIT_TEXT.sub("", answer)
    text = unwrap_commands(text, _TEXT_WRAPPERS)
    text = _DROP.sub("", text).replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    text = text.rstrip(".")
    if text.count("=") == 1:
        text = _VAR_PREFIX.sub("", text)
    return text


def quick_verdict(gold: str, answer: str) -> bool | None:
    """True/False when the canonical forms settle it, None when sympy must."""
    g, a = canonical(gold), canonical(answer)
    if g == a:
        return True
    choice = _CHOICE.match(g)
    if choice or _WORDS.match(g):
        # Text and multiple-choice golds: compare letters/words, never sympy.
        other = _CHOICE.match(a)
        if choice:
            return bool(other) and other.group(1).lower() == choice.group(1).lower()
        return g.replace(" ", "").lower() == a.replace(" ", "").lower()
    gv, av = _rational(g), _rational(a)
    if gv is not None and av is not None:
        if gv == av:
            return True
        if gv.denominator == 1 and av.denominator == 1:
            return False
    return None


def _rational(text: str) -> Fraction | None:
    m = _RATIONAL.match(text) if len(text) <= 40 else None
    if m is None:
        return None
    sign, decimal, fn, fd, sn, sd = m.groups()
    if decimal is not None:
        value = Fraction(decimal)
    else:
        num, den = (fn, fd) if fn is not None else (sn, sd)
        if int(den) == 0:
            return None
        value = Fraction(int(num), int(den))
    return -value if sign else value
