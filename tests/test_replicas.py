"""Replicas (issue 27, part 5): one precision served by several servers, `--vllm-url fp8=A
--vllm-url fp8=B` (evals/engine/replicas.py, evals/engine/client.py), and vLLM's data parallel
in a profile's server settings (`data_parallel_size`).

In process, against stand-in servers (tests/fake_server.py) and the session's own wiring
(selection, servers, generation pass, manifest): the pool spreads a precision's requests over
its replicas, each within its own share (requests out, and its KV cache as its /metrics
says); every replica is checked and recorded, its key nowhere; replicas that serve other
weights fail naming both URLs; a replica that dies leaves its requests to the others, and
the last one's death fails the pass naming each. Data parallel: the KV cache and the
requests out of all ranks, the GPUs of all ranks, vLLM's own parser on the command.

One engine test runs two tiny vLLM CPU servers as FP8's replicas, and compares the run
with a run against one of them alone."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
from unittest import mock

import pytest
from aiohttp import web

from evals.config.matrix import ConfigError, gpus_per_server, load_matrix
from evals.engine import client, facts, replicas
from evals.engine.client import Client, PoolSize, Request, ServerGone, pool_size
from evals.engine.endpoints import Expected
from evals.engine.server import ServerError, cli_args
from evals.lmeval.call import in_flight
from evals.plugin.workers import worker_devices
from evals.run.session import MatrixRun
from tests import fake_nvidia_smi
from tests.fake_server import ThreadServer
from tests.options import select

KEY = "sk-replica-7d3e9c1b5a"
FP8_HUB = Expected(("qwen3-32b-fp8", "Qwen/Qwen3-32B-FP8"), "Qwen/Qwen3-32B-FP8", "main")
SNAPSHOT = "/hf/hub/models--Qwen--Qwen3-32B-FP8/snapshots/"


class Replica(ThreadServer):
    """A stand-in vLLM server: /v1/models serves `name` from `root`, /version, /metrics (its
    generated tokens, and its KV cache as vLLM's cache_config_info says it: `kv_tokens` over
    `engines` data-parallel ranks), chat answers after `delay` s, or never (`hold`: until it
    is killed). Counts its requests and expected tokens out, as the pool sizes them (max_tokens)."""

    def __init__(self, root: str, kv_tokens: int | None = None, name: str = "tiny-fp8", version: str = "0.32.0",
                 delay: float = 0.05, hold: bool = False, engines: int = 1):
        self.root, self.kv_tokens, self.name, self.version = root, kv_tokens, name, version
        self.delay, self.hold, self.engines = delay, hold, engines
        self.received: list[dict] = []
        self.keys: set[str | None] = set()  # Authorization headers of its chat requests
        self.in_flight = self.most_in_flight = self.tokens = self.most_tokens = self.generated = 0
        self.dead = False

    def on_loop(self):
        self.never = asyncio.Event()

    async def _chat(self, request):
        payload = await request.json()
        self.received.append(payload)
        self.keys.add(request.headers.get("Authorization"))
        self.in_flight += 1
        self.tokens += payload["max_tokens"]
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self.most_tokens = max(self.most_tokens, self.tokens)
        try:
            await (self.never.wait() if self.hold else asyncio.sleep(self.delay))
        finally:
            self.in_flight -= 1
            self.tokens -= payload["max_tokens"]
        self.generated += 1
        return web.json_response({"id": "chatcmpl-" + payload.get("request_id", "x"), "choices": [
            {"index": 0, "message": {"content": f"\\boxed{{7}} from {self.url}"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 3}})

    async def _models(self, request):
        return web.json_response({"data": [{"id": self.name, "root": self.root, "max_model_len": 1024}]})

    async def _version(self, request):
        return web.json_response({"version": self.version})

    async def _metrics(self, request):
        self.generated += self.in_flight > 0  # an engine at work generates tokens
        lines = ["# TYPE vllm:generation_tokens_total counter",
                 f'vllm:generation_tokens_total{{engine="0",model_name="{self.name}"}} {self.generated}']
        if self.kv_tokens:  # vLLM's API server: every rank's labels hold the blocks of all ranks
            lines.append("# TYPE vllm:cache_config_info gauge")
            lines += [f'vllm:cache_config_info{{block_size="8",engine="{rank}",kv_cache_size_tokens='
                      f'"{self.kv_tokens // self.engines}",num_gpu_blocks="{self.kv_tokens // 8}"}} 1.0'
                      for rank in range(self.engines)]
        return web.Response(text="\n".join(lines) + "\n")

    def routes(self, app):
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/version", self._version)
        app.router.add_get("/metrics", self._metrics)

    def kill(self) -> None:
        """Gone at once: the requests it holds dropped, its connections cut, nothing listening on its port."""
        if not self.dead:
            self.dead = True
            asyncio.run_coroutine_threadsafe(_drop_requests(), self.loop).result(10)
            super().__exit__()

    def __exit__(self, *exc):
        self.kill()


async def _drop_requests() -> None:
    """Cancels every task of this loop but this one: the requests a server holds."""
    for task in asyncio.all_tasks():
        if task is not asyncio.current_task():
            task.cancel()


def kill_when(server: Replica, received: int) -> threading.Thread:
    """Kills `server` once it holds `received` requests (from a thread: the test sends meanwhile)."""
    def watch():
        deadline = time.monotonic() + 30
        while len(server.received) < received and time.monotonic() < deadline:
            time.sleep(0.01)
        server.kill()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    """No waits between retries; the pool's watch every 50 ms."""
    monkeypatch.setattr(client, "RETRY_WAITS_S", (0.0, 0.0, 0.0))
    monkeypatch.setattr(client, "_WATCH_EVERY_S", 0.05)


@pytest.fixture
def tiny_fp8():
    """FP8's tiny weights, as the session names them (the folder its servers report as `root`)."""
    from evals.engine.weights import Weights

    matrix = load_matrix()
    return Weights(matrix).path(next(c for c in matrix.cases("tiny") if c.precision == "fp8").model)[0]


def session(tmp_path, *servers: Replica, lines: list[str] | None = None) -> MatrixRun:
    """A session's run of FP8's aime24 int_only case on 3 items (4 samples each: no other
    precision's baseline plans them), served by `servers` (a --vllm-url each); its progress
    lines into `lines`."""
    with mock.patch.dict(os.environ, {"SUITE_SNAPSHOTS_DIR": str(tmp_path / "no-baselines")}):
        chosen = select(precision=["fp8"], task=["aime24"], mode=["int_only"], limit=3, collectonly=False,
                        artifacts=str(tmp_path / "artifacts"), vllm_url=[f"fp8={s.url}" for s in servers])
    chosen = dataclasses.replace(chosen, scheduled=frozenset(c.id for c in chosen.cases))
    return MatrixRun(chosen, (lines if lines is not None else []).append)


# ---------------------------------------------------------------- the command line


def test_vllm_url_repeated_for_a_precision_adds_a_replica_and_the_same_one_twice_is_an_error():
    chosen = select(vllm_url=["fp8=http://a:8000", "fp8=http://b:8000/v1", "bf16=http://c:8000"])
    assert chosen.remote == {"fp8": ("http://a:8000", "http://b:8000/v1"), "bf16": ("http://c:8000",)}
    with pytest.raises(pytest.UsageError, match=r"--vllm-url 'fp8=http://a:8000/v1': given twice for fp8"):
        select(vllm_url=["fp8=http://a:8000", "fp8=http://a:8000/v1"])


# ---------------------------------------------------------------- the pool over replicas


def test_the_pool_spreads_over_its_replicas_each_within_its_own_size(tmp_path, tiny_fp8):
    """A has room for 4 requests of 50 expected tokens (its KV cache: 200), B for 6 (its 400
    tokens would take 8, its max_in_flight takes 6): both are kept busy, neither beyond its size."""
    with Replica(tiny_fp8, kv_tokens=200) as a, Replica(tiny_fp8, kv_tokens=400) as b:
        endpoint = replicas.remote([a.url, b.url], "fp8", Expected(("tiny-fp8",), tiny_fp8))
        asked = [{"model": "tiny-fp8", "max_tokens": 50, "messages": [{"role": "user", "content": f"{i}"}]} for i in range(40)]
        requests = [Request("c", payload, expected_tokens=50.0) for payload in asked]
        sender = Client(endpoint, lambda server: pool_size(6, server.kv_cache_tokens))
        answered = []
        sender.send(requests, answered.append)
    assert len(answered) == 40 and all(r.response for r in requests)
    assert len(a.received) + len(b.received) == 40  # each request sent once
    assert a.most_tokens <= 200 and a.most_in_flight == 4
    assert b.most_tokens <= 300 and b.most_in_flight == 6
    assert sender.answered == {a.url: len(a.received), b.url: len(b.received)}
    assert 0 < len(a.received) < len(b.received)  # each as much as its share allows
    assert sender.gone == {}


def test_every_replica_is_checked_and_recorded_and_its_key_is_sent_never_written(tmp_path, tiny_fp8, monkeypatch):
    monkeypatch.setenv("SUITE_API_KEY_FP8", KEY)
    with Replica(tiny_fp8, kv_tokens=3200) as a, Replica(tiny_fp8, kv_tokens=1600, engines=2) as b:
        with session(tmp_path, a, b) as run, run.servers.endpoint("fp8") as endpoint:
            assert isinstance(endpoint, replicas.Replicas) and endpoint.served_name == "tiny-fp8"
            made = run.generate("fp8", endpoint)
            manifest = json.loads((run.artifacts.dir / "manifest.json").read_text())
    assert made.sent == made.requests == 3 * 4 and not made.failed  # 3 items x 4 samples
    assert a.received and b.received and a.keys == b.keys == {f"Bearer {KEY}"}
    model = manifest["models"]["fp8"]
    served = {"id": "tiny-fp8", "root": tiny_fp8, "max_model_len": 1024}
    assert model["replicas"] == [{"url": a.url, "served": served, "kv_cache_tokens": 3200},
                                 {"url": b.url, "served": served, "kv_cache_tokens": 1600}]
    assert model["context"]["engine"] == "vllm 0.32.0" and "url" not in model
    assert model["generation_pass"]["answered_by"] == {a.url: len(a.received), b.url: len(b.received)}
    assert KEY not in json.dumps(manifest)


def test_replicas_that_serve_other_weights_or_names_fail_naming_both_urls_before_anything_is_sent():
    commit_a, commit_b = "a" * 40, "b" * 40
    name = "qwen3-32b-fp8"
    with Replica(SNAPSHOT + commit_a, name=name) as a, Replica(SNAPSHOT + commit_b, name=name) as b:
        with pytest.raises(ServerError) as info:
            replicas.remote([a.url, b.url], "fp8", FP8_HUB)  # each alone is FP8's weights (no commit pinned)
        assert str(info.value) == (
            f"--vllm-url fp8={a.url} and --vllm-url fp8={b.url}: replicas of fp8 must serve the same model the same "
            f"way, but they differ in the weights: 'Qwen/Qwen3-32B-FP8@{commit_a}' at {a.url}, "
            f"'Qwen/Qwen3-32B-FP8@{commit_b}' at {b.url}; nothing was sent to either")
    with Replica(SNAPSHOT + commit_a, name=name) as a, Replica(SNAPSHOT + commit_a, name=name) as d, \
            Replica(SNAPSHOT + commit_a, name="Qwen/Qwen3-32B-FP8") as b, \
            Replica(SNAPSHOT + commit_a, name=name, version="0.31.1") as c:
        with pytest.raises(ServerError, match=rf"fp8={a.url} and --vllm-url fp8={b.url}: .* differ in the served name"):
            replicas.remote([a.url, b.url], "fp8", FP8_HUB)
        with pytest.raises(ServerError, match=rf"differ in the engine \(/version\): 'vllm 0.32.0' at {a.url}, "
                                              rf"'vllm 0.31.1' at {c.url}"):
            replicas.remote([a.url, c.url], "fp8", FP8_HUB)
        assert replicas.remote([a.url, d.url + "/v1"], "fp8", FP8_HUB).url == f"{a.url}, {d.url}"  # the same: fine
    with Replica(SNAPSHOT + commit_a, name=name) as a, Replica("Qwen/Qwen3-32B", name=name) as b:
        with pytest.raises(ServerError, match=rf"--vllm-url fp8={b.url}: 'qwen3-32b-fp8' serves Qwen/Qwen3-32B, not "
                                              "Qwen/Qwen3-32B-FP8"):  # checked as a lone server is
            replicas.remote([a.url, b.url], "fp8", FP8_HUB)
    assert not (a.received or b.received or c.received)


def test_a_replica_that_dies_leaves_its_requests_to_the_other(tmp_path, tiny_fp8):
    """Two replicas of one size take the pass's 12 requests in turn; A never answers and dies
    holding its 6: they go to B, each is kept once, no case fails, and the pass says which
    replica went and why."""
    lines: list[str] = []
    with Replica(tiny_fp8, kv_tokens=10_000, hold=True) as a, Replica(tiny_fp8, kv_tokens=10_000) as b:
        killer = kill_when(a, 6)
        with session(tmp_path, a, b, lines=lines) as run, run.servers.endpoint("fp8") as endpoint:
            made = run.generate("fp8", endpoint)
            store = run.stores.generations("fp8")
            kept = [store.get(key) for key in store._responses]
        killer.join()
    assert (made.sent, made.failed) == (12, {}) and len(kept) == 12
    assert all(r["choices"][0]["message"]["content"].endswith(f"from {b.url}") for r in kept)
    assert len(a.received) == 6 and len(b.received) == 12  # what A held was sent again, to B
    assert {p["request_id"] for p in a.received} < {p["request_id"] for p in b.received}
    gone = [line for line in lines if f"the replica at {a.url} is gone, its requests went to the others" in line]
    assert len(gone) == 1 and "the server is not alive" in gone[0], lines


def test_when_every_replica_is_gone_the_pool_fails_naming_each(tiny_fp8):
    with Replica(tiny_fp8, hold=True) as a, Replica(tiny_fp8, hold=True) as b:
        endpoint = replicas.remote([a.url, b.url], "fp8", Expected(("tiny-fp8",), tiny_fp8))
        requests = [Request(f"fp8-aime24-int_only item {i}", {"model": "tiny-fp8", "max_tokens": 8}) for i in range(6)]
        killers = kill_when(a, 3), kill_when(b, 3)
        with pytest.raises(ServerGone) as info:
            Client(endpoint, PoolSize(3)).send(requests, lambda r: None, keep_going=True)
        for killer in killers:
            killer.join()
    message = str(info.value)
    assert message.startswith("every server of the pool is gone: ")
    assert f"{a.url}: " in message and f"{b.url}: " in message
    assert message.count("not alive") == 2
    with pytest.raises(ServerError, match=rf"no replica of fp8 answers: server at {a.url} does not answer .*; "
                                          rf"server at {b.url} does not answer"):
        endpoint.check_alive()


# ---------------------------------------------------------------- data parallel


def test_data_parallel_is_a_server_setting_of_a_profile_checked_on_load(tmp_path):
    from tests.test_config import load_with

    def data_parallel(value):
        return lambda raw: raw["profiles"]["full"]["server"].update(data_parallel_size=value)

    full = next(c for c in load_with(tmp_path, data_parallel(2)).cases("full") if c.precision == "fp8")
    assert full.server["data_parallel_size"] == 2 and full.server["tensor_parallel_size"] == 2
    assert gpus_per_server(full.server) == 4
    assert in_flight(full) == 2 * 128 * 2  # two batches of max_num_seqs per rank
    command = cli_args(full.server)
    assert command[command.index("--data-parallel-size") + 1] == "2"
    for bad in (0, "2", True, 1.5):
        with pytest.raises(ConfigError, match=rf"profiles\.full\.server\.data_parallel_size: must be a positive "
                                              rf"integer, got {bad!r}"):
            load_with(tmp_path, data_parallel(bad))
    shipped = load_matrix()
    assert all("data_parallel_size" not in c.server
               and gpus_per_server(c.server) == c.server.get("tensor_parallel_size", 1)
               for profile in shipped.profiles for c in shipped.cases(profile))


def test_a_data_parallel_server_gets_and_records_the_gpus_of_every_rank(tmp_path, monkeypatch):
    fake_nvidia_smi.first_on_path(monkeypatch, fake_nvidia_smi.write(tmp_path, fake_nvidia_smi.H100_HOST))
    gpus = gpus_per_server({"tensor_parallel_size": 2, "data_parallel_size": 2})
    assert [worker_devices(slot, gpus, device_count=8) for slot in (0, 1)] == ["0,1,2,3", "4,5,6,7"]
    assert [g["index"] for g in facts.server_gpus("4,5,6,7", gpus)] == ["4", "5", "6", "7"]


def test_the_pool_is_sized_from_every_data_parallel_rank():
    """vLLM's own words, as a CPU server with data_parallel_size 2 said them: each rank logs
    its KV cache; /metrics sums the ranks' blocks in every rank's labels, and its
    kv_cache_size_tokens is one rank's."""
    log = ("(EngineCore_DP1 pid=24894) INFO 12-06 23:53:49 [kv_cache_utils.py:2327] CPU KV cache size: 524,288 tokens, "
           "Maximum concurrency for 1,024 tokens per request: 512.00x\n"
           "(EngineCore_DP0 pid=24893) INFO 12-06 23:53:50 [kv_cache_utils.py:2327] CPU KV cache size: 524,288 tokens, "
           "Maximum concurrency for 1,024 tokens per request: 512.00x\n")
    assert facts.kv_cache_tokens(log) == 1_048_576
    assert facts.kv_cache_tokens(log.split("\n")[0]) == 524_288  # no data parallel: one engine
    metrics = "".join(f'vllm:cache_config_info{{block_size="128",engine="{rank}",kv_cache_size_tokens="524288",'
                      f'num_gpu_blocks="8192"}} 1.0\n' for rank in (0, 1))
    assert facts.served_kv_cache_tokens("# TYPE vllm:cache_config_info gauge\n" + metrics) == 1_048_576
    assert facts.served_kv_cache_tokens("<html>not metrics</html>") is None
    no_cache = "# TYPE vllm:generation_tokens_total counter\nvllm:generation_tokens_total 3\n"
    assert facts.served_kv_cache_tokens(no_cache) is None


def data_parallel_child(command_json: str, cache: str, results_path: str) -> int:
    """In a child process (vLLM changes its environment and logging): a planned command line
    through the suite's entry point up to the server's start (vLLM's parser and checks), then
    vLLM's engine arguments and configuration, offline, against a stand-in Hugging Face cache
    (tests/test_plan_vllm.py's helpers)."""
    from pathlib import Path

    import uvloop
    from vllm.engine.arg_utils import AsyncEngineArgs
    from vllm.usage.usage_lib import UsageContext

    from tests.test_plan_vllm import CHECKPOINTS, _run_as_main, _stand_in, _stop_at_start

    uvloop.run = _stop_at_start
    command = json.loads(command_json)
    argv = command[3:]
    revision = argv[argv.index("--revision") + 1] if "--revision" in argv else None
    _stand_in(Path(cache), argv[argv.index("--model") + 1], revision, CHECKPOINTS["fp8"][0])
    args, error, _ = _run_as_main(command[2], argv)
    if error is None:
        config = AsyncEngineArgs.from_cli_args(args).create_engine_config(usage_context=UsageContext.OPENAI_API_SERVER)
        parallel = config.parallel_config
        found = {key: getattr(parallel, key) for key in ("data_parallel_size", "tensor_parallel_size", "world_size",
                                                         "world_size_across_dp")}
    Path(results_path).write_text(json.dumps({"error": error} if error else found))
    return 0


def test_vllm_takes_a_planned_server_with_data_parallel(tmp_path):
    """The full profile's FP8 server with data_parallel_size 2, as the plan renders it, through
    the suite's entry point and vLLM's engine configuration: two ranks of tensor parallel 2, 4
    GPUs. (`vllm serve` with the same arguments would start an API server per rank, by its
    default --api-server-count; the suite's entry point runs one in front of both.)"""
    from evals.planning.plan import render_plan
    from tests.test_config import load_with
    from tests.test_plan_vllm import ROOT

    matrix = load_with(tmp_path, lambda raw: raw["profiles"]["full"]["server"].update(data_parallel_size=2))
    server = render_plan(matrix, "full")["servers"]["fp8"]
    assert server["command"][server["command"].index("--data-parallel-size") + 1] == "2"
    child = ("import sys; from tests.test_replicas import data_parallel_child; "
             "sys.exit(data_parallel_child(*sys.argv[1:]))")
    env = {**os.environ, **server["env"], "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "HF_HUB_CACHE": str(tmp_path / "hub"), "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1"}
    done = subprocess.run([sys.executable, "-c", child, json.dumps(server["command"]), str(tmp_path / "hub"),
                           str(tmp_path / "result.json")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]
    assert json.loads((tmp_path / "result.json").read_text()) == {
        "data_parallel_size": 2, "tensor_parallel_size": 2, "world_size": 2, "world_size_across_dp": 4}


# ---------------------------------------------------------------- on the engine

REPLICA_RUN = ("--precision", "fp8", "--task", "aime24", "--mode", "int_only", "--limit", "4", "--snapshot-update")
CHAT_ANSWERED = b'"POST /v1/chat/completions HTTP/1.1" 200'  # uvicorn's access log line of an answered request


@pytest.mark.engine
def test_two_tiny_vllm_servers_serve_fp8_as_one_would(tmp_path):
    """Two tiny vLLM CPU servers of FP8, started side by side: a run against one of them
    (`--vllm-url fp8=A`), then a run against both (`--vllm-url fp8=A --vllm-url fp8=B`). Each
    server's own access log shows both answered the second run's requests, each request once;
    the second run asked the same requests (the generation store's keys) and got the same
    generations as the first (each request's seed; the same engine and weights on both)."""
    import uuid

    from evals.engine import ports
    from evals.engine.server import VllmServer, cpu_env, server_args
    from evals.engine.tiny.build import ensure_built
    from tests.evals_run import run_evals, the_run

    matrix = load_matrix()
    args = server_args(next(c for c in matrix.cases("tiny") if c.precision == "fp8"))
    weights, session_id = str(ensure_built("fp8", matrix)), uuid.uuid4().hex
    servers = [VllmServer(weights, "tiny-fp8", args, tmp_path / f"replica-{name}.log", env=cpu_env(args),
                          ports=ports.block(session_id, None)) for name in "ab"]
    try:
        for server in servers:  # both at once: a CPU start is mostly one core importing vLLM
            server.launch()
        for server in servers:
            server.start()
        a, b = servers
        alone = run_evals(tmp_path / "alone", "", *REPLICA_RUN, "--vllm-url", f"fp8={a.url}")
        before = [server.log_path.read_bytes().count(CHAT_ANSWERED) for server in servers]
        both = run_evals(tmp_path / "both", "", *REPLICA_RUN, "--vllm-url", f"fp8={a.url}", "--vllm-url", f"fp8={b.url}")
        after = [server.log_path.read_bytes().count(CHAT_ANSWERED) for server in servers]
    finally:
        for server in servers:
            server.stop()
    for code, outcomes, left, output in (alone, both):
        assert code == 0 and not left, output[-3000:]
        assert outcomes["fp8-aime24-int_only"] == ("passed", ""), outcomes
    requests = 4 * 12  # 4 items, a baseline's 12 samples each
    assert before == [requests, 0]  # the first run: A alone
    answered = [now - then for now, then in zip(after, before)]
    assert all(answered) and sum(answered) == requests, answered  # the second: both, each request once

    runs = [the_run(tmp_path / "alone"), the_run(tmp_path / "both")]
    manifests = [json.loads((run / "manifest.json").read_text()) for run in runs]
    assert manifests[0]["models"]["fp8"]["url"] == a.url
    replica_set = manifests[1]["models"]["fp8"]["replicas"]
    assert [r["url"] for r in replica_set] == [a.url, b.url] and all(r["kv_cache_tokens"] for r in replica_set)
    assert manifests[1]["models"]["fp8"]["generation_pass"]["answered_by"] == {a.url: answered[0], b.url: answered[1]}
    assert manifests[0]["models"]["fp8"]["context"] == manifests[1]["models"]["fp8"]["context"]
    kept = [{json.loads(line)["key"]: json.loads(line)["response"] for line in
             (run / "generations" / "fp8.jsonl").read_text().splitlines()} for run in runs]
    assert len(kept[0]) == requests and kept[0].keys() == kept[1].keys()
    texts = [{key: response["choices"][0]["message"]["content"] for key, response in run.items()} for run in kept]
    assert texts[0] == texts[1]
    samples = [[json.loads(line)["response"] for line in (run / "fp8-aime24-int_only" / "samples.jsonl").read_text()
                .splitlines()] for run in runs]
    assert len(samples[0]) == requests and samples[0] == samples[1]
