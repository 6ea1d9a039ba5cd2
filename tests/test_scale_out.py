"""pytest-xdist on one node: each model's cases on one worker, each worker with its own
GPUs (CUDA_VISIBLE_DEVICES from its device slot), cross-precision tests across workers,
one report. Run on the CPU with the tiny model; on a CPU build CUDA_VISIBLE_DEVICES is
recorded and passed but has nothing to select.

FP8 is served by a subtly perturbed model (evals/engine/tiny/quantize.py `subtle`): its samples
stay what FP8's were (drawn with the same seeds, nearly every response is the same text), so
every case, pool and cross-precision test passes, and its drift test on BF16's sampled
responses (on its worker, once BF16's has scored them on the other) fails and names where its
distributions moved. Identical reruns pass: CI's `pytest evals` is one, against the
committed drift baselines; the degraded model fails both (tests/test_gate_e2e.py)."""

import json
import xml.etree.ElementTree as ET

import pytest

from evals.engine import ports
from evals.engine.server import log_by_start
from tests.evals_run import COMMITTED_BASELINES, ROOT, run_evals, the_run

pytestmark = pytest.mark.engine


def test_two_workers_one_model_each_with_their_own_devices(tiny_run, tmp_path):
    code, outcomes, left, output = run_evals(
        tmp_path, "subtle:fp8", "-n", "2",
        "--precision", "bf16,fp8", "--task", "aime24", "--mode", "int_only,think", env=COMMITTED_BASELINES,
    )
    assert code == 1, output[-4000:]
    assert not left
    tests = {(c.get("classname"), c.get("name")) for c in ET.parse(tmp_path / "report.xml").getroot().iter("testcase")}
    # 4 cases, 2 cross-precision pairs, 3 pools per precision (all, AIME thinking, AIME
    # non-thinking), FP8's 3 pooled cross-precision tests and a drift test per precision.
    assert len(tests) == 4 + 2 + 2 * 3 + 3 + 2
    drift = outcomes.pop("fp8")
    assert {o for o, _ in outcomes.values()} == {"passed"}, outcomes
    assert drift[0] == "failed" and "drift of fp8 against bf16: mean KLD" in drift[1] and "beyond the baseline" in drift[1]
    assert "item" in drift[1] and "position" in drift[1] and "[[" in drift[1]  # where it moved, and the text around it

    run = the_run(tmp_path)
    manifest = json.loads((run / "manifest.json").read_text())
    worker = {p: manifest["models"][p]["worker"] for p in ("bf16", "fp8")}
    assert sorted(worker.values()) == ["gw0", "gw1"]
    assert manifest["drift"]["fp8"] == {"against": "bf16", "responses": 16, "tokens": manifest["drift"]["fp8"]["tokens"],
                                        "items": 8, "max_tokens": 96, "top_k": 5}  # 8 of each of BF16's 2 cases
    for precision in ("bf16", "fp8"):
        # The largest tensor parallel size of the run (bf16: 2) sizes every worker's set.
        expected = {"gw0": "0,1", "gw1": "2,3"}[worker[precision]]
        assert manifest["models"][precision]["env"]["CUDA_VISIBLE_DEVICES"] == expected
        cases = [c for c, w in manifest["workers"].items() if c.startswith(precision + "-")]
        assert len(cases) == 2 and {manifest["workers"][c] for c in cases} == {worker[precision]}
        starts = len(log_by_start(run / "servers" / f"{precision}.log"))
        assert starts == 1
    # Each worker's server on its slot's own ports (evals/engine/ports.py): API and vLLM's internal ones.
    slot_of = {"gw0": 0, "gw1": 1}
    for precision in ("bf16", "fp8"):
        command, env = manifest["models"][precision]["command"], manifest["models"][precision]["env"]
        [session] = manifest["sessions"]
        own = ports.block_of(session, slot_of[worker[precision]], 0)
        assert int(command[command.index("--port") + 1]) in own and int(env["VLLM_PORT"]) in own
    recovery = json.loads((run / "recovery.json").read_text())
    assert sorted(recovery) == ["fp8-aime24-int_only", "fp8-aime24-think", "fp8-aime_non_thinking", "fp8-aime_thinking", "fp8-all"]
    pooled = json.loads((run / "pooled.json").read_text())
    assert sorted(pooled) == sorted(f"{p}-{pool}" for p in ("bf16", "fp8") for pool in ("all", "aime_thinking", "aime_non_thinking"))
    assert all(entry["cases"] and entry["passed"] for entry in pooled.values())
    report = (run / "report.md").read_text()
    assert "| BF16 |" in report and "| FP8 |" in report and "## Cross-precision recovery" in report

    # The subtle model kept its answers (with the kept tiny run's seeds, nearly every response
    # is the same text as that run's FP8), while its mean KLD grew well past its baseline's.
    for case in ("fp8-aime24-int_only", "fp8-aime24-think"):
        ours, kept = responses(run / case), responses(tiny_run / case)
        assert ours.keys() == kept.keys() and sum(ours[k] == kept[k] for k in ours) >= 0.9 * len(ours), case
    record = json.loads((run / "drift" / "fp8.json").read_text())
    baseline = json.loads((ROOT / "snapshots" / "tiny" / "drift-fp8.json").read_text())
    assert record["summary"]["all"]["mean_kld"]["value"] > 2 * baseline["summary"]["all"]["mean_kld"]["value"]


def responses(case_dir) -> dict:
    return {(s["item"], s["repeat"]): s["response"] for s in map(json.loads, (case_dir / "samples.jsonl").open())}
