"""A resume never loses a finished result: narrowed by -k, -m, --precision or --mode, failing
on a damaged generations file, or interrupted with Ctrl-C while its server is up (which
also stops every server), it leaves the run as it found it plus what it finished. A damaged
baseline is named, and --snapshot-update replaces it. Every test works on a copy of the tiny
matrix's kept run (tests/kept_run.py); only the Ctrl-C test starts an engine."""

import json
import shutil

import pytest

from tests.evals_run import COMMITTED_BASELINES, ROOT, run_evals
from tests.kept_run import copy_of

pytestmark = pytest.mark.engine  # needs the kept run, which an engine makes when there is none
AIME24 = [f"{p}-aime24-{m}" for p in ("bf16", "fp8") for m in ("answer_only", "int_only", "think", "think_final")]


def results(run) -> dict[str, bytes]:
    """Every finished result: each case's files, the pooled and cross-precision entries."""
    files = [p for p in run.glob("*-*-*/*") if p.is_file() and p.name != ".ended"]
    files += [run / "recovery.json", run / "pooled.json"]
    return {str(p.relative_to(run)): p.read_bytes() for p in files}


def entries(run, name: str) -> dict:
    return json.loads((run / name).read_text())


def resume(tmp_path, run, *args, **kwargs):
    return run_evals(tmp_path, "", "--resume", str(run), *args, env=COMMITTED_BASELINES, **kwargs)


def test_a_narrowed_resume_touches_only_the_selected_case(tiny_run, tmp_path):
    run = copy_of(tiny_run, tmp_path)
    before = results(run)
    code, outcomes, left, output = resume(tmp_path, run, "-k", "bf16-aime24-int_only")
    assert code == 0 and set(outcomes) == {"bf16-aime24-int_only"} and not left, output[-3000:]
    after = results(run)
    assert set(after) == set(before)  # nothing deleted
    assert {k: v for k, v in after.items() if not k.startswith("bf16-aime24-int_only/")} == \
           {k: v for k, v in before.items() if not k.startswith("bf16-aime24-int_only/")}
    assert after["bf16-aime24-int_only/samples.jsonl"] == before["bf16-aime24-int_only/samples.jsonl"]  # kept generations

    code, outcomes, _, output = resume(tmp_path, run, "-m", "gpu")  # selects nothing on a tiny run
    assert code == 5 and not outcomes, output[-3000:]
    assert results(run) == after


def test_a_resume_narrowed_by_precision_and_mode_keeps_the_other_recovery_entries(tiny_run, tmp_path):
    run = copy_of(tiny_run, tmp_path)
    before = results(run)
    code, outcomes, _, output = resume(tmp_path, run, "--precision", "bf16", "--task", "aime24", "--mode", "think")
    assert code == 0 and outcomes["bf16-aime24-think"][0] == "passed", output[-3000:]
    after = results(run)
    assert set(after) == set(before) and after["recovery.json"] == before["recovery.json"]
    report = json.loads((run / "report.json").read_text())
    assert all(report["cases"][c]["recovery"] for c in report["cases"] if not c.startswith("bf16"))  # every row stays

    # Narrowed to one FP8 case: its recovery is checked against the kept BF16 result, and the
    # pooled entries still pool every FP8 case of the run.
    code, outcomes, _, output = resume(tmp_path, run, "--precision", "fp8", "--task", "aime24", "--mode", "think")
    assert code == 0, output[-3000:]
    assert {o for o, _ in outcomes.values()} == {"passed"} and "fp8-aime24-think" in outcomes and "fp8-all" in outcomes
    assert entries(run, "recovery.json") == json.loads(before["recovery.json"])
    assert entries(run, "pooled.json") == json.loads(before["pooled.json"])


def test_a_damaged_generations_file_fails_its_cases_and_loses_nothing(tiny_run, tmp_path):
    run = copy_of(tiny_run, tmp_path)
    before = results(run)
    kept = (run / "generations" / "bf16.jsonl").read_text().splitlines()
    kept[2] = kept[2][: len(kept[2]) // 2]
    (run / "generations" / "bf16.jsonl").write_text("\n".join(kept) + "\n")
    code, outcomes, _, output = resume(tmp_path, run, "--precision", "bf16,fp8", "--task", "aime24")
    assert code == 1, output[-3000:]
    for case in AIME24:
        outcome, message = outcomes[case]
        if case.startswith("bf16"):
            assert outcome == "error" and f"{run}/generations/bf16.jsonl:3: not a generation record" in message, message
        else:
            assert outcome == "passed", message
    after = results(run)
    assert set(after) == set(before)
    assert {k: v for k, v in after.items() if k.startswith("bf16")} == {k: v for k, v in before.items() if k.startswith("bf16")}
    assert entries(run, "recovery.json").keys() == json.loads(before["recovery.json"]).keys()


def test_ctrl_c_during_a_resume_stops_the_server_and_keeps_the_run(tiny_run, tmp_path):
    # One FP8 case's samples are not kept, so the resume starts its server; Ctrl-C once the
    # server is up, while the case waits for it or sends its requests (the tiny model answers
    # them in about a second: waiting for the first answer can miss the case altogether).
    run = copy_of(tiny_run, tmp_path)
    kept = run / "generations" / "fp8.jsonl"
    kept.write_text("".join(line for line in kept.read_text().splitlines(keepends=True)
                            if json.loads(line)["case"] != "fp8-aime25-int_only"))
    before = results(run)
    log = run / "servers" / "fp8.log"
    log.unlink()  # the original run's server
    serving = lambda: log.exists() and "Application startup complete" in log.read_text(errors="replace")  # noqa: E731
    code, _, left, output = resume(tmp_path, run, "--precision", "fp8", interrupt_when=serving)
    assert code == 2 and serving(), output[-3000:]  # pytest's exit code for an interrupted run
    assert left == [], f"processes left after Ctrl-C: {left}"
    after = results(run)
    assert set(after) == set(before)
    assert entries(run, "recovery.json").keys() == json.loads(before["recovery.json"]).keys()
    assert set(entries(run, "manifest.json")["finished"]) == set(entries(tiny_run, "manifest.json")["finished"])


def test_a_damaged_baseline_is_named_and_snapshot_update_replaces_it(tiny_run, tmp_path):
    snapshots = shutil.copytree(ROOT / "snapshots", tmp_path / "snapshots")
    baseline = snapshots / "tiny" / "bf16-aime24-think.json"
    baseline.write_text(baseline.read_text()[:200])
    env = {"SUITE_SNAPSHOTS_DIR": str(snapshots)}
    code, outcomes, _, output = run_evals(tmp_path / "check", "", "--replay", str(tiny_run), "-k", "bf16-aime24-think", env=env)
    outcome, message = outcomes["bf16-aime24-think"]
    assert code == 1 and outcome == "failed", output[-3000:]
    assert f"{baseline}: an unreadable baseline, not valid JSON" in message and "--snapshot-update" in message

    code, outcomes, _, output = run_evals(tmp_path / "update", "", "--replay", str(tiny_run), "-k", "bf16-aime24-think",
                                          "--snapshot-update", env=env)
    assert code == 0, output[-3000:]
    assert f"bf16-aime24-think: {baseline}: an unreadable baseline" in output and "replaces it with this run's record" in output
    record = json.loads((tiny_run / "bf16-aime24-think" / "record.json").read_text())
    assert json.loads(baseline.read_text())["items"] == record["items"]
