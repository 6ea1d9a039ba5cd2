"""`pytest evals -m gpu --profile seed`: did this run reproduce the seed report's table?"""

import pytest

from evals.gate.seed_reference import compare_to_reference, load_reference


def test_seed_reference(seed_case, run):
    record = run.records.record(seed_case.id)
    if record is None:
        pytest.skip(f"{seed_case.id} produced no result in this run")
    reference = load_reference()
    # Two-sided, the run's alpha split over every figure of the seed report's table.
    alpha = run.policy.settings.alpha / sum(len(metrics) for metrics in reference.values())
    results = compare_to_reference(record, reference[seed_case.id])
    differing = {metric: c.describe() for metric, c in results.items() if c.p_value < alpha}
    assert not differing, f"{seed_case.id} does not reproduce the seed report (fails at p<{alpha:.2g}): {differing}"
