"""A fake `nvidia-smi` for CPU tests: a shell script first on PATH that answers the query
evals/engine/facts.py sends (and `nvidia-smi -L`), and fails on any other, so a changed
query shows up as "no GPU" instead of passing by accident."""

from __future__ import annotations

import os
import stat
from pathlib import Path

QUERY = "--query-gpu=index,uuid,name,compute_cap,driver_version"

H100 = "NVIDIA H100 80GB HBM3"
# An 8-GPU H100 node (driver 570: older than CUDA 13 wants). GPUs 2 and 3 share the UUID
# prefix GPU-8f3c, so "GPU-8f3c" alone names no GPU.
H100_UUIDS = [
    "GPU-1b2e6f1a-7c55-4e0b-9d51-0a7c3e5d9f01",
    "GPU-2c7d0e34-96ab-4f1e-8e02-1b8d4f6e0a12",
    "GPU-8f3c1d2e-3f40-4a51-b662-7c8d9e0f1a23",
    "GPU-8f3c9a8b-7c6d-4e5f-a0b1-c2d3e4f5a634",
    "GPU-4d8e2f56-b8cd-4a30-a024-3d0f6a8b2c45",
    "GPU-5e9f3a67-c9de-4b41-b135-4e1a7b9c3d56",
    "GPU-6fa04b78-daef-4c52-8246-5f2b8cad4e67",
    "GPU-70b15c89-ebf0-4d63-9357-603c9dbe5f78",
]
H100_HOST = [(i, uuid, H100, "9.0", "570.124.06") for i, uuid in enumerate(H100_UUIDS)]
H100_MIG = "MIG-3a1f2e4d-5c6b-5a79-8e0d-1f2a3b4c5d6e"
# `nvidia-smi -L` of that node, GPU 7 split into MIG slices.
H100_LIST = "".join(f"GPU {i}: {H100} (UUID: {uuid})\n" for i, uuid in enumerate(H100_UUIDS)) + (
    f"  MIG 3g.40gb     Device  0: (UUID: {H100_MIG})\n"
    "  MIG 3g.40gb     Device  1: (UUID: MIG-9b8a7c6d-5e4f-5321-9a0b-8c7d6e5f4a3b)\n")

# Two H100s on driver 550, a common H100 image's: CUDA 13 wheels do not run on it.
DRIVER_550_HOST = [(0, "GPU-a0b1c2d3-0000-4000-8000-000000000001", H100, "9.0", "550.54.15"),
                   (1, "GPU-a0b1c2d3-0000-4000-8000-000000000002", H100, "9.0", "550.54.15")]

# Hopper and Blackwell in one host.
MIXED_HOST = [(0, "GPU-00000000-0000-4000-8000-000000000000", H100, "9.0", "580.65.06"),
              (1, "GPU-11111111-1111-4111-8111-111111111111", H100, "9.0", "580.65.06"),
              (2, "GPU-22222222-2222-4222-8222-222222222222", "NVIDIA B200", "10.0", "580.65.06"),
              (3, "GPU-33333333-3333-4333-8333-333333333333", "NVIDIA B200", "10.0", "580.65.06")]


def write(folder: Path, rows, gpu_list: str = "") -> Path:
    """An `nvidia-smi` in `folder` that lists `rows` (index, uuid, name, capability, driver)."""
    csv = "".join(", ".join(str(c) for c in row) + "\n" for row in rows)
    script = folder / "nvidia-smi"
    script.write_text(
        "#!/bin/sh\n"
        f'case "$*" in\n'
        f"  '{QUERY} --format=csv,noheader') printf '%s' '{csv}' ;;\n"
        f"  '-L') printf '%s' '{gpu_list}' ;;\n"
        "  *) echo \"fake nvidia-smi: unexpected arguments: $*\" >&2; exit 2 ;;\n"
        "esac\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return folder


def first_on_path(monkeypatch, folder: Path) -> str:
    """Put `folder` first on PATH (undone after the test); the new PATH."""
    path = f"{folder}{os.pathsep}{os.environ['PATH']}"
    monkeypatch.setenv("PATH", path)
    return path
