"""Teacher-forced scoring: a server's `prompt_logprobs` over each sequence, prefill only
(vLLM's completions endpoint with token ids as the prompt and one token to generate).
Responses are kept as they arrive in the run's drift store (a GenerationStore), so a
resume sends only what is missing and a replay sends nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Sequence as Seq

import requests

from evals.drift.sequences import DriftError, Sequence
from evals.engine.server import ServerError
from evals.drift.tokens import Logprobs
from evals.artifacts.generations import GenerationStore

REQUEST_TIMEOUT_S = 600.0


def payload(served_name: str, sequence: Sequence, top_k: int) -> dict:
    return {"model": served_name, "prompt": list(sequence.tokens), "max_tokens": 1, "temperature": 0.0,
            "prompt_logprobs": top_k}


def position_logprobs(response: dict) -> list[Logprobs | None]:
    """Per position, token id -> log-probability (the first position has none)."""
    rows = response["choices"][0]["prompt_logprobs"]
    return [None if row is None else {int(token): entry["logprob"] for token, entry in row.items()} for row in rows]


def score(endpoint, store: GenerationStore, sequences: Seq[Sequence], top_k: int, concurrency: int) -> list[list[Logprobs | None]]:
    """Each sequence's per-position log-probabilities from one server (kept ones reused)."""

    def one(sequence: Sequence) -> list[Logprobs | None]:
        body = payload(endpoint.served_name, sequence, top_k)
        key = store.key(body)
        response = store.get(key)
        if response is None:
            try:
                url = endpoint.url  # a lazy server starts here; a replay has none
            except ServerError as exc:
                raise DriftError(f"{sequence.case} item {sequence.item}: no kept drift score of {endpoint.served_name} "
                                 f"(the run did not run its drift test) and no server to ask: {exc}") from None
            reply = requests.post(f"{url}/v1/completions", json=body, timeout=REQUEST_TIMEOUT_S)
            if not reply.ok:
                raise DriftError(f"{endpoint.served_name}: prompt_logprobs request for {sequence.case} item "
                                 f"{sequence.item} failed: HTTP {reply.status_code} {reply.text[:300]}")
            response = reply.json()
            store.put(key, sequence.case, response)
        return position_logprobs(response)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(one, sequences))
