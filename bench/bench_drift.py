"""The drift tests' cost, what they catch, and their statistics.

    python bench/bench_drift.py --parts cost,catch,simulation [--rounds 5] [--draws 5]

cost        wall time of `pytest evals` (the tiny CPU matrix) with its drift tests and
            without them (-k "not test_drift"), side by side, alternating; the ratio.
            Each run with drift is an identical rerun against the committed baselines:
            how many of them failed a drift test.
catch       FP8 served by the subtle variant (evals/engine/tiny/quantize.py), each run another
            draw of its noise (`subtle:fp8:N`, evals/engine/tiny/build.py), against a stored
            reference (the last run of `cost`, or one made here): whether test_drift[fp8]
            failed while every accuracy case passed, and the run's mean KLD against the
            baseline's.
floor       BF16 against BF16: `pytest evals --precision bf16` run --rounds times; the
            same responses (the first run's) as each later run's BF16 server scored them,
            compared as test_drift compares two precisions: the mean KLD of no change,
            which the profile's `floor` must exceed.
simulation  the drift test (evals/drift/gate.py) on simulated runs: responses of varied
            length, each with its own mean KLD (lognormal: some drift far more than
            others), tokens exponential around it; independent draws for baseline and
            run. False alarms when nothing changed, and power when the run's mean KLD is
            a multiple of the baseline's, at margin 0 and at the tiny profile's margin.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evals.drift import gate  # noqa: E402
from tests.evals_run import COMMITTED_BASELINES, ROOT, run_evals, the_run  # noqa: E402

PRECISIONS = ("bf16", "fp8", "nvfp4")  # the drift tests' ids


def timed_run(folder: Path, fault: str, *args: str) -> tuple[float, dict, str]:
    """Seconds, outcomes and output of `pytest evals ARGS` into its own artifacts folder."""
    began = time.perf_counter()
    code, outcomes, left, output = run_evals(folder, fault, *args, env=COMMITTED_BASELINES)
    took = time.perf_counter() - began
    if code not in (0, 1) or left:
        sys.exit(f"pytest evals {' '.join(args)} did not run ({code}; left {left}):\n{output[-3000:]}")
    return took, outcomes, output


def cost(rounds: int, root: Path) -> Path:
    """The ratio, and the identical reruns' drift outcomes; the last run with drift."""
    with_drift, without, failed = [], [], []
    for i in range(rounds):
        took, outcomes, _ = timed_run(root / f"drift-{i}", "")
        with_drift.append(took)
        failed.append(sorted(p for p in PRECISIONS if outcomes.get(p, ("missing",))[0] != "passed"))
        others = sorted(name for name, (o, _) in outcomes.items() if o != "passed" and name not in PRECISIONS)
        if others:
            print(f"round {i + 1}: other tests not passed: {others}")
        without.append(timed_run(root / f"no-drift-{i}", "", "-k", "not test_drift")[0])
        print(f"round {i + 1}: with drift {with_drift[-1]:.1f} s (drift tests not passed: {failed[-1] or 'none'}), "
              f"without {without[-1]:.1f} s", flush=True)
    a, b = statistics.median(with_drift), statistics.median(without)
    print(f"median wall time of `pytest evals`: with drift {a:.1f} s, without {b:.1f} s; ratio {a / b:.3f} (goal <= 1.25)")
    print(f"identical reruns with every drift test passed: {sum(not f for f in failed)} of {rounds}")
    return the_run(root / f"drift-{rounds - 1}")


def catch(draws: int, root: Path, reference: Path | None) -> None:
    if reference is None:
        timed_run(root / "reference", "", "-k", "bf16")
        reference = the_run(root / "reference")
    baseline = json.loads((ROOT / "snapshots" / "tiny" / "drift-fp8.json").read_text())["summary"]["all"]["mean_kld"]["value"]
    caught = 0
    for draw in range(1, draws + 1):
        folder = root / f"subtle-{draw}"
        _, outcomes, _ = timed_run(folder, f"subtle:fp8:{draw}", "--precision", "fp8", "--drift-reference", str(reference))
        cases = [o for name, (o, _) in outcomes.items() if name.startswith("fp8-") and name.count("-") == 2]
        mean = json.loads((the_run(folder) / "drift" / "fp8.json").read_text())["summary"]["all"]["mean_kld"]["value"]
        drift = outcomes.get("fp8", ("missing",))[0]
        caught += drift == "failed" and all(o == "passed" for o in cases)
        print(f"draw {draw}: accuracy cases passed {sum(o == 'passed' for o in cases)}/{len(cases)}, "
              f"test_drift[fp8] {drift}, mean KLD {mean:.2e} = {mean / baseline:.1f}x the baseline's", flush=True)
    print(f"subtle variant caught (drift failed, every accuracy case passed): {caught} of {draws} draws")


def simulated(rng: np.random.Generator, responses: int, mean_kld: float) -> dict:
    """Responses of 20-200 tokens; each response's own mean KLD lognormal around the run's
    (some responses drift far more than others), its tokens exponential around that."""
    tokens = rng.integers(20, 200, size=responses)
    own = mean_kld * rng.lognormal(-0.5, 1.0, size=responses)  # mean 1: the run's mean KLD
    sums = rng.gamma(tokens, own)  # the sum of `tokens` exponential draws of mean `own`
    return {"fingerprint": {}, "sequences": {f"r/{i}": [float(s), int(n)] for i, (s, n) in enumerate(zip(sums, tokens))}}


def simulation(runs: int, responses: int) -> None:
    from evals.config.matrix import load_matrix

    settings = load_matrix().drift("tiny")
    rng = np.random.default_rng(0)
    print(f"{runs} simulated runs each, {responses} responses, baseline mean KLD 1e-3, confidence {settings.confidence}:")
    for margin in (0.0, settings.margin):
        for growth in (1.0, 1.5, 2.0, 3.0):
            fails = 0
            for _ in range(runs):
                baseline, run = simulated(rng, responses, 1e-3), simulated(rng, responses, growth * 1e-3)
                run["settings"] = {"margin": margin, "floor": 0.0, "confidence": settings.confidence}
                fails += not gate.judge(run, baseline, seed=int(rng.integers(1 << 30))).passed
            what = "false alarms" if growth == 1.0 else "detected"
            print(f"  margin {margin:<4g} run mean KLD x{growth:<4g}: {what} {fails}/{runs} = {fails / runs:.3f}")


def floor(rounds: int, root: Path) -> None:
    from transformers import AutoTokenizer

    from evals.artifacts.run_folder import read_manifest
    from evals.config.matrix import load_matrix
    from evals.drift.scoring import payload, position_logprobs
    from evals.drift.sequences import reference_sequences
    from evals.drift.tokens import compare_sequence
    from evals.artifacts.generations import GenerationStore

    settings = load_matrix().drift("tiny")
    runs = []
    for i in range(rounds):
        timed_run(root / f"bf16-{i}", "", "--precision", "bf16")
        runs.append(the_run(root / f"bf16-{i}"))
    first = read_manifest(runs[0])
    model = first["models"]["bf16"]
    tokenizer = AutoTokenizer.from_pretrained(model["path"])
    samples = [runs[0] / case / "samples.jsonl" for case in first["cases"]]
    sequences = reference_sequences(samples, tokenizer, settings.items, settings.max_tokens)

    def scores(run: Path) -> list:
        store = GenerationStore(run / "drift" / "bf16.jsonl", read_manifest(run)["models"]["bf16"]["context"], writable=False)
        kept = [store.get(store.key(payload(model["name"], seq, settings.top_k))) for seq in sequences]
        return [None if k is None else position_logprobs(k) for k in kept]

    reference = scores(runs[0])
    for run in runs[1:]:
        total, tokens, compared = 0.0, 0, 0
        for seq, ref, cand in zip(sequences, reference, scores(run)):
            if ref is None or cand is None:
                continue  # that run generated another response for this item
            drift = compare_sequence(ref, cand, seq.tokens, seq.start)
            total, tokens, compared = total + sum(t.kld for t in drift), tokens + len(drift), compared + 1
        print(f"BF16 vs BF16 ({runs[0].name} vs {run.name}): {compared}/{len(sequences)} responses, {tokens} tokens, "
              f"mean KLD {total / max(1, tokens):.3e} (floor {settings.floor:g})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default="simulation,cost")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--responses", type=int, default=200)
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if "simulation" in parts:
        simulation(args.runs, args.responses)
    with tempfile.TemporaryDirectory() as tmp:
        reference = cost(args.rounds, Path(tmp)) if "cost" in parts else None
        if "catch" in parts:
            catch(args.draws, Path(tmp), reference)
        if "floor" in parts:
            floor(args.rounds, Path(tmp))


if __name__ == "__main__":
    main()
