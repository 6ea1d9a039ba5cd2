"""The generation store: what makes a request the same, and a file that survives a kill."""

import json

import pytest

from evals.artifacts.generations import GenerationStore, StoreError, request_key

PAYLOAD = {
    "messages": [{"role": "system", "content": "Output only the final answer."}, {"role": "user", "content": "1+1?"}],
    "model": "tiny-fp8", "request_id": "abc-0", "max_tokens": 48, "temperature": 0.0, "seed": 17,
    "stop": ["<|im_end|>"], "chat_template_kwargs": {"enable_thinking": False},
}
RESPONSE = {"id": "chatcmpl-abc-0", "choices": [{"message": {"content": "2"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 1}}


CONTEXT = {"model": "m@r", "server": {"tensor_parallel_size": 2}, "engine": "vllm 1", "gpu_architecture": "sm_90"}
OTHER = {"model": "m@r2", "server": {"tensor_parallel_size": 4}, "engine": "vllm 2", "gpu_architecture": "sm_100"}


def test_routing_does_not_change_the_key_but_anything_asked_does():
    base = request_key(CONTEXT, PAYLOAD)
    assert request_key(CONTEXT, {**PAYLOAD, "model": "other-name", "request_id": "x"}) == base
    changed = [request_key({**CONTEXT, field: OTHER[field]}, PAYLOAD) for field in CONTEXT] + [
        request_key(CONTEXT, {**PAYLOAD, "seed": 18}),  # another repeat
        request_key(CONTEXT, {**PAYLOAD, "temperature": 0.6}),  # sampling
        request_key(CONTEXT, {**PAYLOAD, "max_tokens": 49}),
        request_key(CONTEXT, {**PAYLOAD, "chat_template_kwargs": {"enable_thinking": True}}),
        request_key(CONTEXT, {**PAYLOAD, "messages": PAYLOAD["messages"][1:]}),  # prompt
    ]
    assert base not in changed and len(set(changed)) == len(changed)


def test_kept_responses_are_found_by_a_new_store(tmp_path):
    path = tmp_path / "generations" / "fp8.jsonl"
    store = GenerationStore(path, CONTEXT)
    key = store.key(PAYLOAD)
    assert store.get(key) is None
    store.put(key, "fp8-aime24-int_only", RESPONSE)
    again = GenerationStore(path, CONTEXT)
    assert len(again) == 1 and again.get(key) == RESPONSE
    elsewhere = GenerationStore(path, {**CONTEXT, "gpu_architecture": "sm_100"})
    assert elsewhere.get(elsewhere.key(PAYLOAD)) is None
    line = json.loads(path.read_text().splitlines()[0])
    assert line["case"] == "fp8-aime24-int_only" and line["context"] == CONTEXT


def test_an_unfinished_generation_is_not_kept(tmp_path):
    store = GenerationStore(tmp_path / "fp8.jsonl", CONTEXT)
    aborted = {**RESPONSE, "choices": [{"message": {"content": None}, "finish_reason": "abort"}]}
    store.put("k", "c", aborted)
    assert store.get("k") is None and not (tmp_path / "fp8.jsonl").exists()


def test_a_write_torn_by_a_kill_is_cut_off_and_the_file_stays_readable(tmp_path):
    path = tmp_path / "fp8.jsonl"
    store = GenerationStore(path, CONTEXT)
    store.put("k1", "c", RESPONSE)
    with open(path, "a") as out:
        out.write('{"key": "k2", "response": {"choi')  # the process died here
    reopened = GenerationStore(path, CONTEXT)
    assert len(reopened) == 1
    reopened.put("k3", "c", RESPONSE)
    assert len(GenerationStore(path, CONTEXT)) == 2


def test_a_broken_line_inside_the_file_names_file_and_line(tmp_path):
    path = tmp_path / "fp8.jsonl"
    path.write_text('{"key": "k1", "response": {}}\nnot json\n{"key": "k3", "response": {}}\n')
    with pytest.raises(StoreError, match=r"fp8\.jsonl:2: not a generation record"):
        GenerationStore(path, CONTEXT)


def test_a_read_only_store_writes_nothing(tmp_path):
    path = tmp_path / "fp8.jsonl"
    GenerationStore(path, CONTEXT, writable=False).put("k", "c", RESPONSE)
    assert not path.exists()
