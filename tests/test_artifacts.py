"""A run's folder under misuse: unique names, `last` by the manifest, damaged files named,
modes that follow the umask."""

import json
import os
import stat
import threading

import pytest

from evals.artifacts import run_folder as artifacts
from evals.artifacts.jsonio import DamagedFile, read_json, write_json
from evals.artifacts.run_folder import latest_run, new_run_dir, read_manifest


def make_run(root, name, started, **extra):
    (root / name).mkdir(parents=True)
    manifest = {"profile": "tiny", "cases": ["bf16-aime24-think"], "started": started, **extra}
    (root / name / "manifest.json").write_text(json.dumps(manifest))
    return root / name


def test_runs_started_in_the_same_second_get_their_own_folders(tmp_path, monkeypatch):
    monkeypatch.setattr(artifacts.time, "strftime", lambda fmt: fmt.replace("%Y%m%d-%H%M%S", "20261127-101500"))
    made, barrier = [], threading.Barrier(8)

    def start():
        barrier.wait()
        made.append(new_run_dir(tmp_path, "tiny"))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(made)) == 8 and all(p.is_dir() for p in made)
    assert sorted(p.name for p in made) == sorted(["20261127-101500-tiny"] + [f"20261127-101500-tiny-{n}" for n in range(2, 9)])
    assert new_run_dir(tmp_path, "tiny", "-replay").name == "20261127-101500-tiny-replay"


def test_last_is_the_run_that_started_last_by_its_manifest(tmp_path):
    newest = make_run(tmp_path, "20261127-090000-tiny", "2026-11-27T09:00:00.250000+00:00")
    make_run(tmp_path, "20261127-090000-tiny-2", "2026-11-27T09:00:00.100000+00:00")
    make_run(tmp_path, "zz-old-copy", "2020-01-01T00:00:00+0000")  # sorts last by name
    make_run(tmp_path, "replay", "2026-11-28T00:00:00+00:00", replay_of="elsewhere")
    assert latest_run(tmp_path) == newest
    assert latest_run(tmp_path, replays=True) == tmp_path / "replay"


def test_last_skips_and_names_unreadable_manifests(tmp_path):
    good = make_run(tmp_path, "20261127-090000-tiny", "2026-11-27T09:00:00+00:00")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "manifest.json").write_text('{"profile": "tiny", "cas')
    make_run(tmp_path, "no-start", None)
    with pytest.warns(UserWarning, match=r"skipped 2 run folder\(s\).*broken/manifest\.json: not valid JSON.*no-start"):
        assert latest_run(tmp_path) == good
    (good / "manifest.json").write_text("[]")
    with pytest.warns(UserWarning), pytest.raises(FileNotFoundError, match="no run with a readable manifest.json"):
        latest_run(tmp_path)


@pytest.mark.parametrize("content, message", [
    ('{"cases": []}', r"field 'profile' must name the run's profile, got None"),
    ('{"profile": "tiny"}', r"field 'cases' must list the run's case ids"),
    ('{"profile": "tiny", "cases": [1]}', r"field 'cases' must list the run's case ids"),
    ('["tiny"]', r"expected a JSON object, got list"),
    ('{"profile": "ti', r"not valid JSON"),
    ("[" * 100000 + "]" * 100000, r"not valid JSON"),
])
def test_a_damaged_manifest_is_named(tmp_path, content, message):
    (tmp_path / "manifest.json").write_text(content)
    with pytest.raises(DamagedFile, match=rf"{tmp_path}/manifest\.json: .*{message}"):
        read_manifest(tmp_path)


def test_non_utf8_is_named(tmp_path):
    (tmp_path / "summary.json").write_bytes(b'{"a": "\xff"}')
    with pytest.raises(DamagedFile, match=rf"{tmp_path}/summary\.json: cannot be read"):
        read_json(tmp_path / "summary.json")


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_artifacts_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        write_json(tmp_path / "a.json", {"x": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == mode


@pytest.mark.parametrize("when", ["writing", "after the replace"])
def test_a_ctrl_c_while_writing_stays_a_ctrl_c_and_leaves_no_half_file(tmp_path, monkeypatch, when):
    from scorers import jsonl

    write_json(tmp_path / "a.json", {"x": 1})
    if when == "writing":
        def write(out):
            out.write('{"x": ')
            raise KeyboardInterrupt
    else:
        real_replace = os.replace

        def replace(src, dst):
            real_replace(src, dst)
            raise KeyboardInterrupt  # the signal lands just after the rename

        monkeypatch.setattr(jsonl.os, "replace", replace)
        write = lambda out: out.write('{"x": 2}')  # noqa: E731
    with pytest.raises(KeyboardInterrupt):
        jsonl.write_atomic(tmp_path / "a.json", write)
    assert read_json(tmp_path / "a.json") == {"x": 1 if when == "writing" else 2}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
