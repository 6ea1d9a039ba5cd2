"""The seed report's table as a reference: aggregates compared unpaired."""

import pytest

from evals.artifacts.types import GateTerms, Record
from evals.gate.seed_reference import compare_to_reference, load_reference


def record(case, n, **means):
    return Record(case, "seed", "", {}, GateTerms(1e-3, 0.01, 0.03, 0.95), "exact_match", n, 1,
                  {m: {"mean": v, "stderr": 0.0} for m, v in means.items()}, 0.0, None, {})


def test_reference_holds_the_seed_table():
    ref = load_reference()
    assert ref["fp8-math500-answer_only"]["exact_match"] == {"mean": 0.25, "stderr": 0.0435, "n": 100}
    assert ref["nvfp4-aime24-think_final"]["integer_match[prefer_final]"]["mean"] == pytest.approx(1 / 30, abs=1e-3)
    assert len(ref) == 13


def test_a_run_close_to_the_table_reproduces_it():
    ref = load_reference()["bf16-math500-answer_only"]
    result = compare_to_reference(record("bf16-math500-answer_only", 100, exact_match=0.24), ref)
    assert result["exact_match"].p_value > 0.5 and result["exact_match"].test.startswith("Fisher")


def test_a_run_far_from_the_table_does_not():
    ref = load_reference()["bf16-math500-answer_only"]
    result = compare_to_reference(record("bf16-math500-answer_only", 100, exact_match=0.85), ref)
    assert result["exact_match"].p_value < 1e-10 and "+" in result["exact_match"].describe()


def test_a_missing_metric_is_named():
    ref = load_reference()["bf16-aime24-think"]
    with pytest.raises(KeyError, match="integer_match\\[raw\\]"):
        compare_to_reference(record("bf16-aime24-think", 30, exact_match=0.0), ref)
