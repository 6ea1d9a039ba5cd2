"""A run without BF16 measures drift against a stored reference (evals/drift/reference.py):
the newest run under --artifacts whose BF16 drift test finished, or --drift-reference RUN.
Every run here is a copy of the tiny matrix's kept run (tests/kept_run.py), narrowed to FP8
with its generations and drift scores kept, so no engine starts."""

import json

import pytest

from tests.evals_run import COMMITTED_BASELINES, run_evals
from tests.kept_run import copy_of, narrowed_copy

pytestmark = pytest.mark.engine  # needs the kept run, which an engine makes when there is none


def evals(tmp_path, *args):
    return run_evals(tmp_path, "", *args, env=COMMITTED_BASELINES)


def test_an_fp8_run_is_compared_with_the_newest_stored_reference_and_a_replay_with_the_same(tiny_run, tmp_path):
    reference = copy_of(tiny_run, tmp_path)
    fp8_run = narrowed_copy(tiny_run, tmp_path, ("fp8",))
    code, outcomes, left, output = evals(tmp_path, "--resume", str(fp8_run), "-k", "test_drift")
    assert code == 0 and outcomes == {"fp8": ("passed", "")} and not left, output[-3000:]
    manifest = json.loads((fp8_run / "manifest.json").read_text())
    assert manifest["drift_reference"] == str(reference)
    assert manifest["drift"]["fp8"]["responses"] == 80  # every reference response of the profile
    assert not (fp8_run / "servers").exists()  # kept scores: nothing was asked of an engine

    # Its replay uses the reference the run used, though a newer one is now under --artifacts.
    newer = copy_of(tiny_run, tmp_path / "elsewhere").rename(tmp_path / "artifacts" / "newer")
    _touch_started(newer)
    code, outcomes, _, output = evals(tmp_path, "--replay", str(fp8_run), "-k", "test_drift")
    assert code == 0 and outcomes == {"fp8": ("passed", "")}, output[-3000:]
    replays = [m for m in (tmp_path / "artifacts").glob("*-replay/manifest.json")]
    assert [json.loads(m.read_text())["drift_reference"] for m in replays] == [str(reference)]


def test_a_reference_from_other_weights_fails_the_drift_test_and_says_to_run_bf16_again(tiny_run, tmp_path):
    reference = copy_of(tiny_run, tmp_path)
    manifest = json.loads((reference / "manifest.json").read_text())
    manifest["models"]["bf16"]["context"]["model"] = "tiny:bf16@another-build"
    (reference / "manifest.json").write_text(json.dumps(manifest))
    fp8_run = narrowed_copy(tiny_run, tmp_path, ("fp8",))
    code, outcomes, _, output = evals(tmp_path, "--resume", str(fp8_run), "--drift-reference", str(reference), "-k", "test_drift")
    assert code == 1 and set(outcomes) == {"fp8"} and outcomes["fp8"][0] == "failed", output[-3000:]
    assert f"--drift-reference {reference}" in outcomes["fp8"][1] and "tiny:bf16@another-build" in outcomes["fp8"][1]
    assert "run bf16 again" in outcomes["fp8"][1]


def test_no_reference_skips_the_drift_test_with_how_to_get_one(tiny_run, tmp_path):
    fp8_run = narrowed_copy(tiny_run, tmp_path, ("fp8",))
    code, outcomes, _, output = evals(tmp_path, "--replay", str(fp8_run), "-k", "test_drift")
    assert code == 0 and outcomes["fp8"][0] == "skipped", output[-3000:]
    assert "no bf16 reference for drift" in outcomes["fp8"][1] and "--drift-reference RUN" in outcomes["fp8"][1]


@pytest.mark.parametrize("args, message", [
    (("--precision", "bf16,fp8"), "this run scores its own bf16 responses; drop the flag"),
    (("--precision", "fp8"), "its bf16 drift test did not finish there"),
])
def test_a_drift_reference_that_cannot_serve_is_a_usage_error_naming_the_flag(tiny_run, tmp_path, args, message):
    not_a_reference = narrowed_copy(tiny_run, tmp_path, ("fp8",))
    code, _, _, output = evals(tmp_path, *args, "--drift-reference", str(not_a_reference), "--collect-only")
    assert code == 4 and f"--drift-reference {not_a_reference}" in output and message in output, output[-3000:]


def _touch_started(run) -> None:
    """Make a copied run the newest by its manifest."""
    from evals.artifacts.run_folder import now

    manifest = json.loads((run / "manifest.json").read_text())
    manifest["started"] = now()
    (run / "manifest.json").write_text(json.dumps(manifest))


def test_a_replay_of_the_drift_tests_alone_reads_the_replayed_runs_responses(tiny_run, tmp_path):
    code, outcomes, _, output = evals(tmp_path, "--replay", str(copy_of(tiny_run, tmp_path)), "-k", "test_drift")
    assert code == 0 and {k: v[0] for k, v in outcomes.items()} == dict.fromkeys(("bf16", "fp8", "nvfp4"), "passed"), \
        output[-3000:]
