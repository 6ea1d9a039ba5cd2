"""The tiny matrix through the suite, side by side with the seed report's workflow,
and the suite's generation throughput against vLLM's own `LLM.generate`.

    python bench/bench_matrix.py                 # all three parts (~50 min on 2 cores)
    python bench/bench_matrix.py --parts suite,throughput

suite       `pytest evals` (profile tiny): wall time and engine starts.
seed        the seed's workflow on the same cases: one lm-eval invocation per case
            (a fresh process running lm-eval's stock `local-chat-completions` model),
            each with its own engine (a vLLM server started and stopped for it; lm-eval's
            in-process `vllm` model does not run on vLLM's CPU build).
throughput  the bf16 model's prompts of the whole tiny matrix with the same sampling
            settings, forced to generate `--tokens` tokens each: completion tokens per
            second through the suite (lm-eval + adapter + HTTP server) against
            `vllm.LLM.chat` in-process, with the same engine arguments.
Goals (issue 3): suite/seed wall-time ratio <= 0.3, one engine start per model,
throughput ratio >= 0.85.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evals.config.matrix import load_matrix  # noqa: E402
from evals.engine.server import VllmServer, cpu_env, log_by_start  # noqa: E402
from evals.engine.server import server_args  # noqa: E402
from evals.engine.tiny.build import ensure_built  # noqa: E402

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def suite_part(out: Path) -> dict:
    artifacts = out / "suite-artifacts"
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "evals", "-q", "-p", "no:cacheprovider", "--artifacts", str(artifacts)],
        cwd=ROOT, env=ENV, capture_output=True, text=True,
    )
    seconds = time.perf_counter() - start
    starts = sum(len(log_by_start(log)) for log in artifacts.glob("*/servers/*.log"))
    print(f"suite: {seconds:.0f} s, {starts} engine starts, pytest exit {proc.returncode}", flush=True)
    return {"seconds": seconds, "engine_starts": starts, "exit": proc.returncode, "tail": proc.stdout[-300:]}


def seed_part(out: Path) -> dict:
    matrix = load_matrix()
    cases = matrix.cases("tiny")
    start = time.perf_counter()
    failures = []
    for case in cases:
        args = server_args(case)
        server = VllmServer(str(ensure_built(case.model.tiny, matrix)), case.model.name, args, out / "seed-logs" / f"{case.id}.log", env=cpu_env(args))
        with server:
            proc = subprocess.run(
                [sys.executable, str(ROOT / "bench" / "seed_case.py"), case.id, server.url, server.served_name],
                cwd=ROOT, env=ENV, capture_output=True, text=True,
            )
        if proc.returncode != 0:
            failures.append((case.id, proc.stderr[-500:]))
        print(f"  seed workflow: {case.id} done at {time.perf_counter() - start:.0f} s", flush=True)
    seconds = time.perf_counter() - start
    print(f"seed: {seconds:.0f} s, {len(cases)} engine starts, {len(failures)} failed cases", flush=True)
    return {"seconds": seconds, "engine_starts": len(cases), "failures": failures}


def throughput_part(out: Path, tokens: int) -> dict:
    from evals.lmeval.runner import run_case

    matrix = load_matrix()
    cases = [c for c in matrix.cases("tiny") if c.precision == "bf16"]
    forced = []
    for case in cases:
        generation = {**case.generation, "max_gen_toks": tokens, "min_tokens": tokens, "until": []}
        forced.append(dataclasses.replace(case, generation=generation))
    path = str(ensure_built("bf16", matrix))
    args = server_args(cases[0])
    env = cpu_env(args)

    with VllmServer(path, "tiny-bf16", args, out / "throughput-server.log", env=env) as server:
        results = [run_case(c, server) for c in forced]
    # Generation windows only: scoring (sympy on forced junk) is not generation.
    suite_tokens = sum(s.completion_tokens for r in results for s in r.samples)
    suite_seconds = sum(r.generation_seconds for r in results)
    print(f"throughput via the suite: {suite_tokens} tokens in {suite_seconds:.1f} s of generation", flush=True)

    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "raw_generate.py"), path, json.dumps(args), str(tokens)],
        cwd=ROOT, env={**ENV, **env}, capture_output=True, text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"raw LLM.chat failed:\n{proc.stderr[-3000:]}")
    raw = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))[len("RESULT "):])
    print(f"throughput via LLM.chat: {raw['tokens']} tokens in {raw['seconds']:.1f} s", flush=True)
    return {
        "suite_tokens": suite_tokens, "suite_seconds": suite_seconds, "suite_tok_s": suite_tokens / suite_seconds,
        "raw_tokens": raw["tokens"], "raw_seconds": raw["seconds"], "raw_tok_s": raw["tokens"] / raw["seconds"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default="suite,seed,throughput")
    parser.add_argument("--tokens", type=int, default=256, help="tokens each throughput request must generate")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "matrix.json")
    args = parser.parse_args()
    parts = args.parts.split(",")
    ensure_built("bf16")  # the build is not part of either workflow's time
    result: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if "suite" in parts:
            result["suite"] = suite_part(work)
        if "seed" in parts:
            result["seed"] = seed_part(work)
        if "throughput" in parts:
            result["throughput"] = throughput_part(work, args.tokens)
    print("\nRatios (same machine, same run):")
    if "suite" in result and "seed" in result:
        result["wall_time_ratio"] = result["suite"]["seconds"] / result["seed"]["seconds"]
        print(f"  wall time, suite / seed workflow (goal <= 0.3):   {result['wall_time_ratio']:.3f}")
        print(f"  engine starts, suite / seed workflow:             {result['suite']['engine_starts']} / {result['seed']['engine_starts']}")
    if "throughput" in result:
        t = result["throughput"]
        result["throughput_ratio"] = t["suite_tok_s"] / t["raw_tok_s"]
        print(f"  tokens/s, suite / LLM.chat (goal >= 0.85):         {result['throughput_ratio']:.3f} "
              f"({t['suite_tok_s']:.0f} / {t['raw_tok_s']:.0f})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
