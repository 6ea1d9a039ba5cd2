"""pytest-xdist on one node: each model's cases on one worker, each worker with its own
GPUs (CUDA_VISIBLE_DEVICES from its worker id), cross-precision tests across workers,
one report. Run on the CPU with the tiny model; on a CPU build CUDA_VISIBLE_DEVICES is
recorded and passed but has nothing to select."""

import json
import xml.etree.ElementTree as ET

import pytest

from tests.evals_run import ROOT, run_evals

pytestmark = pytest.mark.slow

COMMITTED = {"SUITE_SNAPSHOTS_DIR": str(ROOT / "snapshots")}


def test_two_workers_one_model_each_with_their_own_devices(tmp_path):
    code, _, left, output = run_evals(
        tmp_path, "", "-n", "2",
        "--precision", "bf16,fp8", "--task", "aime24", "--mode", "int_only,think", env=COMMITTED,
    )
    assert code == 0, output[-4000:]
    assert not left
    tests = {(c.get("classname"), c.get("name")) for c in ET.parse(tmp_path / "report.xml").getroot().iter("testcase")}
    assert len(tests) == 6  # 4 cases + 2 cross-precision pairs, all passed (exit 0)

    [run] = [p.parent for p in (tmp_path / "artifacts").glob("*/manifest.json")]
    manifest = json.loads((run / "manifest.json").read_text())
    worker = {p: manifest["models"][p]["worker"] for p in ("bf16", "fp8")}
    assert sorted(worker.values()) == ["gw0", "gw1"]
    for precision in ("bf16", "fp8"):
        # The largest tensor parallel size of the run (bf16: 2) sizes every worker's set.
        expected = {"gw0": "0,1", "gw1": "2,3"}[worker[precision]]
        assert manifest["models"][precision]["env"]["CUDA_VISIBLE_DEVICES"] == expected
        cases = [c for c, w in manifest["workers"].items() if c.startswith(precision + "-")]
        assert len(cases) == 2 and {manifest["workers"][c] for c in cases} == {worker[precision]}
        starts = sum(line.startswith("$ ") for line in (run / "servers" / f"{precision}.log").read_text().splitlines())
        assert starts == 1
    recovery = json.loads((run / "recovery.json").read_text())
    assert sorted(recovery) == ["fp8-aime24-int_only", "fp8-aime24-think"]
    report = (run / "report.md").read_text()
    assert "| BF16 |" in report and "| FP8 |" in report and "## Cross-precision recovery" in report
