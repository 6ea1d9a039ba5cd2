"""--seed N: a run drawn with other samples ("is it noise?"), recorded in the manifest and kept
by a resume or replay of that run, and never part of what two runs must share to be compared."""

import json

import pytest

from evals.lmeval.call import BASELINE_SEED, RUN_SEED, lm_eval_call
from tests.options import select


def _run_folder(tmp_path, **facts):
    run = tmp_path / "artifacts" / "20261202-100000-tiny"
    run.mkdir(parents=True)
    cases = [c.id for c in select().cases]
    (run / "manifest.json").write_text(json.dumps({"profile": "tiny", "started": "2026-12-02T10:00:00+00:00",
                                                   "cases": cases, **facts}))
    return run


def test_a_seed_offsets_every_request_seed_and_not_the_fingerprint():
    plain, seeded = select().cases, select(seed=7).cases
    assert [c.id for c in plain] == [c.id for c in seeded]
    for a, b in zip(plain, seeded):
        assert (a.seed, b.seed) == (0, 7)
        call_a, call_b = lm_eval_call(a), lm_eval_call(b)
        assert (call_a.model_args["seed"], call_b.model_args["seed"]) == (RUN_SEED, RUN_SEED + 7)
        assert call_a.generation() == call_b.generation()  # the same runs to compare
    assert select(seed=7).seed == 7 and select().seed == 0


def test_a_baseline_run_draws_apart_from_a_run_with_the_same_offset():
    case = select(seed=3, update_snapshots=True).cases[0]
    assert case.baseline and lm_eval_call(case).model_args["seed"] == BASELINE_SEED + 3


def test_a_resumed_baseline_run_keeps_its_seed_and_stays_a_baseline_run(tmp_path):
    run = _run_folder(tmp_path, seed=5, baseline=True)
    chosen = select(resume=str(run))
    assert chosen.seed == 5 and chosen.baseline
    assert all(c.repeats == c.baseline_repeats and c.seed == 5 for c in chosen.cases)
    replayed = select(replay=str(run))
    assert replayed.seed == 5 and replayed.baseline


def test_a_resume_refuses_another_seed_and_a_snapshot_update_of_a_plain_run(tmp_path):
    run = _run_folder(tmp_path, seed=5, baseline=False)
    with pytest.raises(pytest.UsageError, match=r"--seed 6: --resume of a run drawn with --seed 5; drop --seed or give 5"):
        select(resume=str(run), seed=6)
    assert select(resume=str(run), seed=5).seed == 5
    with pytest.raises(pytest.UsageError, match="that run is not a baseline run"):
        select(resume=str(run), update_snapshots=True)
