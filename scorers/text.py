"""Text surgery shared by the scorers: thinking blocks and boxed answers.

Everything here is linear in the input length (no backtracking regexes, no
recursion, no rescans), so a 1 MB response or a million nested braces costs
milliseconds.
"""

from __future__ import annotations

import re
from typing import NamedTuple

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
BOX_COMMANDS = ("\\boxed", "\\fbox")

# "answer", "final answer", "result" in any case, as a whole word. It starts
# with a plain character class so the regex engine skips ahead fast (an (?i)
# or \b start makes it try every position: 5x slower on long thinking).
ANSWER_WORD = r"[AaFfRr](?<=(?<![A-Za-z])[AaFfRr])(?i:inal\s+answer|nswer|esult)(?![A-Za-z])"
_BRACES = re.compile(r"[{}]")
_TAIL_TRIES = 8
_SPACED_BOX = re.compile(r"\\(?:boxed|fbox) ([^\s${}]+?)(?=[\s$]|[.,](?:\s|$)|$)")


def after_think(text: str) -> str | None:
    """Text after the last `</think>`, or None when thinking never closed."""
    end = text.rfind(THINK_CLOSE)
    return None if end < 0 else text[end + len(THINK_CLOSE):]


def strip_think(text: str) -> str:
    """Remove thinking: closed blocks, an unterminated `<think>` and its tail,
    and a leading block whose `<think>` was in the prompt (Qwen3's template
    puts it there, so responses often hold only `</think>`)."""
    close = text.rfind(THINK_CLOSE)
    if close >= 0:
        head = text[:close]
        first_open = head.find(THINK_OPEN)
        # Text before a `<think>` the response opened itself is not thinking.
        text = (head[:first_open] if first_open >= 0 else "") + text[close + len(THINK_CLOSE):]
    open_at = text.find(THINK_OPEN)
    return text if open_at < 0 else text[:open_at]


# Chat-template markers a response can run into when generation did not stop at its end
# (a stray "<|im_start|>user" and a made-up next turn): nothing after one is the answer.
_TEMPLATE_MARK = re.compile(r"<\|(?:im_start|im_end|endoftext|eot_id|end_of_text)\|>")
# What may stand between boxes that together state one answer: "\boxed{2} \text{ or } \boxed{-5}".
_JOINER_ATOMS = r"\s|[$,;]|\\[()\[\]]|\\q?quad|\\text\{\s*(?:and|or|,)?\s*\}|\b(?:and|or)\b"
_BOX_JOINER = re.compile(r"(?:" + _JOINER_ATOMS + r")*")
# Prose that joins the boxes of an answer in several parts: equations that each box one side
# ("x = \boxed{2}, y = \boxed{3}"), and part labels with a few small words ("\boxed{3} for part
# (a) and \boxed{5} for part (b)"; "Part (a): \boxed{3}. Part (b): \boxed{5}."). Small words and
# the end of a sentence may stand between two boxes only beside a part label.
_LEFT_SIDE = r"[A-Za-z](?:_\{?\w{1,3}\}?)?\s*="
_PART_LABEL = re.compile(r"(?<![A-Za-z])(?:(?i:part)\s*)?\((?:[a-h]|i{1,3}|iv|vi{0,3}|[1-9])\)"
                         r"|(?<![A-Za-z])(?i:part)\s+(?:[a-h]|[1-9])(?![A-Za-z0-9])")
_EQUATION_JOINER = re.compile(r"(?:" + _JOINER_ATOMS + "|" + _LEFT_SIDE + r")*")
_LABELLED_JOINER = re.compile(r"(?:" + _JOINER_ATOMS + "|" + _LEFT_SIDE + "|" + _PART_LABEL.pattern
                              + r"|[.:]|\*\*|\\text\{|\}|\b(?i:for|to|in|of|is|the|answer|part)\b)*")
_MAX_JOINER_CHARS = 80
_MAX_JOINED_BOXES = 8


def cut_template_tail(text: str) -> str:
    """The response up to the first chat-template marker that follows some text of its own.
    Markers inside the thinking (before the first `</think>`) do not end the response:
    what the model thought is not its answer, and the answer after `</think>` still is."""
    if "|" not in text:  # one memchr pass (a two-character search is 10x slower on long thinking)
        return text
    close = text.find(THINK_CLOSE)
    since = 0 if close < 0 else close + len(THINK_CLOSE)
    for mark in _TEMPLATE_MARK.finditer(text, since):
        if text[since : mark.start()].strip():
            return text[: mark.start()]
        since = mark.end()
    return text


class FinalBoxes(NamedTuple):
    start: int  # of the last box; -1 when there is none
    contents: list[str]
    by_prose: bool  # joined by part labels or equations' left sides, not only by "and", commas, spacing


def final_boxes(text: str) -> FinalBoxes:
    """The contents of the last box and of the boxes just before it that are joined to it by
    nothing but spacing, commas, "and"/"or" (`\\boxed{(1,3)} and \\boxed{(3,1)}`), or by the prose
    of an answer in parts (see _LABELLED_JOINER): together they are the answer. Repeats are
    dropped; (-1, [], False) when there is no complete box."""
    found = last_box(text)
    if found is None:
        return FinalBoxes(-1, [], False)
    boxes, by_prose = [found], False
    while len(boxes) < _MAX_JOINED_BOXES:
        earlier = last_box(text, end=boxes[-1][0])
        if earlier is None:
            break
        joined = _joined(text, earlier[2], boxes[-1][0])
        if joined is None:
            break
        boxes.append(earlier)
        by_prose = by_prose or joined
    contents = [content.strip() for _, content, _ in reversed(boxes)]
    return FinalBoxes(found[0], list(dict.fromkeys(c for c in contents if c)), by_prose)


def _joined(text: str, start: int, end: int) -> bool | None:
    """Whether text[start:end] joins two boxes: None when not, else whether by prose."""
    if _BOX_JOINER.fullmatch(text, start, end) is not None:
        return False
    if end - start > _MAX_JOINER_CHARS:
        return None
    between = text[start:end]
    if _EQUATION_JOINER.fullmatch(between) or (_LABELLED_JOINER.fullmatch(between) and _PART_LABEL.search(between)):
        return True
    return None


def last_boxed(text: str) -> str | None:
    """Content of the last complete `\\boxed{...}` / `\\fbox{...}` (or
    `\\boxed 5`), else None. A box left open by truncation is ignored, so the
    one before it counts."""
    found = last_box(text)
    return None if found is None else found[1]


def last_box(text: str, end: int | None = None) -> tuple[int, str, int] | None:
    """(start, content, end) of the last complete box that ends by `end`; see last_boxed."""
    if "\\boxed" not in text and "\\fbox" not in text:
        return None
    limit = len(text) if end is None else end
    # Fast path: the last box command, matched forward from there.
    before = limit
    for _ in range(_TAIL_TRIES):
        start = max(text.rfind(cmd, 0, before) for cmd in BOX_COMMANDS)
        if start < 0:
            return None
        closed = _closed_content(text, start, limit)
        if closed is not None:
            return start, *closed
        before = start
    return _last_box_one_pass(text, limit)


def _closed_content(text: str, start: int, limit: int) -> tuple[str, int] | None:
    spaced = _SPACED_BOX.match(text, start, limit)
    if spaced is not None:
        return spaced.group(1), spaced.end(1)
    brace = start + (len("\\boxed") if text.startswith("\\boxed", start) else len("\\fbox"))
    if brace >= limit or text[brace] != "{":
        return None
    depth = 0
    for m in _BRACES.finditer(text, brace, limit):
        depth += 1 if m.group() == "{" else -1
        if depth == 0:
            return text[brace + 1 : m.start()], m.end()
    return None


def _last_box_one_pass(text: str, limit: int) -> tuple[int, str, int] | None:
    # Many unclosed boxes (truncation, adversarial input): one pass matching all braces.
    best = None
    for cmd_at, brace, close in _command_groups(text[:limit], BOX_COMMANDS):
        if best is None or cmd_at > best[0]:
            best = cmd_at, text[brace + 1 : close], close + 1
    for m in _SPACED_BOX.finditer(text, -1 if best is None else best[0] + 1, limit):
        best = m.start(), m.group(1), m.end(1)
    return best


def _command_groups(text: str, commands: tuple[str, ...]):
    """(command start, `{`, matching `}`) of every closed `\\cmd{...}`, in
    closing order: one pass with a stack of open braces."""
    opens: list[int] = []
    for m in _BRACES.finditer(text):
        if m.group() == "{":
            opens.append(m.start())
        elif opens:
            brace = opens.pop()
            for cmd in commands:
                if brace >= len(cmd) and text.startswith(cmd, brace - len(cmd)):
                    yield brace - len(cmd), brace, m.start()
                    break


def unwrap_commands(text: str, commands: tuple[str, ...]) -> str:
    """Replace `\\cmd{X}` by `X` for the given commands, innermost first
    (`\\text{\\textbf{5}}` -> `5`). One pass over the braces."""
    if not any(cmd in text for cmd in commands):
        return text
    drop = bytearray(len(text))
    for cmd_at, brace, close in _command_groups(text, commands):
        drop[cmd_at : brace + 1] = b"\x01" * (brace + 1 - cmd_at)
        drop[close] = 1
    return "".join(ch for ch, d in zip(text, drop) if not d)


def iter_last(pattern: re.Pattern, text: str, window: int = 1024, margin: int = 256):
    """Matches of `pattern`, last first, found in windows growing from the end
    of the text: the last answer of a 1 MB response costs a 1 KB scan. For
    patterns whose matches are shorter than `margin` and do not depend on where
    the scan starts (the lookbehinds here see before the window)."""
    if len(text) <= window:
        yield from reversed(list(pattern.finditer(text)))
        return
    end = len(text)
    while end > 0:
        start = max(0, end - window)
        found = [m for m in pattern.finditer(text, start, min(len(text), end + margin)) if m.start() < end]
        yield from reversed(found)
        end, window = start, window * 2
