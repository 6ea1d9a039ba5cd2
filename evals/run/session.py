"""One pytest session's matrix run: artifacts, up-front checks, and servers."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

import pytest

from evals.engine import server as engines
from evals.engine import ports
from evals.engine import facts as server_facts
from evals.plugin import workers
from evals.artifacts.run_folder import RunArtifacts, engine_version, read_manifest
from evals.config.matrix import Case, Model, pooled_cases
from evals.gate import pooling
from evals.gate.decision import Decision, judge_change, judge_recovery
from evals.gate.policy import Policy
from evals.gate.stats import Recovery, recovery
from evals.drift.reference import StoredReference
from evals.drift.sequences import DriftError
from evals.engine.client import pool_size
from evals.run.generation_pass import PassResult, generation_pass
from evals.artifacts.generations import GenerationStore
from evals.lmeval.call import in_flight
from evals.planning.power import output_tokens
from evals.lmeval.preflight import check_cases
from evals.run.progress import Progress
from evals.plugin.selection import selection
from evals.config.paths import snapshots_dir
from evals.plugin.snapshots import BaselineSnapshot


REMOTE_ARCHITECTURE = "unknown (remote server)"


def server_args(case: Case) -> dict:
    """vLLM arguments of a case's model: the profile's, plus a checkpoint's dtype and revision."""
    if case.model.is_tiny:
        return dict(case.server)
    return {"dtype": case.model.dtype, "revision": case.model.revision, **case.server}


class MatrixRun:
    """The session's run: its artifacts folder, its up-front checks, one endpoint and one
    generation store per model, and the cases' records (shared through the artifacts
    folder with other xdist workers of the same run)."""

    def __init__(self, chosen: dict, config):
        self.matrix, self.profile = chosen["matrix"], chosen["profile"]
        self.cases: list[Case] = chosen["cases"]
        self.run_cases: list[Case] = chosen["run_cases"]  # a resumed run's, though this session narrows them
        self.session: str = chosen["session"]
        self.remote: dict[str, str] = chosen["remote"]
        self.replay: Path | None = chosen["replay"]
        self.replayed: dict | None = chosen["replayed"]  # the replayed run's manifest
        self.limit: int | None = chosen["limit"]
        self.drift_reference: StoredReference | None = chosen["drift_reference"]  # when the run does not run BF16
        self.run_dir: Path = chosen["run_dir"]
        self.config = config
        self.ready_timeout = config.getoption("server_timeout")
        self.progress_interval = config.getoption("progress_interval")
        self._terminal = _terminal_writer(config)
        self.device_env = workers.server_devices(config, max(c.server.get("tensor_parallel_size", 1) for c in self.cases))
        name = workers.worker_name(config)
        self.worker = {"worker": name} if name else {}  # recorded per model and case
        self.snapshot_update = bool(config.getoption("update_snapshots", False))
        self.artifacts: RunArtifacts | None = None
        self.policy: Policy = chosen["policy"]
        self.records: dict[str, dict] = {}  # case id -> baseline record of this run
        self.baselines: dict[str, dict | None] = {}  # case id -> the baseline it was compared with
        self._stores: dict[str, GenerationStore] = {}
        self._servers: dict[str, engines.VllmServer] = {}
        self._drift_stores: dict[str, GenerationStore] = {}
        self._tiny_paths: dict[str, str] = {}  # model name -> built tiny model
        self._kv_tokens: dict[str, int | None] = {}  # precision -> its local server's KV cache, in tokens
        self._passes: dict[str, PassResult] = {}  # precision -> its generation pass in this session

    def __enter__(self) -> "MatrixRun":
        facts = {"limit": self.limit, "baseline": any(c.baseline for c in self.cases),
                 **({"replay_of": str(self.replay)} if self.replay else {}),
                 **({"drift_reference": str(self.drift_reference.dir)} if self.drift_reference else {})}
        self.artifacts = RunArtifacts(self.run_dir, self.matrix, self.profile, self.cases, self.session, **facts)
        if not self.replay:  # a replay sends no prompt, and needs no tokenizer
            self._preflight()
            self._launch_ahead()
        return self

    def __exit__(self, *exc) -> None:
        engines.stop_all()

    def _local_models(self) -> dict[str, Case]:
        """precision -> one of its cases, for precisions this session serves itself."""
        gpu_ok = engines.gpu_status(1)[0]
        return {c.precision: c for c in self.cases if c.precision not in self.remote and (gpu_ok or not c.gpu)}

    def _preflight(self) -> None:
        """Before any engine starts: every prompt of every case fits, with its system instruction."""
        from transformers import AutoTokenizer

        problems = []
        for precision, case in self._local_models().items():
            path, revision = self.model_path(case.model)
            tokenizer = AutoTokenizer.from_pretrained(path, revision=revision)
            max_len = case.server.get("max_model_len") or tokenizer.model_max_length
            problems += check_cases([c for c in self.cases if c.precision == precision], tokenizer, max_len)
        if problems:
            listed = "\n".join(f"  {p}" for p in problems[:30])
            more = f"\n  ... and {len(problems) - 30} more" if len(problems) > 30 else ""
            pytest.fail(f"pre-flight check failed for {len(problems)} prompt(s):\n{listed}{more}", pytrace=False)

    def model_path(self, model: Model) -> tuple[str, str | None]:
        """(path or hub id, revision); the tiny model is built once per session (its cache
        key hashes the data files, so it is not looked up again)."""
        if not model.is_tiny:
            return model.model, model.revision
        if model.name not in self._tiny_paths:
            from evals.engine.tiny.build import ensure_built

            self._tiny_paths[model.name] = str(ensure_built(model.tiny, self.matrix))
        return self._tiny_paths[model.name], None

    def weights(self, model: Model) -> str:
        """A model's weights as generations name them: hub id and revision, or the tiny model's build."""
        if model.is_tiny:
            return f"tiny:{model.tiny}@{Path(self.model_path(model)[0]).parent.name}"
        return f"{model.model}@{model.revision}"

    def _context(self, case: Case, engine: str | None, architecture: str) -> dict:
        """What a generation depends on besides the request (evals/artifacts/generations.py): the
        model's weights, the server's arguments, the engine, the GPU."""
        return {"model": self.weights(case.model), "server": server_args(case), "engine": engine, "gpu_architecture": architecture}

    @contextlib.contextmanager
    def endpoint(self, precision: str):
        """Where a model's requests go: a local vLLM server (started when the first request
        that is not kept needs it), a remote one (--vllm-url), or none (--replay)."""
        case = next(c for c in self.cases if c.precision == precision)
        if self.replay:
            context = self.replayed["models"].get(precision, {}).get("context")
            path = self.replay / "generations" / f"{precision}.jsonl"
            if context is None or not path.exists():
                raise engines.ServerError(f"--replay {self.replay}: no kept generations of {precision} ({path})")
            self._open(precision, context, path, writable=False)
            yield engines.NoServer(case.model.name, self.replay)
            return
        if precision in self.remote:
            server = engines.RemoteServer(self.remote[precision])
            # Its GPU cannot be seen from here: baselines of remote runs say so.
            context = self._context(case, engines.served_engine_version(server.url), REMOTE_ARCHITECTURE)
            self.artifacts.record_model(precision, url=server.url, served_name=server.served_name, context=context)
            self._open(precision, context, self.artifacts.generations(precision))
            yield server
            return
        server = self._local_server(precision)
        # The server's own GPUs (its CUDA_VISIBLE_DEVICES), not those this process sees first.
        gpus = server_facts.server_gpus(server.env.get("CUDA_VISIBLE_DEVICES", os.environ.get("CUDA_VISIBLE_DEVICES"))) \
            if case.gpu else []
        context = self._context(case, engine_version(), server_facts.architecture(gpus) if case.gpu else "cpu")
        self.artifacts.record_model(precision, path=server.model, context=context, gpus=gpus, **self.worker)
        store = self._open(precision, context, self.artifacts.generations(precision))

        def on_start() -> None:  # the server's session id is its guard's pid
            log = engines.log_by_start(server.log_path)
            text = "\n".join(log[-1] if log else [])
            self._kv_tokens[precision] = server_facts.kv_cache_tokens(text)
            self.artifacts.record_model(precision, command=server.command(), env=server.env, session=server.proc.pid,
                                        vllm_env=server_facts.vllm_env(server.env), kernels=server_facts.kernels(text),
                                        kv_cache_tokens=self._kv_tokens[precision])

        with engines.LazyServer(server, on_start) as lazy:
            if not len(store):
                lazy.url  # nothing kept: every case needs the engine, start it now
            yield lazy

    def _local_server(self, precision: str) -> engines.VllmServer:
        """The vLLM server this session runs for a precision (made once: it may be launched ahead)."""
        if precision not in self._servers:
            case = next(c for c in self.cases if c.precision == precision)
            args = server_args(case)
            env = {**engines.server_env(args, case.gpu, self.ready_timeout), **self.device_env}
            self._servers[precision] = engines.VllmServer(
                self.model_path(case.model)[0], case.model.name, args, self.artifacts.server_log(precision),
                env=env, ready_timeout=self.ready_timeout,
                ports=ports.block(self.session, workers.worker_slot(self.config)))
        return self._servers[precision]

    def _launch_ahead(self) -> None:
        """CPU models, one process: every server this session will need starts now, together,
        instead of each after the previous model's cases. A CPU start is mostly one core
        importing vLLM, so together they use the cores a lone start leaves idle
        (bench/bench_launch_ahead.py). Never on GPUs, which hold one model at a time, nor
        under xdist, where a worker runs only some models; --no-launch-ahead turns it off."""
        if self.config.getoption("no_launch_ahead") or workers.is_worker(self.config):
            return
        local = self._local_models()
        scheduled = selection(self.config).get("scheduled", ())
        needed = {c.precision for c in self.cases if c.id in scheduled and c.precision in local}
        if any(local[p].gpu for p in needed):
            return
        for precision in sorted(needed, key=[c.precision for c in self.cases].index):
            if not self.artifacts.generations(precision).exists():  # a resumed model starts only if it must
                self._local_server(precision).launch()

    def _open(self, precision: str, context: dict, path: Path, writable: bool = True) -> GenerationStore:
        self._stores[precision] = GenerationStore(path, context, writable=writable)
        return self._stores[precision]

    def store(self, precision: str) -> GenerationStore:
        return self._stores[precision]

    def generate(self, precision: str, endpoint) -> PassResult | None:
        """The precision's generation pass (evals/run/generation_pass.py), once per session,
        before its first case: every request of its cases this session runs. None for a
        replay, which only reads. A pass that could not finish fails this case; its
        model's other cases then meet its error again (a dead server) or send their own
        remaining requests."""
        if self.replay:
            return None
        if precision not in self._passes:
            self._passes[precision] = PassResult()  # one attempt, even if it raises
            scheduled = selection(self.config).get("scheduled", ())
            cases = [c for c in self.cases if c.precision == precision and c.id in scheduled]
            expected = {c.id: output_tokens(self.matrix, c, snapshots_dir())[0] for c in cases}
            most = in_flight(cases[0]) if cases else 0
            label = f"{precision} generation pass ({len(cases)} cases)"
            self._passes[precision] = generation_pass(
                cases, endpoint, self.store(precision), expected,
                lambda: pool_size(most, self._kv_tokens.get(precision)), self.progress(label), label)
        return self._passes[precision]

    def drift_store(self, precision: str) -> GenerationStore:
        """A precision's teacher-forced scores (evals/drift/), kept like its generations; a
        replay reads the replayed run's and sends nothing."""
        if precision not in self._drift_stores:
            source = self.replay or self.artifacts.dir
            manifest = self.replayed if self.replay else read_manifest(self.artifacts.dir)
            context = manifest["models"].get(precision, {}).get("context")
            if context is None:
                raise DriftError(f"{source / 'manifest.json'}: no model of {precision} recorded (it did not run)")
            path = source / "drift" / f"{precision}.jsonl"
            self._drift_stores[precision] = GenerationStore(path, context, writable=not self.replay)
        return self._drift_stores[precision]

    def fingerprint_facts(self, precision: str) -> dict:
        """The engine and GPU architecture that made this precision's generations."""
        context = self._stores[precision].context
        return {"engine": context["engine"], "architecture": context["gpu_architecture"]}

    def progress(self, label: str) -> Progress:
        log = self.artifacts.dir / "progress.log"

        def write(line: str) -> None:
            stamped = f"{time.strftime('%H:%M:%S')} {line}"
            with open(log, "a", encoding="utf-8") as out:
                out.write(stamped + "\n")
            self._terminal(stamped)

        return Progress(label, write, self.progress_interval)

    def finish_case(self, case: Case, record: dict) -> None:
        """Keep the case's record, its gate outcome for the report, and the baseline it was
        compared with (what the pooled tests compare too, whoever runs them)."""
        self.records[case.id] = record
        gate, self.baselines[case.id] = BaselineSnapshot.outcome(case.profile, record)
        if self.snapshot_update and not gate.get("passed"):
            gate["accepted"] = True  # --snapshot-update writes this run's record as the baseline
            if gate["status"] == "unreadable":
                self._terminal(f"{case.id}: {gate['error']}; --snapshot-update replaces it with this run's record")
        self.artifacts.write_record(case.id, record, gate, self.baselines[case.id], **self.worker)

    def baseline(self, case_id: str) -> dict | None:
        """The baseline a case of this run was compared with (another xdist worker's: from its artifacts)."""
        if case_id not in self.baselines:
            self.baselines[case_id] = self.artifacts.read_baseline(case_id)
        return self.baselines[case_id]

    def pool_cases(self, precision: str, pool: str) -> list[Case]:
        """The run's cases of a precision that a pool takes."""
        return pooled_cases(self.matrix.pools, self.run_cases).get((precision, pool), [])

    def pooled_gate(self, precision: str, pool: str) -> tuple[pooling.Pooled, Decision | None]:
        """The pool's cases of this run against their baselines, as one stratified test."""
        cases = self.pool_cases(precision, pool)
        ids = [c.id for c in cases]
        pooled = pooling.against_baselines(ids, {i: self.record(i) for i in ids}, {i: self.baseline(i) for i in ids})
        decision = None
        if pooled.cases:
            margin = self.policy.pool_margin(self.matrix.pools[pool])
            decision = judge_change(pooled.strata, self.policy.alpha_for("pooled"), margin, self.policy.settings.confidence,
                                    sampled=all(c.sampled for c in cases))
        entry = _entry(pooled, decision, self.policy.strict)
        if self.snapshot_update and not entry.get("passed", True):
            entry["accepted"] = True  # evals/suite/test_precision.py rewrites the pooled cases' baselines
        self.artifacts.write_pooled(f"{precision}-{pool}", entry)
        return pooled, decision

    def recovery_gate(self, test_id: str, pairs: list[tuple[Case, Case]], margin: float,
                      kind: str) -> tuple[pooling.Pooled, Decision | None, Recovery | None]:
        """Quantized cases against the reference precision's, this run, as one test; its
        entry in recovery.json."""
        ids = [(r.id, q.id) for r, q in pairs]
        pooled = pooling.against_reference(ids, {i: self.record(i) for pair in ids for i in pair})
        if not pooled.cases:
            return pooled, None, None
        confidence = self.policy.settings.confidence
        decision = judge_recovery(pooled.strata, self.policy.alpha_for(kind), margin, confidence)
        ratio = recovery(pooled.strata, confidence)
        self.artifacts.write_recovery(test_id, _entry(
            pooled, decision, strict=False, references=[r for r, q in ids if q in pooled.cases],
            recovery=ratio.ratio, interval=[ratio.low, ratio.high], interval_note=ratio.note))
        return pooled, decision, ratio

    def wait_for(self, test_id: str, poll_s: float = 2.0) -> None:
        """Under xdist: until another worker's test of this session (a case, or a precision's
        drift test, "drift-bf16") is over; at once if this session does not run it."""
        scheduled = test_id in selection(self.config).get("scheduled", ())
        while scheduled and workers.is_worker(self.config) and not self.artifacts.ended(test_id):
            if time.time() - _last_change(self.artifacts.dir) > self.ready_timeout:
                pytest.fail(f"waited for {test_id} from another worker, but nothing in {self.artifacts.dir} "
                            f"moved for {self.ready_timeout:.0f} s", pytrace=False)
            time.sleep(poll_s)

    def record(self, case_id: str, poll_s: float = 2.0) -> dict | None:
        """A case's newest record in this run: this process's; another xdist worker's, once
        that case's test is over in this session; or, for a case this session does not run
        (-k, -m, or a narrowed resume), the one an earlier session kept. None if there is
        none. A worker gives up waiting when nothing in the run folder has moved for
        --server-timeout seconds."""
        if case_id in self.records:
            return self.records[case_id]
        self.wait_for(case_id, poll_s)
        record = self.artifacts.read_record(case_id)
        if record is not None:  # its test is over: it will not change (several pools ask for it)
            self.records[case_id] = record
        return record


def _entry(pooled: pooling.Pooled, decision: Decision | None, strict: bool, **extra) -> dict:
    """A comparison of several cases as artifact data (pooled.json, recovery.json)."""
    entry = {"cases": pooled.cases, "left_out": pooled.left_out, **extra}
    if decision is None:
        return {**entry, "status": "no comparable case"}
    return {**entry, "status": decision.verdict, "passed": not decision.failed(strict), **decision.as_data()}


def _last_change(run_dir: Path) -> float:
    # vLLM's own log moves every few seconds while it generates (its throughput lines).
    files = [run_dir / "manifest.json", run_dir / "progress.log", *run_dir.glob("generations/*.jsonl"),
             *run_dir.glob("drift/*.jsonl"), *run_dir.glob("servers/*.log")]
    return max((f.stat().st_mtime for f in files if f.exists()), default=time.time())


def _terminal_writer(config):
    """Progress lines on the terminal, past pytest's output capture (xdist workers: stderr)."""
    capture = config.pluginmanager.getplugin("capturemanager")
    reporter = config.pluginmanager.getplugin("terminalreporter")
    prefix = f"[{workers.worker_name(config)}] " if workers.is_worker(config) else ""

    def write(line: str) -> None:
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            if reporter is not None and not prefix:
                reporter.write_line(line)
            else:
                print(prefix + line, file=sys.stderr, flush=True)

    return write
