"""Whether this machine can serve a model on its GPUs (gpu_status), and what a local server
really runs on and with, read from the server's side: its own GPUs (the devices its
CUDA_VISIBLE_DEVICES names, not GPU 0 of the pytest process), the kernels vLLM chose for
quantized layers (its log: e.g. NVFP4 as weight-only Marlin on Hopper, CUTLASS W4A4 on
Blackwell), and the VLLM_* environment it started with."""

from __future__ import annotations

import functools
import glob
import os
import re
import subprocess

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


# "GPU KV cache size: 1,234,567 tokens" (the CPU build says "CPU KV cache size").
_KV_TOKENS = re.compile(r"KV cache size: ([\d,]+) tokens")


def kv_cache_tokens(log_text: str) -> int | None:
    """The tokens the server's KV cache holds, as vLLM reports at start (None if it did not say)."""
    found = _KV_TOKENS.findall(log_text)  # one line per engine start
    return int(found[-1].replace(",", "")) if found else None


def vllm_env(env: dict[str, str]) -> dict[str, str]:
    """The VLLM_* variables a server starts with: the suite's and the caller's own."""
    return {k: v for k, v in sorted({**os.environ, **env}.items()) if k.startswith("VLLM_")}


def server_gpus(devices: str | None) -> list[dict[str, str]]:
    """Name and compute capability of each GPU a server is given (CUDA_VISIBLE_DEVICES
    as a list of indices, in PCI bus order: servers get CUDA_DEVICE_ORDER=PCI_BUS_ID, the
    order nvidia-smi numbers them in); [] when nvidia-smi cannot tell."""
    query = ["nvidia-smi", "--query-gpu=index,name,compute_cap", "--format=csv,noheader"]
    try:
        out = subprocess.run(query, capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    rows = {}
    for line in out.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3:
            rows[parts[0]] = {"index": parts[0], "name": parts[1], "capability": parts[2]}
    wanted = [d.strip() for d in devices.split(",")] if devices else sorted(rows, key=int)
    return [rows[d] for d in wanted if d in rows]


def architecture(gpus: list[dict[str, str]]) -> str:
    """"sm_90", or several joined when a server's GPUs differ; "unknown" with none."""
    found = sorted({"sm_" + g["capability"].replace(".", "") for g in gpus})
    return "+".join(found) or "unknown"


@functools.lru_cache(maxsize=None)
def gpu_status(tensor_parallel_size: int) -> tuple[bool, str]:
    """(usable, reason): can this machine serve a model on `tensor_parallel_size` GPUs?"""
    if not glob.glob("/dev/nvidia[0-9]*"):  # known without importing torch (2-3 s of every session)
        return False, "no NVIDIA GPU device here (/dev/nvidia*)"
    try:
        import torch
    except ImportError:
        return False, "torch is not installed"
    if not torch.cuda.is_available():
        return False, f"torch {torch.__version__} sees no CUDA device"
    count = torch.cuda.device_count()
    if count < tensor_parallel_size:
        return False, f"{count} CUDA device(s) visible, tensor parallel needs {tensor_parallel_size}"
    return True, f"{count} CUDA device(s)"
