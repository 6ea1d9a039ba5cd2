"""Seconds from launch to ready of the tiny FP8 model's vLLM CPU server (one rank), with its
worker inside the engine process (the suite's `cpu_env`) and spawned as a process of its
own (vLLM's CPU default), side by side in one run, alternating, and their ratio.

    python bench/bench_engine_start.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from evals.config.matrix import load_matrix
from evals.engine.server import VllmServer, cpu_env
from evals.engine.server import server_args
from evals.engine.tiny.build import ensure_built


def start_seconds(model: str, args: dict, env: dict, log: Path) -> float:
    server = VllmServer(model, "tiny-fp8", args, log, env=env, ready_timeout=600)
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
    case = next(c for c in matrix.cases("tiny") if c.precision == "fp8")
    args, model = server_args(case), str(ensure_built("fp8", matrix))
    variants = {"in-engine": cpu_env(args), "spawned": {**cpu_env(args), "VLLM_ENABLE_V1_MULTIPROCESSING": "1"}}
    times: dict[str, list[float]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(rounds):
            for name, env in variants.items():  # one variable apart
                times[name].append(start_seconds(model, args, env, Path(tmp) / f"{name}-{n}.log"))
                print(f"round {n + 1}: {name} {times[name][-1]:.1f} s", flush=True)
    inside, spawned = statistics.median(times["in-engine"]), statistics.median(times["spawned"])
    print(f"median start: worker in the engine process {inside:.1f} s, spawned {spawned:.1f} s; "
          f"in-engine/spawned = {inside / spawned:.2f}")


if __name__ == "__main__":
    main()
