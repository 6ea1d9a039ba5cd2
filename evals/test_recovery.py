"""Cross-precision: each quantized case against BF16's same task and mode, from this run, paired."""

import pytest

from evals import stats
from evals.baseline import item_scores


def test_recovery(pair, run):
    reference_case, quantized_case = pair
    # Under xdist the other precision's record comes from another worker, through the artifacts.
    reference, quantized = run.record(reference_case.id), run.record(quantized_case.id)
    if reference is None or quantized is None:
        missing = reference_case.id if reference is None else quantized_case.id
        pytest.skip(f"{missing} produced no result in this run")
    ref, cur = item_scores(reference), item_scores(quantized)
    comparison = stats.paired(ref, cur, quantized_case.repeats, run.alpha, run.min_effect(quantized_case))
    point, low, high = stats.recovery(cur, ref)
    run.artifacts.write_recovery(quantized_case.id, reference_case.id, comparison, (point, low, high))
    assert comparison.verdict != "regression", (
        f"{quantized_case.id} vs {reference_case.id}: recovery {point:.1%} (95% CI {low:.1%}-{high:.1%}); "
        + comparison.describe()
    )
