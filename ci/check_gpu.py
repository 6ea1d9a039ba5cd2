"""The CUDA side of `ci/install.sh gpu`: which build of torch and vLLM this machine's NVIDIA
driver runs, and, after the install, whether torch sees the GPUs a run needs.

    python ci/check_gpu.py --variant         # the variant for this driver (cu130, cu129) on stdout
    python ci/check_gpu.py [--min-gpus N]    # after installing: torch sees >= N GPUs (default 2)

Exit 0, or 1 with the reason and what to do on stderr; 2 for a bad argument. Standard library
only, and torch only imported by the second form, so it runs before anything is installed.
Kept in ci/ (not evals/): it is the installer's check, run by path.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys

# The builds vllm==0.32.0 (and the torch==2.13.0 it pins) come in, newest first, and the oldest
# Linux driver each runs on. PyPI's wheels of both are built for
# CUDA 13.0 (torch 2.13.0 requires cuda-toolkit 13.0.3, vllm 0.32.0 nvidia-cutlass-dsl[cu13]):
# that is the lock (ci/lock/gpu.txt). CUDA 13.0 needs the R580 driver, >= 580.65.06 (the
# toolkit's release notes). For CUDA 12 drivers vLLM publishes `+cu129` wheels
# (wheels.vllm.ai/<version>/cu129) and PyTorch torch `+cu129` builds; 12.8 (cu128) has neither
# for these versions (vLLM publishes none; PyTorch dropped it in 2.12). CUDA 12.9 builds
# run on R570 (CUDA 12.8) drivers through CUDA minor version compatibility, which vLLM users
# report working; older 12.x drivers (R535, R550) are left out: minor version compatibility
# does not cover PTX JIT, which vLLM's kernels may need, and no one here ran them.
# Where each variant's wheels come from: ci/install.sh.
VARIANTS = {
    "cu130": {"min_driver": "580.65.06", "cuda": "13.0"},
    "cu129": {"min_driver": "570", "cuda": "12.9"},
}
DEFAULT_VARIANT = "cu130"  # PyPI's builds, the lock as it is
# The full profile serves each model with tensor parallel 2 (evals/config/matrix.yaml).
MIN_GPUS = 2
USAGE = "python ci/check_gpu.py [--variant | --min-gpus N]"


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def driver_version() -> tuple[str | None, str]:
    """(the NVIDIA driver's version, or None; why none)."""
    if shutil.which("nvidia-smi") is None:
        return None, "no nvidia-smi on PATH (no NVIDIA driver installed?)"
    try:
        proc = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"nvidia-smi failed: {exc}"
    lines = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        said = (proc.stderr or proc.stdout).strip().splitlines()
        return None, f"nvidia-smi failed (exit {proc.returncode}): {said[0] if said else 'no output'}"
    if not re.fullmatch(r"\d+(\.\d+)*", lines[0]):
        return None, f"nvidia-smi printed no driver version: {lines[0]!r}"
    return lines[0], ""  # one line per GPU, one driver for all


NAME_A_VARIANT = f"name a variant to install it without this check: ci/install.sh gpu {{{'|'.join(VARIANTS)}}}"


def upgrade_hint() -> str:
    """What to do when the driver runs none of the variants."""
    best = VARIANTS[DEFAULT_VARIANT]
    others = ", ".join(f">= {spec['min_driver']} for {name}" for name, spec in VARIANTS.items()
                       if name != DEFAULT_VARIANT)
    return (f"upgrade the NVIDIA driver to >= {best['min_driver']} (CUDA {best['cuda']}, the lock's "
            f"{DEFAULT_VARIANT} build; {others}), or {NAME_A_VARIANT}")


def pick_variant(driver: str) -> str | None:
    """The newest variant this driver runs, or None."""
    for name, spec in VARIANTS.items():
        if version_tuple(driver) >= version_tuple(spec["min_driver"]):
            return name
    return None


def variant_main() -> int:
    driver, why = driver_version()
    if driver is None:
        print(f"cannot choose the CUDA build: {why}. To fix: install the NVIDIA driver "
              f"(>= {VARIANTS[DEFAULT_VARIANT]['min_driver']}), or {NAME_A_VARIANT}", file=sys.stderr)
        return 1
    variant = pick_variant(driver)
    if variant is None:
        needs = ", ".join(f"{name} needs >= {spec['min_driver']}" for name, spec in VARIANTS.items())
        print(f"NVIDIA driver {driver} is too old for vLLM's CUDA builds ({needs}). To fix: {upgrade_hint()}",
              file=sys.stderr)
        return 1
    print(variant)
    print(f"NVIDIA driver {driver}: {variant} (CUDA {VARIANTS[variant]['cuda']}, needs >= "
          f"{VARIANTS[variant]['min_driver']})", file=sys.stderr)
    return 0


def check_main(min_gpus: int) -> int:
    """torch sees at least min_gpus GPUs; else the reason (driver, torch's CUDA) and what to do."""
    driver, why_no_driver = driver_version()
    driver_text = f"NVIDIA driver {driver}" if driver else why_no_driver
    try:
        import torch
    except Exception as exc:  # noqa: BLE001  any import failure is the reason
        print(f"GPU check failed: torch does not import ({type(exc).__name__}: {exc}); {driver_text}. "
              f"Reinstall: ci/install.sh gpu", file=sys.stderr)
        return 1
    built_for = torch.version.cuda
    if built_for is None:
        print(f"GPU check failed: torch {torch.__version__} is not a CUDA build (torch.version.cuda is None); "
              f"{driver_text}. Reinstall with ci/install.sh gpu (not cpu)", file=sys.stderr)
        return 1
    if not torch.cuda.is_available():
        reason = f"torch {torch.__version__} (CUDA {built_for}) sees no GPU; {driver_text}"
        need = next((spec["min_driver"] for spec in VARIANTS.values() if spec["cuda"] == built_for), None)
        if driver is None:
            todo = "install the NVIDIA driver (nvidia-smi must list the GPUs)"
        elif need and version_tuple(driver) < version_tuple(need):
            todo = f"this CUDA {built_for} build needs driver >= {need}: {upgrade_hint()}"
        else:
            todo = ("check CUDA_VISIBLE_DEVICES and that `nvidia-smi` lists the GPUs in this shell "
                    "(container: run it with the GPUs, e.g. docker --gpus all)")
        print(f"GPU check failed: {reason}. To fix: {todo}", file=sys.stderr)
        return 1
    count = torch.cuda.device_count()
    names = ", ".join(sorted({torch.cuda.get_device_name(i) for i in range(count)}))
    if count < min_gpus:
        print(f"GPU check failed: torch {torch.__version__} (CUDA {built_for}) sees {count} GPU(s) ({names}), "
              f"{min_gpus} needed (tensor parallel {min_gpus} per model); {driver_text}. To fix: run on a machine "
              f"with {min_gpus} GPUs, check CUDA_VISIBLE_DEVICES, or pass --min-gpus {count} for a smaller "
              f"profile", file=sys.stderr)
        return 1
    print(f"GPU check: torch {torch.__version__} (CUDA {built_for}) sees {count} GPU(s): {names}; {driver_text}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ci/check_gpu.py", usage=USAGE, description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--variant", action="store_true", help="print the CUDA build for this driver")
    group.add_argument("--min-gpus", type=int, default=MIN_GPUS, help=f"GPUs torch must see (default {MIN_GPUS})")
    args = parser.parse_args(argv)
    if args.min_gpus < 1:
        parser.error("--min-gpus must be at least 1")
    return variant_main() if args.variant else check_main(args.min_gpus)


if __name__ == "__main__":
    sys.exit(main())
