"""Metric names -> scorer calls, and the per-task metric sets of metrics.toml."""

from __future__ import annotations

import fnmatch
import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from scorers.exact_match import exact_match
from scorers.integer_match import AIME_RANGE, POLICIES, integer_match
from scorers.math_equiv import math_equiv
from scorers.verdict import Verdict

METRICS_FILE = Path(__file__).with_name("metrics.toml")
_TASK_KEYS = {"metrics", "primary", "primary_by_mode", "integer_range", "names"}

Scorer = Callable[[str, str], Verdict]


class ConfigError(ValueError):
    """A config is wrong; the message names the file and key. The project's one config
    error: evals re-exports it (evals.config.matrix.ConfigError) for the matrix config and
    the task YAMLs, so a metrics.toml error is caught where theirs are."""


@dataclass(frozen=True)
class TaskMetrics:
    kind: str  # "aime" or "math"
    metrics: tuple[str, ...]
    primary: str
    primary_by_mode: dict[str, str] = field(default_factory=dict)
    integer_range: tuple[int, int] = AIME_RANGE
    names: tuple[str, ...] = ()

    def primary_for(self, mode: str | None) -> str:
        return self.primary_by_mode.get(mode, self.primary) if mode else self.primary

    def scorers(self) -> dict[str, Scorer]:
        return {name: metric_scorer(name, self.kind, self.integer_range) for name in self.metrics}


def metric_scorer(name: str, kind: str, integer_range: tuple[int, int] = AIME_RANGE) -> Scorer:
    if name == "exact_match":
        return functools.partial(exact_match, task=kind)
    if name == "math_equiv":
        return math_equiv
    if name.startswith("integer_match[") and name.endswith("]"):
        policy = name[len("integer_match[") : -1]
        if policy in POLICIES:
            return functools.partial(integer_match, policy=policy, valid=integer_range)
    raise ConfigError(f"unknown metric {name!r}")


@functools.cache
def load_task_metrics(path: Path = METRICS_FILE) -> dict[str, TaskMetrics]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    tasks = {}
    for kind, table in raw.items():
        where = f"{path}: [{kind}]"
        unknown = set(table) - _TASK_KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_TASK_KEYS)}")
        for key in ("metrics", "primary"):
            if key not in table:
                raise ConfigError(f"{where}: missing key {key!r}")
        metrics = tuple(table["metrics"])
        by_mode = dict(table.get("primary_by_mode", {}))
        for name in (*metrics, table["primary"], *by_mode.values()):
            try:
                metric_scorer(name, kind)
            except ConfigError as exc:
                raise ConfigError(f"{where}: {exc}") from None
        for key, name in [("primary", table["primary"])] + [(f"primary_by_mode.{m}", n) for m, n in by_mode.items()]:
            if name not in metrics:
                raise ConfigError(f"{where}: {key} {name!r} is not in its metrics")
        low_high = table.get("integer_range", list(AIME_RANGE))
        if len(low_high) != 2 or low_high[0] > low_high[1]:
            raise ConfigError(f"{where}: integer_range must be [low, high], got {low_high}")
        tasks[kind] = TaskMetrics(
            kind, metrics, table["primary"], by_mode, tuple(low_high), tuple(table.get("names", ()))
        )
    return tasks


def task_kind_for(name: str) -> str | None:
    """The kind ("aime", "math") whose `names` patterns match a task or file name."""
    for kind, task in load_task_metrics().items():
        if any(fnmatch.fnmatch(name, pattern) for pattern in task.names):
            return kind
    return None
