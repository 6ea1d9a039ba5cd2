"""`pytest evals` under misuse, checked before anything runs: no engine, no run needed.
Option checks run in-process (tests/options.py); one child run shows the hooks' part."""

import json
import shutil

import pytest

from tests.evals_run import ROOT, pytest_evals
from tests.options import select


def test_limit_with_snapshot_update_refuses_to_shrink_committed_baselines(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "snapshots", tmp_path / "snapshots")
    monkeypatch.setenv("SUITE_SNAPSHOTS_DIR", str(tmp_path / "snapshots"))
    before = {p: p.read_bytes() for p in (tmp_path / "snapshots").rglob("*.json")}
    with pytest.raises(pytest.UsageError) as info:
        select(limit=3, update_snapshots=True)
    message = str(info.value)
    assert message.startswith("--limit 3 with --snapshot-update would replace committed baselines with fewer items: "
                              "bf16-aime24-answer_only (30 items)") and "add --replace-baselines" in message, message
    # Said explicitly, it goes ahead; a limit that shrinks nothing needs no flag; a damaged baseline is no obstacle.
    assert select(limit=3, update_snapshots=True, replace_baselines=True).limit == 3
    assert select(limit=60, update_snapshots=True).limit == 60
    (tmp_path / "snapshots" / "tiny" / "bf16-aime24-think.json").write_text("{")
    before[tmp_path / "snapshots" / "tiny" / "bf16-aime24-think.json"] = b"{"
    with pytest.raises(pytest.UsageError, match=r"fp8-aime24-answer_only \(30 items\)") as info:
        select(limit=3, update_snapshots=True)
    assert "bf16-aime24-think " not in str(info.value)
    assert {p: p.read_bytes() for p in before} == before


def test_a_resume_of_a_folder_with_a_damaged_manifest_names_the_file(tmp_path):
    run = tmp_path / "artifacts" / "20261127-100000-tiny"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps({"profile": "tiny", "started": "2026-11-27T10:00:00+00:00"}))
    with pytest.raises(pytest.UsageError) as info:
        select(resume=str(run))
    assert f"--resume {run}: not a run folder with a readable manifest.json ({run}/manifest.json: field 'cases'" in str(info.value)
    with pytest.warns(UserWarning, match="skipped 1 run folder"), pytest.raises(pytest.UsageError) as info:
        select(resume="last", artifacts=str(tmp_path / "artifacts"))
    assert "--resume last: no run with a readable manifest.json" in str(info.value)


def test_a_replay_names_the_cases_the_matrix_no_longer_has(tmp_path):
    run = tmp_path / "20261127-100000-tiny"
    run.mkdir()
    cases = ["bf16-aime24-think", "bf16-aime24-retired_mode"]
    (run / "manifest.json").write_text(json.dumps({"profile": "tiny", "cases": cases, "started": "2026-11-27T10:00:00+00:00"}))
    with pytest.warns(UserWarning, match=r"1 case\(s\) of that run are no longer in profile 'tiny'.*bf16-aime24-retired_mode"):
        chosen = select(replay=str(run), artifacts=str(tmp_path / "out"))
    assert [c.id for c in chosen.cases] == ["bf16-aime24-think"]


def test_a_session_that_runs_nothing_leaves_no_run_folder(tmp_path):
    assert select(artifacts=str(tmp_path)).run_dir.parent == tmp_path and list(tmp_path.iterdir()) == []  # --collect-only
    proc = pytest_evals("-k", "no_such_case", "-q", "--artifacts", str(tmp_path))
    assert proc.returncode == 5, proc.stdout[-2000:]
    assert list(tmp_path.iterdir()) == []
