"""Output tokens per second of one server on a case: what a run of the profile measured,
else a KV-bound model of decoding.

The model. Decoding is memory-bound: every step reads the weights and the KV cache of
every sequence in flight once, so a step takes

    (weight bytes + in flight x mean KV tokens per sequence x KV bytes per token)
    / (GPUs x bandwidth x the share of it a step reaches)

and yields one token per sequence in flight. The sequences in flight are as many as the
generation pass lets out (evals/engine/client.py: their expected output tokens within the
KV cache, at most two of the server's batches) and vLLM runs (its max_num_seqs):

    in flight = min(max_num_seqs, KV cache tokens / mean output tokens, the pass's requests)

A sequence's KV grows as it generates, and long sequences stay longer, so the mean KV of
a sequence in flight is prompt + (mean^2 + spread^2) / (2 x mean), the length-biased mean
of half a sequence. The KV cache is what the GPUs' memory leaves after the weights and a
reserve, at the server's gpu_memory_utilization. KV bytes per token come from the model's
config.json (a downloaded checkpoint's, else `planning.model_shape`), weight bytes from its
safetensors (else `planning.weights_gb`), lengths from the case's baseline (else
`planning.output_tokens`, with `planning.output_spread`).

Measured. Each generation pass records the output tokens/s it measured and vLLM's
preemptions in its run's manifest (`models.<precision>.generation_pass`); the newest whole
run of the profile (no --limit) that measured a precision gives its rate for every case.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from evals.config.matrix import Case, ModelShape, Planning

GIB = 1024**3
# Bytes per KV cache element, by vLLM's --kv-cache-dtype ("auto": the model's dtype, BF16 here).
KV_DTYPE_BYTES = {"auto": 2, "bfloat16": 2, "float16": 2, "fp8": 1, "fp8_e4m3": 1, "fp8_e5m2": 1}
DEFAULT_GPU_MEMORY_UTILIZATION = 0.9  # vLLM's default
DEFAULT_MAX_NUM_SEQS = 256  # vLLM's default on GPUs
# A measured rate needs a pass long enough to reach full batch and drain.
MIN_MEASURED_REQUESTS = 200


@dataclass(frozen=True)
class Rate:
    """A server's output tokens/s on a case, and where the figure comes from."""

    tokens_per_s: float
    source: str  # "model", or "measured in <run folder>"
    in_flight: float | None = None  # sequences in flight (the model's)
    kv_cache_tokens: int | None = None  # the model's

    def gpu_hours(self, tokens: float, gpus: int) -> float:
        return tokens / self.tokens_per_s / 3600 * gpus


@dataclass(frozen=True)
class Checkpoint:
    """What the cost model reads of a model's weights: KV shape and bytes (None: not known)."""

    shape: ModelShape | None = None
    weight_bytes: float | None = None


def checkpoint_of(path: Path) -> Checkpoint:
    """A downloaded checkpoint's KV shape (config.json) and weight bytes (its safetensors)."""
    shape = None
    config_file = path / "config.json"
    if config_file.exists():
        config = json.loads(config_file.read_text(encoding="utf-8"))
        config = config.get("text_config", config)
        heads = config.get("num_attention_heads")
        head_dim = config.get("head_dim") or (config["hidden_size"] // heads if heads else None)
        if config.get("num_hidden_layers") and head_dim:
            shape = ModelShape(int(config["num_hidden_layers"]), int(config.get("num_key_value_heads") or heads),
                               int(head_dim))
    sizes = [f.stat().st_size for f in path.glob("*.safetensors")]
    return Checkpoint(shape, float(sum(sizes)) if sizes else None)


def local_checkpoint(case: Case) -> Checkpoint:
    """The case's hub checkpoint as downloaded here (evals/engine/fetch.py), else nothing known."""
    if case.model.is_tiny:
        return Checkpoint()
    from evals.engine import fetch

    path = fetch.local_path(case.model)
    return checkpoint_of(Path(path)) if path else Checkpoint()


def modeled(planning: Planning, case: Case, mean_tokens: float, checkpoint: Checkpoint = Checkpoint(),
            requests: int | None = None) -> Rate:
    """The KV-bound model's rate for a case whose responses average `mean_tokens`, in a
    generation pass of `requests` requests (None: enough to fill the batch)."""
    gpu, server = planning.gpu, case.server
    shape = checkpoint.shape or planning.model_shape
    weights = checkpoint.weight_bytes or planning.weights_gb[case.precision] * 1e9
    kv_token = shape.kv_bytes_per_token(KV_DTYPE_BYTES.get(str(server.get("kv_cache_dtype", "auto")), 2))
    gpus = int(server.get("tensor_parallel_size", 1)) * int(server.get("pipeline_parallel_size", 1))
    usable = gpus * (gpu.memory_gib * server.get("gpu_memory_utilization", DEFAULT_GPU_MEMORY_UTILIZATION)
                     - gpu.reserved_gib) * GIB
    cache = max(0, int((usable - weights) // kv_token))
    if cache == 0:
        raise ValueError(f"{case.id}: {weights / 1e9:.1f} GB of weights leave no KV cache on {gpus} x "
                         f"{gpu.memory_gib:g} GiB ({gpu.name})")
    spread = planning.spread(case) * mean_tokens / planning.tokens(case)  # the configured spread, relative to the mean
    in_flight = min(float(server.get("max_num_seqs", DEFAULT_MAX_NUM_SEQS)), cache / mean_tokens, requests or math.inf)
    kv_per_sequence = planning.prompt_tokens + (mean_tokens**2 + spread**2) / (2 * mean_tokens)
    step_s = (weights + in_flight * kv_per_sequence * kv_token) / (gpus * gpu.bandwidth_tb_s * 1e12 * gpu.bandwidth_efficiency)
    return Rate(in_flight / step_s, "model", in_flight, cache)


def whole_runs(artifacts: Path | None) -> list[tuple[Path, dict]]:
    """(folder, manifest) of every readable run under `artifacts` that measured a whole
    profile (no --limit, no --smoke), newest first (folders are named by start time)."""
    if artifacts is None or not artifacts.is_dir():
        return []
    runs = []
    for manifest_file in sorted(artifacts.glob("*/manifest.json"), reverse=True):
        try:
            manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if manifest.get("limit") is None and not manifest.get("smoke"):
            runs.append((manifest_file.parent, manifest))
    return runs


def measured(runs: list[tuple[Path, dict]], profile: str, precision: str) -> Rate | None:
    """The output tokens/s the newest of `runs` (whole_runs) of `profile` measured for
    `precision` (its generation pass, MIN_MEASURED_REQUESTS requests or more), if any."""
    for folder, manifest in runs:
        if manifest.get("profile") != profile:
            continue
        found = ((manifest.get("models") or {}).get(precision) or {}).get("generation_pass") or {}
        if found.get("requests", 0) >= MIN_MEASURED_REQUESTS and found.get("output_tokens_per_s", 0) > 0:
            return Rate(float(found["output_tokens_per_s"]), f"measured in {folder}")
    return None


class Rates:
    """Each case's rate, measured where a run measured its precision, else modeled; the
    manifests and the downloaded checkpoints are read once."""

    def __init__(self, planning: Planning, artifacts: Path | None = None):
        self.planning, self.artifacts = planning, artifacts
        self._runs: list[tuple[Path, dict]] | None = None  # the manifests under `artifacts`, read once
        self._measured: dict[tuple[str, str], Rate | None] = {}
        self._checkpoints: dict[str, Checkpoint] = {}

    def of(self, case: Case, mean_tokens: float, requests: int | None = None) -> Rate:
        key = (case.profile, case.precision)
        if key not in self._measured:
            if self._runs is None:
                self._runs = whole_runs(self.artifacts)
            self._measured[key] = measured(self._runs, *key)
        if self._measured[key] is not None:
            return self._measured[key]
        if case.model.name not in self._checkpoints:
            self._checkpoints[case.model.name] = local_checkpoint(case)
        return modeled(self.planning, case, mean_tokens, self._checkpoints[case.model.name], requests)
