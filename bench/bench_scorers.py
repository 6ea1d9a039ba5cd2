"""Scorer throughput, side by side with math-verify called directly and
lm-eval's own exact_match functions, on the same synthetic responses.

    python bench/bench_scorers.py            # 500 items x 32 samples = 16,000 responses per set
    python bench/bench_scorers.py --samples 4  # quicker look

Everything runs pinned to one core (the sympy child process inherits the pin),
in one process, one scorer after another, so the ratios compare like with like.
Goals (issue 2): integer_match >= 20,000 responses/s; math_equiv no slower
than math-verify direct, >= 3x faster with a warm per-gold parse cache; no
timeout when the 500 MATH-500 golds are compared with themselves.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.responses import generate  # noqa: E402
from evals import data  # noqa: E402
from scorers import integer_match, math_equiv  # noqa: E402
from scorers.sympy_worker import SympyWorker  # noqa: E402

math_equiv_impl = importlib.import_module("scorers.math_equiv")


def timed(label: str, fn, responses) -> dict:
    start = time.perf_counter()
    verdicts = [fn(r) for r in responses]
    seconds = time.perf_counter() - start
    row = {"scorer": label, "responses": len(responses), "seconds": seconds, "per_s": len(responses) / seconds}
    print(f"  {label:<48} {len(responses):>7} {seconds:>9.2f} s {row['per_s']:>10,.0f}/s", flush=True)
    return row | {"verdicts": verdicts}


def agreement(verdicts, responses) -> float:
    """Share of verdicts equal to the generator's truth (the response states the gold)."""
    return sum(bool(v) == r.states_gold for v, r in zip(verdicts, responses)) / len(responses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "scorers.json")
    args = parser.parse_args()

    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from math_verify import parse, verify

    aime_utils = importlib.import_module("lm_eval.tasks.aime.utils")
    math_utils = importlib.import_module("lm_eval.tasks.hendrycks_math.utils")

    math_golds = [row["answer"] for row in data.load("math500")][: args.items]
    rng = random.Random(args.seed)
    aime_golds = [str(rng.randint(0, 999)) for _ in range(args.items)]
    t0 = time.perf_counter()
    math_set = generate(math_golds, args.samples, "math", args.seed)
    aime_set = generate(aime_golds, args.samples, "aime", args.seed + 1)
    mean_chars = {k: sum(len(r.text) for r in s) / len(s) for k, s in (("math", math_set), ("aime", aime_set))}
    print(f"generated {len(math_set)} MATH-style and {len(aime_set)} AIME-style responses in "
          f"{time.perf_counter() - t0:.1f} s (mean {mean_chars['math']:,.0f} / {mean_chars['aime']:,.0f} chars)")

    rows = {}
    print("\nAIME-style set (integer golds):")
    rows["integer_match"] = timed("integer_match[prefer_final]", lambda r: integer_match(r.text, r.gold).correct, aime_set)
    rows["lm_eval_aime"] = timed(
        "lm-eval aime process_results (exact_match)",
        lambda r: aime_utils.process_results({"Answer": r.gold}, [r.text])["exact_match"],
        aime_set,
    )

    print("\nMATH-500 set:")
    rows["math_verify_direct"] = timed(
        "math-verify direct: verify(parse(gold), parse(resp))",
        lambda r: verify(parse(f"${r.gold}$"), parse(r.text)),
        math_set,
    )
    math_equiv_impl._worker.close()
    math_equiv_impl._cached_verdict.cache_clear()
    rows["math_equiv_cold"] = timed("math_equiv, cold (new child, empty caches)", lambda r: math_equiv(r.text, r.gold).correct, math_set)
    math_equiv_impl._cached_verdict.cache_clear()
    rows["math_equiv_warm_gold"] = timed(
        "math_equiv, warm per-gold parse cache", lambda r: math_equiv(r.text, r.gold).correct, math_set
    )
    rows["math_equiv_warm_all"] = timed(
        "math_equiv, warm gold + verdict caches", lambda r: math_equiv(r.text, r.gold).correct, math_set
    )
    rows["lm_eval_math"] = timed(
        "lm-eval hendrycks_math500 process_results",
        lambda r: math_utils.process_results({"solution": f"\\boxed{{{r.gold}}}"}, [r.text])["exact_match"],
        math_set,
    )

    print("\nMATH-500 golds compared with themselves through sympy (no string shortcut):")
    worker = SympyWorker()
    slowest, timeouts, unequal = 0.0, [], []
    for gold in data.load("math500"):
        start = time.perf_counter()
        ok, note = worker.equivalent(gold["answer"], gold["answer"])
        slowest = max(slowest, time.perf_counter() - start)
        if note == "timeout":
            timeouts.append(gold["id"])
        elif not ok:
            unequal.append(gold["id"])
    worker.close()
    print(f"  timeouts: {len(timeouts)}  judged unequal: {len(unequal)} {unequal[:5]}  slowest: {slowest:.2f} s")

    per_s = {k: v["per_s"] for k, v in rows.items()}
    ratios = {
        "integer_match responses/s (goal >= 20,000)": per_s["integer_match"],
        "integer_match / lm-eval aime exact_match": per_s["integer_match"] / per_s["lm_eval_aime"],
        "math_equiv cold / math-verify direct (goal >= 1)": per_s["math_equiv_cold"] / per_s["math_verify_direct"],
        "math_equiv warm gold cache / math-verify direct (goal >= 3)": per_s["math_equiv_warm_gold"] / per_s["math_verify_direct"],
        "math_equiv warm all caches / math-verify direct": per_s["math_equiv_warm_all"] / per_s["math_verify_direct"],
        "math_equiv cold / lm-eval hendrycks_math500": per_s["math_equiv_cold"] / per_s["lm_eval_math"],
    }
    accuracy = {
        "integer_match": agreement(rows["integer_match"]["verdicts"], aime_set),
        "lm-eval aime exact_match": agreement(rows["lm_eval_aime"]["verdicts"], aime_set),
        "math_equiv": agreement(rows["math_equiv_cold"]["verdicts"], math_set),
        "math-verify direct": agreement(rows["math_verify_direct"]["verdicts"], math_set),
        "lm-eval hendrycks_math500 exact_match": agreement(rows["lm_eval_math"]["verdicts"], math_set),
    }
    print("\nRatios (same inputs, same run, one core):")
    for label, value in ratios.items():
        print(f"  {label:<62} {value:>10,.2f}")
    print("\nVerdicts agreeing with the generator's truth (does the response state the gold?):")
    for label, value in accuracy.items():
        print(f"  {label:<62} {value:>10.4f}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "items": args.items, "samples": args.samples, "seed": args.seed, "mean_chars": mean_chars,
        "rows": {k: {kk: vv for kk, vv in v.items() if kk != "verdicts"} for k, v in rows.items()},
        "ratios": ratios, "agreement": accuracy,
        "gold_self_check": {"timeouts": timeouts, "unequal": unequal, "slowest_s": slowest},
    }
    args.out.write_text(json.dumps(summary, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
