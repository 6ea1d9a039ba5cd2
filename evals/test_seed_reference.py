"""`pytest evals -m gpu --profile seed`: did this run reproduce the seed report's table?"""

import pytest

from evals.seed_reference import compare_to_reference, load_reference


def test_seed_reference(seed_case, run):
    record = run.record(seed_case.id)
    if record is None:
        pytest.skip(f"{seed_case.id} produced no result in this run")
    results = compare_to_reference(record, load_reference()[seed_case.id], run.alpha, run.min_effect(seed_case))
    differing = {metric: c.describe() for metric, c in results.items() if c.verdict != "unchanged"}
    assert not differing, f"{seed_case.id} does not reproduce the seed report: {differing}"
