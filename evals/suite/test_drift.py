"""Token-level drift per precision against the reference (evals/drift/): the reference
scores its own responses on its server; each quantized precision scores the same token
sequences on its own, and its mean KLD must not grow beyond its baseline's."""

from evals.config.matrix import REFERENCE_PRECISION
from evals.run.selection import drift_test

GREEDY_TOP1 = 0.99  # greedy responses: the generated token is the server's most likely one


def test_drift(drift_of, engine, run, drift, drift_baseline):
    if drift_of == REFERENCE_PRECISION:
        scored = drift.score_reference(engine)
        greedy = all(not c.sampled for c in drift.reference_cases)
        # Scoring the exact sequences that were generated: otherwise the chat template or
        # tokenizer differs from the server's, and every comparison below is meaningless.
        assert not greedy or scored["top1"] >= GREEDY_TOP1, \
            f"{REFERENCE_PRECISION} scores its own greedy tokens top-1 at only {scored['top1']:.3f}"
        run.artifacts.note_drift(REFERENCE_PRECISION, scored)  # later runs may take this one as their reference
        return
    run.records.wait_for(drift_test(REFERENCE_PRECISION))
    record = drift.measure(drift_of, engine)
    run.artifacts.write_drift(drift_of, record)
    assert drift_baseline == record
