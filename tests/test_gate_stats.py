"""The gate's statistics and decision rule: exact tests, bounds, intervals, power, the
alpha split; and on simulated runs of the noise model, its false alarms and power."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from evals.config.matrix import TEST_KINDS, load_matrix
from evals.gate import noise, sensitivity
from evals.gate.decision import judge_change, judge_recovery
from evals.gate.policy import Policy
from evals.gate.stats import Strata, drop_size, drop_test, recovery, unpaired


def one_sample(reference: str, current: str) -> Strata:
    """Strata of k=1 items from strings of 0/1."""
    return Strata.of([f"i{n:03d}" for n in range(len(reference))], [int(c) for c in reference], 1,
                     [int(c) for c in current], 1)


def brute_force_p(strata: Strata) -> float:
    """P(reference total >= observed) by plain convolution of the strata's hypergeometrics."""
    pmf, offset = np.ones(1), 0
    for a, K, c, k in zip(strata.ref_correct, strata.ref_k, strata.cur_correct, strata.cur_k):
        m = a + c
        lo, hi = max(0, m - k), min(K, m)
        pmf = np.convolve(pmf, scipy_stats.hypergeom.pmf(np.arange(lo, hi + 1), K + k, m, K))
        offset += lo
    return float(pmf[strata.ref_correct.sum() - offset:].sum())


@pytest.mark.parametrize("worse,better", [(6, 0), (6, 1), (3, 3), (0, 4), (12, 2)])
def test_one_sample_per_item_is_the_exact_one_sided_mcnemar_test(worse, better):
    reference = "1" * worse + "0" * better + "1" * 10 + "0" * 10
    current = "0" * worse + "1" * better + "1" * 10 + "0" * 10
    result = drop_test(one_sample(reference, current))
    discordant = worse + better
    assert result.p_drop == pytest.approx(scipy_stats.binomtest(worse, discordant, 0.5, alternative="greater").pvalue)
    assert result.p_rise == pytest.approx(scipy_stats.binomtest(worse, discordant, 0.5, alternative="less").pvalue)
    assert result.informative == discordant


def test_baselines_with_more_samples_than_the_run_are_tested_exactly():
    rng = np.random.default_rng(7)
    rates = noise.random_item_rates(rng, 0.7, 60)
    strata = Strata.of([str(i) for i in range(60)], noise.draw(rng, rates, 32), 32, noise.draw(rng, rates * 0.8, 4), 4)
    assert drop_test(strata).p_drop == pytest.approx(brute_force_p(strata), rel=1e-9, abs=1e-15)  # the FFT path
    small = Strata.of(["a", "b", "c"], [3, 5, 1], [4, 8, 2], [0, 1, 1], [1, 2, 1])
    assert drop_test(small).p_drop == pytest.approx(brute_force_p(small), rel=1e-12)  # the direct path


def test_no_informative_item_means_no_evidence():
    result = drop_test(one_sample("1100", "1100"))
    assert result.p_drop == 1.0 and result.p_rise == 1.0 and result.informative == 0


def test_counts_decide_a_drop_of_exactly_three_items_at_every_accuracy_level():
    # The old rule compared float means: 3 of 60 items lost (exactly 5 points) was missed at
    # about half of the accuracy levels. Counts give one answer at every level.
    outcomes = set()
    for correct in range(3, 61):
        reference = "1" * correct + "0" * (60 - correct)
        current = "0" * 3 + reference[3:]
        strata = one_sample(reference, current)
        worse, better = strata.moved()
        outcomes.add((len(worse), len(better), round(drop_test(strata).p_drop, 15)))
    assert outcomes == {(3, 0, 0.125)}


def test_moved_compares_counts_across_different_k():
    strata = Strata.of(["a", "b", "c", "d"], [1, 2, 3, 0], [3, 4, 4, 5], [1, 1, 2, 0], [3, 2, 3, 1])
    worse, better = strata.moved()
    assert worse == ["c"] and better == [] and sorted(worse + better + ["a", "b", "d"]) == ["a", "b", "c", "d"]


def test_identical_reruns_of_few_items_are_inconclusive_and_of_many_are_cleared():
    few = one_sample("1" * 5 + "0" * 5, "1" * 5 + "0" * 5)
    decision = judge_change(few, alpha=1e-4, margin=0.05, confidence=0.95, sampled=False)
    assert decision.verdict == "inconclusive" and not decision.failed() and decision.failed(strict=True)
    assert "items would be needed to detect a drop of 5 points" in decision.settle
    rng = np.random.default_rng(3)
    rates = noise.random_item_rates(rng, 0.8, 500)
    many = Strata.of([str(i) for i in range(500)], noise.draw(rng, rates, 16), 16, noise.draw(rng, rates, 4), 4)
    cleared = judge_change(many, alpha=1e-4, margin=0.03, confidence=0.95)
    assert cleared.verdict == "no regression beyond the margin" and cleared.upper < 0.03


def test_a_one_way_drop_is_a_regression_and_a_rise_an_improvement():
    drop = judge_change(one_sample("1" * 30 + "0" * 30, "0" * 20 + "1" * 10 + "0" * 30), 1e-4, 0.05, 0.95)
    assert drop.verdict == "regression" and drop.failed() and len(drop.worse) == 20 and drop.better == []
    assert "worse on 20 [" in drop.describe() and "-33.3 points" in drop.describe()
    rise = judge_change(one_sample("0" * 30 + "1" * 30, "1" * 60), 1e-4, 0.05, 0.95)
    assert rise.verdict == "improvement" and rise.failed()


def test_a_greedy_pool_is_told_how_many_items_would_settle_it():
    """240 items, one answer each (tiny_greedy's pool): the detectable drop shrinks as 1/sqrt(items),
    so the items needed are this pool's 240 scaled up, whatever the rows (item sets) of the rates."""
    from evals.gate.decision import _settle

    rng = np.random.default_rng(1)
    rates = noise.random_item_rates(rng, 0.5, 240)
    strata = Strata.of([f"i{n:03d}" for n in range(240)], noise.draw(rng, rates, 1), 1, noise.draw(rng, rates, 1), 1)
    decision = judge_change(strata, alpha=1.9e-4, margin=0.03, confidence=0.95, sampled=False)
    assert decision.verdict == "inconclusive" and decision.detectable is not None
    items = math.ceil(240 * (decision.detectable / 0.03) ** 2)
    assert 10_000 < items < 15_000  # not the 51 of the rows' count
    assert decision.settle == (f"greedy decoding gives one answer per item: about {items:,} items would be needed "
                               "to detect a drop of 3 points with power 0.9")
    design = sensitivity.Design.of(noise.item_rate_sets(0.5, 240, 8), 1, 1)  # (sets, items): planned from an accuracy
    assert design.rates.shape == (8, 240)
    detectable = sensitivity.detectable_drop(design, 1.9e-4)
    assert f"about {math.ceil(240 * (detectable / 0.03) ** 2):,} items" in _settle(design, detectable, 0.03, 1.9e-4, False)


def test_inconclusive_sampled_case_says_how_many_samples_would_settle_it():
    rng = np.random.default_rng(5)
    rates = noise.random_item_rates(rng, 0.75, 30)
    strata = Strata.of([str(i) for i in range(30)], noise.draw(rng, rates, 4), 4, noise.draw(rng, rates, 4), 4)
    decision = judge_change(strata, alpha=4e-5, margin=0.05, confidence=0.95, sampled=True)
    assert decision.verdict == "inconclusive"
    assert decision.settle and "would be needed to detect a drop of 5 points with power 0.9" in decision.settle
    assert decision.detectable is not None and decision.detectable > 0.05


def test_recovery_fails_only_beyond_the_margin():
    rng = np.random.default_rng(11)
    rates = noise.random_item_rates(rng, 0.8, 500)
    reference = noise.draw(rng, rates, 4)
    labels = [str(i) for i in range(500)]
    slightly = noise.draw(rng, noise.changed_rates(rng, rates, noise.shift_for_drop(rates, 0.01)), 4)
    assert not judge_recovery(Strata.of(labels, reference, 4, slightly, 4), 1e-4, 0.03, 0.95).failed()
    much = noise.draw(rng, noise.changed_rates(rng, rates, noise.shift_for_drop(rates, 0.15)), 4)
    assert judge_recovery(Strata.of(labels, reference, 4, much, 4), 1e-4, 0.03, 0.95).verdict == "regression"


def test_drop_bound_is_never_zero_width_for_items_that_did_not_move():
    size = drop_size(one_sample("1" * 5 + "0" * 5, "1" * 5 + "0" * 5))
    assert size.drop == 0 and size.stderr > 0.1 and size.upper(0.95) > 0.2


def test_recovery_interval_keeps_its_coverage_at_30_items():
    rng = np.random.default_rng(2024)
    covered, trials, k = 0, 1500, 8
    labels = [str(i) for i in range(30)]
    for _ in range(trials):
        rates = noise.random_item_rates(rng, 0.75, 30)
        quantized = noise.changed_rates(rng, rates, 0.4)
        truth = quantized.mean() / rates.mean()  # over these items
        result = recovery(Strata.of(labels, noise.draw(rng, rates, k), k, noise.draw(rng, quantized, k), k))
        covered += result.low <= truth <= result.high
    assert 0.93 <= covered / trials <= 0.99


def test_recovery_edges_are_explicit_not_dropped():
    nothing = recovery(one_sample("0000", "1100"))
    assert math.isnan(nothing.ratio) and "reference solved nothing" in nothing.note
    zero = recovery(one_sample("1100", "0000"))
    assert zero.ratio == 0 and zero.low == 0 and zero.high > 0 and "half of one" in zero.note


def test_unpaired_welch_uses_satterthwaite_and_needs_both_stderrs():
    result = unpaired(0.6, 30, 0.5, 50, k=4, reference_stderr=0.05, current_stderr=0.03)
    expected = scipy_stats.ttest_ind_from_stats(0.6, 0.05 * math.sqrt(30), 30, 0.5, 0.03 * math.sqrt(50), 50, equal_var=False)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-6)
    with pytest.raises(ValueError, match="reference stderr"):
        unpaired(0.6, 30, 0.5, 50, k=4, reference_stderr=None, current_stderr=0.03)
    assert unpaired(0.27, 100, 0.25, 100).p_value > 0.5 and unpaired(0.9, 500, 0.5, 500).p_value < 1e-10


def test_alpha_is_split_over_every_test_of_the_profile():
    matrix = load_matrix()
    for profile in matrix.profiles:
        policy = Policy(matrix.gate, matrix.test_counts(profile))
        total = sum(policy.tests[kind] * (policy.alpha_for(kind) + (policy.alpha_for(kind, "rise") if TEST_KINDS[kind] == 2 else 0))
                    for kind in TEST_KINDS if policy.tests[kind])
        assert total <= matrix.gate.alpha + 1e-12
        # each test's drop gets the larger part where it is judged both ways
        assert policy.alpha_for("pooled") == 4 * policy.alpha_for("pooled", "rise")
    full = matrix.test_counts("full")
    assert full == {"case": 30, "pooled": 12, "recovery": 20, "pooled_recovery": 8}


@pytest.mark.parametrize("accuracy,n,ref_k,run_k,drop,alpha", [
    (0.77, 120, 32, 8, 0.05, 2e-4),
    (0.90, 500, 4, 2, 0.03, 2e-4),
    (0.75, 30, 8, 8, 0.15, 4e-5),
])
def test_planned_power_matches_simulated_runs_of_the_real_test(accuracy, n, ref_k, run_k, drop, alpha):
    rng = np.random.default_rng(1)
    labels = [str(i) for i in range(n)]
    hits, runs = 0, 300
    for _ in range(runs):
        rates = noise.random_item_rates(rng, accuracy, n)
        current = noise.changed_rates(rng, rates, noise.shift_for_drop(rates, drop))
        strata = Strata.of(labels, noise.draw(rng, rates, ref_k), ref_k, noise.draw(rng, current, run_k), run_k)
        hits += drop_test(strata).p_drop < alpha
    planned = sensitivity.power(sensitivity.Design.of(noise.item_rate_sets(accuracy, n, 16), ref_k, run_k), drop, alpha)
    assert abs(planned - hits / runs) < 0.08


def test_detectable_drop_shrinks_with_samples_and_run_k_is_the_fewest_that_reach():
    design = sensitivity.Design.of(noise.item_rate_sets(0.8, 60, 4), 32, 1)
    drops = [sensitivity.detectable_drop(design.with_k(cur_k=k), 2e-4) for k in (2, 4, 8, 16)]
    assert all(a > b for a, b in zip(drops, drops[1:]))
    drop = drops[2] * 1.02  # a little more than k=8 detects
    k = sensitivity.run_k_for(design, drop, 2e-4)
    assert k is not None and k <= 8
    assert sensitivity.power(design.with_k(cur_k=k), drop, 2e-4) >= 0.9 > sensitivity.power(design.with_k(cur_k=k - 1), drop, 2e-4)
