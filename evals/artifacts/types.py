"""The typed records of a run, as its files hold them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CaseResult:
    case_id: str
    identity: dict[str, Any]  # precision, task, mode, thinking: what the report groups by
    metrics: dict[str, dict[str, float]]  # metric -> {mean, stderr}
    primary: str
    n: int  # items
    k: int  # samples per item
    truncation_rate: float
    output_tokens: dict[str, float]  # mean, max
    generation_seconds: float | None  # first request of its generation (the model's pass) to its last response
    samples: list[dict] = field(repr=False)  # one per response
    lm_eval_results: dict[str, Any] = field(repr=False)

    def summary(self) -> dict[str, Any]:
        return {
            "case": self.case_id, **self.identity, "primary": self.primary, "n": self.n, "k": self.k,
            "metrics": self.metrics, "truncation_rate": self.truncation_rate, "output_tokens": self.output_tokens,
            "generation_seconds": self.generation_seconds,
        }
