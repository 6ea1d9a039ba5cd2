"""Samples per item where they inform: a run's (and a baseline's) samples of each item,
planned from what is known of the item before the run.

What a pooled test measures is the mean drop of its items' solve rates. An item's
estimate of its rate has variance p(1-p)/k, and each of its samples costs its expected
output tokens t: the variance of the mean drop is least at a given cost when an item's
samples are proportional to sqrt(p(1-p)/t) (Neyman's allocation for a stratified mean,
with each stratum's cost). An item always or never solved (p(1-p) near 0) tells almost
nothing, and the never-solved ones are the most expensive (they think to the budget):
they get the floor (a share of the case's repeats, config `planning.allocation`), which still sees damage on them (`bench/bench_gate.py` measures
power against an "easy items damaged" change). The baseline keeps the profile's ratio of
baseline to run samples on every item.

The scale is the least for which every pool of the profile detects a drop of its margin
with the planned power (evals/gate/sensitivity.py, at the test's alpha), each item taking
the most any of its pools asks. Rates come from another precision's committed baseline of
the same task and mode (evals/planning/plan_source.py says which): its samples are
independent of the baseline the run is compared with, so the plan is fixed before either
is looked at and the gate's exact test stays exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from evals.gate import noise, sensitivity


@dataclass(frozen=True)
class Allocation:
    """Per item (as rows of item sets, like a Design's rates): samples in a run and in a baseline."""

    run_k: np.ndarray
    baseline_k: np.ndarray


def weights(rates: np.ndarray, tokens: np.ndarray, surest: float = 1.0) -> np.ndarray:
    """Neyman weights sqrt(p(1-p)/t), scaled to a mean of 1 in each item set (row); no
    item taken as surer than `surest` (or its complement)."""
    rates, tokens = np.atleast_2d(rates), np.broadcast_to(np.atleast_2d(tokens), np.atleast_2d(rates).shape)
    raw = np.sqrt(np.maximum(rates * (1 - rates), surest * (1 - surest)) / tokens)
    return raw / raw.mean(axis=-1, keepdims=True)


def at_scale(weight: np.ndarray, scale: float, ratio: np.ndarray, floor: np.ndarray, most: int) -> Allocation:
    """Samples per item at `scale` samples for an item of mean weight, at least the item's
    `floor`; the baseline's are `ratio` (baseline over run samples of the item's case)
    times the run's."""
    run_k = np.clip(np.ceil(scale * weight), floor, most)
    return Allocation(run_k.astype(np.int64), np.ceil(run_k * ratio).astype(np.int64))


def least_scale(weight: np.ndarray, ratio: np.ndarray, rates: np.ndarray, drop: float, alpha: float, power: float,
                floor: np.ndarray, most: int) -> float | None:
    """The least scale at which a test of these items detects an expected drop of `drop`
    with `power`; None if not even every item at `most` does."""
    design = sensitivity.Design.of(rates, 1, 1)
    shift = np.array([noise.shift_for_drop(row, drop) for row in design.rates])

    def reached(scale: float) -> float:
        plan = at_scale(weight, scale, ratio, floor, most)
        return sensitivity.power_at_shift(design.with_k(ref_k=plan.baseline_k, cur_k=plan.run_k), shift, alpha) - power

    top = float(most / max(weight.min(), 1e-9))  # every item at `most`
    if reached(top) < 0:
        return None
    if reached(0.0) >= 0:
        return 0.0
    return float(optimize.brentq(reached, 0.0, top, xtol=0.05))


@dataclass(frozen=True)
class Goal:
    """A test the plan must serve: which items (a mask over the plan's items), the drop it
    must detect, and its alpha."""

    name: str
    items: np.ndarray  # bool, per item
    drop: float
    alpha: float


def allocate(rates: np.ndarray, tokens: np.ndarray, ratio: np.ndarray, goals: list[Goal], power: float,
             floor: np.ndarray, most: int, surest: float = 1.0) -> tuple[Allocation, dict[str, float | None]]:
    """Per item the most samples any goal asks for (each goal at its least scale over its own
    items, Neyman-weighted among them); and per goal the scale it needed (None: out of reach
    within `most` samples per item, then its items get `most`)."""
    rates = np.atleast_2d(rates)
    tokens = np.broadcast_to(np.atleast_2d(tokens), rates.shape)
    ratio = np.broadcast_to(np.asarray(ratio, float), rates.shape[-1:])
    floor = np.broadcast_to(np.asarray(floor, np.int64), rates.shape[-1:])
    run_k = np.broadcast_to(floor, rates.shape).copy()
    scales: dict[str, float | None] = {}
    for goal in goals:
        mask = goal.items
        weight = weights(rates[:, mask], tokens[:, mask], surest)
        scale = least_scale(weight, ratio[mask], rates[:, mask], goal.drop, goal.alpha, power, floor[mask], most)
        scales[goal.name] = scale
        plan = at_scale(weight, scale if scale is not None else math.inf, ratio[mask], floor[mask], most)
        run_k[:, mask] = np.maximum(run_k[:, mask], plan.run_k)
    baseline_k = np.ceil(run_k * ratio).astype(np.int64)
    return Allocation(run_k, baseline_k), scales
