"""The gate end to end on the CPU, with the tiny model on vLLM's CPU build.

FP8 served by a moderately degraded model (evals/engine/tiny/quantize.py `noisy`: it loses
some 8-10 points spread over every case, items moving both ways) passes most cases alone, as
no case has the items and samples to prove its share of the loss, and fails the pooled test,
which names the precision, the cases and the items. --snapshot-update accepts it, rewriting
every pooled case's baseline though each passed alone; an identical rerun then passes
and leaves the files untouched, even under --snapshot-update; missing baselines fail
each case with the command that makes them. Its drift test fails too (evals/drift/): the
subtle variant, which fails drift alone, is in tests/test_scale_out.py. Only the degraded run
starts an engine (FP8's, resuming a copy of the kept tiny run); the rest replays its kept
generations (--replay)."""

import json
import re
import shutil

import pytest

from evals.report.build import write_report
from tests.browser import Page, browser, page_data
from tests.evals_run import ROOT, run_evals
from tests.kept_run import copy_of

pytestmark = pytest.mark.engine
FP8_CASES = [f"fp8-{task}-{mode}" for task, modes in (("aime24", ("answer_only", "int_only", "think", "think_final")),
                                                      ("math500", ("answer_only", "think")),
                                                      ("aime25", ("answer_only", "int_only", "think", "think_final")))
             for mode in modes]


@pytest.fixture(scope="module")
def degraded(tiny_run, tmp_path_factory):
    """FP8 on the degraded model, against a copy of the committed baselines: a copy of the
    kept tiny run without FP8's generations and drift scores, resumed for FP8 alone."""
    root = tmp_path_factory.mktemp("degraded")
    shutil.copytree(ROOT / "snapshots", root / "snapshots")
    run = copy_of(tiny_run, root, regenerate=("fp8",))
    code, outcomes, left, output = run_evals(root, "degrade:fp8", "--resume", str(run), "--precision", "fp8")
    return {"root": root, "code": code, "outcomes": outcomes, "left": left, "output": output, "run": run}


def replay(tmp_path, run, snapshots, *extra):
    tmp_path.mkdir(parents=True, exist_ok=True)
    return run_evals(tmp_path, "", "--replay", str(run), "--precision", "fp8", *extra,
                     env={"SUITE_SNAPSHOTS_DIR": str(snapshots)})


def test_a_spread_out_regression_fails_the_pooled_test(degraded):
    code, outcomes, output = degraded["code"], degraded["outcomes"], degraded["output"]
    assert code == 1, output[-3000:]
    assert not degraded["left"]
    passed_alone = [case for case in FP8_CASES if outcomes[case][0] == "passed"]
    assert len(passed_alone) >= 6, output[-3000:]  # spread thin: most cases cannot prove their share
    outcome, message = outcomes["fp8-all"]
    assert outcome == "failed" and "fp8, pool all (10 cases): regression:" in message
    assert outcomes["fp8"][0] == "failed" and "beyond the baseline" in outcomes["fp8"][1]  # its drift test too

    pooled = json.loads((degraded["run"] / "pooled.json").read_text())["fp8-all"]
    assert pooled["p_value"] <= pooled["alpha"] / 10, pooled  # a wide margin: the same verdict on any machine
    assert 0.04 <= pooled["reference"] - pooled["current"] <= 0.2, pooled
    assert len(pooled["worse"]) > 1.5 * len(pooled["better"]) and pooled["better"], pooled  # flips both ways, most down

    # The message names the cases that lost and their items; each such item did worse than in its baseline.
    baselines = {case: json.loads((degraded["root"] / "snapshots" / "tiny" / f"{case}.json").read_text()) for case in FP8_CASES}
    records = {case: json.loads((degraded["run"] / case / "record.json").read_text()) for case in FP8_CASES}
    named = dict((case, items) for case, items in re.findall(r"(fp8-[\w-]+): worse on \d+(?: \[([^\]]*)\])?, better on", message))
    assert len(named) >= 5, message
    for case, items in named.items():
        for item in items.replace(", ...", "").split(", ") if items else []:
            assert rate(records[case]["items"][item]) < rate(baselines[case]["items"][item]), (case, item)


def rate(ratio: str) -> float:
    correct, k = ratio.split("/")
    return int(correct) / int(k)


def test_snapshot_update_accepts_it_and_an_identical_rerun_then_passes_untouched(degraded, tmp_path):
    snapshots = tmp_path / "snapshots"
    shutil.copytree(degraded["root"] / "snapshots", snapshots)
    before = {case: (snapshots / "tiny" / f"{case}.json").read_bytes() for case in FP8_CASES}

    code, outcomes, _, output = replay(tmp_path / "accept", degraded["run"], snapshots, "--snapshot-update")
    assert code == 0, output[-3000:]
    accepted = {case: (snapshots / "tiny" / f"{case}.json").read_bytes() for case in FP8_CASES}
    assert all(accepted[case] != before[case] for case in FP8_CASES)  # every pooled case, though each passed alone
    for case in FP8_CASES:
        record = json.loads((degraded["run"] / case / "record.json").read_text())
        assert json.loads(accepted[case])["items"] == record["items"]

    # A baseline names the run that made it: a later run's report beside it shows its responses.
    [accepting] = [m.parent for m in (tmp_path / "accept" / "artifacts").glob("*/manifest.json")]
    assert all(json.loads(accepted[case])["run"] == accepting.name for case in FP8_CASES)
    code, outcomes, _, output = replay(tmp_path / "accept", degraded["run"], snapshots)  # beside it
    assert code == 0 and outcomes["fp8-all"][0] == "passed", output[-3000:]
    [rerun] = [m.parent for m in (tmp_path / "accept" / "artifacts").glob("*/manifest.json") if m.parent != accepting]
    data = page_data(rerun / "report.html", f"case:{FP8_CASES[0]}")
    assert data["baseline"] == {"source": str(accepting / FP8_CASES[0] / "samples.jsonl"), "why": None}
    assert all(len(item["base"]) == int(item["base_count"][1]) for item in data["items"])
    code, _, _, output = replay(tmp_path / "rerun-update", degraded["run"], snapshots, "--snapshot-update")
    assert code == 0, output[-3000:]
    assert {case: (snapshots / "tiny" / f"{case}.json").read_bytes() for case in FP8_CASES} == accepted


def test_missing_baselines_fail_each_case_with_the_command_that_makes_them(degraded, tmp_path):
    code, outcomes, _, output = replay(tmp_path, degraded["run"], tmp_path / "empty")
    assert code == 1, output[-3000:]
    for case in FP8_CASES:
        outcome, message = outcomes[case]
        assert outcome == "failed" and f"No baseline for {case}" in message and "--snapshot-update" in message
    assert outcomes["fp8-all"][0] == "skipped"


def _shown_items(page) -> list[str]:
    return page.page.locator("#items tr.item").evaluate_all("rows => rows.map(r => r.dataset.item)")


def test_the_report_page_shows_what_flipped_and_the_responses_beside_the_baselines(degraded, tiny_run, tmp_path):
    """In Debian's chromium: each FP8 case's flipped filter shows exactly the items its gate
    found worse and better; a worse item opens to its responses, and with --against the kept
    run (the undegraded FP8) that run's responses beside them."""
    run = degraded["run"]
    with browser() as chromium:
        page = Page(chromium).open(run / "report.html")
        try:
            for case in FP8_CASES:
                gate = json.loads((run / case / "gate.json").read_text())
                page.go(f"case={case}")
                for shown, expected in (("worse", gate["worse"]), ("better", gate["better"]),
                                        ("flipped", gate["worse"] + gate["better"])):
                    page.page.select_option("#flip-filter", shown)
                    assert sorted(_shown_items(page)) == sorted(expected), (case, shown)
            case = max(FP8_CASES, key=lambda c: len(json.loads((run / c / "gate.json").read_text())["worse"]))
            worst = json.loads((run / case / "gate.json").read_text())["worse"][0]
            page.go(f"case={case}&filter=worse&item={worst}")
            samples = [json.loads(line) for line in (run / case / "samples.jsonl").read_text().splitlines()]
            ours = [s for s in samples if s["item"] == worst]
            detail = page.page.locator(f'tr[data-detail="{worst}"]')
            assert detail.locator(".sample.run").count() == len(ours)
            assert detail.locator(".sample.run .ok").count() == sum(s["correct"] for s in ours)
            print("screenshot:", page.screenshot("report-degraded-fp8-worse"))
            assert not page.errors(), page.console
        finally:
            page.close()

        paths = write_report(run, against=tiny_run, out_dir=tmp_path / "against")
        against = json.loads(paths["json"].read_text())["against"]["cases"][case]
        page = Page(chromium).open(paths["html"], f"case={case}&filter=worse")
        try:
            assert sorted(_shown_items(page)) == sorted(against["worse"])
            item = against["worse"][0]
            page.go(f"case={case}&filter=worse&item={item}")
            theirs = [json.loads(line) for line in (tiny_run / case / "samples.jsonl").read_text().splitlines()]
            base = page.page.locator(f'tr[data-detail="{item}"] .sample.base')
            assert base.count() == sum(s["item"] == item for s in theirs)
            assert base.first.locator("pre").count() >= 1  # their texts, beside this run's
            print("screenshot:", page.screenshot("report-against-kept-run"))
            assert not page.errors(), page.console
        finally:
            page.close()
