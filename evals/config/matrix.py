"""The matrix config (evals/config/matrix.yaml): loaded, validated, expanded into cases.

Every error names the file and the key path. Validation is about meaning, not
only shape: a mode that does not apply to a task, a setting lm-eval or vLLM
would ignore (few-shot on a 0-shot task, top_p under greedy decoding, k
samples that greedy decoding makes identical, more than the 4 stop strings
lm-eval sends), a stop string that can cut thinking.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from evals.config.paths import MATRIX_FILE, TASKS_DIR
# The project's one config error, the scorers' (they stand alone, so it is theirs), re-exported:
# a config is wrong; the message names the file and key. Whoever catches it catches a
# metrics.toml error too.
from scorers.registry import ConfigError


# Stops that end a turn; the only ones allowed while the model thinks.
END_OF_TURN = ("<|im_end|>", "<|endoftext|>")
# lm-eval's chat-completions model sends only the first 4 stop strings.
MAX_STOP_STRINGS = 4

_KEYS = {
    "": {"models", "tasks", "modes", "profiles", "gate", "pools", "planning"},
    "model": {"model", "revision", "dtype", "quantization", "tiny", "server"},
    "task": {"kind", "lm_eval_task", "margin", "published"},
    "mode": {"applies_to", "enable_thinking", "system", "until", "published_as"},
    "profile": {"gpu", "precisions", "cases", "limits", "repeats", "baseline_repeats", "server", "server_by_precision",
                "generation", "num_fewshot", "compare_published", "drift"},
    "drift": {"items", "max_tokens", "top_k", "margin", "floor", "confidence"},
    "gate": {"alpha", "alpha_shares", "directions", "margin", "confidence", "looks", "futility_confidence"},
    "pool": {"tasks", "modes", "margin"},
    "planning": {"gpus", "budget_gpu_hours", "runs_per_baseline", "target_power", "gpu", "model_shape", "weights_gb",
                 "prompt_tokens", "output_tokens", "output_spread", "unsolved_length", "allocation", "source"},
    "generation": {"default", "thinking", "non_thinking", "by_task"},
    "sampling": {"temperature", "top_p", "top_k", "min_p", "presence_penalty", "repetition_penalty", "max_gen_toks", "seed"},
}
# Sampling settings that greedy decoding (temperature 0) ignores.
_SAMPLING_ONLY = ("top_p", "top_k", "min_p", "seed")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# What each sampling setting must be (a string "0.0" would slip past the greedy checks).
_SAMPLING_VALUES = {
    "temperature": (lambda v: _number(v) and v >= 0, "a number >= 0"),
    "top_p": (lambda v: _number(v) and 0 < v <= 1, "a number in (0, 1]"),
    "top_k": (lambda v: _integer(v) and (v == -1 or v >= 1), "-1 or a positive integer"),
    "min_p": (lambda v: _number(v) and 0 <= v <= 1, "a number in [0, 1]"),
    "presence_penalty": (lambda v: _number(v) and -2 <= v <= 2, "a number in [-2, 2]"),
    "repetition_penalty": (lambda v: _number(v) and v > 0, "a number > 0"),
    "max_gen_toks": (lambda v: _integer(v) and v >= 1, "a positive integer"),
    "seed": (_integer, "an integer"),
}
_SERVER_KEYS = {
    "tensor_parallel_size", "data_parallel_size", "max_model_len", "max_num_seqs", "enforce_eager",
    "disable_custom_all_reduce", "dtype", "gpu_memory_utilization", "quantization", "kv_cache_dtype", "seed",
    "max_num_batched_tokens", "generation_config", "enable_chunked_prefill",
}
# How many GPUs a server spreads over: each of its data-parallel ranks (an engine of its own,
# with its own batch and KV cache) runs the model on tensor_parallel_size GPUs.
_PARALLEL_SIZES = ("tensor_parallel_size", "data_parallel_size")


def gpus_per_server(server: dict[str, Any]) -> int:
    """The GPUs a server of these settings (a case's `server`) runs on: tensor x data parallel."""
    return math.prod(int(server.get(key, 1)) for key in _PARALLEL_SIZES)


# The tiny model's weight-rounding schemes (evals/engine/tiny/quantize.py), its "precisions".
TINY_SCHEMES = ("bf16", "fp8", "nvfp4", "noisy", "subtle")

# The precision quantized ones are compared with (cross-precision recovery, drift).
REFERENCE_PRECISION = "bf16"
# Kinds of gate test, and how many one-sided tests each makes: a test against a
# baseline fails on a drop or a rise, a recovery test only on a drop.
# Kinds of gate test, and whether each is judged both ways against a baseline (a drop and a
# rise) or one way (a quantized precision's drop beyond the margin against the reference).
TEST_KINDS = {"case": 2, "pooled": 2, "recovery": 1, "pooled_recovery": 1}
DIRECTIONS = ("drop", "rise")


@dataclass(frozen=True)
class Model:
    name: str
    model: str | None  # hub id, or None for the tiny model
    revision: str | None
    dtype: str | None
    tiny: str | None  # quantization scheme of the tiny model (evals/engine/tiny/quantize.py)
    server: dict[str, Any] = field(default_factory=dict)

    @property
    def is_tiny(self) -> bool:
        return self.tiny is not None

    @property
    def source(self) -> str:
        """The hub id (or path) of the weights, or "tiny:<scheme>" for the tiny model."""
        return self.model or f"tiny:{self.tiny}"

    @property
    def weights(self) -> str:
        """The weights as a fingerprint names them: the source at its revision (the tiny
        model: its scheme)."""
        return self.source if self.is_tiny else f"{self.source}@{self.revision}"


@dataclass(frozen=True)
class Task:
    name: str
    kind: str
    lm_eval_task: str
    until: tuple[str, ...]  # the task YAML's stop strings
    margin: float | None = None  # the gate's margin for this task's cases, overriding the default
    published: dict[str, float] = field(default_factory=dict)  # "thinking"/"non_thinking" -> Qwen3-32B's published accuracy


@dataclass(frozen=True)
class Mode:
    name: str
    applies_to: tuple[str, ...]
    enable_thinking: bool
    system: str
    until: tuple[str, ...] | None  # replaces the task's stops when set
    # The published figures measured with prompts like this mode's ("thinking" or
    # "non_thinking"; None: none were, so the report shows none beside it).
    published_as: str | None = None

    @property
    def style(self) -> str:
        """"thinking" or "non_thinking": how generation settings and published figures are keyed."""
        return "thinking" if self.enable_thinking else "non_thinking"


@dataclass(frozen=True)
class GateSettings:
    """The gate's settings (evals/gate/decision.py): the run's alpha, its split over the
    kinds of test and, for a test judged both ways, over its two directions; the default
    margin, the confidence of the bound that clears a test; the looks a run takes
    (evals/gate/sequential.py) and the confidence of the bound that settles a test early."""

    alpha: float
    alpha_shares: dict[str, float]
    directions: dict[str, float]
    margin: float
    confidence: float
    looks: int = 1
    futility_confidence: float = 0.99


@dataclass(frozen=True)
class DriftSettings:
    """Token-level drift against the reference precision (evals/drift/): the first `items`
    responses of each reference case, at most `max_tokens` of each, scored with `top_k`
    log-probabilities per position; a precision fails when its mean KLD is above its
    baseline's times (1 + margin) plus floor (nats), at this confidence."""

    items: int
    max_tokens: int
    top_k: int
    margin: float
    floor: float
    confidence: float


@dataclass(frozen=True)
class Pool:
    """A pooled test per precision: the cases of these tasks and modes (all if unset)."""

    name: str
    tasks: tuple[str, ...] | None
    modes: tuple[str, ...] | None
    margin: float | None

    def selects(self, case: "Case") -> bool:
        return (self.tasks is None or case.task.name in self.tasks) and (self.modes is None or case.mode.name in self.modes)


# --smoke: items per task (unless --limit says otherwise) and the longest response.
SMOKE_ITEMS = 2
SMOKE_MAX_TOKENS = 4096


@dataclass(frozen=True)
class GpuSpec:
    """The GPU the cost model assumes (planning.gpu)."""

    name: str
    memory_gib: float
    bandwidth_tb_s: float
    bandwidth_efficiency: float  # the share of the bandwidth a decode step reaches
    reserved_gib: float  # per GPU, outside weights and KV cache: activations, CUDA graphs, NCCL


@dataclass(frozen=True)
class ModelShape:
    """What a token's KV cache holds: per layer, a key and a value of each KV head."""

    layers: int
    kv_heads: int
    head_dim: int

    def kv_bytes_per_token(self, dtype_bytes: int) -> int:
        return 2 * self.layers * self.kv_heads * self.head_dim * dtype_bytes


@dataclass(frozen=True)
class Planning:
    """Assumptions of the cost model (evals/planning/throughput.py) until a run measures
    them: the GPU, the model's KV shape, each precision's weight bytes, prompt length and
    output lengths (mean and spread) by task kind and thinking style, GPUs per server."""

    gpus: int
    budget_gpu_hours: float
    runs_per_baseline: float  # runs that one accepted baseline serves, on average
    target_power: float  # what the planner's recommendations aim for
    gpu: GpuSpec
    model_shape: ModelShape
    weights_gb: dict[str, float]
    prompt_tokens: float
    output_tokens: dict[str, dict[str, float]]
    output_spread: dict[str, dict[str, float]]
    unsolved_length: float  # an item never solved over one always solved: expected output tokens
    allocation: "AllocationSettings"
    source: str

    def tokens(self, case: "Case") -> float:
        return self.output_tokens[case.task.kind][case.mode.style]

    def spread(self, case: "Case") -> float:
        return self.output_spread[case.task.kind][case.mode.style]


@dataclass(frozen=True)
class AllocationSettings:
    """Samples per item where they inform (evals/planning/allocation.py): every item gets
    at least `floor_share` of its case's repeats (rounded, at least 1) and at most `most`
    in a run."""

    floor_share: float
    most: int
    surest: float  # no item is planned as surer than this (or its complement)

    def floor(self, repeats: int) -> int:
        return max(1, round(repeats * self.floor_share))


class CaseId(NamedTuple):
    """A case's id, "precision-task-mode" (fp8-aime24-think_final): made and read here only
    (precision and task names hold no "-", which the config checks)."""

    precision: str
    task: str
    mode: str

    def __str__(self) -> str:
        return f"{self.precision}-{self.task}-{self.mode}"

    @classmethod
    def parse(cls, text: str) -> "CaseId":
        parts = str(text).split("-", 2)
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"{text!r} is not a case id (precision-task-mode)")
        return cls(*parts)

    @property
    def task_mode(self) -> str:
        return f"{self.task}-{self.mode}"


@dataclass(frozen=True)
class Case:
    profile: str
    precision: str
    model: Model
    task: Task
    mode: Mode
    limit: int | None
    repeats: int
    generation: dict[str, Any]  # lm-eval gen_kwargs, until included
    server: dict[str, Any]  # vLLM server arguments for this model
    gpu: bool
    baseline_repeats: int = 1  # samples per item when a baseline is made (--snapshot-update)
    baseline: bool = False  # this run makes baselines: baseline_repeats samples, drawn apart from runs'
    seed: int = 0  # the run's seed offset (--seed): other samples, the same fingerprint
    # Samples per item as planned (evals/planning/item_plan.py), sorted by item; empty:
    # every item `repeats`. A planned case asks lm-eval for the most of them (`repeats`).
    item_k: tuple[tuple[str, int], ...] = ()

    @property
    def id(self) -> str:
        return str(CaseId(self.precision, self.task.name, self.mode.name))

    def samples_of(self, item: str) -> int:
        """The samples an item is planned to draw."""
        return dict(self.item_k).get(item, self.repeats) if self.item_k else self.repeats

    def planned(self, item_k: dict[str, int]) -> "Case":
        """The case with samples per item as planned: lm-eval asks for the most of them."""
        return dataclasses.replace(self, repeats=max(item_k.values()), item_k=tuple(sorted(item_k.items())))

    @property
    def sampled(self) -> bool:
        """Whether samples of an item differ (more of them tell more); greedy: one answer."""
        return bool(self.generation.get("do_sample"))

    def margin(self, default: float) -> float:
        return self.task.margin if self.task.margin is not None else default

    @property
    def published(self) -> float | None:
        """Qwen3-32B's published accuracy on this task, measured with prompts like this mode's."""
        return self.task.published.get(self.mode.published_as) if self.mode.published_as else None

    def as_baseline(self) -> "Case":
        """The case as --snapshot-update runs it: the profile's baseline samples per item."""
        return dataclasses.replace(self, repeats=self.baseline_repeats, baseline=True)

    def as_smoke(self, limit: int | None = None) -> "Case":
        """The case as --smoke runs it: `limit` items (SMOKE_ITEMS), one sample each, responses
        of at most SMOKE_MAX_TOKENS (a smoke run checks mechanisms, not accuracy)."""
        most = min(self.generation.get("max_gen_toks", SMOKE_MAX_TOKENS), SMOKE_MAX_TOKENS)
        return dataclasses.replace(self, limit=limit or SMOKE_ITEMS, repeats=1, baseline_repeats=1,
                                   generation={**self.generation, "max_gen_toks": most})


@dataclass(frozen=True)
class Matrix:
    models: dict[str, Model]
    tasks: dict[str, Task]
    modes: dict[str, Mode]
    profiles: dict[str, dict[str, Any]]
    source: Path
    digest: str  # sha256 of the config file and the task files (evals/tasks)
    gate: GateSettings
    pools: dict[str, Pool]
    planning: Planning | None = None

    def cases(self, profile: str) -> list[Case]:
        if profile not in self.profiles:
            raise ConfigError(f"{self.source}: unknown profile {profile!r}; profiles: {sorted(self.profiles)}")
        return _expand(self, profile, self.profiles[profile])

    def published(self, profile: str) -> dict[str, float]:
        """Qwen3-32B's published figures per case id without its precision ("aime24-think"),
        for the modes whose prompts they were measured with (`published_as`), if the profile
        runs under the settings they were measured with (`compare_published`). A run's
        manifest records them, so its report shows the figures of the run's own config."""
        cases = self.cases(profile)
        if not self.profiles[profile].get("compare_published"):
            return {}
        return {f"{c.task.name}-{c.mode.name}": c.published for c in cases if c.published is not None}

    def test_counts(self, profile: str) -> dict[str, int]:
        """The profile's gate tests of each kind (TEST_KINDS): what the run's alpha is split over."""
        cases = self.cases(profile)
        quantized = [q for _, q in cross_precision_pairs(cases)]
        return {"case": len(cases), "pooled": len(pooled_cases(self.pools, cases)), "recovery": len(quantized),
                "pooled_recovery": len(pooled_cases(self.pools, quantized))}

    def drift(self, profile: str) -> DriftSettings | None:
        """The profile's drift settings (None: no drift tests)."""
        spec = self.profiles[profile].get("drift")
        return None if spec is None else _drift(_Where(self.source, ("profiles", profile, "drift")), spec)

    def _server(self, profile: str, precision: str) -> dict[str, Any]:
        """The profile's server settings for a precision's model (a case's `server`; the
        engine adds a checkpoint's dtype and revision: evals/engine/server.py `server_args`)."""
        spec = self.profiles[profile]
        model = self.models[spec["precisions"][precision]]
        return {**spec.get("server", {}), **model.server, **spec.get("server_by_precision", {}).get(precision, {})}


def cross_precision_pairs(cases: list[Case]) -> list[tuple[Case, Case]]:
    """(reference case, quantized case) for each task and mode with both among `cases`."""
    by_id = {c.id: c for c in cases}
    return [
        (by_id[reference], c)
        for c in cases
        if c.precision != REFERENCE_PRECISION
        and (reference := str(CaseId(REFERENCE_PRECISION, c.task.name, c.mode.name))) in by_id
    ]


def pooled_cases(pools: dict[str, Pool], cases: list[Case]) -> dict[tuple[str, str], list[Case]]:
    """(precision, pool name) -> the cases that pool takes of that precision, for every
    pool that takes any; in the order of `cases`, precision by precision."""
    out: dict[tuple[str, str], list[Case]] = {}
    for precision in dict.fromkeys(c.precision for c in cases):
        for name, pool in pools.items():
            taken = [c for c in cases if c.precision == precision and pool.selects(c)]
            if taken:
                out[(precision, name)] = taken
    return out


def load_yaml(path: Path, loader: type = yaml.SafeLoader) -> Any:
    """A YAML file's content; a duplicate key (which YAML would let the last one win) is
    an error naming its key path and lines."""
    try:
        parser = loader(path.read_text(encoding="utf-8"))
        try:
            node = parser.get_single_node()
            if node is None:
                return None
            _no_duplicate_keys(path, node)
            return parser.construct_document(node)
        finally:
            parser.dispose()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None


def _no_duplicate_keys(path: Path, node: yaml.Node, keys: tuple[str, ...] = ()) -> None:
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in first and key != "<<":
                raise ConfigError(f"{path}:{line}: {'.'.join((*keys, key))}: duplicate key (first at line {first[key]}); "
                                  "YAML would silently keep only the last")
            first[key] = line
            _no_duplicate_keys(path, value_node, (*keys, key))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _no_duplicate_keys(path, item, (*keys, str(index)))


def load_matrix(path: Path = MATRIX_FILE) -> Matrix:
    raw = load_yaml(path)
    where = _Where(path)
    _keys(where, raw, "", required=_KEYS[""])
    models = {name: _model(where.at("models", name), name, spec) for name, spec in raw["models"].items()}
    tasks = {name: _task(where.at("tasks", name), name, spec) for name, spec in raw["tasks"].items()}
    modes = {name: _mode(where.at("modes", name), name, spec) for name, spec in raw["modes"].items()}
    gate = _gate(where.at("gate"), raw.get("gate", {}))
    pools = {name: _pool(where.at("pools", name), name, spec, tasks, modes) for name, spec in (raw.get("pools") or {}).items()}
    digest = hashlib.sha256(path.read_bytes())
    # Every file a task can use: task YAMLs, what they `include:` (a template such as
    # _suite_aime_template_yaml has no .yaml suffix), hooks. Names too: a rename changes an include.
    for task_file in _task_files():
        digest.update(task_file.relative_to(TASKS_DIR).as_posix().encode() + b"\0")
        digest.update(task_file.read_bytes())
    precisions = {p for spec in (raw["profiles"] or {}).values() if isinstance(spec, dict) and spec.get("gpu") is True
                  for p in (spec.get("precisions") or {})}  # the cost model's: GPU profiles
    planning = _planning(where.at("planning"), raw["planning"], tasks, precisions) if "planning" in raw else None
    matrix = Matrix(models, tasks, modes, raw["profiles"], path, digest.hexdigest(), gate, pools, planning)
    for profile in raw["profiles"]:
        _expand(matrix, profile, raw["profiles"][profile])  # validates every profile up front
    return matrix


def check_profile(matrix: Matrix, profile: str) -> None:
    """A command's --profile must be one of the config's (ConfigError naming the choices)."""
    if profile not in matrix.profiles:
        raise ConfigError(f"--profile {profile!r}: choose one of {sorted(matrix.profiles)}")


class _Where:
    def __init__(self, path: Path, keys: tuple[str, ...] = ()):
        self.path, self.keys = path, keys

    def at(self, *keys: str) -> "_Where":
        return _Where(self.path, self.keys + tuple(str(k) for k in keys))

    def error(self, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: {'.'.join(self.keys) or '(top level)'}: {message}")


def _keys(where: _Where, spec: Any, kind: str, required: set[str] = frozenset()) -> None:
    if not isinstance(spec, dict):
        raise where.error(f"expected a mapping, got {type(spec).__name__}")
    unknown = set(spec) - _KEYS[kind]
    if unknown:
        raise where.error(f"unknown key(s) {sorted(unknown)}; allowed: {sorted(_KEYS[kind])}")
    missing = set(required) - set(spec)
    if missing:
        raise where.error(f"missing key(s) {sorted(missing)}")


def _model(where: _Where, name: str, spec: dict) -> Model:
    _keys(where, spec, "model")
    if ("model" in spec) == ("tiny" in spec):
        raise where.error("needs exactly one of 'model' (a hub id or path) or 'tiny' (a tiny-model scheme)")
    if "tiny" in spec:
        if spec["tiny"] not in TINY_SCHEMES:
            raise where.at("tiny").error(f"unknown scheme {spec['tiny']!r}; choose one of {TINY_SCHEMES}")
    server = spec.get("server", {})
    _server_keys(where.at("server"), server)
    return Model(name, spec.get("model"), spec.get("revision"), spec.get("dtype"), spec.get("tiny"), server)


def _task(where: _Where, name: str, spec: dict) -> Task:
    _keys(where, spec, "task", required={"kind", "lm_eval_task"})
    from scorers.registry import load_task_metrics

    if spec["kind"] not in load_task_metrics():
        raise where.at("kind").error(f"{spec['kind']!r} is not a kind in scorers/metrics.toml: {sorted(load_task_metrics())}")
    yaml_path = TASKS_DIR / f"{spec['lm_eval_task']}.yaml"
    if not yaml_path.exists():
        raise where.at("lm_eval_task").error(f"no task YAML {yaml_path}")
    task_yaml = _task_yaml(where.at("lm_eval_task"), yaml_path)
    if task_yaml.get("num_fewshot", 0) != 0:
        raise where.error(f"{yaml_path} must be 0-shot (num_fewshot: 0)")
    until = tuple(task_yaml.get("generation_kwargs", {}).get("until", ()))
    margin = _margin(where, spec.get("margin"))
    published = spec.get("published", {})
    if not isinstance(published, dict) or set(published) - {"thinking", "non_thinking"}:
        raise where.at("published").error(f"expected {{thinking: share, non_thinking: share}}, got {published!r}")
    for style, value in published.items():
        if not (isinstance(value, (int, float)) and 0 <= value <= 1):
            raise where.at("published", style).error(f"must be a share of accuracy in [0, 1], e.g. 0.814; got {value!r}")
    return Task(name, spec["kind"], spec["lm_eval_task"], until, margin, dict(published))


def _task_yaml(where: _Where, path: Path, seen: set[Path] | None = None) -> dict:
    """A task YAML as lm-eval reads it (lm_eval/tasks/_yaml_loader.py `load_yaml`): each file
    it names in `include:` (one or a list, relative to its own folder), read the same way,
    updates the keys in turn, and the file's own keys win; the merge is of top-level keys
    only. lm-eval refuses a file included twice (it takes it for a cycle), and so does this."""
    path = path.expanduser().resolve()
    seen = set() if seen is None else seen
    if path in seen:
        raise where.error(f"{path} is included twice, or includes itself: lm-eval refuses the task (an include cycle)")
    seen.add(path)
    task_yaml = load_yaml(path, _TaskYamlLoader)
    if not isinstance(task_yaml, dict):
        raise where.error(f"{path} is not a task (a mapping)")
    if "include" not in task_yaml:
        return task_yaml
    includes = task_yaml.pop("include")
    merged: dict = {}
    for include in includes if isinstance(includes, list) else [includes]:
        if not isinstance(include, str) or not include:
            raise where.error(f"{path}: include: expected a file name or a list of them, got {include!r}")
        included = Path(include) if Path(include).is_absolute() else path.parent / include
        if not included.is_file():
            raise where.error(f"{path}: include: no such file {included}")
        included_yaml = _task_yaml(where, included, seen)
        included_yaml.pop("task_list", None)  # lm-eval: it lists the included file's own tasks
        merged.update(included_yaml)
    merged.update(task_yaml)
    return merged


def _task_files() -> list[Path]:
    """The files under TASKS_DIR, as lm-eval walks it (without its __pycache__ folders)."""
    return sorted((p for p in TASKS_DIR.rglob("*") if p.is_file()
                   and not {"__pycache__", ".ipynb_checkpoints"} & set(p.relative_to(TASKS_DIR).parts)),
                  key=lambda p: p.relative_to(TASKS_DIR).as_posix())


def _margin(where: "_Where", value: Any) -> float | None:
    if value is not None and not (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1):
        raise where.at("margin").error(f"must be a share of accuracy in (0, 1), e.g. 0.05 for 5 points; got {value!r}")
    return value


def _share(where: "_Where", value: Any, what: str, low: float = 0.0, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low < value < high:
        raise where.error(f"must be {what} in ({low:g}, {high:g}); got {value!r}")
    return float(value)


def _gate(where: "_Where", spec: Any) -> GateSettings:
    _keys(where, spec, "gate", required=_KEYS["gate"])
    alpha = _share(where.at("alpha"), spec["alpha"], "the chance that a run under no change fails any test", high=0.5)
    shares = spec["alpha_shares"]
    if not isinstance(shares, dict) or set(shares) != set(TEST_KINDS):
        raise where.at("alpha_shares").error(f"needs a share for each kind of test {sorted(TEST_KINDS)}; got {shares!r}")
    for kind, value in shares.items():
        _share(where.at("alpha_shares", kind), value, "a share of alpha", high=1.0 + 1e-9)
    if abs(sum(shares.values()) - 1) > 1e-9:
        raise where.at("alpha_shares").error(f"the shares must add up to 1; they add up to {sum(shares.values()):g}")
    directions = spec["directions"]
    if not isinstance(directions, dict) or set(directions) != set(DIRECTIONS):
        raise where.at("directions").error(f"needs a share for each direction {list(DIRECTIONS)}; got {directions!r}")
    for direction, value in directions.items():
        _share(where.at("directions", direction), value, "a share of a test's alpha")
    if abs(sum(directions.values()) - 1) > 1e-9:
        raise where.at("directions").error(f"the shares must add up to 1; they add up to {sum(directions.values()):g}")
    margin = _margin(where, spec["margin"])
    confidence = _share(where.at("confidence"), spec["confidence"], "a confidence level", low=0.5)
    looks = spec["looks"]
    if not _integer(looks) or not 1 <= looks <= 10:
        raise where.at("looks").error(f"must be an integer in 1..10 (1: judge once, at the end), got {looks!r}")
    futility = _share(where.at("futility_confidence"), spec["futility_confidence"], "a confidence level", low=0.5)
    return GateSettings(alpha, {k: float(v) for k, v in shares.items()}, {k: float(v) for k, v in directions.items()},
                        margin, confidence, int(looks), futility)


def _planning(where: "_Where", spec: Any, tasks: dict, precisions: set[str]) -> Planning:
    _keys(where, spec, "planning", required=_KEYS["planning"])
    gpus = _positive(where.at("gpus"), spec["gpus"])
    budget = _positive(where.at("budget_gpu_hours"), spec["budget_gpu_hours"])
    gpu = _record(where.at("gpu"), spec["gpu"], {"name", "memory_gib", "bandwidth_tb_s", "bandwidth_efficiency", "reserved_gib"})
    gpu_spec = GpuSpec(str(gpu["name"]), *(_positive(where.at("gpu", k), gpu[k]) for k in ("memory_gib", "bandwidth_tb_s")),
                       _share(where.at("gpu", "bandwidth_efficiency"), gpu["bandwidth_efficiency"], "a share of the bandwidth"),
                       _positive(where.at("gpu", "reserved_gib"), gpu["reserved_gib"], zero=True))
    shape = _record(where.at("model_shape"), spec["model_shape"], {"layers", "kv_heads", "head_dim"})
    for key, value in shape.items():
        if not _integer(value) or value < 1:
            raise where.at("model_shape", key).error(f"must be a positive integer, got {value!r}")
    weights = spec["weights_gb"]
    if not isinstance(weights, dict) or not precisions <= set(weights):
        raise where.at("weights_gb").error(f"expected {{precision: GB}} for every precision {sorted(precisions)}, got {weights!r}")
    weights = {p: _positive(where.at("weights_gb", p), v) for p, v in weights.items()}
    kinds = {t.kind for t in tasks.values()}
    lengths = {}
    for key in ("output_tokens", "output_spread"):
        table = spec[key]
        if not isinstance(table, dict) or set(table) != kinds:
            raise where.at(key).error(f"expected one entry per task kind {sorted(kinds)}, got {table!r}")
        for kind, styles in table.items():
            if not isinstance(styles, dict) or set(styles) != {"thinking", "non_thinking"}:
                raise where.at(key, kind).error(f"expected {{thinking: tokens, non_thinking: tokens}}, got {styles!r}")
            for style, value in styles.items():
                _positive(where.at(key, kind, style), value, zero=key == "output_spread")
        lengths[key] = table
    runs = _positive(where.at("runs_per_baseline"), spec["runs_per_baseline"])
    target = _share(where.at("target_power"), spec["target_power"], "a power", low=0.5)
    unsolved = spec["unsolved_length"]
    if not _number(unsolved) or unsolved < 1:
        raise where.at("unsolved_length").error(f"must be a number >= 1 (1: every item the same length), got {unsolved!r}")
    allocation = _record(where.at("allocation"), spec["allocation"], {"floor_share", "most", "surest"})
    _share(where.at("allocation", "floor_share"), allocation["floor_share"], "a share of a case's repeats", high=1.0 + 1e-9)
    _share(where.at("allocation", "surest"), allocation["surest"], "a solve rate", low=0.5, high=1.0 + 1e-9)
    if not _integer(allocation["most"]) or allocation["most"] < 1:
        raise where.at("allocation", "most").error(f"must be a positive integer, got {allocation['most']!r}")
    return Planning(int(gpus), float(budget), runs, target, gpu_spec, ModelShape(**shape), weights,
                    _positive(where.at("prompt_tokens"), spec["prompt_tokens"]), lengths["output_tokens"],
                    lengths["output_spread"], float(unsolved), AllocationSettings(**allocation), str(spec["source"]))


def _record(where: "_Where", spec: Any, keys: set[str]) -> dict:
    """A mapping with exactly these keys."""
    if not isinstance(spec, dict) or set(spec) != keys:
        got = sorted(spec) if isinstance(spec, dict) else repr(spec)
        raise where.error(f"expected the keys {sorted(keys)}, got {got}")
    return spec


def _drift(where: "_Where", spec: Any) -> DriftSettings:
    _keys(where, spec, "drift", required={"items", "max_tokens", "top_k", "margin", "floor"})
    for key in ("items", "max_tokens", "top_k"):
        if not _integer(spec[key]) or spec[key] < 1:
            raise where.at(key).error(f"must be a positive integer, got {spec[key]!r}")
    if spec["top_k"] > 20:
        raise where.at("top_k").error(f"at most 20 (vLLM's default --max-logprobs), got {spec['top_k']!r}")
    for key in ("margin", "floor"):
        if not _number(spec[key]) or spec[key] < 0:
            raise where.at(key).error(f"must be a number >= 0, got {spec[key]!r}")
    confidence = _share(where.at("confidence"), spec.get("confidence", 0.99), "a confidence", 0.5, 1.0)
    return DriftSettings(spec["items"], spec["max_tokens"], spec["top_k"], float(spec["margin"]), float(spec["floor"]), confidence)


def _positive(where: "_Where", value: Any, zero: bool = False) -> float:
    """A number above 0 (with `zero`: at least 0)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (value == 0 and not zero):
        raise where.error(f"must be a number >= 0, got {value!r}" if zero else f"must be a positive number, got {value!r}")
    return float(value)


def _pool(where: "_Where", name: str, spec: Any, tasks: dict, modes: dict) -> Pool:
    spec = spec or {}
    _keys(where, spec, "pool")
    chosen = {}
    for key, known in (("tasks", tasks), ("modes", modes)):
        values = spec.get(key)
        if values is None:
            chosen[key] = None
            continue
        if not isinstance(values, list) or not values:
            raise where.at(key).error(f"expected a non-empty list of {key}, got {values!r}")
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise where.at(key).error(f"unknown {key} {unknown}; known: {sorted(known)}")
        chosen[key] = tuple(values)
    return Pool(name, chosen["tasks"], chosen["modes"], _margin(where, spec.get("margin")))


class _TaskYamlLoader(yaml.SafeLoader):
    """Reads lm-eval task YAMLs without importing their `!function` hooks."""


_TaskYamlLoader.add_constructor("!function", lambda loader, node: loader.construct_scalar(node))


def _mode(where: _Where, name: str, spec: dict) -> Mode:
    _keys(where, spec, "mode", required={"applies_to", "enable_thinking", "system"})
    if not isinstance(spec["enable_thinking"], bool):
        raise where.at("enable_thinking").error("must be true or false")
    until = spec.get("until")
    published_as = spec.get("published_as")
    if published_as not in (None, "thinking", "non_thinking"):
        raise where.at("published_as").error(f"must be thinking or non_thinking (or left out), got {published_as!r}")
    return Mode(name, tuple(spec["applies_to"]), spec["enable_thinking"], spec["system"],
                None if until is None else tuple(until), published_as)


def _server_keys(where: _Where, server: Any) -> None:
    if not isinstance(server, dict):
        raise where.error("expected a mapping of vLLM server arguments")
    unknown = set(server) - _SERVER_KEYS
    if unknown:
        raise where.error(f"unknown vLLM server argument(s) {sorted(unknown)}; known: {sorted(_SERVER_KEYS)}")
    for key in _PARALLEL_SIZES:
        if key in server and not (_integer(server[key]) and server[key] >= 1):
            raise where.at(key).error(f"must be a positive integer, got {server[key]!r}")


def _expand(matrix: Matrix, profile: str, spec: dict) -> list[Case]:
    where = _Where(matrix.source, ("profiles", profile))
    _keys(where, spec, "profile", required={"gpu", "precisions", "cases"})
    if not isinstance(spec["gpu"], bool):
        raise where.at("gpu").error(f"must be true or false, got {spec['gpu']!r}")
    if spec.get("num_fewshot", 0) != 0:
        raise where.at("num_fewshot").error(
            "the suite's tasks are 0-shot (their YAMLs fix num_fewshot: 0), so this setting would be ignored"
        )
    for precision, model in spec["precisions"].items():
        if "-" in precision:
            raise where.at("precisions", precision).error("a precision's name holds no '-' (case ids are precision-task-mode)")
        if model not in matrix.models:
            raise where.at("precisions", precision).error(f"unknown model {model!r}; models: {sorted(matrix.models)}")
        if matrix.models[model].is_tiny == bool(spec["gpu"]):
            raise where.at("precisions", precision).error(
                f"model {model!r} is {'the tiny CPU model' if matrix.models[model].is_tiny else 'a GPU checkpoint'}, "
                f"but the profile has gpu: {spec['gpu']}"
            )
    if not isinstance(spec.get("compare_published", False), bool):
        raise where.at("compare_published").error("must be true or false")
    _server_keys(where.at("server"), spec.get("server", {}))
    for precision, server in spec.get("server_by_precision", {}).items():
        if precision not in spec["precisions"]:
            raise where.at("server_by_precision", precision).error(f"not a precision of this profile: {sorted(spec['precisions'])}")
        _server_keys(where.at("server_by_precision", precision), server)
    for key in ("limits", "repeats", "baseline_repeats"):
        for task, value in spec.get(key, {}).items():
            if task not in spec["cases"]:
                raise where.at(key, task).error(f"task {task!r} has no cases in this profile")
            if not _integer(value) or value < 1:
                raise where.at(key, task).error(f"must be a positive integer, got {value!r}")
    if "drift" in spec:
        _drift(where.at("drift"), spec["drift"])
    generation = spec.get("generation", {})
    _keys(where.at("generation"), generation, "generation")
    cases = []
    for task_name, mode_names in spec["cases"].items():
        if task_name not in matrix.tasks:
            raise where.at("cases", task_name).error(f"unknown task; tasks: {sorted(matrix.tasks)}")
        task = matrix.tasks[task_name]
        if "-" in task_name:
            raise where.at("cases", task_name).error("a task's name holds no '-' (case ids are precision-task-mode)")
        for mode_name in mode_names:
            mode_where = where.at("cases", task_name, mode_name)
            if mode_name not in matrix.modes:
                raise mode_where.error(f"unknown mode; modes: {sorted(matrix.modes)}")
            mode = matrix.modes[mode_name]
            if task.kind not in mode.applies_to:
                raise mode_where.error(f"mode {mode_name!r} does not apply to {task.kind} tasks (applies_to: {list(mode.applies_to)})")
            repeats = spec.get("repeats", {}).get(task_name, 1)
            baseline_repeats = spec.get("baseline_repeats", {}).get(task_name, repeats)
            if baseline_repeats < repeats:
                raise where.at("baseline_repeats", task_name).error(
                    f"a baseline needs at least the run's samples per item ({repeats}), got {baseline_repeats}")
            gen = _generation(where.at("generation"), generation, task, mode, baseline_repeats)
            for precision, model in spec["precisions"].items():
                cases.append(
                    Case(
                        profile, precision, matrix.models[model], task, mode,
                        spec.get("limits", {}).get(task_name), repeats, gen,
                        matrix._server(profile, precision), bool(spec["gpu"]), baseline_repeats,
                    )
                )
    return cases


def _generation(where: _Where, generation: dict, task: Task, mode: Mode, repeats: int) -> dict[str, Any]:
    style = mode.style
    layers = [("default", generation.get("default", {})), (style, generation.get(style, {}))]
    by_task = generation.get("by_task", {}).get(task.name, {})
    layers += [(f"by_task.{task.name}.{k}", by_task.get(k, {})) for k in ("default", style)]
    settings: dict[str, Any] = {}
    for name, layer in layers:
        _keys(where.at(name), layer, "sampling")
        for key, value in layer.items():
            valid, what = _SAMPLING_VALUES[key]
            if not valid(value):
                raise where.at(name, key).error(f"must be {what}, got {value!r}")
        settings.update(layer)
    if "max_gen_toks" not in settings:
        raise where.error(f"no max_gen_toks for {task.name}/{mode.name}: lm-eval would silently use 256")
    greedy = settings.get("temperature", 0.0) == 0.0
    if greedy:
        ignored = [k for k in _SAMPLING_ONLY if k in settings]
        if ignored:
            raise where.error(f"{ignored} would be ignored by greedy decoding (temperature 0) for {task.name}/{mode.name}")
        if repeats > 1:
            raise where.error(f"{repeats} samples of {task.name} under greedy decoding would all be the same")
    until = mode.until if mode.until is not None else task.until
    if mode.enable_thinking:
        # Task stops such as "Question:" can occur inside <think>: only end-of-turn stops apply.
        until = tuple(s for s in until if s in END_OF_TURN) if mode.until is None else until
        cutting = [s for s in until if s not in END_OF_TURN]
        if cutting:
            raise where.error(f"stop strings {cutting} of thinking mode {mode.name!r} can cut thinking")
    if len(until) > MAX_STOP_STRINGS:
        raise where.error(f"{len(until)} stop strings for {task.name}/{mode.name}; lm-eval sends only {MAX_STOP_STRINGS}")
    return {
        **settings,
        "do_sample": not greedy,
        "until": list(until),
        "chat_template_kwargs": {"enable_thinking": mode.enable_thinking},
    }
