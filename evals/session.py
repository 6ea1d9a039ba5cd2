"""One pytest session's matrix run: artifacts, up-front checks, and servers."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from evals import engine as engines
from evals import stats
from evals.artifacts import RunArtifacts
from evals.config import Case, Model
from evals.preflight import check_cases


def server_args(case: Case) -> dict:
    """vLLM arguments of a case's model: the profile's, plus a checkpoint's dtype and revision."""
    if case.model.is_tiny:
        return dict(case.server)
    return {"dtype": case.model.dtype, "revision": case.model.revision, **case.server}


class MatrixRun:
    def __init__(self, chosen: dict, config):
        self.matrix, self.profile = chosen["matrix"], chosen["profile"]
        self.cases: list[Case] = chosen["cases"]
        self.remote: dict[str, str] = chosen["remote"]
        self.ready_timeout = config.getoption("server_timeout")
        self.artifacts_root = Path(config.getoption("artifacts"))
        self.artifacts: RunArtifacts | None = None
        self.alpha = config.getoption("gate_alpha") or stats.DEFAULT_ALPHA
        self._min_effect = config.getoption("gate_min_effect")
        self.records: dict[str, dict] = {}  # case id -> baseline record of this run

    def __enter__(self) -> "MatrixRun":
        self.artifacts = RunArtifacts(self.artifacts_root, self.matrix, self.profile, self.cases)
        self._preflight()
        return self

    def __exit__(self, *exc) -> None:
        engines.stop_all()

    def min_effect(self, case: Case) -> float:
        if self._min_effect is not None:
            return self._min_effect
        return case.task.min_effect if case.task.min_effect is not None else stats.DEFAULT_MIN_EFFECT

    def _local_models(self) -> dict[str, Case]:
        """precision -> one of its cases, for precisions this session serves itself."""
        gpu_ok = engines.gpu_status(1)[0]
        return {c.precision: c for c in self.cases if c.precision not in self.remote and (gpu_ok or not c.gpu)}

    def _preflight(self) -> None:
        """Before any engine starts: every prompt of every case fits, with its system instruction."""
        from transformers import AutoTokenizer

        problems = []
        for precision, case in self._local_models().items():
            path, revision = self.model_path(case.model)
            tokenizer = AutoTokenizer.from_pretrained(path, revision=revision)
            max_len = case.server.get("max_model_len") or tokenizer.model_max_length
            problems += check_cases([c for c in self.cases if c.precision == precision], tokenizer, max_len)
        if problems:
            listed = "\n".join(f"  {p}" for p in problems[:30])
            more = f"\n  ... and {len(problems) - 30} more" if len(problems) > 30 else ""
            pytest.fail(f"pre-flight check failed for {len(problems)} prompt(s):\n{listed}{more}", pytrace=False)

    def model_path(self, model: Model) -> tuple[str, str | None]:
        if model.is_tiny:
            from evals.tiny.build import ensure_built

            return str(ensure_built(model.tiny, self.matrix)), None
        return model.model, model.revision

    @contextlib.contextmanager
    def server(self, precision: str):
        case = next(c for c in self.cases if c.precision == precision)
        if precision in self.remote:
            server = engines.RemoteServer(self.remote[precision])
            self.artifacts.record_model(precision, url=server.url, served_name=server.served_name)
            yield server
            return
        path, _ = self.model_path(case.model)
        args = server_args(case)
        env = {} if case.gpu else engines.cpu_env(args)
        server = engines.VllmServer(
            path, case.model.name, args, self.artifacts.server_log(precision), env=env, ready_timeout=self.ready_timeout
        )
        self.artifacts.record_model(precision, path=path, command=server.command(), env=env)
        with server:
            yield server
