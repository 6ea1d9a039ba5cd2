"""Requests to one server, or to replicas of one model (evals/engine/replicas.py), through
one pool: requests in flight sized from each server, retries of what a retry can mend, and
a bound on how long an engine may make no progress. The generation pass sends chat requests through it, the drift pass its
teacher-forced scoring (each request names its own API path).

The pool admits requests in the order given (the generation pass gives them longest
expected first) while fewer than `max_in_flight` are out and the expected tokens of
those out fit `token_budget` (twice the KV cache vLLM reports: one batch running, one
waiting in its queue, so a finished sequence's slot is refilled at once instead of
after an HTTP round trip). Long requests therefore go few at a time and short ones
many, as the KV cache allows. Replicas each have such a share of the pool, sized from
their own KV cache, and each request goes to the least full (`Client`).

There is no wall-clock timeout per request: a request may wait in vLLM's queue for as
long as the requests ahead of it take. What is bounded is the engine's progress: the
pool fails when, for `stall_timeout` seconds (the session's --stall-timeout, default
STALL_TIMEOUT_S: `use_stall_timeout`), no request came back and the server's
`vllm:generation_tokens_total` (its /metrics) did not move. While requests are out, a
`heartbeat(out, silent_s)` is called every second, so progress lines go on (with how
many are out and how long since the last answer) when no answer comes.

A 200 is checked before anyone sees it (`checked_answer`): one that is not JSON, has no
or empty `choices`, a choice with no `message.content` (chat) or `text` (completions), or
no `prompt_logprobs` where they were asked for, fails its request with an OddAnswer naming
the case, the request, the server and the answer's first characters; it is not retried (a
server that answers a request so answers it again; a lost connection or a 5xx is retried).
A text longer than its bound (`answer_bound`: BYTES_PER_TOKEN per token of the request's
max_tokens, plus BOUND_FLOOR_BYTES) is cut to it and its choice marked: finish reason
"length" and `suite_truncated` {"bytes": as sent, "bound": ...}; so a runaway server's
megabytes are neither kept in the generations file nor scored.
"""

from __future__ import annotations

import asyncio
import collections
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import aiohttp

from evals.engine.endpoints import Endpoint
from evals.engine.replicas import members

# Waits before each retry of a request that met a connection error or a 5xx answer.
RETRY_WAITS_S = (1.0, 4.0, 10.0)
# The engine may go this long with no token generated and no request answered (the default
# of --stall-timeout; a session sets its own with use_stall_timeout).
STALL_TIMEOUT_S = 1800.0
_SESSION = {"stall_timeout": STALL_TIMEOUT_S}
# A response's text is cut beyond this many UTF-8 bytes per token of its max_tokens, plus a
# floor. A token of Qwen3's byte-level BPE is a byte string: its text is at most its bytes
# (a lone byte of a split character decodes to U+FFFD, 3 bytes). Real text runs at 3-5 bytes
# a token (English and LaTeX about 4, code 3-4, Chinese 1-2 characters of 3 bytes each);
# only the long whitespace and separator tokens (runs of spaces, "====") reach dozens of
# bytes, and an answer made mostly of those is degenerate. So 16 is 3-4 times any real
# answer's ratio, and a 38,912-token AIME budget bounds a response at 627 KB, where a
# server that ignores max_tokens can send any number of megabytes. The floor keeps a short
# budget (drift's one token, the tiny model's 48) from cutting a real text.
BYTES_PER_TOKEN = 16
BOUND_FLOOR_BYTES = 4096
_UNSTATED_MAX_TOKENS = 131072  # a request without max_tokens: more than any context Qwen3 serves
_SNIPPET_CHARS = 300  # of an odd answer, in its error
# vLLM's counters read before and after a pool's requests (its /metrics; a remote server
# may not expose them): what the engine generated, and how often it preempted a running
# request for lack of KV cache (each preemption recomputes that request's context).
ENGINE_COUNTERS = {"generated_tokens": "vllm:generation_tokens_total", "preemptions": "vllm:num_preemptions_total"}
_WATCH_EVERY_S = 5.0
_HEARTBEAT_EVERY_S = 1.0


def use_stall_timeout(seconds: float) -> None:
    """The bound of every pool this process makes from now on, unless given its own: the
    session's --stall-timeout (evals/plugin/selection.py sets it from the Selection)."""
    _SESSION["stall_timeout"] = float(seconds)


class RequestError(RuntimeError):
    """A request failed for good; the message names its case and every attempt's error."""


class ServerGone(RequestError):
    """The local server is not alive: no request to it can succeed."""


class OddAnswer(RequestError):
    """A 200 that is no answer to its request (not JSON, no choices, no text); not retried."""


@dataclass
class Request:
    """One request, and where its answer goes."""

    case_id: str  # whose request it is: a case, or what the drift pass scores ("case item N")
    payload: dict[str, Any]
    key: str | None = None  # in the generation store
    expected_tokens: float = 0.0  # output tokens, for the order and the token budget
    item: str | None = None  # the item it samples (a case's request), and which of its samples
    repeat: int = 0
    dropped: bool = False  # no longer wanted: a pool that has not sent it yet never will
    response: dict | None = field(default=None, repr=False)
    error: Exception | None = field(default=None, repr=False)
    path: str = "/v1/chat/completions"

    @property
    def completion_tokens(self) -> int | None:
        return ((self.response or {}).get("usage") or {}).get("completion_tokens")


@dataclass(frozen=True)
class PoolSize:
    max_in_flight: int
    token_budget: float | None = None  # expected tokens out at once; None: no bound

    def admits(self, in_flight: int, tokens_out: float, request: Request) -> bool:
        if in_flight == 0:
            return True  # a request longer than the whole budget still runs, alone if it must
        if in_flight >= self.max_in_flight:
            return False
        return self.token_budget is None or tokens_out + request.expected_tokens <= self.token_budget


def pool_size(max_in_flight: int, kv_cache_tokens: int | None = None) -> PoolSize:
    """At most `max_in_flight` out (evals/lmeval/call.py `in_flight`: two of the server's
    batches), and expected output tokens of at most the KV cache: the requests out fit it
    at their expected full lengths, so vLLM has no reason to preempt one (a preemption
    throws a request's cache away and recomputes it; the manifest counts them)."""
    return PoolSize(max_in_flight, None if kv_cache_tokens is None else float(kv_cache_tokens))


# A pool's size per server: one for each of its servers, or a function of the server, read
# once it is up (its KV cache: evals/run/session.py).
Sizing = PoolSize | Callable[[Endpoint], PoolSize]


@dataclass(eq=False)
class _Share:
    """One server's share of a pool (an endpoint's replica, or the endpoint itself): its size,
    what it has out, its engine's progress, and why it is gone (None: it is not)."""

    server: Endpoint
    url: str
    size: PoolSize
    in_flight: int = 0
    tokens: float = 0.0  # expected output tokens of its requests out
    out: dict[int, tuple[Request, asyncio.Task]] = field(default_factory=dict)  # id(request) -> it, and its task
    progress_at: float = field(default_factory=time.monotonic)  # its last answer or token generated
    generated: float | None = None  # its engine's generated tokens, when last read
    failed_checks: int = 0  # liveness checks failed in a row
    before: dict[str, float] = field(default_factory=dict)  # its ENGINE_COUNTERS when the send began
    answered: int = 0
    gone: BaseException | None = None

    def admits(self, request: Request) -> bool:
        return self.gone is None and self.size.admits(self.in_flight, self.tokens, request)

    def load(self) -> float:
        """How full it is: the larger of its requests' and its expected tokens' share of its size."""
        budget = self.size.token_budget
        return max(self.in_flight / max(1, self.size.max_in_flight), self.tokens / budget if budget else 0.0)


class Client:
    """Sends requests to an endpoint (evals/engine/endpoints.py), started when there is
    something to send; a dead local server fails at once, its log says why.

    An endpoint of several servers (replicas of one model: evals/engine/replicas.py) gives
    each its own share of the pool, sized by `size` from that server: each request goes
    to the server least full (of its requests and of its KV cache) that admits it. A
    replica found dead (a lost connection and a failed liveness check, or 3 failed checks
    in a row) is left: its requests out go back to the head of the queue, for the others,
    and `gone` says which and why; when none is left, the pool fails with ServerGone naming
    each one."""

    def __init__(self, endpoint: Endpoint, size: Sizing, stall_timeout: float | None = None,
                 count_engine: bool = False):
        self.endpoint, self.size, self.stall_timeout = endpoint, size, stall_timeout
        self.headers = dict(endpoint.headers)  # its API key, if any (its replicas': the precision's)
        self.first_sent: float | None = None
        self.last_received: float | None = None
        self.count_engine = count_engine  # read ENGINE_COUNTERS before and after (the generation pass records them)
        self.counters: dict[str, float] = {}  # ENGINE_COUNTERS' change over the requests sent, where the engine says
        self.answered: dict[str, int] = {}  # requests each server answered in the last send, by URL
        self.gone: dict[str, str] = {}  # URL of a replica left for dead -> why (its requests went to the others)
        if self.stall_timeout is None:  # the session's --stall-timeout
            self.stall_timeout = _SESSION["stall_timeout"]

    def send(self, requests: list[Request], on_response: Callable[[Request], None], *, keep_going: bool = False,
             heartbeat: Callable[[int, float], None] | None = None,
             more: Callable[[], list[Request]] | None = None) -> None:
        """Sends `requests` in order; `on_response(request)` as each answer arrives. The
        first request that fails for good raises, unless `keep_going`: then it is left with
        its `.error` and the others go on (a dead server or a stalled engine always stops
        everything). `heartbeat(requests out, seconds since the last answer)` every second
        while any is out (evals/run/progress.py `Progress.heartbeat`). `more()`, asked
        whenever none is waiting, gives the next requests (none: not now; the pool ends
        when none is waiting, none is out and it gives none); a request `dropped` before
        its turn is never sent."""
        if requests or more is not None:
            self.endpoint.start()
            shares = [_Share(server, server.url, self.size(server) if callable(self.size) else self.size)
                      for server in members(self.endpoint)]
            asyncio.run(self._send(shares, requests, on_response, keep_going, heartbeat, more))

    async def _send(self, shares: list[_Share], requests: list[Request], on_response, keep_going: bool,
                    heartbeat=None, more=None) -> None:
        progress = {"answered": time.monotonic(), "out": 0}  # the last answer, requests out
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=60)
        async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as session:
            if self.count_engine:
                for share in shares:
                    share.before = await engine_metrics(session, share.url) or {}
            beats = asyncio.create_task(_beat(heartbeat, progress)) if heartbeat is not None else None
            try:
                await self._admit(session, shares, requests, on_response, keep_going, progress, more)
            finally:
                if beats is not None:
                    beats.cancel()
                    await asyncio.gather(beats, return_exceptions=True)
                self.answered = {share.url: share.answered for share in shares}
                if self.count_engine:
                    self.counters = {}
                    for share in (s for s in shares if s.gone is None):
                        after = await engine_metrics(session, share.url) or {}
                        for name, metric in ENGINE_COUNTERS.items():
                            if metric in after:
                                self.counters[name] = (self.counters.get(name, 0.0) + after[metric]
                                                       - share.before.get(metric, 0.0))

    async def _admit(self, session, shares: list[_Share], requests, on_response, keep_going, progress, more=None) -> None:
        room = asyncio.Condition()
        waiting = collections.deque(requests)
        failures: list[BaseException] = []  # what stops the pool: no server left, or any failure unless keep_going
        tasks: list[asyncio.Task] = []

        def stop(error: BaseException) -> None:
            failures.append(error)
            asyncio.ensure_future(_notify(room))

        def lose(share: _Share, error: BaseException) -> None:
            """A server is gone: its requests out go back to the head of the queue for the
            others (their tasks cancelled, but the one that found it gone, which ends itself)."""
            if share.gone is not None:
                return
            share.gone = error
            self.gone[share.url] = str(error)
            for request, task in reversed(list(share.out.values())):
                if task is not asyncio.current_task():
                    task.cancel()
                waiting.appendleft(request)
            share.out.clear()
            if all(s.gone is not None for s in shares):
                every = "; ".join(f"{url}: {why}" for url, why in self.gone.items())
                stop(error if len(shares) == 1 else ServerGone(f"every server of the pool is gone: {every}"))
            asyncio.ensure_future(_notify(room))

        def out() -> int:
            return sum(s.in_flight for s in shares)

        def chosen(request: Request) -> _Share | None:
            """The server least full that admits `request` (the first of equals), or None."""
            return min((s for s in shares if s.admits(request)), key=lambda s: (s.load(), s.in_flight), default=None)

        async def one(request: Request, share: _Share) -> None:
            try:
                request.response = await self.post(session, share.url, request)
                share.out.pop(id(request), None)  # answered: never sent again, whatever happens to its server
                share.answered += 1
                progress["answered"] = share.progress_at = self.last_received = time.monotonic()
            except ServerGone as gone:
                lose(share, gone)  # this request, and the server's others, go to the other servers (if any)
            except Exception as exc:  # noqa: BLE001  kept on the request, or it stops the pool
                share.out.pop(id(request), None)
                if keep_going:
                    request.error = exc
                else:
                    stop(exc)
            else:
                try:
                    on_response(request)
                except Exception as exc:  # noqa: BLE001  an answer that could not be kept (a full disk):
                    stop(exc)  # the next ones could not be either, so no more are asked for
            finally:
                share.in_flight -= 1
                share.tokens -= request.expected_tokens
                progress["out"] = out()
                async with room:
                    room.notify_all()

        watch = asyncio.create_task(self._watch(session, shares, lose))
        watch.add_done_callback(lambda w: w.cancelled() or w.exception() is None or stop(w.exception()))
        try:
            def ready() -> bool:
                while waiting and waiting[0].dropped:
                    waiting.popleft()
                if not waiting and more is not None:
                    waiting.extend(more())
                return bool(failures) or (chosen(waiting[0]) is not None if waiting else out() == 0)

            while True:
                async with room:
                    await room.wait_for(ready)
                    if failures:
                        raise failures[0]
                    if not waiting:
                        break  # every request answered or failed, and no more to come
                    request = waiting.popleft()
                    share = chosen(request)
                    if share.in_flight == 0:
                        share.progress_at = time.monotonic()  # an idle server's stall clock starts now
                    share.in_flight += 1
                    share.tokens += request.expected_tokens
                    progress["out"] = out()
                if self.first_sent is None:
                    self.first_sent = time.monotonic()
                task = asyncio.create_task(one(request, share))
                share.out[id(request)] = (request, task)
                tasks.append(task)
        finally:
            watch.cancel()
            for task in tasks:
                task.cancel()
            await asyncio.gather(watch, *tasks, return_exceptions=True)

    def _server_at(self, base_url: str) -> Endpoint:
        """The endpoint of the server at `base_url`: one of the client's replicas, or its endpoint."""
        return next((server for server in members(self.endpoint) if server.url == base_url), self.endpoint)

    async def _alive(self, server: Endpoint) -> Exception | None:
        """Why a server is not alive (its `check_alive`), or None."""
        try:
            await asyncio.to_thread(server.check_alive)
        except Exception as dead:  # noqa: BLE001  the caller says what it means
            return dead
        return None

    async def _watch(self, session, shares: list[_Share], lose: Callable[[_Share, BaseException], None]) -> None:
        """Per server: leaves it for dead (`lose`) when it failed 3 liveness checks in a row
        while requests wait (one slow answer to a health check over an hours-long pass is not
        a dead server); fails the pool when, with requests out, its engine made no progress
        (no answer, no token generated) for stall_timeout seconds."""
        while True:
            await asyncio.sleep(min(_WATCH_EVERY_S, self.stall_timeout / 4))
            for share in (s for s in shares if s.gone is None):
                dead = await self._alive(share.server)
                share.failed_checks = share.failed_checks + 1 if dead is not None else 0
                if share.failed_checks >= 3:
                    gone = ServerGone(f"the server is not alive: {dead}")
                    gone.__cause__ = dead
                    lose(share, gone)
                    continue
                now_tokens = await generated_tokens(session, share.url)
                if now_tokens is not None and now_tokens != share.generated:
                    share.generated, share.progress_at = now_tokens, time.monotonic()
                if share.in_flight and time.monotonic() - share.progress_at > self.stall_timeout:
                    out = f"{share.in_flight} request{'' if share.in_flight == 1 else 's'}"
                    raise RequestError(f"the engine at {share.url} generated no token and answered no request for "
                                       f"{self.stall_timeout:g} s, with {out} out (the bound is --stall-timeout; time "
                                       "waiting in its queue while others progress does not count toward it)")

    async def post(self, session, base_url: str, request: Request) -> dict:
        """One request's response from the server at `base_url` (the endpoint's, or one of its
        replicas'), checked (`checked_answer`: an odd 200 raises OddAnswer at once, a text
        beyond its bound is cut). Connection errors and 5xx answers are retried, at most
        RETRY_WAITS_S times, unless the server is gone (ServerGone); any other answer, or the
        last failure, raises with every attempt's error."""
        errors = []
        for wait in (*RETRY_WAITS_S, None):
            try:
                async with session.post(f"{base_url}{request.path}", json=request.payload,
                                        headers=self.headers) as response:
                    if response.ok:
                        body = await response.read()
                        return checked_answer(request, body, f"the server at {base_url} answered {response.status} "
                                                             f"to {request.path} with")
                    text = await response.text()
                    if response.status < 500:  # the request itself is wrong: asking again cannot help
                        raise RequestError(f"{request.case_id}: the server answered {response.status}: {text[:2000]}")
                    errors.append(f"HTTP {response.status}: {text[:300]}")
            except aiohttp.ClientConnectionError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                dead = await self._alive(self._server_at(base_url))  # a dead server: no retry (the case's
                # test then names it, with its log; a replica's requests go to the others)
                if dead is not None:
                    raise ServerGone(f"{request.case_id}: {errors[-1]}, and the server is not alive") from dead
            except (aiohttp.ClientPayloadError, aiohttp.ContentTypeError, ValueError) as exc:  # a broken answer
                errors.append(f"{type(exc).__name__}: {exc}")
            if wait is not None:
                await asyncio.sleep(wait)
        raise RequestError(f"{request.case_id}: the request failed {len(errors)} times (connection errors and 5xx are "
                           f"retried): " + "; ".join(errors))


async def _beat(heartbeat: Callable[[int, float], None], progress: dict) -> None:
    """`heartbeat(out, seconds since the last answer)` every _HEARTBEAT_EVERY_S while any request is out."""
    while True:
        await asyncio.sleep(_HEARTBEAT_EVERY_S)
        if progress["out"]:
            heartbeat(progress["out"], time.monotonic() - progress["answered"])


def request_name(request: Request) -> str:
    """A request as its errors name it: its case (or drift's "case item N") and its request_id."""
    request_id = request.payload.get("request_id")
    return f"{request.case_id} request {request_id}" if request_id else request.case_id


def checked_answer(request: Request, body: bytes, source: str) -> dict:
    """A 200's body as the answer to `request`: parsed, checked (`answer_problem`) and cut to
    its bound (`cut_to_bound`). OddAnswer, named by `source` ("the server at URL answered
    200 to PATH with"), if it is no answer."""
    try:
        data = json.loads(body)
    except ValueError as exc:  # not JSON, or not UTF-8
        raise odd_answer(request, source, f"a body that is not JSON ({exc})", body) from None
    problem = answer_problem(request, data)
    if problem is not None:
        raise odd_answer(request, source, problem, body)
    return cut_to_bound(request, data)


def odd_answer(request: Request, source: str, problem: str, body: bytes | str) -> OddAnswer:
    """The error of an odd answer: the request, where it came from, what is wrong, and what came back (its start)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    size = len(body) if isinstance(body, bytes) else len(body.encode("utf-8", "surrogatepass"))
    shown = text[:_SNIPPET_CHARS] + ("..." if len(text) > _SNIPPET_CHARS else "")
    return OddAnswer(f"{request_name(request)}: {source} no answer: {problem}; not retried (a server answers the same "
                     f"request the same way; a lost connection or a 5xx is retried). It began {shown!r} "
                     f"(of {size} bytes)")


def _kind(value) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


def _texts(request: Request, choice: dict) -> tuple[dict, tuple[str, ...]]:
    """Where a choice's texts are, for the request's API path: (the dict that holds them, their keys)."""
    if request.path.endswith("/chat/completions"):
        return choice["message"], ("content", "reasoning_content", "reasoning")
    return choice, ("text",)


def answer_problem(request: Request, data, *, none_content: bool = False) -> str | None:
    """What makes `data` no answer to `request`, or None. A chat answer needs, in each
    choice, a `message` whose `content` is a string (null only beside a reasoning parser's
    thinking, which the suite's lm-eval model refuses by name; or, with `none_content`, as
    lm-eval takes it: no answer); a completions answer a `text` string, and the
    `prompt_logprobs` it was asked for."""
    if not isinstance(data, dict):
        return f"{_kind(data)}, not a JSON object"
    if "choices" not in data:
        return "no `choices`"
    choices = data["choices"]
    if not isinstance(choices, list):
        return f"`choices` is {_kind(choices)}, not a list"
    if not choices:
        return "an empty `choices` list"
    chat, completions = request.path.endswith("/chat/completions"), request.path.endswith("/completions")
    for i, choice in enumerate(choices):
        if not isinstance(choice, dict):
            return f"choices[{i}] is {_kind(choice)}, not an object"
        if chat:
            message = choice.get("message")
            if not isinstance(message, dict):
                return f"choices[{i}] has no `message`"
            if "content" not in message:
                return f"choices[{i}].message has no `content`"
            content = message["content"]
            if content is None and (none_content or message.get("reasoning_content") or message.get("reasoning")):
                continue
            if not isinstance(content, str):
                return f"choices[{i}].message.content is {_kind(content)}, not a string"
        elif completions:
            if "text" not in choice:
                return f"choices[{i}] has no `text`"
            if not isinstance(choice["text"], str):
                return f"choices[{i}].text is {_kind(choice['text'])}, not a string"
            if request.payload.get("prompt_logprobs") is not None and not isinstance(choice.get("prompt_logprobs"), list):
                return f"choices[{i}] has no `prompt_logprobs` (asked for)"
    return None


def answer_bound(payload: dict) -> int:
    """The most UTF-8 bytes a text of the answer to `payload` may have (BYTES_PER_TOKEN)."""
    tokens = payload.get("max_tokens") or payload.get("max_completion_tokens") or _UNSTATED_MAX_TOKENS
    return BOUND_FLOOR_BYTES + BYTES_PER_TOKEN * int(tokens)


def cut_to_bound(request: Request, data: dict) -> dict:
    """`data` (a checked answer) with each text beyond `answer_bound` cut to it, at a
    character's edge, and token ids beyond max_tokens dropped; such a choice is marked
    finish reason "length" and `suite_truncated`: {"bytes": its longest text as sent,
    "bound": ...} (and "token_ids": as many as were sent). Idempotent: an answer kept before the bound existed is cut when read."""
    bound = answer_bound(request.payload)
    max_tokens = request.payload.get("max_tokens") or request.payload.get("max_completion_tokens")
    for choice in data["choices"]:
        holder, keys = _texts(request, choice)
        cut: dict[str, int] = {}
        for key in keys:
            text = holder.get(key)
            if not isinstance(text, str) or len(text) * 4 <= bound:  # at most 4 bytes a character: within
                continue
            raw = text.encode("utf-8", "surrogatepass")
            if len(raw) > bound:
                holder[key] = raw[:bound].decode("utf-8", "ignore")  # a character cut in two is dropped
                cut.update(bytes=max(cut.get("bytes", 0), len(raw)), bound=bound)
        ids = choice.get("token_ids")
        if max_tokens and isinstance(ids, list) and len(ids) > max_tokens:
            choice["token_ids"] = ids[:max_tokens]
            cut["token_ids"] = len(ids)
        if cut:
            choice["finish_reason"] = "length"
            choice["suite_truncated"] = cut
    return data


def truncated(response: dict | None) -> bool:
    """Whether a response was cut to its bound (`cut_to_bound`)."""
    return any(isinstance(c, dict) and c.get("suite_truncated") for c in (response or {}).get("choices") or [])


def cut_message(name: str, cut: int) -> str:
    """The progress line that says `cut` responses were cut to their bound."""
    return (f"{name}: {cut} response(s) longer than their bound ({BYTES_PER_TOKEN} bytes per token of max_tokens, "
            f"plus {BOUND_FLOOR_BYTES}) were cut to it, kept and scored as truncated (finish reason length, "
            "suite_truncated in the generations file)")


async def generated_tokens(session, base_url: str) -> float | None:
    """The engine's generated tokens so far (its /metrics), None if it does not say."""
    metrics = await engine_metrics(session, base_url)
    return None if metrics is None else metrics.get("vllm:generation_tokens_total")


async def engine_metrics(session, base_url: str) -> dict[str, float] | None:
    """vLLM's Prometheus metrics, summed over their labels; None if there are none."""
    try:
        async with session.get(f"{base_url}/metrics", timeout=aiohttp.ClientTimeout(total=10)) as response:
            if not response.ok:
                return None
            return parse_metrics(await response.text())
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):  # none, or not Prometheus text
        return None


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text as {sample name: value summed over its labels}; ValueError if it is not."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[sample.name] = out.get(sample.name, 0.0) + sample.value
    return out


async def _notify(room: asyncio.Condition) -> None:
    async with room:
        room.notify_all()
