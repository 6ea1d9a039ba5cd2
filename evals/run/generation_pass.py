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
from collections import Counter
from dataclasses import dataclass, field

from evals.engine.client import Client, Request, RequestError, Sizing, cut_message, truncated
from evals.config.matrix import Case
from evals.artifacts.generations import GenerationStore
from evals.run.progress import Progress
from evals.gate.sequential import Looks
from evals.lmeval.call import in_flight
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
                    size: Sizing, progress: Progress | None = None,
                    name: str = "generation pass", judge: Judge | None = None) -> PassResult:
    """Generates what `cases` will ask `endpoint` for and `store` lacks: each item's samples
    as its case plans them (evals/run/plans.py), in the rounds of the run's looks when a
    `judge` judges them (evals/run/looks.py: after each round, only the cases a test still
    needs draw on). `expected`: output tokens per response of each case; `size`: each
    server's share of the pool (a function of the server is read once it is up: it knows
    its KV cache then). `name` heads the pass's errors and lines, which are the pass's, not
    those of the case that happened to start it."""
    result = PassResult()
    if judge is not None and not judge.watches(cases):
        judge = None  # nothing to stop for: no look
    planned: dict[str, list[Request]] = {}
    for case in cases:
        requests = [r for r in case_requests(case, endpoint, store) if r.repeat < case.samples_of(r.item)]
        for request in requests:
            request.expected_tokens = expected_tokens(request, expected[case.id])
        planned[case.id] = requests
        result.planned += len(requests)
        if judge is not None:
            judge.start(case, requests)
    if progress is not None:
        progress.start(result.planned)
    rounds = Rounds(cases, planned, judge, store, result, progress, spare=max(1, in_flight(cases[0]) // 2) if cases else 1)
    client = None
    began = time.monotonic()
    try:
        first = rounds.more()
        if first:
            endpoint.start()  # a local server starts here, before the pool is sized from it
            client = Client(endpoint, size, count_engine=True)
            _send(client, first, store, result, progress, began, name, rounds)
    finally:
        result.seconds = time.monotonic() - began
        if progress is not None:
            progress.finish()
    result.drawn = {case_id: dict(judge.drawn[case_id]) for case_id in planned} if judge is not None else {
        case_id: dict(Counter(r.item for r in requests)) for case_id, requests in planned.items()}
    if progress is not None and result.cut:
        progress.write(cut_message(name, result.cut))
    if progress is not None and result.failed:  # each such case sends its requests again, and fails if they fail
        progress.write(f"{name}: {len(result.failed)} case(s) left to send their own failed requests; "
                       "first errors: " + "; ".join(result.failed.values())[:2000])
    return result


class Rounds:
    """What the pool sends next. Without looks: every request the plan draws. With them,
    round by round: round j's requests, then, while round j is finishing, `spare` of round
    j+1's (a server batch) for the cases still drawing, so the engine stays full through
    round j's last answers at the cost of at most a batch a look stops; when round j is
    done the judge judges it (evals/run/looks.py), the cases it stops draw no more (their
    requests not yet sent are dropped) and round j+1 goes on."""

    def __init__(self, cases: list[Case], planned: dict[str, list[Request]], judge: Judge | None,
                 store: GenerationStore, result: PassResult, progress: Progress | None, spare: int):
        self.by_id = {c.id: c for c in cases}
        self.judge, self.store, self.result, self.progress = judge, store, result, progress
        self.looks = judge.looks if judge is not None else Looks(1, 0.99)
        self.spare = spare
        # round -> case -> its requests of that round (longest first when handed out)
        self.rounds: dict[int, dict[str, list[Request]]] = {look: {} for look in range(1, self.looks.count + 1)}
        for case_id, requests in planned.items():
            case = self.by_id[case_id]
            for request in requests:
                k = case.samples_of(request.item)
                look = next(j for j in range(1, self.looks.count + 1) if request.repeat < self.looks.samples(k, j))
                self.rounds[look].setdefault(case_id, []).append(request)
        self.current = 1  # the round being finished: the first not judged yet
        self.drawing = set(planned)
        self.handed: dict[int, set[str]] = {}  # round -> the cases whose requests of it are all handed out
        self.pending: dict[int, dict[int, Request]] = {}  # round -> its requests out or waiting, by id
        self.given: set[int] = set()  # the requests handed out (ids)
        self.ahead: dict[int, int] = {}  # round -> requests of it handed out before the round before it was judged
        self.finished = not planned

    def _hand(self, look: int, most: int | None = None) -> list[Request]:
        """Round `look`'s requests not handed out yet, of the cases drawing (at most `most`,
        longest first): kept ones counted at once, the others to send."""
        handed = self.handed.setdefault(look, set())
        pending = self.pending.setdefault(look, {})
        fresh = [r for case_id in sorted(self.drawing - handed) for r in self.rounds[look].get(case_id, [])
                 if id(r) not in self.given]
        fresh = longest_first(fresh)
        if most is not None:
            fresh = fresh[:most]
        out = []
        for request in fresh:
            self.given.add(id(request))
            self.result.requests += 1
            if request.key in self.store:
                self.result.kept += self.store.kept_earlier(request.key)
                if self.progress is not None:
                    self.progress.update(None, reused=True)
            else:
                pending[id(request)] = request
                out.append(request)
        for case_id in self.drawing - handed:
            if all(id(r) in self.given for r in self.rounds[look].get(case_id, [])):
                handed.add(case_id)
        return out

    def arrived(self, request: Request) -> None:
        for pending in self.pending.values():
            pending.pop(id(request), None)
        self.advance()

    def advance(self) -> None:
        """Judge every round that is done, in order."""
        while not self.finished:
            look = self.current
            pending = self.pending.get(look, {})
            for key in [k for k, r in pending.items() if r.error is not None or r.key in self.store]:
                del pending[key]  # failed for good (its case sends it again), or answered
            if not self.drawing <= self.handed.get(look, set()) or pending:
                return  # round `look` is not all handed out, or not all answered
            if self.judge is None:
                self.finished = True
                return
            for case_id in sorted(self.drawing):
                self.judge.score(self.by_id[case_id], look, self.rounds[look].get(case_id, []), self.store)
            going = self.judge.after(next(iter(self.by_id.values())).precision, look)
            for request in self.pending.get(look + 1, {}).values():
                if request.case_id not in going:
                    request.dropped = True  # its case stopped: never sent, if it has not been
            self.pending[look + 1] = {k: r for k, r in self.pending.get(look + 1, {}).items() if r.case_id in going}
            self.drawing = going
            self.current += 1
            if not going or self.current > self.looks.count:
                self.finished = True

    def more(self) -> list[Request]:
        """The next requests to send (none: none now, or none left)."""
        while True:
            self.advance()
            if self.finished:
                return []
            now = self._hand(self.current)
            if now:
                return now
            self.advance()  # a round all kept (a resumed run) is judged at once
            if self.finished:
                return []
            if self.pending.get(self.current):  # its answers are coming: the next round's first, to keep the engine full
                if self.current >= self.looks.count:
                    return []
                handed = self._hand(self.current + 1, max(0, self.spare - self.ahead.get(self.current + 1, 0)))
                self.ahead[self.current + 1] = self.ahead.get(self.current + 1, 0) + len(handed)
                return handed

    def failed(self) -> list[Request]:
        return [r for case in self.rounds.values() for requests in case.values() for r in requests if r.error is not None]


def _send(client: Client, missing: list[Request], store: GenerationStore, result: PassResult, progress: Progress | None,
          began: float, name: str, rounds: Rounds) -> None:
    """The pass's requests through the pool (the first ones, then what `rounds` gives),
    each kept in the store as it arrives."""
    def arrived(request: Request) -> None:
        store.put(request.key, request.case_id, request.response)
        result.sent += 1
        result.output_tokens += request.completion_tokens or 0
        result.cut += truncated(request.response)
        result.case_seconds[request.case_id] = time.monotonic() - began
        if progress is not None:
            progress.update(request.completion_tokens)
        rounds.arrived(request)  # a round done is judged at once, while the next flows

    try:
        client.send(missing, arrived, keep_going=True, heartbeat=progress.heartbeat if progress is not None else None,
                    more=rounds.more)
    except RequestError as exc:
        raise RequestError(f"{name}: {exc}") from exc
    finally:
        result.engine = dict(client.counters)  # the engine's counters over the pass (one send, every round)
        if len(client.answered) > 1:
            result.answered = dict(client.answered)
        if progress is not None:
            for url, why in client.gone.items():  # its requests went to the other replicas
                progress.write(f"{name}: the replica at {url} is gone, its requests went to the others: {why}"[:2000])
        for request in rounds.failed():
            result.failed.setdefault(request.case_id, str(request.error))
