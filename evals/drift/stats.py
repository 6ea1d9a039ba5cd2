"""Drift statistics of one precision over many teacher-forced responses.

Tokens of one response are not independent, so every interval resamples whole responses
(a cluster bootstrap), and means are token-weighted: the mean KLD is the total KLD over the
total number of tokens of the resampled responses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from evals.drift.tokens import TokenDrift

CONFIDENCE = 0.95
RESAMPLES = 2000


@dataclass(frozen=True)
class Sequences:
    """Per-token drift of several responses, kept as one array per response."""

    kld: list[np.ndarray]
    top1: list[np.ndarray]
    delta: list[np.ndarray]

    @classmethod
    def of(cls, responses: Sequence[Sequence[TokenDrift]]) -> "Sequences":
        kept = [r for r in responses if len(r)]
        return cls([np.array([t.kld for t in r]) for r in kept], [np.array([t.top1_agrees for t in r], float) for r in kept],
                   [np.abs(np.array([t.delta_logprob for t in r])) for r in kept])

    @property
    def tokens(self) -> int:
        return int(sum(len(k) for k in self.kld))


def _weighted_mean_interval(values: list[np.ndarray], seed: int) -> tuple[float, float, float]:
    sums = np.array([v.sum() for v in values])
    counts = np.array([len(v) for v in values], float)
    low = mean_lower_bound(sums, counts, (1 + CONFIDENCE) / 2, seed)
    high = -mean_lower_bound(-sums, counts, (1 + CONFIDENCE) / 2, seed)
    return float(sums.sum() / counts.sum()), low, high


def summarize(sequences: Sequences, seed: int = 0) -> dict:
    """Mean KLD, its 99th and 99.9th percentiles, top-1 agreement and mean |delta logprob|,
    each mean with a 95% interval over responses; None for no tokens."""
    if not sequences.tokens:
        return {"responses": 0, "tokens": 0}
    every = np.concatenate(sequences.kld)
    out = {"responses": len(sequences.kld), "tokens": sequences.tokens}
    for name, values in (("mean_kld", sequences.kld), ("top1_agreement", sequences.top1), ("mean_abs_delta_logprob", sequences.delta)):
        mean, low, high = _weighted_mean_interval(values, seed)
        out[name] = {"value": mean, "interval": [low, high]}
    out["p99_kld"] = float(np.quantile(every, 0.99))
    out["p999_kld"] = float(np.quantile(every, 0.999))
    return out


def mean_lower_bound(sums: np.ndarray, counts: np.ndarray, confidence: float, seed: int = 0) -> float:
    """One-sided lower confidence bound of a token-weighted mean (per-response sums and
    token counts), resampling whole responses."""
    picks = np.random.default_rng(seed).integers(0, len(sums), size=(RESAMPLES, len(sums)))
    return float(np.quantile(sums[picks].sum(axis=1) / counts[picks].sum(axis=1), 1 - confidence))
