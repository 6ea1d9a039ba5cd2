"""Token-level drift per precision against the reference (evals/drift/): the reference
scores its own responses on its server; each quantized precision scores the same token
sequences on its own, and its mean KLD must not grow beyond its baseline's."""

from evals.config.matrix import REFERENCE_PRECISION
from evals.run.selection import drift_test

SAMPLEABLE = 0.99  # of the response tokens: the reference's own sampler could have drawn them (numerics aside)


def test_drift(drift_of, engine, run, drift, drift_baseline):
    if drift_of == REFERENCE_PRECISION:
        scored = drift.score_reference(engine)
        # Scoring the exact sequences that were generated: otherwise the chat template or
        # tokenizer differs from the server's, and every comparison below is meaningless.
        assert scored["sampleable"] >= SAMPLEABLE, (
            f"{REFERENCE_PRECISION} ranks only {scored['sampleable']:.1%} of its own responses' tokens where its sampler "
            f"could have drawn them (greedy: first; sampled: within top_k): the sequences scored are not the ones generated")
        run.artifacts.note_drift(REFERENCE_PRECISION, scored)  # later runs may take this one as their reference
        return
    run.records.wait_for(drift_test(REFERENCE_PRECISION))
    record, moved = drift.measure(drift_of, engine)
    run.artifacts.write_drift(drift_of, record, moved)
    assert drift_baseline == record
