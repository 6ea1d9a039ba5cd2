"""Final-answer extraction and string canonicalisation for MATH-style answers.

Pure string work, linear in the input. The canonical form decides the easy
cases (equal strings, equal numbers, equal choice letters) without sympy; the
rest goes to math-verify (scorers/sympy_worker.py).
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import NamedTuple

from scorers.notation import NUMBER_WORDS, UNICODE_MATH, respell, without_thousands_separators
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
_DROP = re.compile(r"\\left|\\right|\\!|\\,|\\;|\\:|\\ |~|\$|\\\$|\^\{\\circ\}|\^\\circ|°|\\%|%|\\displaystyle")  # spaces: after (canonical)
_SPACES = re.compile(r"\s+")
_VAR_PREFIX = re.compile(r"^[A-Za-z](?:_\{?\w+\}?)?=(?=.)")
_CHOICE = re.compile(r"^\(?([A-Ea-e])\)?$")
_WORDS = re.compile(r"^[A-Za-z][A-Za-z ]*$")
_SENTENCE_CHARS = 400
_PROSE = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{3,}(?![A-Za-z{])")  # a word, not a command or its argument
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")
# "is X" ending a sentence: X a number, number words, bold text, math spans joined by commas
# or "and" ("are $-1$ and $3$"), or math in unicode ("is 2π"), then at most a few words (a
# unit, a name).
_SPAN = r"\$[^$]{1,200}\$"
_IS_FINAL = re.compile(
    r"(?<![A-Za-z])(?:is|are|equals|was|be)\s+(?:(?:equal\s+to|exactly|therefore|thus|then|just|only|about)\s+)?"
    r"(?:(?P<answer>" + NUMBER_WORDS + r"|\*\*[^*\n]{1,80}\*\*|" + _SPAN + r"(?:\s*(?:,|,?\s*and|,?\s*or)\s*" + _SPAN + r"){0,7}"
    r"|\\\((?:(?!\\\)).){1,200}\\\)|[-+]?\d[\d,]*(?:\.\d+)?(?:\s*/\s*\d+)?\s*%?)|(?P<unicode>" + UNICODE_MATH + r"))"
    r"(?:\s+[A-Za-z][A-Za-z'\-²³]*){0,3}\s*[.!]?$")
# A multiple-choice letter stated in prose: one capital A-E, in parentheses or after "option",
# "choice", "letter" or "is", in a sentence that speaks of options or a correct answer.
_OPTION_WORDS = re.compile(r"(?i)(?<![A-Za-z])(?:option|choice|letter|answer|correct)")
_OPTION_LETTER = re.compile(r"\((?P<p>[A-E])\)|(?<![A-Za-z])(?i:option|choice|letter|is|be)\s*:?\s+(?:\*\*|\\text(?:bf)?\{)?"
                            r"(?P<w>[A-E])(?![\w'-])")
# Math spans joined by nothing but commas, "and"/"or" and spacing: the items of one answer.
_SPAN_SPLIT = re.compile(r"(?<!\\)\$")
_SPAN_JOINER = re.compile(r"\s*(?:[,;]\s*(?:(?:and|or)\s+)?|(?:and|or)\s*)")
_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}(?![A-Za-z{])")  # "so", "apples": prose, not a span's math
_JOINERS = ("and", "or")
JOINED_BOXES_NOTE = "boxes of an answer in parts read as one answer"
JOINED_SPANS_NOTE = "math spans read as one list"
OPTION_NOTE = "option letter read in prose"
UNICODE_NOTE = "unicode math read in a final sentence"
_RATIONAL = re.compile(r"^(-?)(?:(\d+(?:\.\d+)?)|\\frac\{(\d+)\}\{(\d+)\}|(\d+)/(\d+))$")


class Stated(NamedTuple):
    """Where a response states its answer: the answer, the part of the response it was read
    in (after `</think>` or without thinking; empty when read in thinking), and how."""

    answer: str | None
    part: str
    source: str | None  # "box", "phrase", "prose" (a phrase stating a sentence), "sentence", "span" or "text"
    note: str | None = None  # what a reading beyond the plain ones read (JOINED_BOXES_NOTE, ...)


def extract_math_answer(response: str) -> str | None:
    """The stated final answer, read like integer_match's prefer_final: after
    `</think>` first, then without thinking, then the raw text. Within a part:
    the last `\\boxed{}`/`\\fbox{}` (with the boxes joined to it: `\\boxed{2} or
    \\boxed{-5}` is `2, -5`, and so are the boxes of an answer in parts: `x = \\boxed{2},
    y = \\boxed{3}`), else the last answer phrase, else a final sentence "... is X" (or
    naming an option letter), else the last `$...$` span, else the whole part when it is
    short. Math spans joined by commas or "and" in an answer are its items, and a `$` inside
    a box is stray (`\\boxed{$x = 2$, $y = 3$}` is `x = 2, y = 3`)."""
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
    answer, note = stated.answer, stated.note
    for _ in range(_MAX_NESTING):
        items = _span_items(answer)
        if items is not None:  # "$x = 2$, $y = 3$" or a box's stray `$`: no one span is the answer
            answer, note = ", ".join(items), JOINED_SPANS_NOTE if len(items) > 1 else note
            continue
        inner = _answer_in(answer)
        if inner.answer is None or inner.answer == answer:
            break
        answer, note = inner.answer, inner.note or note
    if stated.source == "phrase" and _PROSE.search(answer) and respell(answer) == answer:
        option = _option_letter(answer)  # "The answer is option (C), since ..."
        if option is not None:
            return stated._replace(answer=option, note=OPTION_NOTE)
        return stated._replace(answer=answer, source="prose", note=note)  # "The answer: Bob ends with 14 coins"
    return stated._replace(answer=answer, note=note)


def _answer_in(part: str) -> Stated:
    box_at, boxes, by_prose = final_boxes(part)
    phrase = next(iter_last(_PHRASE, part), None)
    # The later of the last box and the last answer phrase states the answer.
    if phrase is not None and phrase.start() > box_at:
        end = _SENTENCE_END.search(part, phrase.end())
        answer = _strip_delimiters(part[phrase.end() : end.start() if end else len(part)])
        if answer:
            return Stated(answer, part, "phrase")
    if boxes:
        return Stated(", ".join(boxes), part, "box", JOINED_BOXES_NOTE if by_prose else None)
    # Only the tail: a final answer is at the end, and unclosed `\\(` make a
    # whole-text span search quadratic.
    tail = part[max(0, len(part) - _SPAN_WINDOW):]
    sentence, note = _final_sentence(tail)
    if sentence is not None:
        return Stated(sentence, part, "sentence", note)
    spans = list(_MATH_SPAN.finditer(tail))
    if spans:
        answer = next(g for g in spans[-1].groups() if g is not None).strip()
        return Stated(answer or None, part, "span")
    text = part.strip()
    return Stated(text if 0 < len(text) <= _SHORT_TEXT_CHARS and "\n" not in text else None, part, "text")


def _final_sentence(text: str) -> tuple[str | None, str | None]:
    """(X, note) of a last sentence "... is X" (see _IS_FINAL): "The smallest $k$ is 17." ->
    "17", "So the area is 2π." -> "2π"; else of a last sentence naming one option letter: "The
    correct option is (B)." -> "(B)"."""
    line = text.rstrip()[-_SENTENCE_CHARS:].rsplit("\n", 1)[-1]
    sentence = _SENTENCE_BREAK.split(line)[-1]
    found = _IS_FINAL.search(sentence)
    if found is not None:
        return (_strip_delimiters(found["answer"]), None) if found["answer"] else (found["unicode"], UNICODE_NOTE)
    option = _option_letter(sentence) if _OPTION_WORDS.search(sentence) else None
    return (None, None) if option is None else (option, OPTION_NOTE)


def _option_letter(text: str) -> str | None:
    """"(X)" when the text names one option letter (see _OPTION_LETTER), else None."""
    letters = {m["p"] or m["w"] for m in _OPTION_LETTER.finditer(text)}
    return f"({letters.pop()})" if len(letters) == 1 else None


def _span_items(answer: str) -> list[str] | None:
    """The items of an answer written as math spans joined by commas, "and"/"or" and spacing
    (`x = 2$, $y = 3`, the inside of `$x = 2$, $y = 3$`), or of a box broken by stray `$`
    (`1, 2$`): the text between the `$`, split where a joiner stands alone between two `$`.
    None when the answer has no `$` or holds prose ("$5$ apples", "$x = 2$, so $y = 3$")."""
    if "$" not in answer or _SPAN_SPLIT.search(answer) is None:
        return None
    items, current = [], ""
    for piece in _SPAN_SPLIT.split(answer):
        if piece.strip() and _SPAN_JOINER.fullmatch(piece):
            items.append(current)
            current = ""
        else:
            current += piece
    items = [item.strip() for item in [*items, current] if item.strip()]
    if not items or any(w.group() not in _JOINERS for item in items for w in _WORD.finditer(item)):
        return None
    return items


def _strip_delimiters(text: str) -> str:
    text = text.strip().strip("*").strip()
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if text.startswith(left) and text.endswith(right) and len(text) > len(left) + len(right):
            text = text[len(left) : -len(right)].strip()
    return text


def canonical(answer: str) -> str:
    """A spelling-insensitive form: no spacing, sizing, `\\text`, degrees,
    percent or dollar signs; `\\dfrac` is `\\frac`; `x=5` is `5`; unicode, number
    words, mixed numbers, matrices and equations joined by "and" as LaTeX
    (scorers/notation.py)."""
    text = _UNIT_TEXT.sub("", answer)
    text = respell(unwrap_commands(text, _TEXT_WRAPPERS))
    # Spaces go last: a comma and a space separate items (`12, 345`), `12,345` is one number.
    text = _SPACES.sub("", without_thousands_separators(_DROP.sub("", text)))
    text = text.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
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
