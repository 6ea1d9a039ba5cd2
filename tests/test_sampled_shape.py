"""The tiny profile has the full profile's shape, seen on the kept run of the whole tiny matrix
(tests/kept_run.py): sampled decoding with several samples per item, each with its own seed;
solve rates spread over 0..1; thinking that runs out of tokens; several wrong answers in the
scorers' formats; baselines with more samples per item than a run, drawn apart from it; and a
run drawn with other seeds than its baselines passes every test."""

import collections
import json
import statistics

import pytest

from evals.config.matrix import load_matrix
from tests.evals_run import ROOT

pytestmark = pytest.mark.engine


def samples(run, case):
    return [json.loads(line) for line in (run / case / "samples.jsonl").open()]


@pytest.fixture(scope="module")
def cases():
    return load_matrix().cases("tiny")


def test_several_samples_per_item_drawn_apart(tiny_run, cases):
    manifest = json.loads((tiny_run / "manifest.json").read_text())
    several: list[bool] = []  # per thinking item drawn more than once: whether its samples differ
    for case in cases:
        drawn = samples(tiny_run, case.id)
        assert case.sampled and case.repeats > 1 and case.baseline_repeats > case.repeats
        per_item = collections.Counter(s["item"] for s in drawn)
        # each item as the plan and the looks drew it (evals/run/plans.py, evals/run/looks.py)
        planned = manifest["plans"][case.precision]["run_k"][case.id]
        looks = json.loads((tiny_run / "looks" / f"{case.precision}.json").read_text())["cases"][case.id]
        assert dict(per_item) == looks["drawn"] and all(per_item[i] <= planned[i] for i in planned), case.id
        summary = json.loads((tiny_run / case.id / "summary.json").read_text())
        assert summary["k"] == max(planned.values())
        if case.mode.enable_thinking:  # repeats of an item differ: each drew with its own seed
            by_item = collections.defaultdict(set)
            for s in drawn:
                by_item[s["item"]].add(s["response"])
            several += [len(by_item[item]) > 1 for item, k in per_item.items() if k > 1]
    assert len(several) >= 20 and sum(several) >= len(several) / 4, several


def test_a_run_draws_where_samples_inform_and_stops_what_is_settled(tiny_run, cases):
    """Against the committed baselines, each precision's samples per item are planned from
    another precision's baseline (items always or never solved get few, the others more),
    and the looks stop what is settled: the run draws fewer samples than the uniform plan,
    counted in the manifest."""
    manifest = json.loads((tiny_run / "manifest.json").read_text())
    for precision in ("bf16", "fp8", "nvfp4"):
        plan = manifest["plans"][precision]
        other = "fp8" if precision == "bf16" else "bf16"
        assert set(plan["sources"].values()) == {c.replace(precision, other, 1) for c in plan["sources"]}
        for case in (c for c in cases if c.precision == precision):
            source = json.loads((ROOT / "snapshots" / "tiny" / f"{plan['sources'][case.id]}.json").read_text())["items"]
            k = plan["run_k"][case.id]
            certain = [i for i, r in source.items() if r.split("/")[0] in ("0", r.split("/")[1])]
            middling = [i for i, r in source.items() if 0.3 <= int(r.split("/")[0]) / int(r.split("/")[1]) <= 0.7]
            if certain and middling:
                assert max(k[i] for i in certain) <= min(k[i] for i in middling), case.id
        draws = manifest["models"][precision]["draws"]
        assert draws["drawn"] < draws["planned"] and draws["drawn"] < draws["uniform"], (precision, draws)
        looks = json.loads((tiny_run / "looks" / f"{precision}.json").read_text())
        ended = looks["tests"]
        assert any(e["ended"] == "settled" and e["look"] < looks["looks"] for e in ended.values()), ended
        assert not any(e["ended"] == "failed" for e in ended.values()), ended


def test_rates_spread_thinking_runs_out_and_wrong_answers_vary(tiny_run, cases):
    for precision in ("bf16", "fp8", "nvfp4"):  # as the baselines' 12 samples per item see them
        ours = [c for c in cases if c.precision == precision]
        rates = []
        for case in ours:
            record = json.loads((ROOT / "snapshots" / "tiny" / f"{case.id}.json").read_text())
            rates += [int(ratio.split("/")[0]) / int(ratio.split("/")[1]) for ratio in record["items"].values()]
        assert sum(r == 0 for r in rates) > 0.05 * len(rates) and sum(r == 1 for r in rates) > 0.2 * len(rates)
        assert sum(0 < r < 1 for r in rates) > 0.2 * len(rates), precision  # the items a sampled test learns from
    thinking: dict[str, list[dict]] = collections.defaultdict(list)  # per precision, its thinking cases' samples
    for case in cases:
        drawn = samples(tiny_run, case.id)
        wrong = collections.Counter(s["extracted"][next(iter(s["extracted"]))] for s in drawn if not s["correct"])
        if case.mode.enable_thinking:
            thinking[case.precision] += drawn
        if len(drawn) - sum(s["correct"] for s in drawn) >= 20:  # top-p 0.8 (non-thinking) keeps the likelier ones
            assert len(wrong) >= (3 if case.mode.enable_thinking else 2), (case.id, wrong)
    for precision, drawn in thinking.items():  # thinking runs out of tokens, with a heavy tail
        assert sum(s["finish_reason"] == "length" for s in drawn) > 0.01 * len(drawn), precision
        assert any(s["finish_reason"] == "length" and not s["correct"] for s in drawn), precision
        tokens = sorted(s["completion_tokens"] for s in drawn)
        assert tokens[-1] >= 2.5 * statistics.median(tokens), precision
    responses = [s["response"] for case in cases if case.precision == "bf16" for s in samples(tiny_run, case.id)]
    for form in ("\\boxed{", "The answer is", "Answer:", "</think>\n\n"):
        assert any(form in r for r in responses), form


def test_baselines_hold_more_samples_drawn_apart_and_a_run_with_other_seeds_passes(tiny_run, cases):
    for case in cases:
        baseline = json.loads((ROOT / "snapshots" / "tiny" / f"{case.id}.json").read_text())
        assert baseline["k"] >= case.repeats and all(int(r.split("/")[1]) >= 1 for r in baseline["items"].values())
        gate = json.loads((tiny_run / case.id / "gate.json").read_text())
        assert gate["status"] not in ("regression", "improvement"), (case.id, gate)
    manifest = json.loads((tiny_run / "manifest.json").read_text())
    assert not manifest.get("baseline") and manifest.get("seed", 0) == 0  # a run's seeds, not a baseline's
    pooled = json.loads((tiny_run / "pooled.json").read_text())
    assert len(pooled) == 12 and all(entry["passed"] for entry in pooled.values()), pooled


def test_each_generation_pass_records_what_it_measured_of_the_engine(tiny_run, cases):
    """The manifest keeps each pass's output tokens/s (what the planner takes once a whole run
    measured it) and vLLM's own counters: its generated tokens, which agree with the responses'
    usage, and its preemptions (none: the pool keeps expected tokens within the KV cache)."""
    models = json.loads((tiny_run / "manifest.json").read_text())["models"]
    for precision in {c.precision for c in cases}:
        measured = models[precision]["generation_pass"]
        # every request the pass generated (the plan's, as far as the looks went, and those that ran ahead of a look)
        assert measured["requests"] == models[precision]["draws"]["generated"], precision
        assert measured["generated_tokens"] == measured["output_tokens"] > 0
        assert measured["preemptions"] == 0
        assert measured["output_tokens_per_s"] == pytest.approx(measured["output_tokens"] / measured["seconds"], rel=1e-3)
