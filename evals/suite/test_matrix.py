"""One test per case of the matrix: precision x task x mode, gated against its baseline."""

from evals.gate.records import build_record
from evals.engine.server import ServerError
from evals.lmeval.runner import run_case


def test_case(case, engine, run, baseline):
    engine.check_alive()  # a dead server fails its model's remaining cases at once, with its log
    try:
        made = run.generate(case.precision, engine)  # the model's generation pass, before its first case
        drawn = run.drawn(case)  # per item, what the plan and the run's looks drew
        result = run_case(case, engine, run.stores.generations(case.precision), run.progress(case.id),
                          made.case_seconds.get(case.id) if made else None, drawn)
    except ServerError:
        raise  # it could not start, or a replay lacks a generation: the message says which
    except Exception as exc:
        try:
            engine.check_alive()
        except ServerError as dead:
            raise ServerError(f"{case.id}: the server died during the case: {dead}") from exc
        raise
    run.artifacts.write_case(case, result)

    expected = sum(drawn.values()) if drawn is not None else sum(case.samples_of(i) for i in {s.item for s in result.samples})
    assert len(result.samples) == expected, f"{len(result.samples)} responses for {result.n} items, {expected} drawn"
    assert len({s.item for s in result.samples}) == result.n, "an item without a sample"
    unanswered = [s.item for s in result.samples if s.finish_reason not in ("stop", "length")]
    assert not unanswered, f"requests without a finished generation: {unanswered}"
    # lm-eval's aggregate of the scorers must equal the per-response verdicts the artifacts keep.
    per_item: dict[str, list[bool]] = {}
    for sample in result.samples:
        per_item.setdefault(sample.item, []).append(sample.correct)
    own_mean = sum(sum(v) / len(v) for v in per_item.values()) / len(per_item)
    assert abs(own_mean - result.metrics[result.primary]["mean"]) < 1e-9

    terms = run.terms(case)  # at the alpha of the last look the case drew in
    record = build_record(case, result, terms, **run.stores.fingerprint_facts(case.precision), run=run.artifacts.dir.name)
    run.records.finish(case, record)
    assert baseline == record  # the statistical gate (evals/gate/baselines.py, through syrupy)
    run.records.accepted(case.id)  # --snapshot-update: said only now, once syrupy wrote the baseline file
