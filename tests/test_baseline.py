"""Baseline records and the gate's verdicts on them, without an engine."""

import copy
import json

from evals.baseline import compare, item_scores
from evals.snapshots import BaselineSnapshot, SNAPSHOTS_DIR


def record(items: dict[str, str], **fingerprint) -> dict:
    return {
        "case": "fp8-math500-think", "profile": "tiny", "created": "2026-01-01T00:00:00+0000",
        "fingerprint": {"model": "tiny:fp8", "revision": None, "engine": "vllm 0.32.0", "gpu_architecture": "cpu",
                        "scorer_version": "1", **fingerprint},
        "gate": {"alpha": 0.01, "min_effect": 0.03}, "primary": "math_equiv", "n": len(items), "k": 1,
        "metrics": {}, "truncation_rate": 0.0, "items": items,
    }


BASE = record({f"i{n:02d}": ("1/1" if n < 30 else "0/1") for n in range(40)})


def test_identical_rerun_matches_and_other_fingerprints_do_not():
    assert compare(copy.deepcopy(BASE), BASE).passed
    other = record(BASE["items"], engine="vllm 0.33.0", gpu_architecture="sm_90")
    result = compare(other, BASE)
    assert not result.comparable and set(result.differing) == {"engine", "gpu_architecture"}
    text = "\n".join(result.lines(BASE["case"]))
    assert "not comparable" in text and 'engine: baseline "vllm 0.32.0" != current "vllm 0.33.0"' in text


def test_regression_names_the_flipped_items():
    items = dict(BASE["items"])
    for n in range(10):
        items[f"i{n:02d}"] = "0/1"
    result = compare(record(items), BASE)
    assert result.comparable and not result.passed and result.comparison.verdict == "regression"
    assert result.comparison.worse == [f"i{n:02d}" for n in range(10)]
    assert "--snapshot-update" in "\n".join(result.lines(BASE["case"]))


def test_a_different_item_set_is_not_comparable():
    items = dict(BASE["items"])
    items.pop("i00")
    assert "items" in compare(record(items), BASE).differing


def test_item_scores_read_correct_over_k():
    assert item_scores({"items": {"a": "3/4", "b": "0/4"}}) == {"a": 0.75, "b": 0.0}


def test_extension_writes_readable_json_and_compares_with_the_gate():
    extension = BaselineSnapshot.for_profile("tiny")()
    text = extension.serialize(BASE)
    assert text.endswith("\n") and '"i00": "1/1",' in text
    assert extension.matches(serialized_data=text, snapshot_data=text)
    worse = dict(BASE["items"], **{f"i{n:02d}": "0/1" for n in range(10)})
    assert not extension.matches(serialized_data=extension.serialize(record(worse)), snapshot_data=text)
    missing = list(extension.diff_lines(text, ""))
    assert "No baseline for fp8-math500-think" in missing[0] and "--snapshot-update" in missing[0]
    assert extension.dirname(test_location=None) == str(SNAPSHOTS_DIR / "tiny")
    assert json.loads(text) == BASE
