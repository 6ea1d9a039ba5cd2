"""`pytest evals` under misuse, checked before anything runs: no engine, no run needed."""

import json
import shutil

from tests.evals_run import ROOT
from tests.test_gpu_selection import pytest_evals


def test_limit_with_snapshot_update_refuses_to_shrink_committed_baselines(tmp_path):
    shutil.copytree(ROOT / "snapshots", tmp_path / "snapshots")
    before = {p: p.read_bytes() for p in (tmp_path / "snapshots").rglob("*.json")}
    env = {"SUITE_SNAPSHOTS_DIR": str(tmp_path / "snapshots")}
    proc = pytest_evals("--limit", "3", "--snapshot-update", "--collect-only", "-q", env=env)
    assert proc.returncode == 4, proc.stdout[-2000:]
    assert ("--limit 3 with --snapshot-update would replace committed baselines with fewer items: "
            "bf16-aime24-answer_only (20 items)") in proc.stderr
    assert "add --replace-baselines" in proc.stderr
    # Said explicitly, it goes ahead; a limit that shrinks nothing needs no flag.
    assert pytest_evals("--limit", "3", "--snapshot-update", "--replace-baselines", "--collect-only", "-q", env=env).returncode == 0
    assert pytest_evals("--limit", "40", "--snapshot-update", "--collect-only", "-q", env=env).returncode == 0
    assert {p: p.read_bytes() for p in before} == before


def test_a_resume_of_a_folder_with_a_damaged_manifest_names_the_file(tmp_path):
    run = tmp_path / "artifacts" / "20261127-100000-tiny"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps({"profile": "tiny", "started": "2026-11-27T10:00:00+00:00"}))
    proc = pytest_evals("--resume", str(run), "--collect-only", "-q")
    assert proc.returncode == 4
    assert f"--resume {run}: not a run folder with a readable manifest.json ({run}/manifest.json: field 'cases'" in proc.stderr
    proc = pytest_evals("--resume", "last", "--artifacts", str(tmp_path / "artifacts"), "--collect-only", "-q")
    assert proc.returncode == 4 and "--resume last: no run with a readable manifest.json" in proc.stderr, proc.stderr


def test_a_replay_names_the_cases_the_matrix_no_longer_has(tmp_path):
    run = tmp_path / "20261127-100000-tiny"
    run.mkdir()
    cases = ["bf16-aime24-think", "bf16-aime24-retired_mode"]
    (run / "manifest.json").write_text(json.dumps({"profile": "tiny", "cases": cases, "started": "2026-11-27T10:00:00+00:00"}))
    proc = pytest_evals("--replay", str(run), "--collect-only", "-q", "--artifacts", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "1 case(s) of that run are no longer in profile 'tiny'" in proc.stdout and "bf16-aime24-retired_mode" in proc.stdout
    assert "test_case[bf16-aime24-think]" in proc.stdout


def test_a_session_that_runs_nothing_leaves_no_run_folder(tmp_path):
    proc = pytest_evals("-k", "no_such_case", "-q", "--artifacts", str(tmp_path))
    assert proc.returncode == 5, proc.stdout[-2000:]
    assert list(tmp_path.iterdir()) == []
    assert pytest_evals("--collect-only", "-q", "--artifacts", str(tmp_path)).returncode == 0
    assert list(tmp_path.iterdir()) == []
