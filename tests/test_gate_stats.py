"""The gate's statistics: exact tests, and its false-alarm rate and power on simulated reruns."""

import pytest

from bench.gate_simulation import simulate
from evals.stats import DEFAULT_ALPHA, paired, recovery, unpaired


def scores(pattern: str) -> dict[str, float]:
    return {f"i{n}": float(c) for n, c in enumerate(pattern)}


def test_mcnemar_counts_flips_both_ways():
    ref = scores("1111111111" * 5 + "0000000000" * 5)
    cur = scores("0000000011" * 5 + "0000000000" * 5)  # 40 items lost, none gained
    result = paired(ref, cur, k=1)
    assert result.test == "exact McNemar"
    assert len(result.worse) == 40 and result.better == []
    assert result.p_value == pytest.approx(2 * 0.5**40)
    assert result.verdict == "regression"
    assert "-40.0 points" in result.describe() and "worse on 40 item(s)" in result.describe()


def test_flips_that_cancel_are_not_a_change():
    ref = scores("10" * 50)
    cur = scores("01" * 50)  # every item flipped, half each way
    result = paired(ref, cur, k=1)
    assert result.p_value == pytest.approx(1.0) and result.verdict == "unchanged"


def test_small_significant_change_below_min_effect_passes():
    ref = scores("1" * 2000 + "0" * 2000)
    cur = scores("1" * 1950 + "0" * 2050)  # 50 items lost of 4000: p tiny, 1.25 points
    result = paired(ref, cur, k=1)
    assert result.significant and result.verdict == "unchanged"


def test_improvement_beyond_tolerance_is_flagged():
    result = paired(scores("0" * 50), scores("1" * 20 + "0" * 30), k=1)
    assert result.verdict == "improvement"


def test_k_greater_than_one_uses_a_paired_permutation_test():
    ref = {f"i{n}": 0.75 for n in range(30)}
    cur = {f"i{n}": 0.25 for n in range(30)}
    result = paired(ref, cur, k=4)
    assert result.test == "paired sign-flip permutation" and result.p_value < 0.001 and result.verdict == "regression"
    exact = paired({"a": 1.0, "b": 0.5}, {"a": 0.5, "b": 0.5}, k=2)
    assert exact.p_value == pytest.approx(1.0)  # one nonzero difference: both signs equally likely


def test_unpaired_against_aggregates():
    same = unpaired(0.27, 100, 0.25, 100)
    assert same.test.startswith("Fisher") and same.verdict == "unchanged"
    assert unpaired(0.9, 500, 0.5, 500).verdict == "regression"


def test_recovery_with_confidence_interval():
    ref = {f"i{n}": 1.0 if n < 80 else 0.0 for n in range(100)}
    q = {f"i{n}": 1.0 if n < 76 else 0.0 for n in range(100)}
    point, lo, hi = recovery(q, ref)
    assert point == pytest.approx(0.95) and lo < 0.95 < hi <= 1.0


def test_paired_items_must_match():
    with pytest.raises(ValueError, match="same items"):
        paired({"a": 1.0}, {"b": 1.0}, k=1)


# Simulated reruns with realistic greedy noise (fixed seeds): the bounds.


def test_false_alarm_rate_is_at_most_alpha():
    outcome = simulate(n=500, k=1, reruns=2000, drop=0.0, seed=1)
    assert outcome.mean_flips_each_way > 1  # items really flip both ways
    assert outcome.paired_fail_rate <= DEFAULT_ALPHA


def test_five_point_drop_is_caught_with_power_090():
    outcome = simulate(n=500, k=1, reruns=2000, drop=0.05, seed=2)
    assert outcome.paired_regression_rate >= 0.9


def test_paired_beats_unpaired_on_the_same_data():
    outcome = simulate(n=500, k=1, reruns=500, drop=0.05, seed=3)
    assert outcome.paired_regression_rate > outcome.unpaired_regression_rate
