"""A pytest plugin that injects engine faults into a `pytest evals` run.

Loaded by every child run of tests/evals_run.py (`-p tests.faults`), which sets
SUITE_FAULT: `kill:PRECISION:N` SIGKILLs that precision's server group when
its N-th request is being sent (mid-pass: the first case); `badarg:PRECISION` gives that
server an argument vLLM rejects, so it fails to start; `degrade:PRECISION`
serves that precision's tiny model with noisy weights (evals/engine/tiny/quantize.py: it
loses some 8-10 points spread over every case) under the same
configuration, as a kernel bug would; `subtle:PRECISION` serves it with a little of
that noise (its answers stay, its token distributions move: evals/drift/);
`degrade:PRECISION:N` and `subtle:PRECISION:N` with the N-th other draw of that noise
(evals/engine/tiny/build.py);
`die-after:N` SIGKILLs the pytest process
itself right after the N-th response is kept (a run killed halfway, mid-case,
with requests in flight). Several faults, one per model, are comma-separated.
"""

from __future__ import annotations

import os
import signal

import pytest

FAULT = os.environ.get("SUITE_FAULT", "")


def pytest_configure(config):
    for fault in filter(None, FAULT.split(",")):  # several, one per model: "badarg:bf16,kill:fp8:2"
        kind, _, rest = fault.partition(":")
        if kind == "kill":
            precision, _, nth = rest.partition(":")
            _kill_on_request(precision, int(nth))
        elif kind == "badarg":
            _bad_argument(rest)
        elif kind in ("degrade", "subtle"):
            precision, _, draw = rest.partition(":")
            _serve_variant(precision, {"degrade": "noisy", "subtle": "subtle"}[kind], int(draw or 0))
        elif kind == "die-after":
            _die_after(int(rest))
        else:
            raise pytest.UsageError(f"SUITE_FAULT: unknown fault {fault!r}")


def _kill_on_request(precision: str, nth: int) -> None:
    from evals.engine import server as engine
    from evals.engine.client import Client

    original = Client.post
    sent = {"n": 0}

    async def post(self, session, base_url, request):
        model = request.payload["model"]
        if model.endswith(f"-{precision}"):
            sent["n"] += 1
            if sent["n"] == nth:
                for server in list(engine._LIVE):
                    if server.served_name == model:
                        os.killpg(server.proc.pid, signal.SIGKILL)
        return await original(self, session, base_url, request)

    Client.post = post


def _bad_argument(precision: str) -> None:
    from evals.engine import server

    original = server.server_args

    def server_args(case):
        args = original(case)
        return {**args, "dtype": "no-such-dtype"} if case.precision == precision else args

    server.server_args = server_args


def _serve_variant(precision: str, scheme: str, draw: int) -> None:
    from evals.engine.tiny.build import ensure_drawn
    from evals.engine.weights import Weights

    original = Weights.path

    def path(self, model):
        if model.is_tiny and self.matrix.profiles["tiny"]["precisions"].get(precision) == model.name:
            return str(ensure_drawn(scheme, draw, self.matrix)), None
        return original(self, model)

    Weights.path = path


def _die_after(nth: int) -> None:
    from evals.artifacts.generations import GenerationStore

    original = GenerationStore.put
    kept = {"n": 0}

    def put(self, *args, **kwargs):
        original(self, *args, **kwargs)
        kept["n"] += 1
        if kept["n"] == nth:
            os.kill(os.getpid(), signal.SIGKILL)

    GenerationStore.put = put


@pytest.hookimpl(trylast=True)
def pytest_report_header(config):
    return f"injected fault: {FAULT or 'none'}"
