"""Where a model's requests go: one interface for a server this session runs (started
when a request first needs it), a server someone else runs (`--vllm-url`; several
replicas of one: evals/engine/replicas.py), and no server at all (a replay, or a server
that is gone: every request must be answered from what was kept). Reading `url` starts
nothing; `start()` does, once, or says why not."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import requests

from evals.engine import auth
from evals.engine.facts import served_kv_cache_tokens
from evals.engine.server import ServerError, VllmServer, served_engine_version


class Endpoint(Protocol):
    served_name: str
    headers: dict[str, str]  # sent with every request (an API key: evals/engine/auth.py)

    @property
    def url(self) -> str:
        """The server's base URL; ServerError if it was not started."""

    def start(self) -> None:
        """Make the server reachable (once); raises why it cannot."""

    def check_alive(self) -> None:
        """ServerError, with what is known of why, if a started server is gone."""

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log, or where it is."""

    def stop(self) -> None:
        """Stop what this session started."""


class LocalEndpoint:
    """A VllmServer of this session, started by the first `start()`: a resumed model whose
    every request is already kept needs no engine. A failed start is remembered, so the
    model's other cases fail at once with the same log instead of starting it again.
    `on_start` runs once the server answers (what it says of itself goes to the manifest)."""

    def __init__(self, server: VllmServer, on_start: Callable[[], None] | None = None):
        self.server, self.served_name, self.on_start = server, server.served_name, on_start
        # The server inherits this environment: with VLLM_API_KEY set it requires that key.
        self.headers = auth.bearer(auth.api_key(None)[0])
        self.started = False
        self._failure: ServerError | None = None

    @property
    def url(self) -> str:
        if not self.started:
            raise self._failure or ServerError(f"vLLM server for {self.served_name} was not started")
        return self.server.url

    def start(self) -> None:
        if self._failure is not None:
            raise self._failure
        if self.started:
            return
        try:
            self.server.start()
            if self.on_start is not None:
                self.on_start()
        except ServerError as exc:
            self._failure = exc
            raise
        self.started = True

    def check_alive(self) -> None:
        if self._failure is not None:
            raise self._failure
        if self.started:
            self.server.check_alive()

    def log_tail(self, lines: int = 40) -> str:
        return self.server.log_tail(lines)

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> "LocalEndpoint":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass(frozen=True)
class Expected:
    """What a precision's remote server must serve: one of these served names, and, where the
    server reports it (its /v1/models `root`), these weights: a hub id at a revision, or a
    local folder (the tiny model's build)."""

    names: tuple[str, ...]
    weights: str
    revision: str | None = None


_HUB_SNAPSHOT = re.compile(r"models--(?P<org>[^/]+?)--(?P<name>[^/]+)/snapshots/(?P<commit>[0-9a-f]{40})/?$")
_COMMIT = re.compile(r"[0-9a-f]{40}")


def weights_mismatch(root: str | None, expected: Expected) -> str | None:
    """Why the weights a server reports (`root`) are not the expected ones, or None: a hub id
    must be the configured one; a Hugging Face cache snapshot names its hub id and commit,
    which must match (the commit, where the config pins one); a local folder must be the
    expected one when a folder is expected. Any other folder cannot be checked (None)."""
    if not root:
        return None
    wanted = expected.weights
    local = wanted.startswith("/")
    if local:
        return None if Path(root).resolve() == Path(wanted).resolve() else f"serves {root}, not {wanted}"
    snapshot = _HUB_SNAPSHOT.search(root)
    if snapshot:
        hub = f"{snapshot['org']}/{snapshot['name']}"
        if hub != wanted:
            return f"serves {hub} (from {root}), not {wanted}"
        if expected.revision and _COMMIT.fullmatch(expected.revision) and snapshot["commit"] != expected.revision:
            return f"serves {hub} at commit {snapshot['commit']}, not {expected.revision}"
        return None
    if not root.startswith("/") and root != wanted:
        return f"serves {root}, not {wanted}"
    return None


def served_weights(root: str | None) -> str | None:
    """The weights a server reports (its /v1/models `root`) as one name: a Hugging Face cache
    snapshot as its hub id at its commit ("Qwen/Qwen3-32B-FP8@aa55..."), anything else as it
    is (a hub id, a folder); None if it does not say."""
    snapshot = _HUB_SNAPSHOT.search(root or "")
    return f"{snapshot['org']}/{snapshot['name']}@{snapshot['commit']}" if snapshot else (root or None)


def base_url(url: str) -> str:
    """A server's base URL as given (`--vllm-url`), without a trailing / or /v1."""
    return url.rstrip("/").removesuffix("/v1")


class RemoteEndpoint:
    """A server that is already running (`--vllm-url PRECISION=URL`, or lm-eval's own
    `base_url`), asked what it serves (/v1/models) before anything is sent: with `expected`,
    one of the expected served names and weights (else ServerError naming both); without,
    the first model it lists. Sent the precision's API key (evals/engine/auth.py); a 401 or
    403 is an error naming the variable to set."""

    def __init__(self, url: str, served_name: str | None = None, precision: str | None = None,
                 expected: Expected | None = None):
        self.url = base_url(url)
        self.precision = precision
        key, self.key_variable = auth.api_key(precision)
        self.headers = auth.bearer(key)
        if expected is None and served_name:  # lm-eval's own base_url and model: taken as given, nothing asked
            self.served_name, self.served = served_name, {"id": served_name}
            return
        models = self._models()
        chosen = models[0] if expected is None else self._expected(models, expected)
        self.served_name = chosen["id"]
        self.served = {k: chosen.get(k) for k in ("id", "root", "parent", "max_model_len") if chosen.get(k) is not None}

    @property
    def flag(self) -> str:
        """How the command named this server."""
        return f"--vllm-url {self.precision}={self.url}" if self.precision else self.url

    def _models(self) -> list[dict]:
        flag = self.flag
        try:
            response = requests.get(f"{self.url}/v1/models", headers=self.headers, timeout=30)
        except requests.RequestException as exc:
            raise ServerError(f"{flag}: no server answers ({exc})") from None
        if response.status_code in (401, 403):
            sent = (f"the key in {self.key_variable} was refused" if self.key_variable else
                    f"no key was sent: set {' or '.join(auth.key_variables(self.precision))} to the server's --api-key")
            raise ServerError(f"{flag}: the server answered {response.status_code} "
                              f"({'Unauthorized' if response.status_code == 401 else 'Forbidden'}) to /v1/models: {sent}")
        try:
            response.raise_for_status()
            models = response.json()["data"]
            if not models or not all(isinstance(m, dict) and "id" in m for m in models):
                raise ValueError(f"no model listed: {response.text[:300]!r}")
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            raise ServerError(f"{flag}: not an OpenAI-compatible server ({type(exc).__name__}: {exc})") from None
        return models

    def _expected(self, models: list[dict], expected: Expected) -> dict:
        flag = self.flag
        listed = [m["id"] for m in models]
        chosen = next((m for name in expected.names for m in models if m["id"] == name), None)
        if chosen is None:
            raise ServerError(f"{flag}: the server serves {listed}, none of the names {self.precision} is served as "
                              f"{list(expected.names)}: start it with --served-model-name {expected.names[0]}, or give "
                              "the URL of the server for this precision")
        wrong = weights_mismatch(chosen.get("root"), expected)
        if wrong:
            raise ServerError(f"{flag}: {chosen['id']!r} {wrong}: these are not {self.precision}'s weights "
                              f"(evals/config/matrix.yaml); nothing was sent to it")
        return chosen

    @functools.cached_property
    def engine(self) -> str | None:
        """The engine behind it ("vllm 0.32.0"), from its /version; None if it does not say."""
        return served_engine_version(self.url)

    @functools.cached_property
    def kv_cache_tokens(self) -> int | None:
        """The tokens its KV cache holds, from its /metrics (all its data-parallel ranks); None
        if it does not say. Its share of a pool is sized from it (evals/engine/client.py)."""
        try:
            response = requests.get(f"{self.url}/metrics", headers=self.headers, timeout=30)
        except requests.RequestException:
            return None
        return served_kv_cache_tokens(response.text) if response.ok else None

    @property
    def recorded(self) -> dict:
        """What the manifest records of it: where it is and what it serves (never its key)."""
        return {"url": self.url, "served": self.served, "kv_cache_tokens": self.kv_cache_tokens}

    def start(self) -> None:
        pass  # it runs already

    def check_alive(self) -> None:
        try:
            requests.get(f"{self.url}/v1/models", headers=self.headers, timeout=30).raise_for_status()
        except requests.RequestException as exc:
            raise ServerError(f"server at {self.url} does not answer ({exc})") from None

    def log_tail(self, lines: int = 40) -> str:
        return f"(remote server at {self.url}: its log is where it runs)"

    def stop(self) -> None:
        pass


class Unreachable:
    """No server: a replay, or a server that is not running any more. Every request must be
    answered from what was kept; one that is not raises `reason`, which says why."""

    def __init__(self, served_name: str, reason: Exception):
        self.served_name, self.reason = served_name, reason
        self.headers: dict[str, str] = {}

    @property
    def url(self) -> str:
        raise self.reason

    def start(self) -> None:
        raise self.reason

    def check_alive(self) -> None:
        pass

    def log_tail(self, lines: int = 40) -> str:
        return f"(no server: {self.reason})"

    def stop(self) -> None:
        pass
