"""The gate on simulated runs of the full profile (bench/gate_simulation.py, the noise model
of evals/gate/noise.py), with fixed seeds: a whole run under no change fails with at most
alpha; at the profile's defaults the pooled tests detect the drops they were planned for.
`python bench/bench_gate.py` measures the same with more runs."""

import pytest
from scipy import stats

from bench.gate_simulation import Suite, false_alarms, power
from evals.config.matrix import load_matrix
from evals.gate.decision import judge_change


@pytest.fixture(scope="module")
def suite():
    return Suite(load_matrix(), "full")


def test_a_whole_run_under_no_change_fails_any_test_with_at_most_alpha(suite):
    # 200 runs cannot measure a rate of 0.01 to its third digit (bench/bench_gate.py runs
    # 2,000): the count of failed runs must be one that a rate of alpha explains (99%).
    runs, alpha = 200, suite.policy.settings.alpha
    outcome = false_alarms(suite, runs=runs, seed=11)
    assert outcome.failed_runs <= stats.binom.ppf(0.99, runs, alpha), outcome.fails


def test_each_test_is_exact_its_false_alarms_stay_within_its_alpha(suite):
    # One pooled test at a coarse alpha, so that 1,000 runs measure its rate well.
    import numpy as np

    rng = np.random.default_rng(21)
    cases = suite.pool_cases("fp8", "all")
    fails = sum(judge_change(suite.pooled_strata(cases, suite.draw(rng, None, {c.id for c in cases})), 0.05, 0.03,
                             0.95, explain=False).verdict == "regression" for _ in range(1000))
    assert fails / 1000 <= 0.05


@pytest.mark.parametrize("pool,drop", [("aime_thinking", 0.05), ("math500", 0.03)])
def test_defaults_detect_the_pools_margin_with_power_090(suite, pool, drop):
    assert suite.policy.pool_margin(suite.matrix.pools[pool]) == drop
    assert power(suite, suite.pool_cases("fp8", pool), drop, runs=400, seed=12) >= 0.9


def test_the_pool_sees_a_spread_out_drop_that_no_case_can(suite):
    cases = suite.pool_cases("fp8", "aime_thinking")
    pooled = power(suite, cases, 0.05, runs=200, seed=13)
    alone = power(suite, cases[:1], 0.05, runs=200, seed=14)
    assert pooled >= 0.9 and alone <= 0.3
