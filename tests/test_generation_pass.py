"""One generation pass per model (evals/run/generation_pass.py) through one pool (evals/engine/client.py),
against a scripted server: every request of the model's cases is sent once, longest
expected first, never more in flight than the pool allows; the cases then run lm-eval
answered from the store alone; a failed request is left to its case; the time a request
waits in the engine's queue is not a timeout, an engine that makes no progress is."""

import asyncio
import time

import pytest
from aiohttp import web

from evals.engine import client
from evals.engine.client import Client, PoolSize, Request, RequestError
from evals.engine.endpoints import RemoteEndpoint
from evals.config.matrix import load_matrix
from evals.run.generation_pass import expected_tokens, generation_pass
from evals.artifacts.generations import GenerationStore
from evals.lmeval.runner import run_case
from tests.fake_server import ThreadServer


class Scripted(ThreadServer):
    """An OpenAI-style chat server in a thread: answers after `delay(payload)` seconds
    (a 500 for `fail(payload)`), counts requests in flight, and serves /metrics."""

    def __init__(self, delay=lambda p: 0.0, fail=lambda p: False, tokens_move=True, serial=False):
        self.delay, self.fail, self.tokens_move, self.serial = delay, fail, tokens_move, serial
        self.received: list[dict] = []
        self.in_flight = self.most_in_flight = 0
        self.tokens = 0

    async def _chat(self, request):
        payload = await request.json()
        self.received.append(payload)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.serial:  # an engine that runs one request at a time: the rest wait in its queue
                async with self.engine:
                    await asyncio.sleep(self.delay(payload))
            else:
                await asyncio.sleep(self.delay(payload))
        finally:
            self.in_flight -= 1
        if self.fail(payload):
            return web.json_response({"error": "boom"}, status=500)
        n = payload.get("max_tokens", 1)
        return web.json_response({"id": "chatcmpl-" + payload.get("request_id", "x"), "choices": [
            {"index": 0, "message": {"content": "<think>x</think>\\boxed{7}"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": n}})

    async def _models(self, request):
        return web.json_response({"data": [{"id": "tiny-fp8"}]})

    async def _metrics(self, request):
        if self.tokens_move:
            self.tokens += 1
        return web.Response(text=f"# TYPE vllm:generation_tokens_total counter\nvllm:generation_tokens_total {self.tokens}\n")

    def routes(self, app):
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/v1/models", self._models)

    def on_loop(self):
        self.engine = asyncio.Lock()


class Endpoint(RemoteEndpoint):
    """The fake server, as the served model "tiny-fp8"."""

    def __init__(self, url):
        super().__init__(url, "tiny-fp8")


def fp8_cases():
    return [c for c in load_matrix().cases("tiny") if c.precision == "fp8"]


def test_a_models_requests_go_once_longest_first_and_its_cases_then_send_nothing(tmp_path):
    cases = fp8_cases()
    expected = {c.id: 90.0 if c.mode.enable_thinking else 40.0 for c in cases}
    store = GenerationStore(tmp_path / "fp8.jsonl", {"model": "fake"})
    with Scripted(delay=lambda p: 0.01) as server:
        made = generation_pass(cases, Endpoint(server.url), store, expected, PoolSize(8))
        total = sum(c.limit * c.repeats for c in cases)  # each item's k sampled repeats, lm-eval's `repeats`
        assert all(c.repeats > 1 for c in cases)
        assert (made.requests, made.sent, made.kept, made.failed) == (total, total, 0, {})
        assert len(server.received) == total and len(store) == total
        assert server.most_in_flight <= 8
        # Thinking requests (80-96 tokens at most, expected 90) all went before the others (48 at most).
        thinking = [p["chat_template_kwargs"]["enable_thinking"] for p in server.received]
        assert thinking == sorted(thinking, reverse=True) and thinking[0] and not thinking[-1]
        assert set(made.case_seconds) == {c.id for c in cases}

        for case in cases:  # lm-eval then finds every request of every case in the store
            result = run_case(case, Endpoint(server.url), store)
            assert len(result.samples) == case.limit * case.repeats
            assert all(s.response == "<think>x</think>\\boxed{7}" for s in result.samples)
            assert sorted({s.repeat for s in result.samples}) == list(range(case.repeats))
        assert len(server.received) == total

        again = generation_pass(cases, Endpoint(server.url), GenerationStore(store.path, store.context), expected,
                                PoolSize(8))
        assert (again.kept, again.sent) == (total, 0)  # a resumed run sends nothing it kept


def test_a_request_that_fails_is_left_to_its_case(tmp_path, monkeypatch):
    monkeypatch.setattr(client, "RETRY_WAITS_S", (0.0,))
    cases = [c for c in fp8_cases() if c.task.name == "aime24"][:2]
    bad = cases[1].mode.system
    store = GenerationStore(tmp_path / "fp8.jsonl", {"model": "fake"})
    with Scripted(fail=lambda p: p["messages"][0]["content"] == bad) as server:
        made = generation_pass(cases, Endpoint(server.url), store, {c.id: 40.0 for c in cases}, PoolSize(4))
        assert list(made.failed) == [cases[1].id] and "HTTP 500" in made.failed[cases[1].id]
        per_case = [c.limit * c.repeats for c in cases]
        assert made.sent == per_case[0] and made.requests == sum(per_case)
        run_case(cases[0], Endpoint(server.url), store)  # the other case is whole
        with pytest.raises(RequestError, match=f"{cases[1].id}: the request failed 2 times"):
            run_case(cases[1], Endpoint(server.url), store)


def test_the_pool_never_exceeds_its_count_or_its_token_budget():
    size = PoolSize(max_in_flight=3, token_budget=100.0)
    long, short = Request("c", {}, expected_tokens=60.0), Request("c", {}, expected_tokens=10.0)
    assert size.admits(0, 0.0, long) and not size.admits(1, 60.0, long) and size.admits(1, 60.0, short)
    assert not size.admits(3, 30.0, short)
    assert PoolSize(2, 10.0).admits(0, 0.0, long)  # longer than the whole budget: alone
    with Scripted(delay=lambda p: 0.05) as server:
        requests = [Request("c", {"model": "m", "max_tokens": t}, expected_tokens=t) for t in (60, 60, 10, 10, 10, 10)]
        sender = Client(Endpoint(server.url), size)
        order = []
        sender.send(requests, lambda r: order.append(r.payload["max_tokens"]))
        assert sorted(order) == [10, 10, 10, 10, 60, 60] and server.most_in_flight <= 3


def test_expected_tokens_take_the_case_mean_unless_the_length_is_forced():
    assert expected_tokens(Request("c", {"max_tokens": 96}), 40.0) == 40.0
    assert expected_tokens(Request("c", {"max_tokens": 30}), 40.0) == 30.0
    assert expected_tokens(Request("c", {"max_tokens": 500, "ignore_eos": True}), 40.0) == 500.0


def test_waiting_in_the_engines_queue_is_no_timeout_but_a_stalled_engine_is(monkeypatch):
    monkeypatch.setattr(client, "_WATCH_EVERY_S", 0.05)
    requests = [Request("c", {"model": "m"}) for _ in range(6)]
    # One at a time, 0.3 s each: the last waits 1.5 s, far past the 0.4 s bound, while tokens move.
    with Scripted(delay=lambda p: 0.3, serial=True) as server:
        began = time.monotonic()
        Client(Endpoint(server.url), PoolSize(6), stall_timeout=0.4).send(requests, lambda r: None)
        assert time.monotonic() - began > 1.5
    # An engine that answers nothing and generates nothing fails the pool at the bound.
    with Scripted(delay=lambda p: 30.0, tokens_move=False) as server:
        began = time.monotonic()
        with pytest.raises(RequestError, match="generated no token and answered no request for 0.4 s"):
            Client(Endpoint(server.url), PoolSize(6), stall_timeout=0.4).send(requests, lambda r: None, keep_going=True)
        assert time.monotonic() - began < 5


class Flaky(Endpoint):
    """A server whose health check fails `times` times in a row, once."""

    def __init__(self, url, times):
        super().__init__(url)
        self.left = times

    def check_alive(self):
        if self.left:
            self.left -= 1
            raise RuntimeError("health check timed out")


def test_one_failed_health_check_is_not_a_dead_server_three_in_a_row_are(monkeypatch):
    monkeypatch.setattr(client, "_WATCH_EVERY_S", 0.05)
    requests = [Request("c", {"model": "m"}) for _ in range(3)]
    with Scripted(delay=lambda p: 0.3) as server:
        Client(Flaky(server.url, 2), PoolSize(3)).send(requests, lambda r: None)
        with pytest.raises(client.ServerGone, match="health check timed out"):
            Client(Flaky(server.url, 10), PoolSize(3)).send(requests, lambda r: None, keep_going=True)


def test_metrics_that_are_not_prometheus_text_are_no_metrics():
    class Html(Scripted):
        async def _metrics(self, request):
            return web.Response(text="<html>app</html>", content_type="text/html")

    async def read(url):
        import aiohttp

        async with aiohttp.ClientSession() as session:
            return await client.engine_metrics(session, url)

    with Html() as server:
        assert asyncio.run(read(server.url)) is None
    with Scripted() as server:
        assert asyncio.run(read(server.url))["vllm:generation_tokens_total"] == 1
