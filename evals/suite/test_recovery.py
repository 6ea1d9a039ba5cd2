"""Cross-precision: each quantized case, and each pool of a quantized precision's cases,
against the reference precision's (BF16) same tasks and modes from this run, paired.
Some loss is expected of quantization: a test fails when the drop is significantly
beyond its margin."""

import pytest

from evals.gate import pooling


def test_recovery(pair, run):
    _check(run, pair[1].id, [pair], run.policy.case_margin(pair[1]), "recovery")


def test_recovery_pooled(pool, pooled_pairs, run):
    precision, name = pool
    _check(run, f"{precision}-{name}", pooled_pairs, run.policy.pool_margin(run.selection.matrix.pools[name]), "pooled_recovery")


def _check(run, test_id: str, pairs: list, margin: float, kind: str) -> None:
    pooled, decision, ratio = run.gates.recovery(test_id, pairs, margin, kind)
    left_out = pooling.left_out_lines(pooled)
    if decision is None:
        pytest.skip(f"{test_id}: nothing to compare in this run:\n" + "\n".join(left_out))
    interval = f"recovery {ratio.ratio:.1%} ({run.policy.settings.confidence:.0%} interval {ratio.low:.1%}-{ratio.high:.1%})"
    message = [f"{test_id} against {', '.join(r.id for r, _ in pairs)}: {interval}; {decision.describe()}",
               *(pooling.by_case(decision) if kind == "pooled_recovery" else []), *left_out]
    assert not decision.failed(), "\n".join(message)
