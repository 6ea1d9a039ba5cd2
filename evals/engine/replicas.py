"""One precision served by several servers: `--vllm-url fp8=URL1 --vllm-url fp8=URL2`.

Each replica is checked as a lone `--vllm-url` server is (evals/engine/endpoints.py
RemoteEndpoint: its API key, one of the precision's served names, its weights), and the
replicas must serve the same: the same served name, weights, context length and engine;
else a ServerError names both URLs before anything is sent. The pool (evals/engine/client.py)
spreads the precision's requests over them, each within its own share (its requests out and
its KV cache), and moves the requests of a replica that dies to the others.

Which replica answered a request is not part of its key in the generation store
(evals/artifacts/generations.py): the replicas serve the same weights on the same engine,
and each request carries its own seed (evals/lmeval/model.py), so any of them draws the same
sample. As alike as two runs on one server are, no more: vLLM's numerics depend on the batch
a sequence runs in (bit-identical answers need VLLM_BATCH_INVARIANT=1 on every replica).
"""

from __future__ import annotations

from collections.abc import Sequence

from evals.engine.endpoints import Endpoint, Expected, RemoteEndpoint, served_weights
from evals.engine.server import ServerError


def remote(urls: Sequence[str], precision: str, expected: Expected) -> RemoteEndpoint | Replicas:
    """The endpoint of a precision's running servers: one, or replicas of it."""
    servers = [RemoteEndpoint(url, precision=precision, expected=expected) for url in urls]
    return servers[0] if len(servers) == 1 else Replicas(servers)


def members(endpoint: Endpoint) -> tuple[Endpoint, ...]:
    """The servers an endpoint's requests go to: its replicas, or itself."""
    return endpoint.members if isinstance(endpoint, Replicas) else (endpoint,)


class Replicas:
    """Several RemoteEndpoints of one precision as one Endpoint (evals/engine/endpoints.py)."""

    def __init__(self, servers: Sequence[RemoteEndpoint]):
        self.members = tuple(servers)
        first = self.members[0]
        for other in self.members[1:]:
            _same(first, other)
        self.precision, self.served_name, self.headers = first.precision, first.served_name, first.headers

    @property
    def url(self) -> str:
        """The replicas' URLs, for messages (each request goes to one of them: evals/engine/client.py)."""
        return ", ".join(server.url for server in self.members)

    @property
    def engine(self) -> str | None:
        return self.members[0].engine  # the same on every replica (_same)

    @property
    def recorded(self) -> dict:
        """What the manifest records: every replica's URL, what it serves and its KV cache."""
        return {"replicas": [server.recorded for server in self.members]}

    def start(self) -> None:
        pass  # they run already

    def check_alive(self) -> None:
        """ServerError if no replica answers (one that does is enough: the pool uses it)."""
        gone = []
        for server in self.members:
            try:
                server.check_alive()
                return
            except ServerError as exc:
                gone.append(str(exc))
        raise ServerError(f"no replica of {self.precision} answers: " + "; ".join(gone))

    def log_tail(self, lines: int = 40) -> str:
        return f"(remote servers at {self.url}: their logs are where they run)"

    def stop(self) -> None:
        pass


def _same(first: RemoteEndpoint, other: RemoteEndpoint) -> None:
    """ServerError naming both URLs if two replicas do not serve the same."""
    for what, value in (("the served name", lambda s: s.served_name),
                        ("the weights", lambda s: served_weights(s.served.get("root"))),
                        ("the context length (max_model_len)", lambda s: s.served.get("max_model_len")),
                        ("the engine (/version)", lambda s: s.engine)):
        if value(first) != value(other):
            raise ServerError(
                f"{first.flag} and {other.flag}: replicas of {first.precision} must serve the same model the same way, "
                f"but they differ in {what}: {value(first)!r} at {first.url}, {value(other)!r} at {other.url}; "
                "nothing was sent to either")
