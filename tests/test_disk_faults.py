"""A full disk (issue 26, item 4), in-process (tests/faults.py's FullDisk: a write that does
not fit writes what fits, then fails with ENOSPC). A response that could not be written
is not kept: the generations file stays whole lines, a later append lands on a line of
its own, the store's view is the file's, and the case that lacks the response fails
naming the file; a store whose file could not be cut back refuses every later append;
the run's JSON files stay as they were; the run's hooks report instead of crashing, and
the run fails."""

import builtins
import errno
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from evals.artifacts import jsonio, run_folder
from evals.artifacts.generations import GenerationStore
from evals.artifacts.jsonio import read_json, write_json
from evals.engine.client import PoolSize
from evals.lmeval.runner import run_case
from evals.plugin import run_hooks
from evals.run.generation_pass import generation_pass
from evals.run.progress import Progress
from tests.faults import FullDisk
from tests.test_generation_pass import Endpoint, Scripted, fp8_cases
from tests.test_generations import CONTEXT, RESPONSE

NO_SPACE = os.strerror(errno.ENOSPC)  # "No space left on device"
LINE = len(json.dumps({"key": "k1", "context": CONTEXT, "case": "c", "response": RESPONSE}, ensure_ascii=False)) + 1


def keys_on_disk(path: Path) -> list[str]:
    """The keys of a generations file, in order; every line must be a whole record."""
    data = path.read_bytes()
    assert data == b"" or data.endswith(b"\n"), f"{path} ends in a torn line: {data[-80:]!r}"
    keys = []
    for number, line in enumerate(data.split(b"\n")[:-1], 1):
        try:
            keys.append(json.loads(line)["key"])
        except ValueError:
            pytest.fail(f"{path}:{number} is not a whole record: {line[:120]!r}")
    return keys


def kept(store: GenerationStore, keys) -> list[str]:
    return [k for k in keys if k in store and store.get(k) is not None]


@pytest.fixture
def store(tmp_path):
    return GenerationStore(tmp_path / "generations" / "fp8.jsonl", CONTEXT)


def test_a_failed_append_is_cut_back_and_the_next_lands_on_a_line_of_its_own(store, tmp_path, monkeypatch):
    store.put("k1", "c", RESPONSE)
    disk = FullDisk(tmp_path, free=LINE // 2).install(monkeypatch.setattr)  # half a line fits
    with pytest.raises(OSError) as failed:
        store.put("k2", "c", RESPONSE)
    assert disk.failed, "the fault never fired"
    assert keys_on_disk(store.path) == ["k1"]
    assert kept(store, ["k1", "k2"]) == ["k1"]  # the response that could not be written is not kept
    assert str(store.path) in str(failed.value) and NO_SPACE in str(failed.value), str(failed.value)
    assert failed.value.errno == errno.ENOSPC

    disk.free = 10**6  # space comes back
    store.put("k3", "c", RESPONSE)
    assert keys_on_disk(store.path) == ["k1", "k3"] == kept(store, ["k1", "k2", "k3"])
    resumed = GenerationStore(store.path, CONTEXT)
    assert kept(resumed, ["k1", "k2", "k3"]) == ["k1", "k3"] and len(resumed) == 2


def test_space_that_comes_and_goes_leaves_the_file_and_the_store_agreeing(store, tmp_path, monkeypatch):
    disk = FullDisk(tmp_path).install(monkeypatch.setattr)
    keys, failures = [f"k{i}" for i in range(40)], 0
    for i, key in enumerate(keys):
        disk.base, disk.free = disk._used(), (i * 97) % (2 * LINE)  # from nothing to two lines' room
        try:
            store.put(key, "c", RESPONSE)
        except OSError as exc:
            failures += 1
            error = str(exc)
        assert keys_on_disk(store.path) == kept(store, keys), f"after put {i}"
        assert failures == 0 or (str(store.path) in error and NO_SPACE in error), error
    assert 10 < failures < 30  # both kinds happened
    assert kept(GenerationStore(store.path, CONTEXT), keys) == keys_on_disk(store.path)


def test_a_file_that_cannot_be_cut_back_takes_no_more_appends(store, tmp_path, monkeypatch):
    store.put("k1", "c", RESPONSE)
    disk = FullDisk(tmp_path, free=LINE // 2).install(monkeypatch.setattr)

    def cannot(*args):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "truncate", cannot)
    monkeypatch.setattr(os, "ftruncate", cannot)
    with pytest.raises(OSError) as failed:
        store.put("k2", "c", RESPONSE)
    torn = store.path.read_bytes()
    assert not torn.endswith(b"\n")  # half of k2 is on disk
    assert kept(store, ["k1", "k2"]) == ["k1"]
    assert str(store.path) in str(failed.value) and NO_SPACE in str(failed.value), str(failed.value)

    disk.free = 10**6  # space comes back, but the file ends in a torn line
    with pytest.raises(OSError) as refused:
        store.put("k3", "c", RESPONSE)
    assert str(store.path) in str(refused.value) and "no response is appended" in str(refused.value), str(refused.value)
    assert store.path.read_bytes() == torn and kept(store, ["k1", "k2", "k3"]) == ["k1"]

    monkeypatch.undo()  # the next session (a resume) cuts the torn line off and goes on
    resumed = GenerationStore(store.path, CONTEXT)
    assert kept(resumed, ["k1", "k2", "k3"]) == ["k1"]
    resumed.put("k4", "c", RESPONSE)
    assert keys_on_disk(store.path) == ["k1", "k4"]


@pytest.mark.parametrize("call", ["fdatasync", "fsync"])
def test_a_write_that_fails_only_when_synced_is_not_kept(store, monkeypatch, call):
    """Some filesystems (NFS, a failed write-back) report a lost write only at sync."""
    store.put("k1", "c", RESPONSE)

    def eio(fd):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, call, eio)
    if call == "fsync":
        monkeypatch.delattr(os, "fdatasync", raising=False)  # a system without fdatasync
    with pytest.raises(OSError) as failed:
        store.put("k2", "c", RESPONSE)
    assert str(store.path) in str(failed.value) and os.strerror(errno.EIO) in str(failed.value), str(failed.value)
    assert keys_on_disk(store.path) == ["k1"] == kept(store, ["k1", "k2"])


def test_a_file_that_cannot_be_opened_keeps_nothing_and_the_store_goes_on(store, monkeypatch):
    def full(real):
        def open_(path, *args, **kwargs):
            if not isinstance(path, int) and Path(path) == store.path:
                raise OSError(errno.ENOSPC, NO_SPACE, str(path))  # no inode left for a new file
            return real(path, *args, **kwargs)
        return open_

    monkeypatch.setattr(os, "open", full(os.open))
    monkeypatch.setattr(builtins, "open", full(builtins.open))
    with pytest.raises(OSError, match=NO_SPACE) as failed:
        store.put("k1", "c", RESPONSE)
    assert "k1" not in store and not store.path.exists()
    assert str(store.path) in str(failed.value)
    monkeypatch.undo()
    store.put("k2", "c", RESPONSE)
    assert keys_on_disk(store.path) == ["k2"]


# The callers: a generation pass and its cases (evals/run/generation_pass.py, evals/lmeval/model.py).

def full_between(disk: FullDisk, first: int, last: int | None):
    """A server hook: the disk is full (room for a third of a line) from the `first`-th
    request received to the `last`-th (None: for good). With one request in flight, each
    arrives after the previous response was kept, or failed to be."""
    received = {"n": 0}

    def delay(payload):
        received["n"] += 1
        if received["n"] == first:
            disk.base, disk.free = disk._used(), 200
        elif received["n"] == last:
            disk.free = 10**9
        return 0.0

    return delay


def test_a_response_the_disk_could_not_take_stops_the_pass_and_is_generated_again_once_space_is_back(tmp_path, monkeypatch):
    cases = [c for c in fp8_cases() if c.task.name == "aime24"][:2]
    store = GenerationStore(tmp_path / "generations" / "fp8.jsonl", {"model": "fake"})
    disk = FullDisk(tmp_path, free=10**9).install(monkeypatch.setattr)
    progress = Progress("fp8 generation pass", lambda line: None, interval=0.0)
    with Scripted(delay=full_between(disk, 4, 5)) as server:  # response 4 cannot be written
        # An answer that cannot be kept stops the pass: no more GPU time for answers a full disk would lose.
        with pytest.raises(OSError) as stopped:
            generation_pass(cases, Endpoint(server.url), store, {c.id: 40.0 for c in cases}, PoolSize(1),
                            progress=progress)
        assert str(store.path) in str(stopped.value) and NO_SPACE in str(stopped.value), str(stopped.value)
        assert len(server.received) == 4 and len(disk.failed) >= 1
        on_disk = keys_on_disk(store.path)
        assert progress.done == len(on_disk) == 3 and set(on_disk) == set(store._responses)  # progress counts what is on disk

        made_for = [json.loads(line)["case"] for line in store.path.read_text().splitlines()]
        for case in cases:  # each case sends what the pass did not keep, and it is kept now
            case_progress = Progress(case.id, lambda line: None, interval=0.0)
            result = run_case(case, Endpoint(server.url), store, case_progress)
            assert len(result.samples) == case.limit * case.repeats
            assert case_progress.from_pass == made_for.count(case.id), (case.id, case_progress.line())
    total = sum(c.limit * c.repeats for c in cases)
    on_disk = keys_on_disk(store.path)
    assert len(on_disk) == total and set(on_disk) == set(store._responses)
    resumed = GenerationStore(store.path, store.context)
    again = generation_pass(cases, Endpoint("http://127.0.0.1:9"), resumed, {c.id: 40.0 for c in cases},
                            PoolSize(1))
    assert (again.kept, again.sent) == (total, 0)  # a resume reads every kept line and sends nothing


def test_a_case_whose_response_cannot_be_kept_fails_naming_the_file(tmp_path, monkeypatch):
    cases = [c for c in fp8_cases() if c.task.name == "aime24"][:2]
    store = GenerationStore(tmp_path / "generations" / "fp8.jsonl", {"model": "fake"})
    disk = FullDisk(tmp_path, free=10**9).install(monkeypatch.setattr)
    with Scripted(delay=full_between(disk, 4, None)) as server:  # from response 4 on, for good
        with pytest.raises(OSError):
            generation_pass(cases, Endpoint(server.url), store, {c.id: 40.0 for c in cases}, PoolSize(1))
        for case in cases:
            with pytest.raises(OSError) as failed:  # it must not pass with its responses only in memory
                run_case(case, Endpoint(server.url), store)
            assert str(store.path) in str(failed.value) and NO_SPACE in str(failed.value), str(failed.value)
    assert keys_on_disk(store.path) == list(store._responses) and len(store) == 3  # responses 1-3


# The run's JSON files (evals/artifacts/jsonio.py, run_folder.py).

def sample_case(run: Path):
    """RunArtifacts.write_case's own code on a stand-in run and case."""
    sample = SimpleNamespace(as_data=lambda: {"item": "1", "response": "x" * 5000})
    result = SimpleNamespace(lm_eval_results={"results": {}}, summary=lambda: {"n": 1}, samples=[sample] * 20)
    run_folder.RunArtifacts.write_case(SimpleNamespace(dir=run), SimpleNamespace(id="fp8-aime24-think"), result)


WRITERS = {
    "write_json": ("report.json", lambda run: write_json(run / "report.json", {"rows": ["x" * 100] * 1000})),
    "manifest": ("manifest.json", lambda run: run_folder._locked_update(
        run / "manifest.json", lambda m: m.update(finished={f"case-{i}": "x" * 100 for i in range(1000)}))),
    "samples": ("fp8-aime24-think/samples.jsonl", sample_case),
    "ended": ("fp8-aime24-think/.ended", lambda run: run_folder.mark_ended(run, "fp8-aime24-think", "passed", "s" * 8000)),
}


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("fault", ["full", "sync"])
def test_a_json_file_that_cannot_be_written_is_left_as_it_was_and_named(tmp_path, monkeypatch, writer, fault):
    name, write = WRITERS[writer]
    run = tmp_path / "run"
    old = run / name
    old.parent.mkdir(parents=True)
    old.write_text('{"old": true}\n')
    if fault == "full":
        FullDisk(run, free=4096).install(monkeypatch.setattr)  # less than the new file
    else:  # its write-back fails (an I/O error, or a network filesystem's full disk)
        real_fsync = os.fsync

        def eio(fd):
            if old.name in os.readlink(f"/proc/self/fd/{fd}"):  # its temporary file, .NAME.XXXX.tmp
                raise OSError(errno.EIO, os.strerror(errno.EIO))
            real_fsync(fd)

        monkeypatch.setattr(os, "fsync", eio)
    with pytest.raises(OSError) as failed:
        write(run)
    reason = NO_SPACE if fault == "full" else os.strerror(errno.EIO)
    assert str(old) in str(failed.value) and reason in str(failed.value), str(failed.value)
    assert old.read_text() == '{"old": true}\n'  # no partial JSON, ever
    assert not [p.name for p in old.parent.iterdir() if p.name.endswith(".tmp")]  # no temporary file left


def test_write_json_still_replaces_a_file_whole(tmp_path):
    write_json(tmp_path / "a.json", {"x": 1})
    write_json(tmp_path / "a.json", {"x": 2})
    jsonio.write_jsonl(tmp_path / "b.jsonl", [{"y": 1}, {"y": 2}])
    assert read_json(tmp_path / "a.json") == {"x": 2}
    assert (tmp_path / "b.jsonl").read_text() == '{"y": 1}\n{"y": 2}\n'


# The run's hooks (evals/plugin/run_hooks.py): called as pytest calls them.

class Terminal:
    def __init__(self):
        self.lines: list[str] = []

    def section(self, title, **markup):
        self.lines.append(f"== {title} ==")

    def write_line(self, line, **markup):
        self.lines.append(line)


def test_the_hooks_report_a_full_disk_and_fail_the_run_instead_of_crashing(tmp_path, monkeypatch):
    run = tmp_path / "artifacts" / "20261206-120000-tiny"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text("{}")
    monkeypatch.setattr(run_hooks, "selection", lambda config: SimpleNamespace(run_dir=run, session="s1"))
    from evals.report import build

    monkeypatch.setattr(build, "build_report", lambda run_dir: {"cases": []})
    monkeypatch.setattr(build, "save_report", lambda report, out: {"json": write_json(out / "report.json", report)})
    hooks = run_hooks.RunHooks(SimpleNamespace(getoption=lambda name: False))
    FullDisk(run, names=(".ended", "report.json")).install(monkeypatch.setattr)

    report = SimpleNamespace(nodeid="evals/suite/test_matrix.py::test_case[fp8-aime24-think]", when="teardown",
                             outcome="passed")
    hooks.pytest_runtest_logreport(report)  # an INTERNALERROR if it raises
    session = SimpleNamespace(exitstatus=pytest.ExitCode.OK)
    hooks.pytest_sessionfinish(session)
    assert session.exitstatus == pytest.ExitCode.TESTS_FAILED  # something could not be written: the run fails
    terminal = Terminal()
    hooks.pytest_terminal_summary(terminal)
    text = "\n".join(terminal.lines)
    assert f"{run / 'fp8-aime24-think' / '.ended'}" in text and f"{run / 'report.json'}" in text, text
    assert text.count(NO_SPACE) >= 2, text
    assert not (run / "fp8-aime24-think" / ".ended").exists() and not (run / "report.json").exists()


def test_a_failed_run_keeps_its_exit_status(tmp_path, monkeypatch):
    run = tmp_path / "artifacts" / "run"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text("{}")
    monkeypatch.setattr(run_hooks, "selection", lambda config: SimpleNamespace(run_dir=run, session="s1"))
    FullDisk(run, names=(".ended",)).install(monkeypatch.setattr)
    hooks = run_hooks.RunHooks(SimpleNamespace(getoption=lambda name: True))  # --collect-only: no report
    hooks.pytest_runtest_logreport(SimpleNamespace(nodeid="e/t.py::test_drift[fp8]", when="teardown", outcome="failed"))
    session = SimpleNamespace(exitstatus=pytest.ExitCode.INTERRUPTED)
    hooks.pytest_sessionfinish(session)
    assert session.exitstatus == pytest.ExitCode.INTERRUPTED and hooks.unwritten


@pytest.mark.engine
def test_a_run_that_cannot_mark_its_cases_ended_names_the_files_and_fails(tiny_run, tmp_path):
    """A child `pytest evals --replay` whose `.ended` markers find the disk full
    (tests/faults.py `nospace:.ended`): no INTERNALERROR, the report still written, the
    files named at the end, exit status 1."""
    from tests.evals_run import COMMITTED_BASELINES, run_evals

    code, outcomes, left, output = run_evals(tmp_path, "nospace:.ended", "--replay", str(tiny_run),
                                             "-k", "bf16-aime24-think", env=COMMITTED_BASELINES)
    assert "INTERNALERROR" not in output, output[-3000:]
    assert "bf16-aime24-think" in outcomes and not left, output[-3000:]  # pytest ended normally: its JUnit report
    assert "files not written" in output and "/bf16-aime24-think/.ended: could not be written" in output \
        and NO_SPACE in output, output[-3000:]
    assert code == 1, output[-3000:]
    [replay] = (tmp_path / "artifacts").glob("*-replay")
    assert (replay / "report.json").exists() and not (replay / "bf16-aime24-think" / ".ended").exists()
