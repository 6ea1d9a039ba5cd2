"""Baseline records and the gate's verdicts on them, without an engine."""

import copy
import json

import pytest

from evals.artifacts.jsonio import DamagedFile
from evals.config.matrix import load_matrix
from evals.gate.pooling import against_baselines, against_reference, by_case
from evals.gate.decision import judge_change
from evals.artifacts.types import Record
from evals.gate.records import fingerprint, judge
from evals.config.paths import snapshots_dir
from evals.gate import baselines
from evals.plugin.snapshots import BaselineSnapshot

GATE = {"alpha": 1e-4, "run_alpha": 0.01, "margin": 0.03, "confidence": 0.95, "strict": False, "sampled": True}


def record(items: dict[str, str], case: str = "fp8-math500-think", gate: dict | None = None, **fingerprint) -> Record:
    return Record.from_data({
        "case": case, "profile": "tiny", "created": "2026-01-01T00:00:00+0000",
        "fingerprint": {"model": "tiny:fp8", "revision": None, "engine": "vllm 0.32.0", "gpu_architecture": "cpu",
                        "scorer_version": "1", **fingerprint},
        "gate": gate or GATE, "primary": "math_equiv", "n": len(items), "k": int(next(iter(items.values())).split("/")[1]),
        "metrics": {}, "truncation_rate": 0.0, "items": items,
    }, "a test record")


BASE = record({f"i{n:02d}": ("1/1" if n < 30 else "0/1") for n in range(40)})


def test_identical_rerun_matches_and_other_fingerprints_do_not():
    assert judge(copy.deepcopy(BASE), BASE).passed
    other = record(BASE.items, engine="vllm 0.33.0", gpu_architecture="sm_90")
    result = judge(other, BASE)
    assert not result.comparable and set(result.differing) == {"engine", "gpu_architecture"}
    text = "\n".join(result.lines(BASE.case))
    assert "not comparable" in text and 'engine: baseline "vllm 0.32.0" != current "vllm 0.33.0"' in text


def test_regression_names_the_flipped_items():
    items = dict(BASE.items)
    for n in range(20):
        items[f"i{n:02d}"] = "0/1"
    result = judge(record(items), BASE)
    assert result.comparable and not result.passed and result.decision.verdict == "regression"
    assert sorted(result.decision.worse) == [f"i{n:02d}" for n in range(20)]
    assert "--snapshot-update" in "\n".join(result.lines(BASE.case))


def test_strict_fails_what_is_inconclusive():
    rerun = record(BASE.items, gate={**GATE, "strict": True})
    result = judge(rerun, BASE)
    assert result.decision.verdict == "inconclusive" and not result.passed
    assert judge(record(BASE.items), BASE).passed


def test_a_baseline_with_more_samples_per_item_is_comparable():
    baseline = record({f"i{n:02d}": ("30/32" if n < 30 else "2/32") for n in range(40)})
    run = record({f"i{n:02d}": ("4/4" if n < 30 else "0/4") for n in range(40)})
    result = judge(run, baseline)
    assert result.comparable and result.passed and result.decision.ref_k == 32 and result.decision.cur_k == 4


def test_the_fingerprint_compares_everything_but_k():
    matrix = load_matrix()
    case = next(c for c in matrix.cases("full") if c.id == "fp8-aime24-think")
    run, made = fingerprint(case, "vllm 0.9", "sm_90"), fingerprint(case.as_baseline(), "vllm 0.9", "sm_90")
    assert case.as_baseline().repeats > case.repeats and run == made
    assert "repeats" not in run["generation"] and run["generation"]["gen_kwargs"]["temperature"] == 0.6


def test_a_different_item_set_is_not_comparable():
    items = dict(BASE.items)
    items.pop("i00")
    assert "items" in judge(record(items), BASE).differing


def test_item_counts_read_correct_over_k():
    assert record({"a": "3/4", "b": "0/4"}).counts == {"a": (3, 4), "b": (0, 4)}
    with pytest.raises(DamagedFile, match="a test record: item a: 'three/4' is not correct/k with 0 <= correct <= k"):
        record({"a": "three/4"}).counts


def test_pooled_cases_name_what_they_leave_out_and_where_items_moved():
    cases = [f"fp8-aime24-{m}" for m in ("think", "think_final", "answer_only", "int_only")]
    baselines = {c: record({f"q{n}": "1/1" if n < 6 else "0/1" for n in range(10)}, case=c,
                           **({"engine": "other"} if c == cases[2] else {})) for c in cases}
    current = {c: record({f"q{n}": "1/1" if 2 <= n < 6 else "0/1" for n in range(10)}, case=c) for c in cases[:3]}
    pooled = against_baselines(cases, current, {**baselines})
    assert pooled.cases == cases[:2] and len(pooled.strata) == 20
    assert pooled.left_out == {cases[2]: "baseline not comparable (engine)", cases[3]: "no result in this run"}
    decision = judge_change(pooled.strata, 1e-4, 0.05, 0.95, sampled=False)
    lines = by_case(decision)
    assert lines[0].startswith("  fp8-aime24-think: worse on 2 [q0, q1]") or lines[0].startswith("  fp8-aime24-think_final: worse on 2")
    reference = {"bf16-x": record({"a": "1/1", "b": "0/1"}, case="bf16-x"), "fp8-x": record({"a": "0/1", "b": "0/1"}, case="fp8-x")}
    assert against_reference([("bf16-x", "fp8-x")], reference).strata.labels == ("fp8-x/a", "fp8-x/b")


def test_extension_writes_readable_json_and_compares_with_the_gate():
    extension = BaselineSnapshot.for_profile("tiny")()
    text = extension.serialize(BASE)
    assert text.endswith("\n") and '"i00": "1/1",' in text
    assert extension.matches(serialized_data=text, snapshot_data=text)
    worse = dict(BASE.items, **{f"i{n:02d}": "0/1" for n in range(20)})
    assert not extension.matches(serialized_data=extension.serialize(record(worse)), snapshot_data=text)
    assert not BaselineSnapshot.for_profile("tiny", accept=True)().matches(serialized_data=text, snapshot_data=text)
    missing = list(extension.diff_lines(text, ""))
    assert "No baseline for fp8-math500-think" in missing[0] and "--snapshot-update" in missing[0]
    assert extension.dirname(test_location=None) == str(snapshots_dir() / "tiny")
    assert json.loads(text) == BASE.as_data()


@pytest.mark.parametrize("damaged", [
    lambda text: text[: len(text) // 2],  # truncated
    lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != "items"}),
    lambda text: text.replace('"1/1"', '"one"', 1),
    lambda text: "[]",
])
def test_a_damaged_baseline_is_named_and_replaceable(tmp_path, monkeypatch, damaged):
    monkeypatch.setenv("SUITE_SNAPSHOTS_DIR", str(tmp_path))
    extension = BaselineSnapshot.for_profile("tiny")()
    text = extension.serialize(BASE)
    path = tmp_path / "tiny" / f"{BASE.case}.json"
    path.parent.mkdir()
    path.write_text(damaged(text))
    # Never a match (so --snapshot-update writes over it); the failure names the file and the fix.
    assert not extension.matches(serialized_data=text, snapshot_data=path.read_text())
    [line] = extension.diff_lines(text, path.read_text())
    assert line.startswith(f"{path}: ") and "--snapshot-update" in line, line
    gate, baseline = baselines.outcome("tiny", BASE)
    assert gate["status"] == "unreadable" and gate["error"].startswith(f"{path}: ") and baseline is None
    with pytest.raises(DamagedFile, match=str(path)):
        baselines.read("tiny", BASE.case)
