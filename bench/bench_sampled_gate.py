"""The sampled tiny profile on the engine: false alarms of fresh-seed reruns, and how often
the degraded variant is caught.

    python bench/bench_sampled_gate.py [--reruns 20] [--draws 10] [--keep DIR]

reruns  the whole tiny matrix (`pytest evals --seed N`, N = 1..reruns) against the committed
        baselines, each drawing other samples than every other rerun and than the
        baselines: every test of every rerun (cases, pools, recovery, drift) should pass.
        (Each run starts its own servers: a server reached with --vllm-url is fingerprinted
        as remote, and the committed baselines are not.)
draws   FP8 served by the degraded variant (evals/engine/tiny/quantize.py `noisy`), each
        draw another noise of the same size (evals/engine/tiny/build.py `ensure_drawn`, as
        tests/faults.py `degrade:fp8:N` serves it), run as `pytest evals --precision fp8
        --seed 100+N` with the last rerun as drift reference: is it
        caught by the accuracy gate (a case or pool of fp8 fails as a regression), by drift
        (test_drift[fp8] fails), and what it lost (fp8-all's drop against its baselines).

One table at the end. Prints as it goes; about 2.5 minutes per rerun and 1 per draw on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.evals_run import COMMITTED_BASELINES, run_evals, the_run  # noqa: E402

def kind_of(test: str) -> str:
    """case, pool, recovery or drift, from a test's name."""
    function, _, _ = test.partition("[")
    return {"test_case": "case", "test_precision": "pool", "test_drift": "drift"}.get(function, "recovery")


def tests_of(folder: Path) -> dict[str, str]:
    """Every test of a run ("test_recovery[fp8-all]"), passed, failed, error or skipped, from
    its JUnit report (case and recovery tests share ids, so the outcomes by id are not enough)."""
    out = {}
    for case in ET.parse(folder / "report.xml").getroot().iter("testcase"):
        if "[" in case.get("name", ""):
            found = [tag for tag in ("failure", "error", "skipped") if case.find(tag) is not None]
            out[case.get("name")] = found[0] if found else "passed"
    return out


def evals(folder: Path, fault: str, *args: str) -> tuple[dict, Path]:
    code, outcomes, left, output = run_evals(folder, fault, *args, env=COMMITTED_BASELINES)
    if code not in (0, 1) or left or not outcomes:
        sys.exit(f"pytest evals {' '.join(args)} did not run ({code}; left {left}):\n{output[-3000:]}")
    return tests_of(folder), the_run(folder)


def failures(tests: dict[str, str]) -> list[str]:
    return sorted(name for name, outcome in tests.items() if outcome in ("failure", "error"))


def reruns(count: int, root: Path) -> tuple[list[dict], Path]:
    rows, run = [], None
    for seed in range(1, count + 1):
        began = time.perf_counter()
        tests, run = evals(root / f"rerun-{seed}", "", "--seed", str(seed))
        failed = failures(tests)
        pooled = json.loads((run / "pooled.json").read_text())
        lowest = min(entry["p_value"] for entry in pooled.values() if entry.get("p_value") is not None)
        rows.append({"seed": seed, "tests": len(tests), "failed": failed, "lowest_pooled_p": lowest})
        print(f"rerun --seed {seed}: {len(tests)} tests, failed {failed or 'none'}; lowest pooled p {lowest:.3g}; "
              f"{time.perf_counter() - began:.0f} s", flush=True)
    return rows, run


def draws(count: int, root: Path, reference: Path) -> list[dict]:
    rows = []
    for draw in range(1, count + 1):
        began = time.perf_counter()
        tests, run = evals(root / f"degraded-{draw}", f"degrade:fp8:{draw}", "--precision", "fp8",
                           "--seed", str(100 + draw), "--drift-reference", str(reference))
        failed = failures(tests)
        accuracy = [t for t in failed if kind_of(t) in ("case", "pool")]
        pooled = json.loads((run / "pooled.json").read_text())["fp8-all"]
        drift = "test_drift[fp8]" in failed
        rows.append({"draw": draw, "accuracy_failed": accuracy, "drift_failed": drift,
                     "drop": pooled["reference"] - pooled["current"], "p_value": pooled["p_value"],
                     "pools_failed": [t for t in accuracy if kind_of(t) == "pool"]})
        print(f"draw {draw}: fp8-all {pooled['reference']:.3f} -> {pooled['current']:.3f} "
              f"(p={pooled['p_value']:.2g}); accuracy tests failed {accuracy or 'none'}; "
              f"drift {'failed' if drift else 'passed'}; {time.perf_counter() - began:.0f} s", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reruns", type=int, default=20)
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--keep", type=Path, help="keep the runs here (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        rerun_rows, last = reruns(args.reruns, root)
        draw_rows = draws(args.draws, root, last)
    alarms = [r for r in rerun_rows if r["failed"]]
    tests = sum(r["tests"] for r in rerun_rows)
    print("\n| | count | result |\n|---|---:|---|")
    print(f"| fresh-seed reruns of the tiny matrix | {len(rerun_rows)} | {len(alarms)} with a failed test "
          f"({sum(len(r['failed']) for r in rerun_rows)} of {tests} tests failed) |")
    caught = sum(bool(r["accuracy_failed"]) for r in draw_rows)
    pooled = sum(bool(r["pools_failed"]) for r in draw_rows)
    drift = sum(r["drift_failed"] for r in draw_rows)
    drops = sorted(r["drop"] * 100 for r in draw_rows)
    print(f"| degraded FP8 draws | {len(draw_rows)} | caught by the accuracy gate in {caught} (a pooled test in "
          f"{pooled}), by drift in {drift}; fp8-all drop {drops[0]:.1f}-{drops[-1]:.1f} points |")


if __name__ == "__main__":
    main()
