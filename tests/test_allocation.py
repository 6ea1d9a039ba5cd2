"""Samples per item where they inform (evals/planning/allocation.py) and the two designs
(evals/planning/designs.py, `python -m evals plan --estimate --json`)."""

import json

import numpy as np
import pytest

from evals.__main__ import main
from evals.gate import noise, sensitivity
from evals.planning.allocation import Goal, allocate, weights


def test_items_that_always_or_never_solve_get_the_floor_and_long_ones_fewer():
    rates = np.array([0.999, 0.5, 0.5, 0.001, 0.3])
    tokens = np.array([1000, 1000, 4000, 1000, 1000])
    w = weights(rates, tokens)[0]
    assert w[1] > w[2] and w[1] > w[4] > w[0] and w[0] == pytest.approx(w[3], rel=1e-6)
    plan, scales = allocate(rates, tokens, 3.0, [Goal("all", np.ones(5, bool), 0.3, 0.05)], 0.9, np.full(5, 2), 64)
    assert plan.run_k.min() >= 2 and plan.run_k.max() <= 64
    assert plan.run_k[0, 0] == plan.run_k[0, 3] == 2 and plan.run_k[0, 1] > plan.run_k[0, 2]
    assert np.all(plan.baseline_k == np.ceil(plan.run_k * 3.0))


def test_every_goal_reaches_its_power_and_each_item_takes_the_most_any_goal_asks():
    rng = np.random.default_rng(5)
    rates = noise.random_item_rates(rng, 0.7, 120)
    tokens = 1000 + 3000 * (1 - rates)
    first = np.zeros(120, bool)
    first[:60] = True
    goals = [Goal("first", first, 0.08, 4e-4), Goal("all", np.ones(120, bool), 0.05, 4e-4)]
    plan, scales = allocate(rates, tokens, 3.6, goals, 0.92, np.full(120, 2), 64)
    for goal in goals:
        design = sensitivity.Design.of(rates[goal.items], plan.baseline_k[0, goal.items], plan.run_k[0, goal.items])
        assert sensitivity.power(design, goal.drop, goal.alpha) >= 0.92 - 1e-3, goal.name
    alone, _ = allocate(rates, tokens, 3.6, goals[:1], 0.92, np.full(120, 2), 64)
    assert np.all(plan.run_k >= alone.run_k)
    # the same power for fewer tokens than every item at one k
    uniform_k = sensitivity.run_k_for(sensitivity.Design.of(rates, 54, 15), 0.05, 4e-4, 0.92)
    assert uniform_k is not None and np.sum(plan.run_k * tokens) < np.sum(uniform_k * tokens)


def test_an_unreachable_goal_says_so_and_its_items_get_the_most():
    rates = np.full(10, 0.5)
    plan, scales = allocate(rates, np.ones(10), 1.0, [Goal("tiny", np.ones(10, bool), 0.01, 1e-6)], 0.9, np.full(10, 1), 8)
    assert scales["tiny"] is None and np.all(plan.run_k == 8)


def test_the_planner_prints_both_designs_per_precision(capsys):
    assert main(["plan", "--profile", "full", "--estimate", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"bf16", "fp8", "nvfp4"}
    for precision, designs in data.items():
        uniform, planned = designs["uniform"], designs["planned"]
        for key in ("gpu_hours_per_run", "gpu_hours_per_baseline"):
            assert 0 < planned[key] < uniform[key], (precision, key)
        assert planned["gpu_hours_per_run"] <= planned["gpu_hours_per_run_at_most"] <= uniform["gpu_hours_per_run"] + 1e-9
        # the same goals: every pool detects its margin (5 points AIME, 3 points elsewhere) with power 0.9
        margins = {"all": 0.03, "aime_thinking": 0.05, "aime_non_thinking": 0.05, "math500": 0.03}
        for pool, detects in planned["detects_with_power_0.9"].items():
            assert detects is not None and detects <= margins[pool], (precision, pool)
