"""A model's generation pass against vLLM's own `LLM.generate`, and against the per-case flow,
on the same requests, side by side in one run.

    python bench/bench_generation_pass.py [--rounds 3] [--precision fp8]

The requests are the tiny profile's 10 cases of one precision, as lm-eval builds them
(evals/lmeval/runner.py `case_requests`), each forced to a length drawn from a heavy-tailed
(lognormal) distribution like thinking traces: `max_tokens` per request, `ignore_eos`,
no stop strings. Each round times, on one server (its start not timed):
  pass      all requests through one pool, longest first (evals/engine/client.py, as
            evals/run/generation_pass.py sends them);
  all at once  every request sent at once (no pool), as LLM.generate adds them: the
            server's own cost, apart from the pool's;
  per-case  each case's requests through a pool of its own, one case after another
            (the flow before the pass: a case ends in a drain before the next begins);
and, in a fresh process with the same engine arguments and environment as the server
(cpu_env: the engine in the calling process), one `LLM.generate` call over the same
prompt token ids (rendered by the model's chat template; the server's prompt token counts
are checked against them) and lengths (its start not timed).
The engine's running count is read from the server's /metrics every 0.25 s in separate,
untimed runs of the pass and the per-case flow: rendering /metrics that often slows the
server on 2 cores (printed as "pass watched / pass"), so no timed flow is sampled. The running
count is averaged while at least max_num_seqs requests are unfinished (enough to fill it).
Goals (issue 14): LLM.generate seconds / pass seconds >= 0.85; running >= 90% of max_num_seqs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import requests as http

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evals.engine.client import Client, PoolSize, Request, parse_metrics, pool_size  # noqa: E402
from evals.engine.endpoints import LocalEndpoint, Unreachable  # noqa: E402
from evals.config.matrix import load_matrix  # noqa: E402
from evals.drift.sequences import prompt_ids  # noqa: E402
from evals.engine.server import VllmServer, cpu_env  # noqa: E402
from evals.run.generation_pass import longest_first  # noqa: E402
from evals.lmeval.call import in_flight  # noqa: E402
from evals.lmeval.runner import case_requests  # noqa: E402
from evals.engine.facts import kv_cache_tokens  # noqa: E402
from evals.engine.server import server_args  # noqa: E402
from evals.engine.tiny.build import ensure_built  # noqa: E402

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def forced_requests(cases, path: str, seed: int, median: float, sigma: float) -> list[tuple[Request, list[int]]]:
    """Every request of the cases, forced to a heavy-tailed length, with its prompt's token ids."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    rng = np.random.default_rng(seed)
    out = []
    for case in cases:
        for request in case_requests(case, Unreachable(case.model.name, RuntimeError("only collecting requests"))):
            payload = request.payload
            ids = prompt_ids(tokenizer, payload["messages"], payload.get("chat_template_kwargs"))
            room = case.server["max_model_len"] - len(ids) - 1
            length = int(min(room, max(8, round(rng.lognormal(np.log(median), sigma)))))
            payload.update(max_tokens=length, ignore_eos=True, stop=[])
            out.append((Request(case.id, payload, expected_tokens=float(length)), ids))
    return out


class Sampler:
    """The server's running and waiting counts every 0.25 s, beside the flow's unfinished count."""

    def __init__(self, url: str):
        self.url, self.samples, self.unfinished = url, [], 0
        self._stop = threading.Event()

    def __enter__(self):
        def sample():
            while not self._stop.is_set():
                try:
                    values = parse_metrics(http.get(f"{self.url}/metrics", timeout=5).text)
                    self.samples.append((self.unfinished, values.get("vllm:num_requests_running", 0.0),
                                         values.get("vllm:num_requests_waiting", 0.0)))
                except (http.RequestException, ValueError):
                    pass
                self._stop.wait(0.25)

        self.thread = threading.Thread(target=sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.thread.join()

    def running(self, batch: int) -> tuple[float, float]:
        """Mean running count while at least `batch` requests were unfinished, and over the whole flow."""
        full = [r for u, r, _ in self.samples if u >= batch]
        every = [r for _, r, _ in self.samples]
        return (statistics.fmean(full) if full else float("nan")), (statistics.fmean(every) if every else float("nan"))


def running(server) -> LocalEndpoint:
    """The bench's server, already started, as the endpoint the pool sends to."""
    endpoint = LocalEndpoint(server)
    endpoint.started = True
    return endpoint


def sent(server, groups: list[list[Request]], size: PoolSize, arrived=lambda request: None) -> list[int]:
    """Send every group, one after another, each through its own pool; the prompt token counts."""
    prompts = []
    for group in groups:
        for request in group:
            request.response = None

        def done(request: Request) -> None:
            arrived(request)
            prompts.append(request.response["usage"]["prompt_tokens"])

        Client(running(server), size).send(group, done)
    return prompts


def timed(server, groups: list[list[Request]], size: PoolSize) -> dict:
    """Seconds and tokens to send the groups, with nothing else asking the server anything."""
    began = time.perf_counter()
    prompts = sent(server, groups, size)
    seconds = time.perf_counter() - began
    return {"seconds": seconds, "tokens": sum(r.completion_tokens for g in groups for r in g), "prompt_tokens": prompts}


def sampled(server, groups: list[list[Request]], size: PoolSize, batch: int) -> dict:
    """The engine's mean running count while the groups are sent: while >= batch remain, and overall;
    and the seconds they took while watched, to show what the watching costs."""
    began = time.perf_counter()
    with Sampler(server.url) as sampler:
        sampler.unfinished = sum(len(g) for g in groups)

        def arrived(request: Request) -> None:
            sampler.unfinished -= 1

        sent(server, groups, size, arrived)
    full, every = sampler.running(batch)
    return {"running_full": full, "running_all": every, "watched_seconds": time.perf_counter() - began}


def llm_generate(path: str, args: dict, env: dict, forced, work: Path) -> dict:
    file = work / "requests.json"
    file.write_text(json.dumps([{"prompt_token_ids": ids, "max_tokens": r.payload["max_tokens"]} for r, ids in forced]))
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "llm_generate.py"), path, json.dumps(args), str(file)],
                          cwd=ROOT, env={**ENV, **env}, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"LLM.generate failed:\n{proc.stderr[-3000:]}")
    return json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))[len("RESULT "):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--precision", default="fp8")
    parser.add_argument("--median", type=float, default=120.0, help="median forced length, tokens")
    parser.add_argument("--sigma", type=float, default=0.8, help="lognormal sigma of the forced lengths")
    parser.add_argument("--bind", default="", help="VLLM_CPU_OMP_THREADS_BIND of both engines, e.g. 0: one core, the other left to the "
                        "server's front end and this client (default: vLLM's, every core, as the suite's servers run)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "generation_pass.json")
    args = parser.parse_args()
    matrix = load_matrix()
    cases = [c for c in matrix.cases("tiny") if c.precision == args.precision]
    path = str(ensure_built(cases[0].model.tiny, matrix))
    engine_args = server_args(cases[0])
    engine_env = {**cpu_env(engine_args), **({"VLLM_CPU_OMP_THREADS_BIND": args.bind} if args.bind else {})}
    batch = engine_args["max_num_seqs"]
    forced = forced_requests(cases, path, seed=0, median=args.median, sigma=args.sigma)
    lengths = sorted(r.payload["max_tokens"] for r, _ in forced)
    print(f"{len(forced)} requests of {len(cases)} cases; forced lengths: median {statistics.median(lengths):.0f}, "
          f"mean {statistics.fmean(lengths):.0f}, p90 {lengths[int(0.9 * len(lengths))]}, max {lengths[-1]}; "
          f"max_num_seqs {batch}", flush=True)
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for n in range(args.rounds):
            with VllmServer(path, cases[0].model.name, engine_args, work / f"server-{n}.log", env=engine_env) as server:
                size = pool_size(in_flight(cases[0]), kv_cache_tokens((work / f"server-{n}.log").read_text()))
                pass_groups = [longest_first([r for r, _ in forced])]
                case_groups = [[r for r, _ in forced if r.case_id == c.id] for c in cases]
                flows = {
                    "pass": lambda: timed(server, pass_groups, size),
                    # Every request sent at once, as LLM.generate adds them: what the server itself costs.
                    "all_at_once": lambda: timed(server, pass_groups, PoolSize(len(forced))),
                    "per_case": lambda: timed(server, case_groups, PoolSize(in_flight(cases[0]))),
                }
                result = {}
                for name in list(flows)[n % 3:] + list(flows)[:n % 3]:  # each flow goes first in turn
                    result[name] = flows[name]()
                result["pass"].update(sampled(server, pass_groups, size, batch))
                result["per_case"].update(sampled(server, case_groups, PoolSize(in_flight(cases[0])), batch))
            want = [len(ids) for _, ids in forced]
            if any(sorted(flow.pop("prompt_tokens")) != sorted(want) for flow in result.values()):
                sys.exit("the server's prompts differ from the ones rendered for LLM.generate")
            result["llm_generate"] = llm_generate(path, engine_args, engine_env, forced, work)
            rounds.append(result)
            print(f"round {n + 1}: " + ", ".join(
                f"{k} {v['seconds']:.1f} s ({v['tokens']} tokens"
                + (f", running {v['running_full']:.1f} of {batch} while >= {batch} remain, {v['running_all']:.1f} overall)"
                   if "running_full" in v else ")") for k, v in result.items())
                + f"; LLM.generate / pass {result['llm_generate']['seconds'] / result['pass']['seconds']:.3f}", flush=True)
    median = {k: statistics.median(r[k]["seconds"] for r in rounds) for k in ("pass", "all_at_once", "per_case", "llm_generate")}
    per_round = [r["llm_generate"]["seconds"] / r["pass"]["seconds"] for r in rounds]
    summary = {
        "bind": args.bind, "rounds": rounds, "median_seconds": median, "max_num_seqs": batch,
        "llm_over_pass": median["llm_generate"] / median["pass"],
        "llm_over_pass_per_round": per_round,
        "llm_over_per_case": median["llm_generate"] / median["per_case"],
        "all_at_once_over_pass": median["all_at_once"] / median["pass"],
        "per_case_over_pass": median["per_case"] / median["pass"],
        "watched_over_pass": statistics.median(r["pass"]["watched_seconds"] for r in rounds) / median["pass"],
        "pass_running_share": statistics.median(r["pass"]["running_full"] for r in rounds) / batch,
        "per_case_running_share": statistics.median(r["per_case"]["running_full"] for r in rounds) / batch,
        "per_case_running_all_share": statistics.median(r["per_case"]["running_all"] for r in rounds) / batch,
    }
    print(f"\nMedians over {args.rounds} rounds (same machine, same run):")
    print(f"  LLM.generate / pass seconds (goal >= 0.85):   {summary['llm_over_pass']:.3f} "
          f"({median['llm_generate']:.1f} / {median['pass']:.1f}); per round {min(per_round):.3f}-{max(per_round):.3f}")
    print(f"  LLM.generate / per-case seconds:              {summary['llm_over_per_case']:.3f} "
          f"({median['llm_generate']:.1f} / {median['per_case']:.1f})")
    print(f"  per-case / pass seconds:                      {summary['per_case_over_pass']:.3f}")
    print(f"  all at once / pass seconds (the server's own cost, beside the pool's): {summary['all_at_once_over_pass']:.3f} "
          f"({median['all_at_once']:.1f} / {median['pass']:.1f})")
    print(f"  pass watched (/metrics every 0.25 s) / pass seconds: {summary['watched_over_pass']:.3f}")
    print(f"  pass: running / max_num_seqs while >= {batch} remain (goal >= 0.90): {summary['pass_running_share']:.3f}")
    print(f"  per-case: running / max_num_seqs, overall:    {summary['per_case_running_all_share']:.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
