"""One generation pass per model: every request of its cases in this session goes through
one pool (evals/engine/client.py), longest expected first, into the generation store; each case
then runs lm-eval as before and is answered from the store, as a resumed case is.

Cases run one lm-eval call at a time, so without the pass each case would end in a drain
at low batch while its longest requests finish (on GPUs, minutes per AIME thinking case).
The requests come from lm-eval itself: each case's own call, collected instead of sent
(evals/lmeval/runner.py `case_requests`), so they are exactly the ones the case asks for.

A request that fails for good is left to its case, which sends it again and fails with
the error if it fails again: a bad request (or an odd answer: no choices, not JSON) fails
its own case, as it did before. A dead server or an engine that stopped making progress
(for the session's --stall-timeout) ends the pass with an error. While requests are out
and none answers, the pool's heartbeat keeps the pass's progress lines coming; answers
cut to their bound (evals/engine/client.py `cut_to_bound`) are counted in a line at the end.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from evals.engine.client import Client, PoolSize, Request, RequestError, cut_message, truncated
from evals.config.matrix import Case
from evals.artifacts.generations import GenerationStore
from evals.run.progress import Progress
from evals.gate.sequential import Looks
from evals.lmeval.runner import case_requests
from evals.run.looks import Judge


@dataclass
class PassResult:
    planned: int = 0  # requests the plan draws if no look stops a case
    requests: int = 0  # drawn (kept or sent)
    kept: int = 0  # answered by an earlier session
    sent: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # case -> its first request's error
    seconds: float = 0.0
    case_seconds: dict[str, float] = field(default_factory=dict)  # first request sent to the case's last response
    output_tokens: int = 0  # of the responses sent for (completion tokens)
    cut: int = 0  # responses cut to their bound (evals/engine/client.py `cut_to_bound`)
    engine: dict[str, float] = field(default_factory=dict)  # the engine's counters over the pass (client.ENGINE_COUNTERS)
    drawn: dict[str, dict[str, int]] = field(default_factory=dict)  # case -> item -> samples drawn

    def measured(self) -> dict | None:
        """What the pass measured of the engine, as the manifest keeps it: output tokens/s
        over the pass and vLLM's preemptions; None when it sent nothing."""
        if not self.sent or self.seconds <= 0:
            return None
        return {"requests": self.sent, "output_tokens": self.output_tokens, "seconds": round(self.seconds, 3),
                "output_tokens_per_s": round(self.output_tokens / self.seconds, 2),
                **{name: int(value) for name, value in self.engine.items()}}


def expected_tokens(request: Request, case_tokens: float) -> float:
    """Output tokens a request is expected to take: its case's mean (a baseline's
    measured one, else the config's assumption), at most its token limit; exactly that
    limit when it ignores the end of sequence."""
    limit = request.payload.get("max_tokens") or request.payload.get("max_completion_tokens") or case_tokens
    return float(limit) if request.payload.get("ignore_eos") else float(min(limit, case_tokens))


def longest_first(requests: list[Request]) -> list[Request]:
    return sorted(requests, key=lambda r: -r.expected_tokens)  # stable: lm-eval's order among equals


def generation_pass(cases: list[Case], endpoint, store: GenerationStore, expected: dict[str, float],
                    size: Callable[[], PoolSize], progress: Progress | None = None,
                    name: str = "generation pass", judge: Judge | None = None) -> PassResult:
    """Generates what `cases` will ask `endpoint` for and `store` lacks: each item's samples
    as its case plans them (evals/run/plans.py), in the rounds of the run's looks when a
    `judge` judges them (evals/run/looks.py: after each round, only the cases a test still
    needs draw on). `expected`: output tokens per response of each case; `size()` is read
    once the server is up (it knows its KV cache then). `name` heads the pass's errors and
    lines, which are the pass's, not those of the case that happened to start it."""
    result = PassResult()
    planned: dict[str, list[Request]] = {}
    for case in cases:
        requests = [r for r in case_requests(case, endpoint, store) if r.repeat < case.samples_of(r.item)]
        for request in requests:
            request.expected_tokens = expected_tokens(request, expected[case.id])
        planned[case.id] = requests
        result.planned += len(requests)
        if judge is not None:
            judge.start(case, requests)
    looks = judge.looks if judge is not None else Looks(1, 0.99)
    by_id = {c.id: c for c in cases}
    if progress is not None:
        progress.start(result.planned)
    client = None
    drawing = set(planned)
    began = time.monotonic()
    try:
        for look in range(1, looks.count + 1):
            round_of = {}
            for case_id in drawing:
                case = by_id[case_id]
                round_of[case_id] = [r for r in planned[case_id]
                                     if looks.samples(case.samples_of(r.item), look - 1) <= r.repeat
                                     < looks.samples(case.samples_of(r.item), look)]
            missing = []
            for requests in round_of.values():
                for request in requests:
                    result.requests += 1
                    if request.key in store:
                        result.kept += store.kept_earlier(request.key)
                        if progress is not None:
                            progress.update(None, reused=True)
                    else:
                        missing.append(request)
            if missing:
                if client is None:
                    endpoint.start()  # a local server starts here, before the pool is sized from it
                    client = Client(endpoint, size(), count_engine=True)
                _send(client, missing, store, result, progress, began, name)
            if judge is not None:
                for case_id, requests in round_of.items():
                    judge.score(by_id[case_id], look, requests, store)
                drawing = judge.after(cases[0].precision, look) if cases else set()
            if not drawing:
                break
    finally:
        result.seconds = time.monotonic() - began
        if progress is not None:
            progress.finish()
    result.drawn = {case_id: judge.drawn[case_id] for case_id in planned} if judge is not None else {
        case_id: dict(Counter(r.item for r in requests)) for case_id, requests in planned.items()}
    if progress is not None and result.cut:
        progress.write(cut_message(name, result.cut))
    if progress is not None and result.failed:  # each such case sends its requests again, and fails if they fail
        progress.write(f"{name}: {len(result.failed)} case(s) left to send their own failed requests; "
                       "first errors: " + "; ".join(result.failed.values())[:2000])
    return result


def _send(client: Client, missing: list[Request], store: GenerationStore, result: PassResult, progress: Progress | None,
          began: float, name: str) -> None:
    """One round's requests through the pool, each kept in the store as it arrives."""
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
        for counter, value in client.counters.items():  # the engine's counters, over every round
            result.engine[counter] = result.engine.get(counter, 0.0) + value
        for request in missing:
            if request.error is not None:
                result.failed.setdefault(request.case_id, str(request.error))
