"""The baseline gate end to end on the CPU, with the tiny model on vLLM's CPU build:
a missing baseline fails and says how to make it; --snapshot-update makes it; an
identical rerun passes and leaves the file untouched even under --snapshot-update;
a degraded engine fails, naming the flipped items; --snapshot-update accepts it."""

import json
import re

import pytest

from tests.evals_run import run_evals

pytestmark = pytest.mark.slow
CASE = "bf16-math500-answer_only"
SELECT = ("--precision", "bf16", "--task", "math500", "--mode", "answer_only")


def test_baseline_lifecycle(tmp_path):
    snapshots = tmp_path / "snapshots"
    env = {"SUITE_SNAPSHOTS_DIR": str(snapshots)}
    baseline = snapshots / "tiny" / f"{CASE}.json"

    def evals(name: str, fault: str = "", *extra: str):
        return run_evals(tmp_path / name, fault, *SELECT, *extra, env=env)

    code, outcomes, left, output = evals("missing")
    assert code == 1 and outcomes[CASE][0] == "failed"
    assert "No baseline for bf16-math500-answer_only" in outcomes[CASE][1] and "--snapshot-update" in outcomes[CASE][1]

    code, outcomes, left, output = evals("create", "", "--snapshot-update")
    assert code == 0, output[-2000:]
    record = json.loads(baseline.read_text())
    assert record["n"] == 20 and record["k"] == 1 and len(record["items"]) == 20
    assert record["fingerprint"]["model"] == "tiny:bf16" and record["fingerprint"]["scorer_version"]
    assert record["metrics"]["math_equiv"]["mean"] == pytest.approx(0.5)
    made = baseline.read_bytes()

    code, outcomes, left, output = evals("rerun", "", "--snapshot-update")
    assert code == 0, output[-2000:]
    assert baseline.read_bytes() == made  # within tolerance: untouched, its timestamp too

    # The broken engine loses about 6 of the 10 answers the tiny model knows here, all
    # one way: McNemar p = 2 * 0.5**6 = 0.031 on these 20 items, a regression at
    # alpha 0.05 (the default 0.01 needs 8 one-way flips at this size).
    code, outcomes, left, output = evals("degraded", "degrade:bf16", "--gate-alpha", "0.05")
    assert code == 1
    outcome, message = outcomes[CASE]
    assert outcome == "failed" and "regression:" in message
    flipped = re.search(r"worse on (\d+) item\(s\) \[([^\]]*)\]", message)
    assert flipped and int(flipped.group(1)) >= 5, message
    known_correct = [item for item, ratio in record["items"].items() if ratio == "1/1"]
    assert set(flipped.group(2).replace(", ...", "").split(", ")) <= set(known_correct)
    assert baseline.read_bytes() == made

    code, outcomes, left, output = evals("accept", "degrade:bf16", "--gate-alpha", "0.05", "--snapshot-update")
    assert code == 0, output[-2000:]
    accepted = json.loads(baseline.read_text())
    assert accepted["metrics"]["math_equiv"]["mean"] < record["metrics"]["math_equiv"]["mean"]
    assert left == []
