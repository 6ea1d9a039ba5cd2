"""Odd answers from a server (issue 26, item 5), against a fake OpenAI-style server in this
process (aiohttp.web on 127.0.0.1): a 200 that is malformed or empty fails its request
with a message naming the case, the request, the server and what came back, and is not
retried; a huge answer is cut to its bound and marked, so it is kept and scored small;
a request that never answers ends at the stall bound (`--stall-timeout`), with a
heartbeat progress line while it hangs."""

import asyncio
import dataclasses
import json
import math
import re
import time
from collections import Counter

import pytest
from aiohttp import web
from lm_eval.api.instance import Instance
from lm_eval.models.api_models import JsonChatStr

from evals.artifacts.generations import GenerationStore
from evals.config.matrix import load_matrix
from evals.engine import client
from evals.engine.client import Client, PoolSize, Request, RequestError
from evals.engine.endpoints import RemoteEndpoint
from evals.lmeval.model import SuiteChatCompletions
from evals.lmeval.runner import run_case
from evals.run.generation_pass import generation_pass
from evals.run.progress import Progress
from scorers.registry import TaskMetrics, load_task_metrics
from tests.fake_server import ThreadServer
from tests.evals_run import pytest_evals
from tests.options import Options
from tests.test_progress import Clock

CASE = "fp8-aime24-think"
RID = "0123456789abcdef01234567-0"
FIVE_MB = 5_000_000


def chat(content, finish_reason="stop") -> dict:
    return {"id": "chatcmpl-x", "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                              "finish_reason": finish_reason}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 7}}


class FakeServer(ThreadServer):
    """An OpenAI-style server in a thread: `answer(path, payload)` gives each POST's
    web.Response (a coroutine may hang); counts what it was sent. No /metrics: only
    answers count as the engine's progress."""

    def __init__(self, answer):
        self.answer = answer
        self.received: list[tuple[str, dict]] = []

    async def _post(self, request):
        payload = await request.json()
        self.received.append((request.path, payload))
        answer = self.answer(request.path, payload)
        return await answer if asyncio.iscoroutine(answer) else answer

    async def _models(self, request):
        return web.json_response({"data": [{"id": "tiny-fp8"}]})

    def routes(self, app):
        app.router.add_post("/v1/chat/completions", self._post)
        app.router.add_post("/v1/completions", self._post)
        app.router.add_get("/v1/models", self._models)


class Endpoint(RemoteEndpoint):
    def __init__(self, url):
        super().__init__(url, "tiny-fp8")

    def check_alive(self):
        pass


def answering(body, status=200):
    def answer(path, payload):
        if isinstance(body, str):
            return web.Response(text=body, status=status, content_type="text/html")
        return web.json_response(body, status=status)
    return answer


def hanging(path, payload):
    return asyncio.sleep(3600)


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    """No waits between retries, and the pool's watch and heartbeat every 50 ms."""
    monkeypatch.setattr(client, "RETRY_WAITS_S", (0.0, 0.0, 0.0))
    monkeypatch.setattr(client, "_WATCH_EVERY_S", 0.05)
    monkeypatch.setattr(client, "_HEARTBEAT_EVERY_S", 0.05, raising=False)


def send_one(server, path="/v1/chat/completions", max_tokens=100, **client_args) -> Request:
    payload = {"model": "tiny-fp8", "max_tokens": max_tokens, "request_id": RID}
    payload.update({"messages": [{"role": "user", "content": "2+2?"}]} if path.endswith("chat/completions")
                   else {"prompt": [1, 2, 3], "prompt_logprobs": 5})
    request = Request(CASE, payload, path=path)
    Client(Endpoint(server.url), PoolSize(2), **client_args).send([request], lambda r: None)
    return request


# 1. A malformed or empty 200 fails its request, naming case, request, server and answer; no retry.

MALFORMED = {
    "empty choices": ("/v1/chat/completions", {"id": "chatcmpl-x", "choices": []}, "an empty `choices` list",
                      '"choices": []'),
    "no choices": ("/v1/chat/completions", {"object": "error", "message": "model overloaded"}, "no `choices`",
                   "model overloaded"),
    "not JSON": ("/v1/chat/completions", "<html><body>502 Bad Gateway (proxy)</body></html>", "not JSON",
                 "502 Bad Gateway (proxy)"),
    "no message": ("/v1/chat/completions", {"choices": [{"index": 0, "finish_reason": "stop"}]},
                   "choices[0] has no `message`", '"finish_reason": "stop"'),
    "no content": ("/v1/chat/completions", {"choices": [{"index": 0, "message": {"role": "assistant"}}]},
                   "choices[0].message has no `content`", '"role": "assistant"'),
    "content not a string": ("/v1/chat/completions", chat(["4"]), "choices[0].message.content is a list, not a string",
                             '"content": ["4"]'),
    "completion without text": ("/v1/completions", {"choices": [{"index": 0, "finish_reason": "length"}]},
                                "choices[0] has no `text`", '"finish_reason": "length"'),
    "no prompt_logprobs": ("/v1/completions", {"choices": [{"index": 0, "text": "x", "finish_reason": "length"}]},
                           "choices[0] has no `prompt_logprobs`", '"text": "x"'),
}


@pytest.mark.parametrize("path,body,problem,snippet", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_answer_fails_its_request_naming_it_once(path, body, problem, snippet):
    with FakeServer(answering(body)) as server:
        began = time.monotonic()
        with pytest.raises(RequestError) as info:
            send_one(server, path)
        message = str(info.value)
        assert len(server.received) == 1, "a malformed answer is not retried"
        assert time.monotonic() - began < 5
    assert message.startswith(f"{CASE} request {RID}: the server at {server.url} answered 200 to {path} with "), message
    assert problem in message and snippet in message, message
    assert "Traceback" not in message and len(message) < 1000


def test_an_answer_cut_short_is_shown_by_its_first_300_characters():
    body = {"choices": [], "detail": "y" * 5000}
    with FakeServer(answering(body)) as server:
        with pytest.raises(RequestError) as info:
            send_one(server)
    message = str(info.value)
    assert '{"choices": [], "detail": "yyy' in message and "y" * 400 not in message
    assert f"of {len(json.dumps(body))} bytes" in message, message


def test_the_adapter_never_meets_an_index_error_from_the_server_or_a_kept_answer(tmp_path):
    """lm-eval's generate_until: `choices: []` from the server, and a kept response with no
    message (an older session's), each fail with the request named, never an IndexError
    or an empty text scored."""
    messages = [{"role": "user", "content": "2+2?"}]
    instance = Instance("generate_until", doc={}, arguments=(JsonChatStr(json.dumps(messages)), {"max_gen_toks": 8}),
                        idx=0)
    with FakeServer(answering({"id": "chatcmpl-x", "choices": []})) as server:
        model = SuiteChatCompletions(base_url=f"{server.url}/v1/chat/completions", model="tiny-fp8",
                                     tokenizer_backend=None, endpoint=Endpoint(server.url), case_id=CASE)
        with pytest.raises(RequestError) as info:
            model.generate_until([instance])
        message = str(info.value)
        assert message.startswith(f"{CASE} request ") and f"the server at {server.url}" in message, message
        assert "an empty `choices` list" in message and len(server.received) == 1

    store = GenerationStore(tmp_path / "g.jsonl", {"model": "m"})
    url = "http://127.0.0.1:9/v1/chat/completions"  # port 9: nothing is sent
    [request] = SuiteChatCompletions(base_url=url, model="m", tokenizer_backend=None, store=store).requests_for([instance])
    store.put(request.key, CASE, {"choices": [{"index": 0, "finish_reason": "stop"}]})  # finished, so kept
    model = SuiteChatCompletions(base_url=url, model="m", tokenizer_backend=None, store=store, case_id=CASE)
    with pytest.raises(RequestError) as info:
        model.generate_until([instance])
    message = str(info.value)
    assert message.startswith(f"{CASE} request {request.payload['request_id']}: ") and str(store.path) in message, message
    assert "choices[0] has no `message`" in message


# 2. A huge answer is cut to its bound, marked, kept small and scored once.

def bound(max_tokens: int) -> int:
    return client.BOUND_FLOOR_BYTES + client.BYTES_PER_TOKEN * max_tokens


@pytest.mark.parametrize("char", ["x", "数"], ids=["ascii", "three-byte"])
def test_a_five_megabyte_answer_is_cut_to_its_bound_and_marked(tmp_path, char):
    content = char * (FIVE_MB // len(char.encode()))
    with FakeServer(answering(chat(content))) as server:
        began = time.monotonic()
        request = send_one(server, max_tokens=100)
        store = GenerationStore(tmp_path / "g.jsonl", {"model": "m"})
        store.put("k", CASE, request.response)
        assert time.monotonic() - began < 5
    choice = request.response["choices"][0]
    kept = choice["message"]["content"]
    assert kept == content[:len(kept)] and bound(100) - 3 < len(kept.encode()) <= bound(100)
    assert choice["finish_reason"] == "length"
    assert choice["suite_truncated"] == {"bytes": len(content.encode()), "bound": bound(100)} and len(content.encode()) > 4_999_990
    assert store.path.stat().st_size < bound(100) + 2000  # the generations file holds the cut answer


def test_an_answer_within_its_bound_is_untouched():
    content = "数" * ((bound(100) - 1) // 3)
    with FakeServer(answering(chat(content))) as server:
        request = send_one(server, max_tokens=100)
    assert request.response == chat(content)


def test_a_case_answered_with_five_megabytes_per_request_is_scored_once_per_metric_in_seconds(tmp_path, monkeypatch):
    aime = next(c for c in load_matrix().cases("tiny") if c.precision == "fp8" and c.task.name == "aime24"
                and c.mode.enable_thinking)
    case = dataclasses.replace(aime, limit=2, repeats=1)
    calls: Counter = Counter()  # per metric
    lengths = []  # of every response scored
    scoring = []  # seconds of each scorer call
    original = TaskMetrics.scorers

    def counting(self):
        def count(name, scorer):
            def counted(response, gold):
                calls[name] += 1
                lengths.append(len(response.encode()))
                began = time.monotonic()
                try:
                    return scorer(response, gold)
                finally:
                    scoring.append(time.monotonic() - began)
            return counted
        return {name: count(name, scorer) for name, scorer in original(self).items()}

    monkeypatch.setattr(TaskMetrics, "scorers", counting)
    content = "The answer is 7. " * (FIVE_MB // 17)
    store = GenerationStore(tmp_path / "fp8.jsonl", {"model": "fake"})
    with FakeServer(answering(chat(content))) as server:
        began = time.monotonic()
        result = run_case(case, Endpoint(server.url), store)
        seconds = time.monotonic() - began
    assert len(server.received) == 2 and seconds < 60, seconds  # most of it lm-eval's own start (pip list: 8 s)
    metrics = load_task_metrics()["aime"].metrics
    assert calls == Counter({metric: 2 for metric in metrics})  # each response once per metric
    assert sum(scoring) < 1.0, f"{sum(scoring):.1f} s scoring {max(lengths)} bytes"
    max_tokens = server.received[0][1]["max_tokens"]
    assert max(lengths) <= bound(max_tokens)
    assert all(s.finish_reason == "length" and len(s.response.encode()) <= bound(max_tokens) for s in result.samples)
    assert result.truncation_rate == 1.0
    assert store.path.stat().st_size < 2 * (bound(max_tokens) + 3000)


# 3-4. A request that never answers: the stall bound, settable, and a heartbeat while it hangs.

def test_a_request_that_never_answers_ends_at_the_stall_bound_with_heartbeat_lines():
    lines = []
    progress = Progress("fp8 generation pass (1 cases)", lines.append, interval=0.2)
    progress.start(1)
    with FakeServer(hanging) as server:
        began = time.monotonic()
        with pytest.raises(RequestError) as info:
            Client(Endpoint(server.url), PoolSize(2), stall_timeout=1.0).send(
                [Request(CASE, {"model": "tiny-fp8", "request_id": RID})], lambda r: None, heartbeat=progress.heartbeat)
        seconds = time.monotonic() - began
    assert 1.0 <= seconds < 5, seconds
    message = str(info.value)
    assert f"the engine at {server.url} generated no token and answered no request for 1 s" in message, message
    assert "--stall-timeout" in message and "1 request out" in message, message
    beats = [line for line in lines if "out, no answer for" in line]
    assert len(beats) >= 2, lines
    assert beats[0].startswith("fp8 generation pass (1 cases): 0/1 requests, ") and ", 1 out, no answer for 0m0" in beats[0]


def test_the_generation_pass_takes_the_sessions_stall_bound_and_beats_while_it_hangs(tmp_path):
    case = next(c for c in load_matrix().cases("tiny") if c.precision == "fp8")
    case = dataclasses.replace(case, limit=1, repeats=1)
    lines = []
    label = "fp8 generation pass (1 cases)"
    client.use_stall_timeout(0.8)
    try:
        with FakeServer(hanging) as server:
            began = time.monotonic()
            with pytest.raises(RequestError, match=re.escape(label) + ": the engine at .* for 0.8 s, with 1 request out"):
                generation_pass([case], Endpoint(server.url), GenerationStore(tmp_path / "g.jsonl", {"model": "m"}),
                                {case.id: 10.0}, PoolSize(4), Progress(label, lines.append, interval=0.2), label)
            assert time.monotonic() - began < 10
    finally:
        client.use_stall_timeout(client.STALL_TIMEOUT_S)
    assert any(line.startswith(f"{label}: 0/1 requests") and "1 out, no answer for" in line for line in lines), lines


def test_a_heartbeat_line_comes_once_per_interval_and_only_while_no_line_did():
    clock = Clock()
    lines = []
    progress = Progress("bf16-aime24-think", lines.append, interval=30, clock=clock)
    progress.start(10)
    clock.now = 10.0
    progress.heartbeat(3, 10.0)
    assert lines == ["bf16-aime24-think: 10 requests"]
    clock.now = 310.0
    progress.heartbeat(3, 310.0)
    progress.heartbeat(3, 310.0)
    assert lines[1:] == ["bf16-aime24-think: 0/10 requests, 0 tok/s, 3 out, no answer for 5m10s"]
    clock.now = 320.0
    progress.update(50)  # an answer: lines go on as before
    clock.now = 345.0
    progress.heartbeat(2, 25.0)
    assert lines[2:] == ["bf16-aime24-think: 1/10 requests, 0 tok/s, ETA 51m45s, 2 out, no answer for 0m25s"]


def selected(**extra):
    from evals.plugin.selection import selection

    config = Options()
    config.options.update(extra)
    return selection(config)


def test_stall_timeout_is_a_checked_setting_of_the_session():
    try:
        chosen = selected(stall_timeout=90.0)
        assert chosen.stall_timeout == 90.0
        assert Client(Endpoint("http://127.0.0.1:9"), PoolSize(1)).stall_timeout == 90.0  # every pool made after
        assert Client(Endpoint("http://127.0.0.1:9"), PoolSize(1), stall_timeout=2.0).stall_timeout == 2.0
        assert selected().stall_timeout == client.STALL_TIMEOUT_S == 1800.0
        assert Client(Endpoint("http://127.0.0.1:9"), PoolSize(1)).stall_timeout == 1800.0
        for bad in (0.0, -5.0, math.nan, math.inf):
            with pytest.raises(pytest.UsageError, match=r"^--stall-timeout \S+: seconds the engine may go"):
                selected(stall_timeout=bad)
    finally:
        client.use_stall_timeout(client.STALL_TIMEOUT_S)


def test_stall_timeout_is_an_option_of_pytest_evals(tmp_path):
    done = pytest_evals("--stall-timeout", "0", "--collect-only", "-q", "--artifacts", str(tmp_path))
    assert done.returncode == 4, done.stdout + done.stderr
    assert "--stall-timeout 0: seconds the engine may go" in done.stderr, done.stderr
