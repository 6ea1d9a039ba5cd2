"""Seconds from launch to ready of the tiny BF16 model's vLLM CPU server (tensor parallel 2),
with its TP workers spawned (vLLM's default, which the suite keeps) and forked, side by
side in one run, alternating, and their ratio.

    python bench/bench_engine_start.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from evals.config import load_matrix
from evals.engine import VllmServer, cpu_env
from evals.session import server_args
from evals.tiny.build import ensure_built


def start_seconds(model: str, args: dict, env: dict, log: Path) -> float:
    server = VllmServer(model, "tiny-bf16", args, log, env=env, ready_timeout=600)
    began = time.perf_counter()
    server.start()
    took = time.perf_counter() - began
    server.stop()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    rounds = parser.parse_args().rounds
    matrix = load_matrix()
    case = next(c for c in matrix.cases("tiny") if c.precision == "bf16")
    args, model = server_args(case), str(ensure_built("bf16", matrix))
    times: dict[str, list[float]] = {"spawn": [], "fork": []}
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(rounds):
            for method in times:
                env = {**cpu_env(args), "VLLM_WORKER_MULTIPROC_METHOD": method}  # one variable apart
                times[method].append(start_seconds(model, args, env, Path(tmp) / f"{method}-{n}.log"))
                print(f"round {n + 1}: {method} {times[method][-1]:.1f} s", flush=True)
    spawn, fork = statistics.median(times["spawn"]), statistics.median(times["fork"])
    print(f"median start: spawn {spawn:.1f} s, fork {fork:.1f} s; fork/spawn = {fork / spawn:.2f}")


if __name__ == "__main__":
    main()
