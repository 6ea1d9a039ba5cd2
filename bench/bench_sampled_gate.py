"""The sampled tiny profile on the engine: false alarms of fresh-seed reruns, and how often
the degraded variant is caught.

    python bench/bench_sampled_gate.py [--reruns 20] [--draws 10] [--keep DIR]

reruns  the whole tiny matrix (`pytest evals --seed N`, N = 1..reruns) against the committed
        baselines, each drawing other samples than every other rerun and than the
        baselines: every test of every rerun (cases, pools, recovery, drift) should pass.
        The three servers are started once and reached with --vllm-url (a test of the
        servers, not of their starts).
draws   FP8 served by the degraded variant (evals/engine/tiny/quantize.py `noisy`), each
        draw another noise of the same size (evals/engine/tiny/build.py `ensure_drawn`),
        run as `pytest evals --precision fp8` with the last rerun as drift reference: is it
        caught by the accuracy gate (a case or pool of fp8 fails as a regression), by drift
        (test_drift[fp8] fails), and what it lost (fp8-all's drop against its baselines).

One table at the end. Prints as it goes; about 1.5 minutes per rerun and per draw on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evals.config.matrix import load_matrix  # noqa: E402
from evals.engine.server import VllmServer, cpu_env, server_args  # noqa: E402
from evals.engine.tiny.build import ensure_built, ensure_drawn  # noqa: E402
from tests.evals_run import COMMITTED_BASELINES, run_evals, the_run  # noqa: E402

PRECISIONS = ("bf16", "fp8", "nvfp4")


def serve(stack: ExitStack, precision: str, path: Path, logs: Path) -> str:
    case = next(c for c in load_matrix().cases("tiny") if c.precision == precision)
    args = server_args(case)
    server = stack.enter_context(VllmServer(str(path), case.model.name, args, logs / f"{precision}-{path.name}.log",
                                            env=cpu_env(args)))
    return server.url


def kind_of(test: str) -> str:
    if test in PRECISIONS:
        return "drift"
    parts = test.split("-")
    return "case" if len(parts) == 3 else "pool"


def failures(outcomes: dict) -> list[str]:
    return sorted(name for name, (outcome, _) in outcomes.items() if outcome != "passed")


def evals(folder: Path, *args: str) -> tuple[dict, Path]:
    code, outcomes, left, output = run_evals(folder, "", *args, env=COMMITTED_BASELINES)
    if code not in (0, 1) or left or not outcomes:
        sys.exit(f"pytest evals {' '.join(args)} did not run ({code}; left {left}):\n{output[-3000:]}")
    return outcomes, the_run(folder)


def reruns(count: int, root: Path, urls: dict[str, str]) -> tuple[list[dict], Path]:
    rows, run = [], None
    remote = [arg for p, u in urls.items() for arg in ("--vllm-url", f"{p}={u}")]
    for seed in range(1, count + 1):
        began = time.perf_counter()
        outcomes, run = evals(root / f"rerun-{seed}", "--seed", str(seed), *remote)
        failed = failures(outcomes)
        pooled = json.loads((run / "pooled.json").read_text())
        lowest = min(entry["p_value"] for entry in pooled.values() if entry.get("p_value") is not None)
        rows.append({"seed": seed, "tests": len(outcomes), "failed": failed, "lowest_pooled_p": lowest})
        print(f"rerun --seed {seed}: {len(outcomes)} tests, failed {failed or 'none'}; lowest pooled p {lowest:.3g}; "
              f"{time.perf_counter() - began:.0f} s", flush=True)
    return rows, run


def draws(count: int, root: Path, reference: Path) -> list[dict]:
    rows = []
    for draw in range(1, count + 1):
        began = time.perf_counter()
        with ExitStack() as stack:
            url = serve(stack, "fp8", ensure_drawn("noisy", draw), root)
            outcomes, run = evals(root / f"degraded-{draw}", "--precision", "fp8", "--seed", str(100 + draw),
                                  "--vllm-url", f"fp8={url}", "--drift-reference", str(reference))
        failed = failures(outcomes)
        accuracy = [t for t in failed if kind_of(t) in ("case", "pool")]
        pooled = json.loads((run / "pooled.json").read_text())["fp8-all"]
        rows.append({"draw": draw, "accuracy_failed": accuracy, "drift_failed": "fp8" in failed,
                     "drop": pooled["reference"] - pooled["current"], "p_value": pooled["p_value"],
                     "pools_failed": [t for t in accuracy if kind_of(t) == "pool"]})
        print(f"draw {draw}: fp8-all {pooled['reference']:.3f} -> {pooled['current']:.3f} "
              f"(p={pooled['p_value']:.2g}); accuracy tests failed {accuracy or 'none'}; "
              f"drift {'failed' if 'fp8' in failed else 'passed'}; {time.perf_counter() - began:.0f} s", flush=True)
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
        with ExitStack() as stack:
            urls = {p: serve(stack, p, ensure_built(p), root) for p in PRECISIONS}
            rerun_rows, last = reruns(args.reruns, root, urls)
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
