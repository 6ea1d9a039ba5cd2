"""Prefetch (evals/engine/fetch.py), on a local Hugging Face cache: a branch revision resolves to
the commit on disk and the run names that commit; weights that are not on disk are an
error naming the command that fetches them; GPU servers start offline."""

import os
import subprocess
import sys

import pytest

from evals.engine import fetch
from evals.config.matrix import load_matrix
from evals.engine.server import server_env
from evals.gate.records import fingerprint
from tests.evals_run import ROOT
from tests.options import Options

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """A cache holding RedHatAI/Qwen3-32B-NVFP4 with `main` at COMMIT, as a download leaves it."""
    repo = tmp_path / "models--RedHatAI--Qwen3-32B-NVFP4"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    (repo / "snapshots" / COMMIT).mkdir(parents=True)
    (repo / "snapshots" / COMMIT / "config.json").write_text("{}")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path


def nvfp4_cases():
    return [c for c in load_matrix().cases("full") if c.precision == "nvfp4"]


def test_a_branch_revision_is_pinned_to_the_commit_on_disk_and_the_fingerprint_names_it(hub_cache):
    cases = nvfp4_cases()
    assert {c.model.revision for c in cases} == {"main"}
    pinned = fetch.pinned(cases, download_missing=False, profile="full")
    assert {c.model.revision for c in pinned} == {COMMIT}
    assert fingerprint(pinned[0], "0.11", "sm_90")["revision"] == COMMIT
    assert [c.id for c in pinned] == [c.id for c in cases]


def test_weights_not_on_disk_name_the_command_that_fetches_them(hub_cache):
    bf16 = [c for c in load_matrix().cases("full") if c.precision == "bf16"]
    with pytest.raises(fetch.FetchError, match=r"Qwen/Qwen3-32B@9216db.* is not on disk: run `python -m evals fetch --profile full` first"):
        fetch.pinned(bf16, download_missing=False, profile="full")


def test_the_cli_reports_the_resolved_commit_and_fails_clearly_offline(hub_cache):
    env = {**os.environ, "HF_HUB_CACHE": str(hub_cache), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "evals", "fetch", "--precision", "nvfp4"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"RedHatAI/Qwen3-32B-NVFP4@{COMMIT} (branch 'main' resolved; runs name this commit)" in done.stdout
    done = subprocess.run([sys.executable, "-m", "evals", "fetch", "--precision", "bf16"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Qwen/Qwen3-32B@9216db" in done.stderr and "download failed" in done.stderr


def test_gpu_servers_start_offline_with_vllms_start_limit_at_the_readiness_wait():
    env = server_env({}, gpu=True, ready_timeout=1800)
    assert env["HF_HUB_OFFLINE"] == "1" and env["VLLM_ENGINE_READY_TIMEOUT_S"] == "1800"
    assert "HF_HUB_OFFLINE" not in server_env({}, gpu=False)  # the tiny model is built locally


def test_a_gpu_session_pins_what_it_serves_and_a_resume_keeps_the_recorded_commit(hub_cache, monkeypatch):
    """The session-level path (evals/plugin/selection.py `_pin_revisions`), with a usable GPU faked:
    served hub models are pinned to the commit on disk; a --vllm-url precision is not
    (its weights are the server's own); weights not on disk are a usage error naming the
    command; without a GPU, a resumed run takes the commit it recorded."""
    from evals.engine import facts
    from evals.plugin import selection

    full = load_matrix().cases("full")
    nvfp4 = [c for c in full if c.precision == "nvfp4"]
    monkeypatch.setattr(facts, "gpu_status", lambda tp: (True, ""))
    run = Options(collectonly=False)  # a run, not a collection: collecting never downloads
    pinned = selection._pin_revisions(run, nvfp4, "full", None, None)
    assert {c.model.revision for c in pinned} == {COMMIT}

    remote = Options(collectonly=False, vllm_url=["bf16=http://gpu-box:8000", "fp8=http://gpu-box:8001"])
    pinned = {c.precision: c.model.revision for c in selection._pin_revisions(remote, full, "full", None, None)}
    assert pinned == {"bf16": "9216db5781bf21249d130ec9da846c4624c16137",
                      "fp8": "aa55da1ecc13d006e8b8e4f54579b1ea8c3db2df", "nvfp4": COMMIT}

    monkeypatch.setattr(selection.workers, "is_worker", lambda config: True)  # a worker never downloads
    with pytest.raises(pytest.UsageError, match=r"Qwen/Qwen3-32B@9216db.* is not on disk: run `python -m evals fetch"):
        selection._pin_revisions(run, full, "full", None, None)

    monkeypatch.setattr(facts, "gpu_status", lambda tp: (False, "no GPU"))
    recorded = {"models": {"nvfp4": {"revision": COMMIT}}}
    assert {c.model.revision for c in selection._pin_revisions(run, nvfp4, "full", recorded, None)} == {COMMIT}
    assert {c.model.revision for c in selection._pin_revisions(run, nvfp4, "full", None, None)} == {"main"}


def test_pin_writes_the_resolved_commit_into_the_config_keeping_its_comments(hub_cache, tmp_path, capsys):
    import argparse
    import shutil

    from evals.config.edit import pin_revision
    from evals.config.matrix import ConfigError
    from evals.config.paths import MATRIX_FILE

    config = tmp_path / "matrix.yaml"
    shutil.copy(MATRIX_FILE, config)
    before = config.read_text()
    matrix = load_matrix(config)
    assert matrix.models["qwen3-32b-nvfp4"].revision == "main"
    args = argparse.Namespace(matrix=matrix, profile="full", precision=["nvfp4"], pin=True)
    assert fetch.command(args) == 0
    assert f"qwen3-32b-nvfp4: pinned in {config}: revision {COMMIT} (was 'main')" in capsys.readouterr().out
    after = config.read_text()
    assert load_matrix(config).models["qwen3-32b-nvfp4"].revision == COMMIT
    # One line changed, its comment and every other line kept.
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert changed == [("    revision: main", f"    revision: {COMMIT}")] and len(before.splitlines()) == len(after.splitlines())
    # A second machine's cases name the commit without resolving anything.
    assert {c.model.revision for c in load_matrix(config).cases("full") if c.precision == "nvfp4"} == {COMMIT}
    # A commit is not pinned again; a model that is not there is an error naming the file; nothing changes.
    assert fetch.command(argparse.Namespace(matrix=load_matrix(config), profile="full", precision=["nvfp4"], pin=True)) == 0
    assert config.read_text() == after
    with pytest.raises(ConfigError, match=rf"{config}: no model 'qwen3-32b-int4' under models: to pin"):
        pin_revision(config, "qwen3-32b-int4", COMMIT)
    with pytest.raises(ConfigError):
        pin_revision(config, "qwen3-32b-nvfp4", "not a: [commit")  # the result would not load: the file stays
    assert config.read_text() == after and not list(tmp_path.glob("tmp*.yaml"))
