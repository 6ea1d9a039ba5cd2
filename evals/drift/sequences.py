"""The token sequences drift is measured on: the reference precision's own responses, each
after its prompt exactly as the chat template renders it, as token ids of one tokenizer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from evals.artifacts.run_folder import read_samples
from evals.artifacts.types import Sample

THINK_CLOSE = "</think>"


class DriftError(ValueError):
    """Drift cannot be measured as asked; the message says why and where."""


@dataclass(frozen=True)
class Sequence:
    case: str  # the reference case whose response this is
    item: str
    tokens: tuple[int, ...]  # prompt, then response
    start: int  # the first response position
    answer_start: int  # the first position after the response's `</think>` (start if it has none)


def tokenizer_fingerprint(tokenizer) -> str:
    """What makes token ids mean the same: the vocabulary and the special tokens."""
    import hashlib

    vocab = sorted(tokenizer.get_vocab().items())
    return hashlib.sha256(json.dumps([vocab, tokenizer.all_special_tokens]).encode()).hexdigest()[:16]


def prompt_ids(tokenizer, messages: list[dict], chat_template_kwargs: dict | None = None) -> list[int]:
    """The token ids of a conversation's prompt as the server renders it (the model's chat template)."""
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                           **(chat_template_kwargs or {}))
    return list(prompt["input_ids"] if hasattr(prompt, "input_ids") else prompt)  # transformers >= 5: an encoding


def response_ids(tokenizer, sample: Sample, where: str) -> list[int]:
    """The response's token ids as generated: those the server returned (`token_ids`), which
    must decode to a text the response's starts with (a stop string is cut from the text, not
    from the ids); else, for a response kept without them, its text re-encoded, which must
    decode back to the same text. DriftError naming the response otherwise: the text is not
    what was generated (a reasoning parser took the thinking out of it, a proxy rewrote it)."""
    text = sample.response
    if sample.token_ids is not None:
        decoded = tokenizer.decode(sample.token_ids, skip_special_tokens=True)
        if not decoded.startswith(text):
            raise DriftError(f"{where}: {sample.case} item {sample.item}: the response's text is not what its "
                             f"{len(sample.token_ids)} generated tokens decode to ({_differ(text, decoded)})")
        return list(sample.token_ids)
    ids = tokenizer.encode(text, add_special_tokens=False)
    decoded = tokenizer.decode(ids)
    if decoded != text:
        raise DriftError(f"{where}: {sample.case} item {sample.item}: the response's text does not survive "
                         f"re-encoding ({_differ(text, decoded)}), and the run kept no generated token ids")
    return ids


def _differ(text: str, other: str) -> str:
    """Where two texts part: "from character N: 'text...' against 'other...'"."""
    at = next((i for i, (a, b) in enumerate(zip(text, other)) if a != b), min(len(text), len(other)))
    return f"from character {at}: {text[at:at + 40]!r} against {other[at:at + 40]!r}"


def reference_sequences(samples: list[Path], tokenizer, items: int, max_tokens: int) -> list[Sequence]:
    """The first `items` responses (first sample of each item) of each reference case's
    samples file, their first `max_tokens` response tokens. The rendered prompt must have
    the length the server counted: otherwise the sequence is not what was generated."""
    close_id = tokenizer.convert_tokens_to_ids(THINK_CLOSE)
    out = []
    for path in samples:
        if not path.exists():
            raise DriftError(f"{path}: no responses of the reference case (it did not finish in this run)")
        seen = 0
        for number, sample in enumerate(read_samples(path), 1):
            if sample.repeat != 0:
                continue
            prompt = prompt_ids(tokenizer, sample.messages, sample.chat_template_kwargs)
            if sample.prompt_tokens not in (None, len(prompt)):
                raise DriftError(f"{path}: item {sample.item}: the chat template renders {len(prompt)} prompt tokens, "
                                 f"the server counted {sample.prompt_tokens}")
            response = response_ids(tokenizer, sample, f"{path}:{number}")[:max_tokens]
            closes = [i for i, t in enumerate(response) if t == close_id]
            answer_start = len(prompt) + (closes[-1] + 1 if closes else 0)
            out.append(Sequence(sample.case, sample.item, (*prompt, *response), len(prompt), answer_start))
            seen += 1
            if seen == items:
                break
    return out
