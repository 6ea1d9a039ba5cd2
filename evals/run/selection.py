"""What a session runs, as the pytest plugin hands it over (evals/plugin/selection.py
reads the command line into it): the profile's cases this session runs and those of
the whole run, where the artifacts go, which servers are remote, what a resume or
replay continues, how the gate judges, and the tests scheduled after -k/-m."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from evals.config.matrix import REFERENCE_PRECISION, Case, Matrix
from evals.drift.reference import StoredReference
from evals.engine.client import STALL_TIMEOUT_S
from evals.engine.server import READY_TIMEOUT_S
from evals.gate.policy import Policy
from evals.run.progress import DEFAULT_INTERVAL_S


def drift_test(precision: str) -> str:
    """A precision's drift test, as the run names it beside its cases' ids ("drift-fp8")."""
    return f"drift-{precision}"


@dataclass(frozen=True)
class Worker:
    """An xdist worker of the run: its name, its device slot (given by the controller) and
    the environment that pins its servers to that slot's GPUs (CUDA_VISIBLE_DEVICES)."""

    name: str
    slot: int
    devices: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Selection:
    matrix: Matrix
    profile: str
    cases: tuple[Case, ...]  # this session's
    run_cases: tuple[Case, ...]  # the run's: a resumed run's all, though this session narrows them
    limit: int | None
    remote: Mapping[str, tuple[str, ...]]  # precision -> URLs of its servers that are already running (--vllm-url)
    resume: Path | None
    replay: Path | None
    replayed: dict | None  # the replayed run's manifest
    policy: Policy
    drift_reference: StoredReference | None  # when the run does not run the reference precision
    run_dir: Path
    session: str  # this session's id in the run folder (xdist workers share the controller's)
    scheduled: frozenset[str] = frozenset()  # the tests this session runs (case ids, drift_test ids), after -k/-m
    worker: Worker | None = None  # None: no xdist
    ready_timeout: float = READY_TIMEOUT_S
    progress_interval: float = DEFAULT_INTERVAL_S
    stall_timeout: float = STALL_TIMEOUT_S  # --stall-timeout: every pool of the session (evals/engine/client.py)
    launch_ahead: bool = True  # CPU models: start every server at the session's start
    snapshot_update: bool = False
    replace_baselines: bool = False  # --replace-baselines: a --limit'ed baseline run may shrink the committed ones
    smoke: bool = False  # --smoke: a few items, one sample each, baselines of its own in the run folder
    plans: Mapping[str, dict] = field(default_factory=dict)  # precision -> its samples per item (evals/run/plans.py)

    def first_case(self, precision: str) -> Case:
        return next(c for c in self.cases if c.precision == precision)

    def scheduled_cases(self, precision: str) -> list[Case]:
        """The precision's cases this session runs."""
        return [c for c in self.cases if c.precision == precision and c.id in self.scheduled]

    @property
    def runs_reference(self) -> bool:
        """Whether the run (not only this session) runs the reference precision."""
        return any(c.precision == REFERENCE_PRECISION for c in self.run_cases)

    @property
    def seed(self) -> int:
        """The run's seed offset (--seed): recorded in the manifest, not in any fingerprint."""
        return self.cases[0].seed if self.cases else 0

    @property
    def baseline(self) -> bool:
        """Whether this run makes baselines (--snapshot-update, or a replay of a baseline run)."""
        return any(c.baseline for c in self.cases)
