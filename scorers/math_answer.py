"""Final-answer extraction and string canonicalisation for MATH-style answers.

Pure string work, linear in the input. The canonical form decides the easy
cases (equal strings, equal numbers, equal choice letters) without sympy; the
rest goes to math-verify (scorers/sympy_worker.py).
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import NamedTuple

from scorers.notation import NUMBER_WORDS, respell, without_thousands_separators
from scorers.text import ANSWER_WORD, after_think, cut_template_tail, final_boxes, iter_last, strip_think, unwrap_commands

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
_SENTENCE_CHARS = 400
_PROSE = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{3,}(?![A-Za-z{])")  # a word, not a command or its argument
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")
# "is X" ending a sentence: X a number, number words, bold text or one math span, then at
# most a few words (a unit, a name).
_IS_FINAL = re.compile(
    r"(?<![A-Za-z])(?:is|are|equals|was|be)\s+(?:(?:equal\s+to|exactly|therefore|thus|then|just|only|about)\s+)?"
    r"(?P<answer>" + NUMBER_WORDS + r"|\*\*[^*\n]{1,80}\*\*|\$[^$]{1,200}\$|\\\((?:(?!\\\)).){1,200}\\\)|[-+]?\d[\d,]*(?:\.\d+)?(?:\s*/\s*\d+)?\s*%?)"
    r"(?:\s+[A-Za-z][A-Za-z'\-]*){0,3}\s*[.!]?$")
_RATIONAL = re.compile(r"^(-?)(?:(\d+(?:\.\d+)?)|\\frac\{(\d+)\}\{(\d+)\}|(\d+)/(\d+))$")


class Stated(NamedTuple):
    """Where a response states its answer: the answer, the part of the response it was read
    in (after `</think>` or without thinking; empty when read in thinking), and how."""

    answer: str | None
    part: str
    source: str | None  # "box", "phrase", "prose" (a phrase stating a sentence), "sentence", "span" or "text"


def extract_math_answer(response: str) -> str | None:
    """The stated final answer, read like integer_match's prefer_final: after
    `</think>` first, then without thinking, then the raw text. Within a part:
    the last `\\boxed{}`/`\\fbox{}` (with the boxes joined to it: `\\boxed{2} or
    \\boxed{-5}` is `2, -5`), else the last answer phrase, else a final sentence
    "... is X", else the last `$...$` span, else the whole part when it is short."""
    return read_math_answer(response).answer


def read_math_answer(response: str) -> Stated:
    """The stated final answer with the part it was read in (see extract_math_answer)."""
    response = cut_template_tail(response)
    final = after_think(response)
    outside = ([final] if final is not None else []) + [strip_think(response)]
    stated = next((s for s in map(_answer_in, outside) if s.answer), None)
    if stated is None:
        # Thinking is read last, for an answer stated there; nothing else reads it.
        stated = _answer_in(response)._replace(part="")
        if stated.answer is None:
            return Stated(None, next((p for p in outside if p.strip()), ""), None)
    # An answer can itself state an answer ("the answer is $5$ apples" -> "$5$
    # apples" -> "5"): read it until it stands alone, so extraction is idempotent.
    answer = stated.answer
    for _ in range(_MAX_NESTING):
        inner = _answer_in(answer).answer
        if inner is None or inner == answer:
            break
        answer = inner
    if stated.source == "phrase" and _PROSE.search(answer) and respell(answer) == answer:
        return stated._replace(answer=answer, source="prose")  # "The answer: Bob ends with 14 coins"
    return stated._replace(answer=answer)


def _answer_in(part: str) -> Stated:
    box_at, boxes = final_boxes(part)
    phrase = next(iter_last(_PHRASE, part), None)
    # The later of the last box and the last answer phrase states the answer.
    if phrase is not None and phrase.start() > box_at:
        end = _SENTENCE_END.search(part, phrase.end())
        answer = _strip_delimiters(part[phrase.end() : end.start() if end else len(part)])
        if answer:
            return Stated(answer, part, "phrase")
    if boxes:
        return Stated(", ".join(boxes), part, "box")
    # Only the tail: a final answer is at the end, and unclosed `\\(` make a
    # whole-text span search quadratic.
    tail = part[max(0, len(part) - _SPAN_WINDOW):]
    sentence = _final_sentence(tail)
    if sentence is not None:
        return Stated(sentence, part, "sentence")
    spans = list(_MATH_SPAN.finditer(tail))
    if spans:
        answer = next(g for g in spans[-1].groups() if g is not None).strip()
        return Stated(answer or None, part, "span")
    text = part.strip()
    return Stated(text if 0 < len(text) <= _SHORT_TEXT_CHARS and "\n" not in text else None, part, "text")


def _final_sentence(text: str) -> str | None:
    """X of a last sentence "... is X" (see _IS_FINAL): "The smallest $k$ is 17." -> "17"."""
    line = text.rstrip()[-_SENTENCE_CHARS:].rsplit("\n", 1)[-1]
    found = _IS_FINAL.search(_SENTENCE_BREAK.split(line)[-1])
    return None if found is None else _strip_delimiters(found["answer"])


def _strip_delimiters(text: str) -> str:
    text = text.strip().strip("*").strip()
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if text.startswith(left) and text.endswith(right) and len(text) > len(left) + len(right):
            text = text[len(left) : -len(right)].strip()
    return text


def canonical(answer: str) -> str:
    """A spelling-insensitive form: no spacing, sizing, `\\text`, degrees,
    percent or dollar signs; `\\dfrac` is `\\frac`; `x=5` is `5`; unicode, number
    words and mixed numbers as LaTeX (scorers/notation.py)."""
    text = _UNIT_TEXT.sub("", answer)
    text = respell(unwrap_commands(text, _TEXT_WRAPPERS))
    text = without_thousands_separators(_DROP.sub("", text)).replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
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
