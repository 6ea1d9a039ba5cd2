"""Where a model's requests go: one interface for a server this session runs (started
when a request first needs it), a server someone else runs (`--vllm-url`), and no
server at all (a replay, or a server that is gone: every request must be answered from
what was kept). Reading `url` starts nothing; `start()` does, once, or says why not."""

from __future__ import annotations

from typing import Callable, Protocol

import requests

from evals.engine.server import ServerError, VllmServer


class Endpoint(Protocol):
    served_name: str

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


class RemoteEndpoint:
    """A server that is already running (`--vllm-url PRECISION=URL`, or lm-eval's own
    `base_url`); without a served name, the first model its /v1/models lists."""

    def __init__(self, url: str, served_name: str | None = None):
        self.url = url.rstrip("/").removesuffix("/v1")
        self.served_name = served_name or self._served_model()

    def _served_model(self) -> str:
        try:
            models = requests.get(f"{self.url}/v1/models", timeout=30).json()["data"]
        except (requests.RequestException, ValueError, KeyError) as exc:
            raise ServerError(f"no OpenAI-compatible server at {self.url} ({exc})") from None
        return models[0]["id"]

    def start(self) -> None:
        pass  # it runs already

    def check_alive(self) -> None:
        try:
            requests.get(f"{self.url}/v1/models", timeout=30).raise_for_status()
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
