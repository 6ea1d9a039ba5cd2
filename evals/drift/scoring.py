"""Teacher-forced scoring: a server's `prompt_logprobs` over each sequence, prefill only
(vLLM's completions endpoint with token ids as the prompt and one token to generate),
sent through the engine's pool like generations (retries, a bound on a stalled engine,
no wall clock per request). Responses are kept as they arrive in the run's drift store
(a GenerationStore), so a resume sends only what is missing and a replay sends nothing."""

from __future__ import annotations

from typing import Sequence as Seq

from evals.artifacts.generations import GenerationStore
from evals.drift.sequences import DriftError, Sequence
from evals.drift.tokens import Logprobs
from evals.engine.client import Client, PoolSize, Request, RequestError
from evals.engine.endpoints import Endpoint
from evals.engine.server import ServerError

COMPLETIONS = "/v1/completions"


def payload(served_name: str, sequence: Sequence, top_k: int) -> dict:
    return {"model": served_name, "prompt": list(sequence.tokens), "max_tokens": 1, "temperature": 0.0,
            "prompt_logprobs": top_k}


def position_logprobs(response: dict) -> list[Logprobs | None]:
    """Per position, token id -> log-probability (the first position has none)."""
    rows = response["choices"][0]["prompt_logprobs"]
    return [None if row is None else {int(token): entry["logprob"] for token, entry in row.items()} for row in rows]


def token_ranks(response: dict, tokens: Seq[int]) -> list[int | None]:
    """Per position, the rank vLLM gives the sequence's own token there among the server's
    next-token distribution (1: its most likely); None where it reports none."""
    rows = response["choices"][0]["prompt_logprobs"]
    return [None if row is None or str(token) not in row else row[str(token)].get("rank")
            for row, token in zip(rows, tokens)]


def score(endpoint: Endpoint, store: GenerationStore, sequences: Seq[Sequence], top_k: int,
          concurrency: int) -> list[dict]:
    """Each sequence's `prompt_logprobs` response from one server (kept ones reused)."""
    wanted = []
    for sequence in sequences:
        body = payload(endpoint.served_name, sequence, top_k)
        request = Request(f"{sequence.case} item {sequence.item}", body, store.key(body), path=COMPLETIONS)
        request.response = store.get(request.key)
        wanted.append((request, sequence))
    missing = {id(request): sequence for request, sequence in wanted if request.response is None}
    if missing:
        try:
            endpoint.start()  # a local server starts here; a replay has none
        except ServerError as exc:
            first = next(iter(missing.values()))
            raise DriftError(f"{first.case} item {first.item}: no kept drift score of {endpoint.served_name} "
                             f"(the run did not run its drift test) and no server to ask: {exc}") from None

        def arrived(request: Request) -> None:
            store.put(request.key, missing[id(request)].case, request.response)

        try:
            Client(endpoint, PoolSize(concurrency)).send([r for r, _ in wanted if id(r) in missing], arrived)
        except RequestError as exc:
            raise DriftError(f"{endpoint.served_name}: a prompt_logprobs request failed: {exc}") from exc
    return [request.response for request, _ in wanted]
