"""Without an NVIDIA GPU, the Qwen3-32B cases skip with one clear reason, or fail with
--require-gpu; with NVIDIA GPUs that this install cannot use, selecting them fails before
any server starts, naming the GPUs, the driver, torch and the fix."""

import os

import pytest

from tests import fake_nvidia_smi
from tests.evals_run import pytest_evals
from tests.options import select


def test_gpu_cases_skip_with_one_reason(tmp_path):
    proc = pytest_evals("-m", "gpu", "-q", "-rs", "--artifacts", str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-2000:]
    # 30 cases, 20 cross-precision checks, 12 pools, 8 pooled cross-precision checks and
    # 3 drift tests, all with one reason
    assert "73 skipped" in proc.stdout
    reasons = {line.split(": ", 1)[1] for line in proc.stdout.splitlines() if line.startswith("SKIPPED")}
    assert len(reasons) == 1 and "no usable GPU" in reasons.pop()
    assert not list(tmp_path.glob("*/servers/*.log"))  # no engine was started


def test_require_gpu_makes_it_a_failure():
    proc = pytest_evals("-m", "gpu", "--require-gpu", "--collect-only", "-q")
    assert proc.returncode == 4
    assert "--require-gpu: 73 GPU tests cannot run" in proc.stderr + proc.stdout


def driver_550_host(tmp_path) -> dict[str, str]:
    """The environment of a machine with two H100s on driver 550 (a fake nvidia-smi first on PATH)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    return {"PATH": f"{fake_nvidia_smi.write(folder, fake_nvidia_smi.DRIVER_550_HOST)}{os.pathsep}{os.environ['PATH']}"}


def test_gpus_this_install_cannot_use_fail_the_run_before_any_server_starts(tmp_path):
    import torch

    assert torch.version.cuda is None  # this venv's torch is vLLM's CPU build's
    proc = pytest_evals("-m", "gpu", "-q", "--artifacts", str(tmp_path / "artifacts"), env=driver_550_host(tmp_path))
    out = proc.stderr + proc.stdout
    assert proc.returncode == 4, out[-2000:]
    assert ("73 GPU tests cannot run on this machine's NVIDIA GPUs: nvidia-smi sees 2 GPU(s) (2 x NVIDIA H100 80GB "
            f"HBM3; driver 550.54.15), but torch {torch.__version__} is built without CUDA "
            "(torch.version.cuda is None): "
            "CUDA 13 wheels need driver >= 580 and the CUDA 12.9 ones (`ci/install.sh gpu cu129`) >= 570; "
            "this one is 550.54.15: upgrade the driver") in out
    assert "skipped" not in out and not list((tmp_path / "artifacts").glob("*/servers/*.log"))


def test_the_full_profile_chosen_explicitly_fails_the_same_way(tmp_path):
    proc = pytest_evals("--profile", "full", "--collect-only", "-q", env=driver_550_host(tmp_path))
    out = proc.stderr + proc.stdout
    assert proc.returncode == 4, out[-2000:]
    assert "73 GPU tests cannot run on this machine's NVIDIA GPUs: nvidia-smi sees 2 GPU(s)" in out


def test_under_xdist_the_failure_still_names_the_reason(tmp_path):
    """A worker's usage error reaches the controller only as an INTERNALERROR without its
    message: the run stops with the message instead."""
    proc = pytest_evals("-m", "gpu", "-q", "-n", "2", "--artifacts", str(tmp_path / "artifacts"),
                        env=driver_550_host(tmp_path))
    out = proc.stderr + proc.stdout
    assert proc.returncode not in (0, 3), out[-2000:]  # 3: an internal error
    assert "73 GPU tests cannot run on this machine's NVIDIA GPUs: nvidia-smi sees 2 GPU(s)" in out
    assert "`ci/install.sh gpu cu129`" in out and "INTERNALERROR" not in out
    assert not list((tmp_path / "artifacts").glob("*/servers/*.log"))


def test_seed_profile_selects_the_seed_cases():
    ids = [c.id for c in select(profile="seed").cases]
    assert len(ids) == 15 and "fp8-aime24-think_final" in ids


@pytest.mark.parametrize("options, message", [
    ({"task": ["gsm8k"]}, "--task gsm8k: not in profile 'tiny'"),
    ({"vllm_url": ["fp8:8000"]}, "--vllm-url expects PRECISION=http://HOST:PORT"),
    ({"vllm_url": ["fp4=http://x:1"]}, "'fp4' is not a precision of profile 'tiny'"),
    ({"limit": 0}, "--limit must be a positive number of items, got 0"),
    ({"replace_baselines": True}, "--replace-baselines only applies with --snapshot-update"),
    ({"profile": "huge"}, "--profile 'huge': choose one of"),
    ({"gate_alpha": 0.0}, "--gate-alpha 0: the chance that a run under no change fails any test must lie in (0, 0.5]"),
    ({"gate_alpha": -1.0}, "--gate-alpha -1:"),
    ({"gate_margin": 3.0}, "--gate-margin 3: a share of accuracy in (0, 1), e.g. 0.03 for 3 points; 3 looks like points: write 0.03"),
    ({"gate_margin": 0.0}, "--gate-margin 0: a share of accuracy in (0, 1)"),
])
def test_bad_options_name_the_flag(options, message):
    with pytest.raises(pytest.UsageError) as info:
        select(**options)
    assert message in str(info.value)
