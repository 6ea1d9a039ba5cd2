"""`pytest evals` under misuse, checked before anything runs: no engine, no run needed.
Option checks run in-process (tests/options.py); one child run shows the hooks' part."""

import json
import shutil

import pytest

from tests.evals_run import ROOT, pytest_evals
from tests.options import Options, select


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


def test_a_resumed_run_keeps_its_mode_and_refuses_what_contradicts_it(tmp_path):
    """An interrupted baseline run resumed without --snapshot-update stays a baseline run
    (baseline k, baseline seeds, its --seed and --limit) and writes its baselines; a --limit or
    --seed other than the run's refuses, naming both."""
    from evals.plugin.selection import selection

    run = tmp_path / "artifacts" / "20261206-100000-tiny"
    run.mkdir(parents=True)
    cases = ["fp8-aime24-int_only", "fp8-aime24-think"]
    manifest = {"profile": "tiny", "cases": cases, "started": "2026-12-06T10:00:00+00:00", "baseline": True,
                "seed": 7, "limit": 5, "replace_baselines": True}  # a --limit'ed baseline run needs the flag
    (run / "manifest.json").write_text(json.dumps(manifest))
    config = Options(resume=str(run), collectonly=False)
    with pytest.warns(UserWarning, match="that run is a baseline run .* continues as one"):
        chosen = selection(config)
    assert config.option.update_snapshots is True and chosen.snapshot_update and chosen.baseline
    assert [(c.id, c.repeats, c.seed, c.limit) for c in chosen.cases] == [
        (c, 12, 7, 5) for c in cases]  # the tiny profile's baseline_repeats, the run's seed and limit
    with pytest.raises(pytest.UsageError, match=r"--limit 3: --resume of a run made with --limit 5; drop --limit or give 5"):
        select(resume=str(run), limit=3)
    with pytest.raises(pytest.UsageError, match=r"--seed 2: --resume of a run drawn with --seed 7"):
        select(resume=str(run), seed=2)
    # A run's resume stays a run: no baseline k, no --snapshot-update of its samples.
    (run / "manifest.json").write_text(json.dumps({**manifest, "baseline": False}))
    config = Options(resume=str(run), collectonly=False)
    plain = selection(config)
    assert not plain.baseline and not config.option.update_snapshots and {c.repeats for c in plain.cases} == {4}
    with pytest.raises(pytest.UsageError, match="that run is not a baseline run"):
        select(resume=str(run), update_snapshots=True)


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


def test_a_profile_with_no_baselines_is_shown_the_way_in_with_each_steps_cost(tmp_path, monkeypatch):
    """What `pytest evals -m gpu` prints instead of starting 35 GPU-hours that could gate nothing."""
    from evals.config.matrix import load_matrix
    from evals.planning.estimate import estimate
    from evals.plugin.day_one import way_in

    monkeypatch.setenv("SUITE_SNAPSHOTS_DIR", str(tmp_path / "none"))
    chosen = select(profile="full")
    text = way_in(chosen, list(chosen.cases), "pytest evals -m gpu", tmp_path / "artifacts")
    rows = estimate(load_matrix(), list(chosen.cases), tmp_path / "none")
    run, baselines = sum(r.gpu_hours for r in rows), sum(r.baseline_gpu_hours for r in rows)
    lines = text.splitlines()
    assert lines[0].startswith("profile 'full' has no baseline for any of the 30 case(s) this run would gate")
    assert f"after the whole run (about {run:.1f} GPU-hours" in lines[0] and baselines > 3 * run > 90
    assert lines[1] == "  1. pytest evals -m gpu --smoke" and lines[3] == "  2. pytest evals -m gpu --snapshot-update"
    smoke = float(lines[2].split("about ")[1].split(" GPU-hours")[0])
    assert 0 < smoke < 1 and "2 items per task, one sample each of at most 4,096 tokens" in lines[2]
    assert f"about {baselines:.1f} GPU-hours" in lines[4] and "aime24: 54 samples per item" in lines[4]
    assert "`pytest evals -m gpu --resume last` continues it as a baseline run" in lines[4]
    assert lines[5].endswith("then: pytest evals -m gpu") and f"about {run:.1f} GPU-hours" in lines[6]
