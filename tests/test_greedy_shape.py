"""The seed profile's shape on the CPU (profile `tiny_greedy`): greedy decoding, one answer per
item, against its committed baselines. Every test passes; a case's verdict says that only
more items could settle it (greedy decoding gives one answer per item); the reference ranks
its own greedy tokens first, the integrity check drift runs before comparing precisions.
The run has VLLM_API_KEY in its environment: the suite's own server requires it and its
clients (generations and drift's prompt_logprobs) send it; no artifact and no output holds
it (the rest of the secrets' tests: tests/test_secrets_and_identity.py)."""

import json

import pytest

from evals.config.matrix import load_matrix
from evals.engine import auth
from tests.evals_run import COMMITTED_BASELINES, run_evals, the_run
from tests.test_secrets_and_identity import KEY

pytestmark = pytest.mark.engine


def test_a_greedy_run_of_one_sample_per_item_with_a_key_in_the_environment(tmp_path):
    code, outcomes, left, output = run_evals(tmp_path, "", "--profile", "tiny_greedy", "--precision", "bf16",
                                             env={**COMMITTED_BASELINES, "VLLM_API_KEY": KEY})
    assert code == 0 and not left, output[-3000:]  # the suite's server requires the key, and its clients send it
    cases = [c for c in load_matrix().cases("tiny_greedy") if c.precision == "bf16"]
    assert {o for o, _ in outcomes.values()} == {"passed"} and {c.id for c in cases} <= set(outcomes), outcomes
    run = the_run(tmp_path)
    for case in cases:
        assert not case.sampled and case.repeats == 1
        samples = [json.loads(line) for line in (run / case.id / "samples.jsonl").open()]
        assert len(samples) == case.limit and {s["repeat"] for s in samples} == {0}
        gate = json.loads((run / case.id / "gate.json").read_text())
        assert gate["status"] in ("inconclusive", "no regression beyond the margin"), gate
        if gate["status"] == "inconclusive":
            assert gate["settle"].startswith("greedy decoding gives one answer per item"), gate
    manifest = json.loads((run / "manifest.json").read_text())
    drift = manifest["drift"]["bf16"]
    assert drift["top1"] >= 0.99 and drift["sampleable"] >= 0.99, drift
    assert manifest["models"]["bf16"]["vllm_env"]["VLLM_API_KEY"] == auth.REDACTED
    leaked = [str(p) for p in tmp_path.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]
    assert leaked == [] and KEY not in output
