"""Looks (evals/gate/sequential.py, evals/gate/looks.py): the alpha a test spends over its
looks adds up to its alpha and early looks spend almost none; rounds reach the plan; a
test is settled only below what it must rule out, fails at a look on a clear drop; which
cases draw on after a look."""

import numpy as np
import pytest

from evals.config.matrix import load_matrix
from evals.gate.looks import Watch, bound, drawing_on, judge_at
from evals.gate.policy import Policy
from evals.gate.sequential import Looks, spent
from evals.gate.stats import Strata


@pytest.mark.parametrize("alpha", [0.01, 4e-4, 2.5e-5])
def test_the_looks_spend_the_tests_alpha_and_early_ones_almost_none(alpha):
    looks = Looks(3, 0.99)
    parts = [looks.alpha(alpha, look) for look in (1, 2, 3)]
    assert sum(parts) == pytest.approx(alpha, rel=1e-12) and all(p >= 0 for p in parts)
    assert parts[0] < 1e-3 * alpha and parts[2] > (0.95 if alpha <= 4e-4 else 0.8) * alpha  # the last keeps most of it
    assert spent(alpha, 1.0) == alpha and spent(alpha, 0.0) == 0.0
    assert Looks(1, 0.99).alpha(alpha, 1) == alpha  # one look: a fixed design


def test_rounds_reach_each_items_plan_and_never_go_back():
    looks = Looks(3, 0.99)
    planned = np.array([1, 2, 3, 4, 15, 54])
    rounds = [looks.samples(planned, look) for look in (0, 1, 2, 3)]
    assert list(rounds[0]) == [0] * 6 and list(rounds[-1]) == list(planned)
    assert all(np.all(b >= a) for a, b in zip(rounds, rounds[1:]))
    assert list(rounds[1]) == [1, 1, 1, 2, 5, 18]


def _pool(matrix):
    policy = Policy(matrix.gate, matrix.test_counts("full"))
    return policy, Watch("pooled fp8-aime_thinking", "pooled", ("fp8-a", "fp8-b"), (), 0.05, True)


def _strata(rng, base_rates, run_rates, base_k, run_k):
    n = len(base_rates)
    return Strata.of([str(i) for i in range(n)], rng.binomial(base_k, base_rates), base_k,
                     rng.binomial(run_k, run_rates), run_k)


def test_a_test_settles_early_under_no_change_and_fails_at_a_look_on_a_clear_drop():
    matrix = load_matrix()
    policy, pool = _pool(matrix)
    looks = Looks(3, 0.99)
    rng = np.random.default_rng(3)
    rates = rng.beta(1.6, 0.4, 240)
    same = _strata(rng, rates, rates, 54, 5)
    decision, how = judge_at(pool, same, policy, looks, 1, settle_below=0.05)
    assert how == "settled" and decision.verdict != "regression"
    assert judge_at(pool, same, policy, looks, 1, settle_below=0.001)[1] is None  # open: not below what it must rule out
    worse = _strata(rng, rates, rates * 0.6, 54, 10)
    decision, how = judge_at(pool, worse, policy, looks, 2, settle_below=0.05)
    assert how == "failed" and decision.verdict == "regression" and decision.alpha == looks.alpha(policy.alpha_for("pooled"), 2)
    last = judge_at(pool, same, policy, looks, 3, settle_below=0.05)
    assert last[1] == "last look"


def test_the_bound_is_the_margin_or_what_the_plan_can_see_and_strict_keeps_the_margin():
    matrix = load_matrix()
    policy, pool = _pool(matrix)
    rates = np.full(30, 0.5)
    few, many = bound(pool, policy, rates, np.full(30, 54), np.full(30, 2)), bound(pool, policy, rates, np.full(30, 54), np.full(30, 60))
    assert few[0] > many[0] >= pool.margin  # a small plan cannot rule out its margin: it settles on what it can see
    strict = Policy(matrix.gate, matrix.test_counts("full"), strict=True)
    assert bound(pool, strict, rates, np.full(30, 54), np.full(30, 2))[0] == pool.margin


def test_which_cases_draw_on_after_a_look():
    tests = [Watch("case a", "case", ("a",), (), 0.05, True), Watch("case b", "case", ("b",), (), 0.05, True),
             Watch("pooled p", "pooled", ("a", "b"), (), 0.05, True)]
    assert drawing_on(["a", "b", "c"], tests, {}, last=False) == {"a", "b", "c"}  # "c": no test reads it
    assert drawing_on(["a", "b"], tests, {"case a": "settled"}, last=False) == {"a", "b"}  # the pool still reads a
    assert drawing_on(["a", "b"], tests, {"case a": "settled", "pooled p": "settled"}, last=False) == {"b"}
    assert drawing_on(["a", "b"], tests, {"case b": "failed"}, last=False) == {"a"}  # a failed test's data end there
    assert drawing_on(["a", "b"], tests, {}, last=True) == set()
