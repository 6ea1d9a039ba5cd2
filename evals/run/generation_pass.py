"""One generation pass per model: every request of its cases in this session goes through
one pool (evals/engine/client.py; spread over its servers when replicas serve it), longest
expected first, into the generation store; each case then runs lm-eval as before and is
answered from the store, as a resumed case is.

Cases run one lm-eval call at a time, so without the pass each case would end in a drain
at low batch while its longest requests finish (on GPUs, minutes per AIME thinking case).
The requests come from lm-eval itself: each case's own call, collected instead of sent
(evals/lmeval/runner.py `case_requests`), so they are exactly the ones the case asks for.

A request that fails for good is left to its case, which sends it again and fails with
the error if it fails again: a bad request (or an odd answer: no choices, not JSON) fails
its own case, as it did before. A dead server (the last of its replicas: one that dies
leaves its requests to the others, and the pass says so) or an engine that stopped making
progress (for the session's --stall-timeout) ends the pass with an error. While requests are out
and none answers, the pool's heartbeat keeps the pass's progress lines coming; answers
cut to their bound (evals/engine/client.py `cut_to_bound`) are counted in a line at the end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from evals.engine.client import Client, Request, RequestError, Sizing, cut_message, truncated
from evals.config.matrix import Case
from evals.artifacts.generations import GenerationStore
from evals.run.progress import Progress
from evals.lmeval.runner import case_requests


@dataclass
class PassResult:
    requests: int = 0
    kept: int = 0  # answered by an earlier session
    sent: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # case -> its first request's error
    seconds: float = 0.0
    case_seconds: dict[str, float] = field(default_factory=dict)  # first request sent to the case's last response
    output_tokens: int = 0  # of the responses sent for (completion tokens)
    cut: int = 0  # responses cut to their bound (evals/engine/client.py `cut_to_bound`)
    engine: dict[str, float] = field(default_factory=dict)  # the engine's counters over the pass (client.ENGINE_COUNTERS)
    answered: dict[str, int] = field(default_factory=dict)  # replicas only: requests each answered, by URL

    def measured(self) -> dict | None:
        """What the pass measured of the engine, as the manifest keeps it: output tokens/s
        over the pass, per server (the planner's figure for one: with replicas, their mean,
        and the requests each answered) and vLLM's preemptions; None when it sent nothing."""
        if not self.sent or self.seconds <= 0:
            return None
        servers = max(1, len(self.answered))
        return {"requests": self.sent, "output_tokens": self.output_tokens, "seconds": round(self.seconds, 3),
                "output_tokens_per_s": round(self.output_tokens / self.seconds / servers, 2),
                **{name: int(value) for name, value in self.engine.items()},
                **({"answered_by": self.answered} if self.answered else {})}


def expected_tokens(request: Request, case_tokens: float) -> float:
    """Output tokens a request is expected to take: its case's mean (a baseline's
    measured one, else the config's assumption), at most its token limit; exactly that
    limit when it ignores the end of sequence."""
    limit = request.payload.get("max_tokens") or request.payload.get("max_completion_tokens") or case_tokens
    return float(limit) if request.payload.get("ignore_eos") else float(min(limit, case_tokens))


def longest_first(requests: list[Request]) -> list[Request]:
    return sorted(requests, key=lambda r: -r.expected_tokens)  # stable: lm-eval's order among equals


def generation_pass(cases: list[Case], endpoint, store: GenerationStore, expected: dict[str, float],
                    size: Sizing, progress: Progress | None = None, name: str = "generation pass") -> PassResult:
    """Generates what `cases` will ask `endpoint` for and `store` lacks. `expected`: output
    tokens per response of each case; `size`: each server's share of the pool (a function
    of the server is read once it is up: it knows its KV cache then). `name` heads the
    pass's errors and lines, which are the pass's, not those of the case that happened to
    start it."""
    result = PassResult()
    missing = []
    for case in cases:
        for request in case_requests(case, endpoint, store):
            result.requests += 1
            if request.key in store:
                result.kept += store.kept_earlier(request.key)
                continue
            request.expected_tokens = expected_tokens(request, expected[case.id])
            missing.append(request)
    if progress is not None:
        progress.start(result.requests)
        for _ in range(result.kept):
            progress.update(None, reused=True)
    if not missing:
        if progress is not None:
            progress.finish()
        return result
    endpoint.start()  # a local server starts here, before the pool is sized from it
    client = Client(endpoint, size, count_engine=True)
    began = time.monotonic()

    def arrived(request: Request) -> None:
        store.put(request.key, request.case_id, request.response)
        result.sent += 1
        result.output_tokens += request.completion_tokens or 0
        result.cut += truncated(request.response)
        result.case_seconds[request.case_id] = time.monotonic() - began
        if progress is not None:
            progress.update(request.completion_tokens)

    try:
        client.send(longest_first(missing), arrived, keep_going=True,
                    heartbeat=progress.heartbeat if progress is not None else None)
    except RequestError as exc:
        raise RequestError(f"{name}: {exc}") from exc
    finally:
        result.seconds = time.monotonic() - began
        result.engine = client.counters
        result.answered = client.answered if len(client.answered) > 1 else {}
        if progress is not None:
            progress.finish()
            for url, why in client.gone.items():  # its requests went to the other replicas
                progress.write(f"{name}: the replica at {url} is gone, its requests went to the others: {why}"[:2000])
    if progress is not None and result.cut:
        progress.write(cut_message(name, result.cut))
    for request in missing:
        if request.error is not None:
            result.failed.setdefault(request.case_id, str(request.error))
    if progress is not None and result.failed:  # each such case sends its requests again, and fails if they fail
        progress.write(f"{name}: {len(result.failed)} case(s) left to send their own failed requests; "
                       "first errors: " + "; ".join(result.failed.values())[:2000])
    return result
