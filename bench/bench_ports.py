"""Three servers started together, as `pytest evals -n 3` starts them: do their ports collide?

    python bench/bench_ports.py [--rounds 10]

Each round starts the tiny matrix's three servers (BF16 at tensor parallel 2, FP8, NVFP4)
at the same moment, as three xdist slots of one new session would: each with its own
block of ports (evals/engine/ports.py: its API port, and VLLM_PORT for vLLM's internal ones).
A round counts the servers that came up and answered, and any log line of a port
already in use.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evals.engine import server as engine  # noqa: E402
from evals.engine import ports
from evals.config.matrix import load_matrix  # noqa: E402
from evals.engine.server import server_args  # noqa: E402
from evals.engine.tiny.build import ensure_built  # noqa: E402

COLLISION = ("address already in use", "errno 98")


def round_of_three(folder: Path) -> tuple[int, int, list[int]]:
    """(servers that answered, log lines of a port in use, the API ports) of one round."""
    matrix = load_matrix()
    session = uuid.uuid4().hex[:12]
    servers = []
    for slot, precision in enumerate(("bf16", "fp8", "nvfp4")):
        case = next(c for c in matrix.cases("tiny") if c.precision == precision)
        args = server_args(case)
        servers.append(engine.VllmServer(str(ensure_built(case.model.tiny, matrix)), case.model.name, args,
                                         folder / f"{precision}.log", env=engine.server_env(args, gpu=False),
                                         ports=ports.block_of(session, slot, 0)))
    for server in servers:
        server.launch()  # all three at once, before any is waited for

    def ready(server) -> bool:
        try:
            server.start()
            return True
        except engine.ServerError:
            return False

    try:
        with ThreadPoolExecutor(3) as pool:
            up = sum(pool.map(ready, servers))
    finally:
        for server in servers:
            server.stop()
    in_use = sum(line.lower().count(c) for s in servers for line in s.log_path.read_text(errors="replace").splitlines()
                 for c in COLLISION)
    return up, in_use, [s.port for s in servers]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    clean = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.rounds):
            folder = Path(tmp) / f"round-{i}"
            up, in_use, api = round_of_three(folder)
            clean += up == 3 and in_use == 0
            print(f"round {i + 1}: {up}/3 servers up, {in_use} port-in-use lines, API ports {api}", flush=True)
    print(f"rounds with all three servers up and no port in use: {clean} of {args.rounds}")


if __name__ == "__main__":
    main()
