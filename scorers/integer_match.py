"""integer_match: the final integer of a response against an integer gold (AIME).

Policies say which part of the response is read:
  raw           the whole text;
  strip_think   the text with thinking removed (an unterminated `<think>` too);
  prefer_final  the text after the last `</think>`, then strip_think, then raw.
Within a part: the last `\\boxed{}` wins; else the last answer phrase ("the
answer is 34"), unless a self-correction follows it; else the last integer that
is not negated ("not 33"). A part whose answer is present but not a valid
integer (a boxed fraction, an out-of-range value) ends the search: a later
fallback must not replace the model's stated answer with a number from its
thinking.
"""

from __future__ import annotations

import re
from typing import Iterator

from scorers.notation import NUMBER_WORDS, number_word_value
from scorers.text import ANSWER_WORD, after_think, cut_template_tail, iter_last, last_box, strip_think, unwrap_commands
from scorers.verdict import Verdict

POLICIES = ("raw", "strip_think", "prefer_final")
AIME_RANGE = (0, 999)

_NUMBER = re.compile(
    r"(?<![\w.\\])"  # not the middle of a word, a number or a command
    r"(?:(?<![\w)}\]])(?P<sign>[-−]))?"  # minus, unless it is a binary minus (x-5)
    r"(?P<int>\d{1,3}(?:,\d{3})+(?![\d])|\d+)"  # 1,234 or 1234 or 033
    r"(?:\.(?P<frac>\d+))?"  # 33.0
    r"(?![\w])"
)
_PHRASE = re.compile(ANSWER_WORD + r"(?:\s*(?i:is|was|will\s+be|should\s+be|would\s+be|equals|=|:))*[\s:]*")
# "not 5", "nor $5$", "not \\boxed{5}": the negating word whole ("Nora 5", "notably 5" state 5),
# then only markup (symbols, LaTeX commands) before the number.
_NEGATED = re.compile(r"(?i)(?:\bnot|n't|\binstead\s+of|\brather\s+than|\bnor)\b\s*(?:[$*({]|\\[A-Za-z]+)*\s*$")
_CORRECTION = re.compile(r"(?i)\b(?:wait|actually|correction|oops|mistake|i\s+mean|no,)\b")
_LEAD = re.compile(r"(?:\s|\$|\*|\\\(|\\\[|\\(?:text|textbf|mathbf|mathrm|boxed)\{|\{|\()*")
_WRAPPERS = ("\\text", "\\textbf", "\\mathbf", "\\mathrm", "\\mbox", "\\displaystyle", "\\underline", "\\textit")
_SPACING = re.compile(r"\\(?:[,;:! ]|(?:q?quad|displaystyle)(?![A-Za-z]))")
_IN_WORDS = re.compile(NUMBER_WORDS)
_MAX_DIGITS = 30  # beyond any answer range; int() of 10^6 digits is slow and capped
_MAX_ANSWER_CHARS = 256  # no integer answer is longer; keeps the regexes below cheap
_LEFT_SIDE = re.compile(r"^[^=]{1,80}=\s*")  # a+b=41, x = 33: the value is the right side
# A unit or a name after the number: 33^\circ, 41 meters, 41 ways, 12 square units.
_UNIT_SUFFIX = re.compile(r"(?:\^\{?\\circ\}?|\\%|%|°|(?<=\d)\s+[A-Za-z][A-Za-z ]{0,40})$")


def integer_match(
    response: str,
    gold: str | int,
    policy: str = "prefer_final",
    valid: tuple[int, int] = AIME_RANGE,
) -> Verdict:
    """Compare the response's final integer with `gold` (an integer)."""
    gold_value = parse_gold_integer(gold)
    value, note = extract_integer(response, policy, valid)
    if value is None:
        return Verdict(False, None, note or "no answer")
    return Verdict(value == gold_value, str(value), note)


def parse_gold_integer(gold: str | int) -> int:
    try:
        return int(str(gold).strip())
    except ValueError:
        raise ValueError(f"integer_match needs an integer gold answer, got {gold!r}") from None


def extract_integer(
    text: str, policy: str = "prefer_final", valid: tuple[int, int] = AIME_RANGE
) -> tuple[int | None, str | None]:
    """(value, note); value None means no valid integer answer."""
    if policy not in POLICIES:
        raise ValueError(f"unknown integer_match policy {policy!r}; choose one of {POLICIES}")
    for part in _parts(cut_template_tail(text), policy):
        found = _final_integer(part, valid)
        if found is not None:
            return found
    return None, "no answer"


def _parts(text: str, policy: str) -> Iterator[str]:
    if policy == "prefer_final":
        final = after_think(text)
        if final is not None:
            yield final
    if policy in ("strip_think", "prefer_final"):
        yield strip_think(text)
    if policy in ("raw", "prefer_final"):
        yield text


def _normalise_separators(text: str) -> str:
    # LaTeX thousands separators: 1{,}234 and 1\,234.
    if "{,}" in text:
        text = text.replace("{,}", ",")
    if "\\," in text:
        text = re.sub(r"(?<=\d)\\,(?=\d{3}(?!\d))", "", text)
    return text


def _final_integer(part: str, valid: tuple[int, int]) -> tuple[int | None, str | None] | None:
    """None when the part holds no answer at all; (value, note) otherwise."""
    part = _normalise_separators(part)
    box = last_box(part)
    # An answer phrase after the last box restates the answer ("\\boxed{522}?
    # ... **Answer:** 523"); plain numbers after it do not.
    phrase = _phrase_answer(part, valid, after=-1 if box is None else box[0])
    if phrase is not None:
        return phrase
    if box is not None:
        return _checked(parse_integer_answer(box[1]), valid, box[1])
    value = _last_plain_integer(part, valid)
    return None if value is None else (value, None)


def _phrase_answer(part: str, valid: tuple[int, int], after: int) -> tuple[int | None, str | None] | None:
    for phrase in iter_last(_PHRASE, part):
        if phrase.start() < after:
            return None
        lead = _LEAD.match(part, phrase.end())
        number = _NUMBER.match(part, lead.end())
        if number is None:
            words = _IN_WORDS.match(part, lead.end())  # "The answer is forty-one."
            value = None if words is None else number_word_value(words.group())
            if value is not None:
                return _checked(value, valid, words.group())
            continue
        value, note = _checked(_number_value(number), valid, number.group())
        tail = part[number.end():]
        correction = _CORRECTION.search(tail)
        if correction is not None:
            corrected = _last_plain_integer(tail[correction.end():], valid)
            if corrected is not None:
                return corrected, None
        return value, note
    return None


def _last_plain_integer(part: str, valid: tuple[int, int]) -> int | None:
    lo, hi = valid
    for number in iter_last(_NUMBER, part):
        value = _number_value(number)
        if value is None or not lo <= value <= hi:
            continue
        if _NEGATED.search(part, max(0, number.start() - 24), number.start()):
            continue
        return value
    return None


def _checked(value: int | None, valid: tuple[int, int], seen: str) -> tuple[int | None, str | None]:
    if value is None:
        return None, f"not an integer: {seen[:80]!r}"
    lo, hi = valid
    if not lo <= value <= hi:
        return None, f"out of range {lo}-{hi}: {value}"
    return value, None


def _number_value(match: re.Match) -> int | None:
    frac = match.group("frac")
    if frac and frac.strip("0"):
        return None
    digits = match.group("int").replace(",", "")
    if len(digits) > _MAX_DIGITS:
        return None
    value = int(digits)
    return -value if match.group("sign") else value


def parse_integer_answer(answer: str) -> int | None:
    """The integer a stated answer (box content, phrase) denotes, else None:
    `033`, `+041`, `33.0`, `1,234`, `-5`, `\\textbf{33}`, `x = 33`, `a+b=41`, `33^\\circ`,
    `41 \\text{ meters}`, `\\$41`; not `41.5`, `41\\sqrt{2}` or `4.1 \\times 10`."""
    if len(answer) > _MAX_ANSWER_CHARS:
        return None
    if answer.isdecimal() and answer.isascii():  # the common case: \boxed{204}
        return int(answer)
    text = unwrap_commands(answer, _WRAPPERS)
    text = _SPACING.sub(" ", text.replace("\\$", "").replace("$", "")).strip().rstrip(".").strip()
    text = _UNIT_SUFFIX.sub("", _LEFT_SIDE.sub("", text)).strip().removeprefix("+")
    while len(text) >= 2 and text[0] + text[-1] in ("{}", "()", "**"):
        text = text[1:-1].strip()
    number = _NUMBER.fullmatch(text.replace("**", ""))
    return None if number is None else _number_value(number)
