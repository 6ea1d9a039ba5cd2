"""Text surgery shared by the scorers: thinking blocks and boxed answers.

Everything here is linear in the input length (no backtracking regexes, no
recursion, no rescans), so a 1 MB response or a million nested braces costs
milliseconds.
"""

from __future__ import annotations

import re

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


def last_boxed(text: str) -> str | None:
    """Content of the last complete `\\boxed{...}` / `\\fbox{...}` (or
    `\\boxed 5`), else None. A box left open by truncation is ignored, so the
    one before it counts."""
    found = last_box(text)
    return None if found is None else found[1]


def last_box(text: str) -> tuple[int, str] | None:
    """(start, content) of the last complete box; see last_boxed."""
    if "\\boxed" not in text and "\\fbox" not in text:
        return None
    # Fast path: the last box command, matched forward from there.
    end = len(text)
    for _ in range(_TAIL_TRIES):
        start = max(text.rfind(cmd, 0, end) for cmd in BOX_COMMANDS)
        if start < 0:
            return None
        content = _closed_content(text, start)
        if content is not None:
            return start, content
        end = start
    return _last_box_one_pass(text)


def _closed_content(text: str, start: int) -> str | None:
    spaced = _SPACED_BOX.match(text, start)
    if spaced is not None:
        return spaced.group(1)
    brace = start + (len("\\boxed") if text.startswith("\\boxed", start) else len("\\fbox"))
    if brace >= len(text) or text[brace] != "{":
        return None
    depth = 0
    for m in _BRACES.finditer(text, brace):
        depth += 1 if m.group() == "{" else -1
        if depth == 0:
            return text[brace + 1 : m.start()]
    return None


def _last_box_one_pass(text: str) -> tuple[int, str] | None:
    # Many unclosed boxes (truncation, adversarial input): one pass matching all braces.
    best_at, best = -1, None
    for cmd_at, brace, close in _command_groups(text, BOX_COMMANDS):
        if cmd_at > best_at:
            best_at, best = cmd_at, text[brace + 1 : close]
    for m in _SPACED_BOX.finditer(text, best_at + 1):
        best_at, best = m.start(), m.group(1)
    return None if best is None else (best_at, best)


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
