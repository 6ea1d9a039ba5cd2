"""Pieces of the engine path that need no server."""

import json

import pytest
from lm_eval.api.instance import Instance
from lm_eval.models.api_models import JsonChatStr

from evals.lmeval.model import Generation, RequestsCollected, SuiteChatCompletions
from evals.artifacts.generations import GenerationStore
from evals.engine.server import VllmServer, cli_args, cpu_env, log_by_start, start_line


def test_vllm_flags_from_config():
    assert cli_args({"max_model_len": 4096, "enforce_eager": True, "enable_chunked_prefill": False, "revision": None}) == [
        "--max-model-len", "4096", "--enforce-eager", "--no-enable-chunked-prefill"
    ]


def test_a_start_after_a_server_killed_mid_line_begins_its_own_line(tmp_path):
    log = tmp_path / "fp8.log"
    for ended in ("INFO: 200 OK\n", "INFO: 200 O", ""):  # the second server was killed mid-write
        line = start_line(log, ["vllm", "serve"])
        with open(log, "ab") as out:
            out.write(line + ended.encode())
    assert [len(lines) for lines in log_by_start(log)] == [2, 2, 1]
    assert start_line(tmp_path / "new.log", ["vllm"]) == b"$ vllm\n"


def test_cpu_env_binds_one_core_per_rank():
    assert cpu_env({"tensor_parallel_size": 2})["VLLM_CPU_OMP_THREADS_BIND"] == "0|1"
    assert "VLLM_CPU_OMP_THREADS_BIND" not in cpu_env({})


def test_server_command_is_vllms_own_entrypoint(tmp_path):
    server = VllmServer("org/model", "name", {"tensor_parallel_size": 2}, tmp_path / "x.log", port=8000)
    assert server.command()[1:] == [
        "-m", "vllm.entrypoints.launchers.api_server.entry", "--model", "org/model", "--served-model-name", "name",
        "--host", "127.0.0.1", "--port", "8000", "--tensor-parallel-size", "2",
    ]


@pytest.fixture
def model():
    return SuiteChatCompletions(base_url="http://127.0.0.1:9/v1/chat/completions", model="m", tokenizer_backend=None)


def test_repeats_of_a_request_get_their_own_seeds(model):
    messages = [{"role": "user", "content": "2+2?"}]
    payloads = [model._create_payload(messages, generate=True, gen_kwargs={"max_gen_toks": 8, "temperature": 0.6}) for _ in range(4)]
    assert len({p["seed"] for p in payloads}) == 4
    assert len({p["request_id"] for p in payloads}) == 4
    again = SuiteChatCompletions(base_url="http://127.0.0.1:9/v1/chat/completions", model="m", tokenizer_backend=None)
    replay = [again._create_payload(messages, generate=True, gen_kwargs={"max_gen_toks": 8, "temperature": 0.6}) for _ in range(4)]
    assert [p["seed"] for p in replay] == [p["seed"] for p in payloads]  # reproducible across runs


def test_generate_until_answers_from_the_store_keeping_finish_reason_tokens_and_prompt(tmp_path):
    """lm-eval's own hook, end to end with no server: the collected request's key finds its
    stored response, and the answer carries what the artifacts need."""
    messages = [{"role": "user", "content": "2+2?"}]
    instance = Instance("generate_until", doc={}, arguments=(JsonChatStr(json.dumps(messages)), {"max_gen_toks": 8}), idx=0)
    store = GenerationStore(tmp_path / "g.jsonl", {"model": "m"})
    url = "http://127.0.0.1:9/v1/chat/completions"
    with pytest.raises(RequestsCollected) as collected:
        SuiteChatCompletions(base_url=url, model="m", tokenizer_backend=None, store=store, collect=True).generate_until([instance])
    [request] = collected.value.requests
    assert request.payload["messages"] == messages and request.payload["max_tokens"] == 8
    store.put(request.key, "c", {"choices": [{"index": 0, "message": {"content": "<think>x</think>4"}, "finish_reason": "length"}],
                                 "usage": {"prompt_tokens": 11, "completion_tokens": 8}})
    model = SuiteChatCompletions(base_url=url, model="m", tokenizer_backend=None, store=store)  # port 9: nothing is sent
    [generation] = model.generate_until([instance])
    assert isinstance(generation, Generation) and generation == "<think>x</think>4"
    assert (generation.finish_reason, generation.prompt_tokens, generation.completion_tokens) == ("length", 11, 8)
    assert generation.messages == messages
