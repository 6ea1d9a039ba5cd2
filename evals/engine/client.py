"""Requests to one server, through one pool: requests in flight sized from the server,
retries of what a retry can mend, and a bound on how long the engine may make no
progress. The generation pass sends chat requests through it, the drift pass its
teacher-forced scoring (each request names its own API path).

The pool admits requests in the order given (the generation pass gives them longest
expected first) while fewer than `max_in_flight` are out and the expected tokens of
those out fit `token_budget` (twice the KV cache vLLM reports: one batch running, one
waiting in its queue, so a finished sequence's slot is refilled at once instead of
after an HTTP round trip). Long requests therefore go few at a time and short ones
many, as the KV cache allows.

There is no wall-clock timeout per request: a request may wait in vLLM's queue for as
long as the requests ahead of it take. What is bounded is the engine's progress: the
pool fails when, for `stall_timeout` seconds, no request came back and the server's
`vllm:generation_tokens_total` (its /metrics) did not move.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import aiohttp

from evals.engine.endpoints import Endpoint

# Waits before each retry of a request that met a connection error or a 5xx answer.
RETRY_WAITS_S = (1.0, 4.0, 10.0)
# The engine may go this long with no token generated and no request answered.
STALL_TIMEOUT_S = 1800.0
# vLLM's counters read before and after a pool's requests (its /metrics; a remote server
# may not expose them): what the engine generated, and how often it preempted a running
# request for lack of KV cache (each preemption recomputes that request's context).
ENGINE_COUNTERS = {"generated_tokens": "vllm:generation_tokens_total", "preemptions": "vllm:num_preemptions_total"}
_WATCH_EVERY_S = 5.0


class RequestError(RuntimeError):
    """A request failed for good; the message names its case and every attempt's error."""


class ServerGone(RequestError):
    """The local server is not alive: no request to it can succeed."""


@dataclass
class Request:
    """One request, and where its answer goes."""

    case_id: str  # whose request it is: a case, or what the drift pass scores ("case item N")
    payload: dict[str, Any]
    key: str | None = None  # in the generation store
    expected_tokens: float = 0.0  # output tokens, for the order and the token budget
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


class Client:
    """Sends requests to an endpoint (evals/engine/endpoints.py), started when there is
    something to send; a dead local server fails at once, its log says why."""

    def __init__(self, endpoint: Endpoint, size: PoolSize, headers: dict | None = None,
                 stall_timeout: float = STALL_TIMEOUT_S):
        self.endpoint, self.size, self.headers, self.stall_timeout = endpoint, size, headers or {}, stall_timeout
        self.first_sent: float | None = None
        self.last_received: float | None = None
        self.counters: dict[str, float] = {}  # ENGINE_COUNTERS' change over the requests sent, where the engine says

    def send(self, requests: list[Request], on_response: Callable[[Request], None], *, keep_going: bool = False) -> None:
        """Sends `requests` in order; `on_response(request)` as each answer arrives. The
        first request that fails for good raises, unless `keep_going`: then it is left with
        its `.error` and the others go on (a dead server or a stalled engine always stops
        everything)."""
        if requests:
            self.endpoint.start()
            asyncio.run(self._send(self.endpoint.url, requests, on_response, keep_going))

    async def _send(self, base_url: str, requests: list[Request], on_response, keep_going: bool) -> None:
        progress = {"at": time.monotonic()}
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=60)
        async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as session:
            before = await engine_metrics(session, base_url) or {}
            watch = asyncio.create_task(self._watch(session, base_url, progress))
            try:
                await self._admit(session, base_url, requests, on_response, keep_going, progress, watch)
            finally:
                watch.cancel()
                await asyncio.gather(watch, return_exceptions=True)
                after = await engine_metrics(session, base_url) or {}
                self.counters = {name: after[metric] - before.get(metric, 0.0)
                                 for name, metric in ENGINE_COUNTERS.items() if metric in after}

    async def _admit(self, session, base_url, requests, on_response, keep_going, progress, watch) -> None:
        room = asyncio.Condition()
        state = {"in_flight": 0, "tokens": 0.0}
        failures: list[BaseException] = []  # what stops the pool: a dead server, or any failure unless keep_going
        tasks: list[asyncio.Task] = []

        def stop(error: BaseException) -> None:
            failures.append(error)
            asyncio.ensure_future(_notify(room))

        watch.add_done_callback(lambda w: w.cancelled() or w.exception() is None or stop(w.exception()))

        async def one(request: Request) -> None:
            try:
                request.response = await self.post(session, base_url, request)
                progress["at"] = self.last_received = time.monotonic()
                on_response(request)
            except Exception as exc:  # noqa: BLE001  kept on the request, or it stops the pool
                if keep_going and not isinstance(exc, ServerGone):
                    request.error = exc
                else:
                    stop(exc)
            finally:
                async with room:
                    state["in_flight"] -= 1
                    state["tokens"] -= request.expected_tokens
                    room.notify_all()

        try:
            for request in requests:
                async with room:
                    await room.wait_for(lambda: failures or self.size.admits(state["in_flight"], state["tokens"], request))
                    if failures:
                        raise failures[0]
                    state["in_flight"] += 1
                    state["tokens"] += request.expected_tokens
                if self.first_sent is None:
                    self.first_sent = time.monotonic()
                tasks.append(asyncio.create_task(one(request)))
            async with room:
                await room.wait_for(lambda: failures or state["in_flight"] == 0)
            if failures:
                raise failures[0]
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _alive(self) -> Exception | None:
        """Why the server is not alive (its `check_alive`), or None."""
        try:
            await asyncio.to_thread(self.endpoint.check_alive)
        except Exception as dead:  # noqa: BLE001  the caller says what it means
            return dead
        return None

    async def _watch(self, session, base_url: str, progress: dict) -> None:
        """Fails the pool when the engine made no progress for stall_timeout seconds, or the
        server failed 3 liveness checks in a row while requests wait (one slow answer to a
        health check over an hours-long pass is not a dead server)."""
        tokens, failed_checks = None, 0
        while True:
            await asyncio.sleep(min(_WATCH_EVERY_S, self.stall_timeout / 4))
            dead = await self._alive()
            failed_checks = failed_checks + 1 if dead is not None else 0
            if failed_checks >= 3:
                raise ServerGone(f"the server is not alive: {dead}") from dead
            now_tokens = await generated_tokens(session, base_url)
            if now_tokens is not None and now_tokens != tokens:
                tokens, progress["at"] = now_tokens, time.monotonic()
            if time.monotonic() - progress["at"] > self.stall_timeout:
                raise RequestError(f"the engine at {base_url} generated no token and answered no request for "
                                   f"{self.stall_timeout:g} s (requests in its queue do not count toward this)")

    async def post(self, session, base_url: str, request: Request) -> dict:
        """One request's response. Connection errors and 5xx answers are retried, at most
        RETRY_WAITS_S times, unless the local server is gone; any other answer, or the
        last failure, raises with every attempt's error."""
        errors = []
        for wait in (*RETRY_WAITS_S, None):
            try:
                async with session.post(f"{base_url}{request.path}", json=request.payload,
                                        headers=self.headers) as response:
                    if response.ok:
                        return await response.json()
                    text = await response.text()
                    if response.status < 500:  # the request itself is wrong: asking again cannot help
                        raise RequestError(f"{request.case_id}: the server answered {response.status}: {text[:2000]}")
                    errors.append(f"HTTP {response.status}: {text[:300]}")
            except aiohttp.ClientConnectionError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                dead = await self._alive()  # a dead server: no retry (the case's test then names it, with its log)
                if dead is not None:
                    raise ServerGone(f"{request.case_id}: {errors[-1]}, and the server is not alive") from dead
            except (aiohttp.ClientPayloadError, aiohttp.ContentTypeError, ValueError) as exc:  # a broken answer
                errors.append(f"{type(exc).__name__}: {exc}")
            if wait is not None:
                await asyncio.sleep(wait)
        raise RequestError(f"{request.case_id}: the request failed {len(errors)} times (connection errors and 5xx are "
                           f"retried): " + "; ".join(errors))


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
