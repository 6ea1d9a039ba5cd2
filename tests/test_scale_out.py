"""pytest-xdist on one node: each model's cases on one worker, each worker with its own
GPUs (CUDA_VISIBLE_DEVICES from its device slot), cross-precision tests across workers,
one report. Run on the CPU with the tiny model; on a CPU build CUDA_VISIBLE_DEVICES is
recorded and passed but has nothing to select."""

import json
import xml.etree.ElementTree as ET

import pytest

from evals.engine import log_by_start
from tests.evals_run import COMMITTED_BASELINES, run_evals, the_run

pytestmark = pytest.mark.engine


def test_two_workers_one_model_each_with_their_own_devices(tmp_path):
    code, _, left, output = run_evals(
        tmp_path, "", "-n", "2",
        "--precision", "bf16,fp8", "--task", "aime24", "--mode", "int_only,think", env=COMMITTED_BASELINES,
    )
    assert code == 0, output[-4000:]
    assert not left
    tests = {(c.get("classname"), c.get("name")) for c in ET.parse(tmp_path / "report.xml").getroot().iter("testcase")}
    # 4 cases, 2 cross-precision pairs, 3 pools per precision (all, AIME thinking, AIME
    # non-thinking), FP8's 3 pooled cross-precision tests and a drift test per precision
    # (FP8's on its worker, after BF16's on the other), all passed (exit 0).
    assert len(tests) == 4 + 2 + 2 * 3 + 3 + 2

    run = the_run(tmp_path)
    manifest = json.loads((run / "manifest.json").read_text())
    worker = {p: manifest["models"][p]["worker"] for p in ("bf16", "fp8")}
    assert sorted(worker.values()) == ["gw0", "gw1"]
    for precision in ("bf16", "fp8"):
        # The largest tensor parallel size of the run (bf16: 2) sizes every worker's set.
        expected = {"gw0": "0,1", "gw1": "2,3"}[worker[precision]]
        assert manifest["models"][precision]["env"]["CUDA_VISIBLE_DEVICES"] == expected
        cases = [c for c, w in manifest["workers"].items() if c.startswith(precision + "-")]
        assert len(cases) == 2 and {manifest["workers"][c] for c in cases} == {worker[precision]}
        starts = len(log_by_start(run / "servers" / f"{precision}.log"))
        assert starts == 1
    recovery = json.loads((run / "recovery.json").read_text())
    assert sorted(recovery) == ["fp8-aime24-int_only", "fp8-aime24-think", "fp8-aime_non_thinking", "fp8-aime_thinking", "fp8-all"]
    pooled = json.loads((run / "pooled.json").read_text())
    assert sorted(pooled) == sorted(f"{p}-{pool}" for p in ("bf16", "fp8") for pool in ("all", "aime_thinking", "aime_non_thinking"))
    assert all(entry["cases"] and entry["passed"] for entry in pooled.values())
    report = (run / "report.md").read_text()
    assert "| BF16 |" in report and "| FP8 |" in report and "## Cross-precision recovery" in report
