"""The one result type every scorer returns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    correct: bool
    # What the scorer compared with the gold answer, as text (None: nothing found),
    # so a report can show why an answer was judged wrong.
    extracted: str | None
    # Why, when it is not a plain comparison: "no answer", "timeout", "out of range 0-999".
    note: str | None = None


def joined_notes(*notes: str | None) -> str | None:
    """Several notes as one ("timeout; matrix brackets read as pmatrix"), None for none."""
    return "; ".join(n for n in notes if n) or None


PREVIEW_CHARS = 200


def preview(text: str | None) -> str | None:
    """Extracted text as reports show it: long fallbacks (a whole response) are cut."""
    if text is None or len(text) <= PREVIEW_CHARS:
        return text
    return text[:PREVIEW_CHARS] + f"... [{len(text)} chars]"
