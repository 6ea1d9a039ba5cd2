"""A session's servers: one endpoint per model (evals/engine/endpoints.py), opened once
for all of its cases. A local vLLM server is made once (it may be launched ahead) and
started when a request that is not kept needs it; what it says of itself once it answers
(its command, kernels, KV cache) goes into the manifest. A remote server, or several
replicas of one (evals/engine/replicas.py), is used as it is; a replay has none."""

from __future__ import annotations

import contextlib
import os

from evals.artifacts.run_folder import RunArtifacts, engine_version
from evals.config.matrix import Case, gpus_per_server
from evals.engine import facts, ports, replicas
from evals.engine.auth import redact_env
from evals.engine import server as engines
from evals.engine.endpoints import Expected, LocalEndpoint, Unreachable
from evals.engine.weights import Weights
from evals.run.selection import Selection
from evals.run.stores import Stores

REMOTE_ARCHITECTURE = "unknown (remote server)"


class Servers:
    def __init__(self, selection: Selection, artifacts: RunArtifacts, weights: Weights, stores: Stores):
        self.selection, self.artifacts, self.weights, self.stores = selection, artifacts, weights, stores
        self._local: dict[str, engines.VllmServer] = {}
        self.kv_tokens: dict[str, int | None] = {}  # a server's URL -> its KV cache, in tokens (all its DP ranks)
        worker = selection.worker
        self._worker = {"worker": worker.name} if worker else {}  # recorded per model

    def local_models(self) -> dict[str, Case]:
        """precision -> one of its cases, for the precisions this session serves itself."""
        gpu_ok = facts.gpu_status(1)[0]
        return {c.precision: c for c in self.selection.cases
                if c.precision not in self.selection.remote and (gpu_ok or not c.gpu)}

    def _context(self, case: Case, engine: str | None, architecture: str) -> dict:
        """What a generation depends on besides the request (evals/artifacts/generations.py):
        the model's weights, the server's arguments, the engine, the GPU."""
        return {"model": self.weights.label(case.model), "server": engines.server_args(case), "engine": engine,
                "gpu_architecture": architecture}

    @contextlib.contextmanager
    def endpoint(self, precision: str):
        """Where a model's requests go: a local vLLM server (started when the first request
        that is not kept needs it), a remote one or replicas of one (--vllm-url), or none (--replay)."""
        selection = self.selection
        case = selection.first_case(precision)
        if selection.replay:
            context = selection.replayed["models"].get(precision, {}).get("context")
            path = selection.replay / "generations" / f"{precision}.jsonl"
            if context is None or not path.exists():
                raise engines.ServerError(f"--replay {selection.replay}: no kept generations of {precision} ({path})")
            self.stores.open(precision, context)
            yield Unreachable(case.model.name, engines.ServerError(
                f"--replay {selection.replay}: a request of this case has no saved generation there "
                "(the replayed run did not finish it, or the prompt or settings changed since)"))
            return
        if precision in selection.remote:
            remote = replicas.remote(selection.remote[precision], precision, self.expected(case))
            # Its GPU cannot be seen from here: baselines of remote runs say so.
            context = self._context(case, remote.engine, REMOTE_ARCHITECTURE)
            self.kv_tokens.update((server.url, server.kv_cache_tokens) for server in replicas.members(remote))
            self.artifacts.record_model(precision, served_name=remote.served_name, context=context, **remote.recorded)
            self.stores.open(precision, context)
            yield remote
            return
        server = self.local(precision)
        # The server's own GPUs (the first tensor x data parallel size of its CUDA_VISIBLE_DEVICES),
        # not those this process sees first, nor every GPU of the host.
        gpus = facts.server_gpus(server.env.get("CUDA_VISIBLE_DEVICES", os.environ.get("CUDA_VISIBLE_DEVICES")),
                                 gpus_per_server(server.args)) if case.gpu else []
        context = self._context(case, engine_version(), facts.architecture(gpus) if case.gpu else "cpu")
        self.artifacts.record_model(precision, path=server.model, context=context, gpus=gpus, **self._worker)
        store = self.stores.open(precision, context)

        def on_start() -> None:  # the server's session id is its guard's pid
            log = engines.log_by_start(server.log_path)
            text = "\n".join(log[-1] if log else [])
            self.kv_tokens[server.url] = facts.kv_cache_tokens(text)
            self.artifacts.record_model(precision, command=server.command(), env=redact_env(server.env), session=server.proc.pid,
                                        vllm_env=facts.vllm_env(server.env), kernels=facts.kernels(text),
                                        kv_cache_tokens=self.kv_tokens[server.url])

        with LocalEndpoint(server, on_start) as local:
            if not len(store):
                local.start()  # nothing kept: every case needs the engine, start it now
            yield local

    def expected(self, case: Case) -> Expected:
        """What a remote server of the case's precision must serve: the name the suite serves
        it as, or its hub id (vLLM's default name); its weights at their revision."""
        model = case.model
        weights, revision = self.weights.path(model)
        return Expected(tuple(dict.fromkeys(n for n in (model.name, model.model) if n)), str(weights), revision)

    def local(self, precision: str) -> engines.VllmServer:
        """The vLLM server this session runs for a precision (made once: it may be launched ahead)."""
        if precision not in self._local:
            selection = self.selection
            case = selection.first_case(precision)
            args = engines.server_args(case)
            worker = selection.worker
            env = {**engines.server_env(args, case.gpu, selection.ready_timeout), **(worker.devices if worker else {})}
            self._local[precision] = engines.VllmServer(
                self.weights.path(case.model)[0], case.model.name, args, self.artifacts.server_log(precision),
                env=env, ready_timeout=selection.ready_timeout,
                ports=ports.block(selection.session, worker.slot if worker else None))
        return self._local[precision]

    def launch_ahead(self) -> None:
        """CPU models, one process: every server this session will need starts now, together,
        instead of each after the previous model's cases. A CPU start is mostly one core
        importing vLLM, so together they use the cores a lone start leaves idle
        (bench/bench_launch_ahead.py). Never on GPUs, which hold one model at a time, nor
        under xdist, where a worker runs only some models; --no-launch-ahead turns it off."""
        selection = self.selection
        if not selection.launch_ahead or selection.worker is not None:
            return
        local = self.local_models()
        needed = {c.precision for c in selection.cases if c.id in selection.scheduled and c.precision in local}
        if any(local[p].gpu for p in needed):
            return
        for precision in sorted(needed, key=[c.precision for c in selection.cases].index):
            if not self.artifacts.generations(precision).exists():  # a resumed model starts only if it must
                self.local(precision).launch()

    def stop(self) -> None:
        engines.stop_all()
