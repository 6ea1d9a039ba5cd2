"""The cost model (evals/planning/throughput.py): a KV-bound decode on the configured GPUs,
read from a downloaded checkpoint where there is one, replaced by what a whole run of the
profile measured; the generation pass keeps the requests out within the KV cache."""

import dataclasses
import json

import pytest

from evals.config.matrix import ModelShape, load_matrix
from evals.engine.client import pool_size
from evals.planning import throughput
from evals.planning.estimate import estimate
from evals.planning.throughput import Checkpoint, Rates, checkpoint_of, measured, modeled, whole_runs

MATRIX = load_matrix()
PLANNING = MATRIX.planning
FULL = {c.id: c for c in MATRIX.cases("full")}


def rate(case_id: str, **server):
    case = FULL[case_id]
    case = dataclasses.replace(case, server={**case.server, **server})
    return modeled(PLANNING, case, PLANNING.tokens(case))


def test_the_kv_cache_of_a_bf16_pair_and_the_batch_it_allows():
    bf16 = rate("bf16-aime24-think")
    # Qwen3-32B: 2 x 64 layers x 8 KV heads x 128 x 2 bytes = 256 KiB per token.
    assert PLANNING.model_shape.kv_bytes_per_token(2) == 262_144
    assert 310_000 < bf16.kv_cache_tokens < 325_000  # what a vLLM BF16 server on 2x H100 reports, about 318k
    assert bf16.in_flight == pytest.approx(bf16.kv_cache_tokens / 13_000)  # expected tokens within the cache
    assert 850 < bf16.tokens_per_s < 1_000
    # Smaller weights leave more cache: more sequences in flight, more tokens/s; the KV cache stays BF16.
    fp8, nvfp4 = rate("fp8-aime24-think"), rate("nvfp4-aime24-think")
    assert bf16.kv_cache_tokens < fp8.kv_cache_tokens < nvfp4.kv_cache_tokens
    assert bf16.tokens_per_s < fp8.tokens_per_s < nvfp4.tokens_per_s
    # Short answers fill vLLM's batch (max_num_seqs), not the cache.
    short = rate("bf16-aime24-int_only")
    assert short.in_flight == FULL["bf16-aime24-int_only"].server["max_num_seqs"] and short.tokens_per_s > 4 * bf16.tokens_per_s


def test_the_model_follows_the_server_arguments():
    base = rate("bf16-aime24-think")
    assert rate("bf16-aime24-think", kv_cache_dtype="fp8").kv_cache_tokens == pytest.approx(2 * base.kv_cache_tokens, abs=2)
    assert rate("bf16-aime24-think", gpu_memory_utilization=0.95).kv_cache_tokens > base.kv_cache_tokens
    with pytest.raises(ValueError, match=r"bf16-aime24-think: 65\.5 GB of weights leave no KV cache on 1 x 80 GiB"):
        rate("bf16-aime24-think", tensor_parallel_size=1, gpu_memory_utilization=0.5)
    # A longer spread of lengths: more KV per sequence in flight, slower steps.
    wider = dataclasses.replace(PLANNING, output_spread={**PLANNING.output_spread, "aime": {"thinking": 20_000, "non_thinking": 1000}})
    assert modeled(wider, FULL["bf16-aime24-think"], 13_000).tokens_per_s < base.tokens_per_s


def test_a_downloaded_checkpoint_gives_its_own_shape_and_size(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"num_hidden_layers": 32, "num_attention_heads": 32,
                                                      "num_key_value_heads": 4, "hidden_size": 4096}))
    (tmp_path / "model-00001.safetensors").write_bytes(b"\0" * 1000)
    (tmp_path / "model-00002.safetensors").write_bytes(b"\0" * 500)
    found = checkpoint_of(tmp_path)
    assert found == Checkpoint(ModelShape(32, 4, 128), 1500.0)
    assert checkpoint_of(tmp_path / "missing") == Checkpoint()
    # The tiny model's own config, as committed.
    from evals.engine.tiny.train import COMMITTED

    tiny = checkpoint_of(COMMITTED)
    assert tiny.shape is not None and tiny.shape.layers == 2 and tiny.weight_bytes > 1e6
    # A checkpoint's shape and bytes replace the configured ones.
    case = FULL["bf16-aime24-think"]
    smaller = modeled(PLANNING, case, 13_000, Checkpoint(ModelShape(32, 4, 128), 16e9))
    assert smaller.kv_cache_tokens > 4 * rate(case.id).kv_cache_tokens


def manifest(root, name, profile="full", limit=None, **passes):
    run = root / name
    run.mkdir(parents=True)
    models = {p: {"generation_pass": {"requests": n, "output_tokens_per_s": r, "preemptions": 0}} for p, (n, r) in passes.items()}
    (run / "manifest.json").write_text(json.dumps({"profile": profile, "limit": limit, "models": models}))
    return run


def test_a_whole_run_that_measured_a_precision_gives_its_rate(tmp_path):
    assert measured(whole_runs(tmp_path), "full", "bf16") is None
    manifest(tmp_path, "20261201-100000-full", bf16=(5600, 1234.5))
    manifest(tmp_path, "20261202-100000-full", limit=2, bf16=(60, 99.0))  # a --limit run: not representative
    manifest(tmp_path, "20261203-100000-full", bf16=(20, 50.0))  # too few requests to reach full batch
    manifest(tmp_path, "20261204-100000-tiny", profile="tiny", bf16=(3000, 40.0))  # another profile
    found = measured(whole_runs(tmp_path), "full", "bf16")
    assert found.tokens_per_s == 1234.5 and found.source.endswith("20261201-100000-full")
    assert measured(whole_runs(tmp_path), "full", "fp8") is None
    newer = manifest(tmp_path, "20261205-100000-full", bf16=(5600, 1500.0))
    assert measured(whole_runs(tmp_path), "full", "bf16").source == f"measured in {newer}"
    # The estimate takes it for every BF16 case, and the model for the others.
    rows = {e.precision: e for e in estimate(MATRIX, list(FULL.values()), tmp_path / "no-baselines", tmp_path)}
    assert {c.rate.tokens_per_s for c in rows["bf16"].cases} == {1500.0}
    assert {c.rate.source for c in rows["fp8"].cases} == {"model"}
    assert rows["bf16"].gpu_hours == pytest.approx(rows["bf16"].output_tokens / 1500.0 / 3600 * PLANNING.gpus)
    assert Rates(PLANNING, None).of(FULL["bf16-aime24-think"], 13_000).source == "model"


def test_the_pool_keeps_expected_tokens_within_the_kv_cache():
    assert pool_size(256, 317_000).token_budget == 317_000
    assert pool_size(256, None).token_budget is None
    assert throughput.DEFAULT_MAX_NUM_SEQS == 256


def test_a_damaged_baseline_falls_back_to_the_planned_length(tmp_path):
    """A run sizes its pool from baselines' lengths: a damaged one (its own test names it) must
    not stop the generation pass."""
    from evals.planning.power import output_tokens

    case = FULL["bf16-aime24-think"]
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / f"{case.id}.json").write_text('{"case": ')
    assert output_tokens(MATRIX, case, tmp_path) == (PLANNING.tokens(case), "planning")
