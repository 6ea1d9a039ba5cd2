"""Pooled per precision: its cases together (and each pool of them, evals/config/matrix.yaml
`pools`), stratified by case and item, against their baselines. This is what sees a
precision that lost a little everywhere, all one way."""

import pytest

from evals.gate import pooling
from evals.gate.records import advice


def test_precision(pool, run, accept_baselines):
    precision, name = pool
    pooled, decision = run.gates.pooled(precision, name)
    left_out = pooling.left_out_lines(pooled)
    if decision is None:
        pytest.skip(f"no case of {precision} in pool {name!r} has a comparable baseline:\n" + "\n".join(left_out))
    failed = decision.failed(run.policy.strict)
    if failed and run.selection.snapshot_update:  # accepted: every pooled case's baseline becomes this run's record
        accept_baselines(run.selection.profile, {case: run.records.record(case) for case in pooled.cases})
        run.gates.accepted(precision, name)  # only now that every one of their baseline files is written
        return
    message = [f"{precision}, pool {name} ({len(pooled.cases)} cases): {decision.describe()}",
               *pooling.by_case(decision), *left_out, *advice(decision.verdict)]
    assert not failed, "\n".join(message)
