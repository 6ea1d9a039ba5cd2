"""Without a usable GPU, the Qwen3-32B cases skip with one clear reason, or fail with --require-gpu."""

import pytest

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
