"""The gate on simulated runs of the full profile (bench/planned_simulation.py, the noise
model of evals/gate/noise.py: item rates spread over 0..1, independent baseline and run
draws, changes that flip items both ways), in both designs, with fixed seeds: a whole
planned run under no change fails with at most alpha; the exact test stays exact when
samples per item are planned from another precision's baseline; the pools detect what
they are planned for; a planned run under no change costs less. `python
bench/bench_gate.py` measures the same with many more runs."""

import numpy as np
import pytest
from scipy import stats

from bench.planned_simulation import Change, Simulation
from evals.config.matrix import load_matrix
from evals.gate.stats import Strata, drop_test


@pytest.fixture(scope="module")
def matrix():
    return load_matrix()


def test_a_whole_planned_run_under_no_change_fails_any_test_with_at_most_alpha(matrix):
    # 100 runs cannot measure a rate of 0.01 (the bench runs 2,000): the count of failed
    # runs must be one that a rate of alpha explains (99%); and the run costs less.
    sim = Simulation(matrix, "full", planned=True)
    rng = np.random.default_rng(11)
    runs, alpha = 100, sim.policy.settings.alpha
    outcomes = [sim.run(rng) for _ in range(runs)]
    failed = sum(any(o.failed.values()) for o in outcomes)
    assert failed <= stats.binom.ppf(0.99, runs, alpha), [o.failed for o in outcomes if any(o.failed.values())]
    drawn = sum(sum(o.hours.values()) for o in outcomes)
    uniform = sum(sum(o.uniform_hours.values()) for o in outcomes)
    assert drawn < 0.75 * uniform
    ended_at = [look for o in outcomes for test, (how, look) in o.ended.items() if how == "settled"]
    assert ended_at and min(ended_at) == 1  # tests settle before the last look


def test_the_exact_test_stays_exact_when_samples_are_planned_from_another_baseline(matrix):
    # One pooled test at a coarse alpha, so that 600 runs measure its rate: its false alarms
    # at 0.05 stay within 0.05 although each item's k came from (another) baseline's counts.
    sim = Simulation(matrix, "full", planned=True, only={"pooled fp8-aime_thinking"})
    test = sim.tests[0]
    rng = np.random.default_rng(21)
    fails = 0
    for _ in range(600):
        _, current, planned_k, _, baseline = sim.counts(rng)
        parts = {c: Strata.of([str(i) for i in range(sim.n[c])], baseline[c], planned_k[c][1],
                              rng.binomial(planned_k[c][0], current[c]), planned_k[c][0]) for c in test.cases}
        fails += drop_test(Strata.concat(parts)).p_drop < 0.05
    assert fails / 600 <= 0.05 + 2 * (0.05 * 0.95 / 600) ** 0.5


@pytest.mark.parametrize("pool,drop", [("aime_thinking", 0.05), ("math500", 0.03)])
def test_the_planned_design_detects_the_pools_margin(matrix, pool, drop):
    test_id = f"pooled fp8-{pool}"
    sim = Simulation(matrix, "full", planned=True, only={test_id})
    assert sim.tests[0].margin == drop
    rng = np.random.default_rng(12)
    hits = sum(sim.run(rng, Change(frozenset(sim.tests[0].cases), drop)).failed[test_id] for _ in range(150))
    # planned at power 0.92; the bench measures >= 0.9 with 1,000 runs
    assert hits / 150 >= 0.85


def test_the_pool_sees_a_spread_out_drop_that_no_case_can(matrix):
    pool = Simulation(matrix, "full", planned=False, only={"pooled fp8-aime_thinking"})
    cases = frozenset(pool.tests[0].cases)
    one = sorted(cases)[0]
    alone = Simulation(matrix, "full", planned=False, only={f"case {one}"})
    rng = np.random.default_rng(13)
    pooled = sum(pool.run(rng, Change(cases, 0.05)).failed["pooled fp8-aime_thinking"] for _ in range(100))
    single = sum(alone.run(rng, Change(frozenset({one}), 0.05)).failed[f"case {one}"] for _ in range(100))
    assert pooled >= 90 and single <= 30
