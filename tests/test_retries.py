"""A request meets a connection error or a 5xx: it is retried, a bounded number of times,
and a case that still fails says what every attempt met; a 4xx fails at once; a dead
local server fails at once with its own error (evals/engine/client.py)."""

import asyncio

import aiohttp
import pytest
from aiohttp import web

from evals.engine import client
from evals.engine.client import Client, PoolSize, Request
from evals.engine.endpoints import RemoteEndpoint

OK = {"id": "chatcmpl-x", "choices": [{"message": {"content": "4"}, "finish_reason": "stop"}],
      "usage": {"prompt_tokens": 3, "completion_tokens": 1}}


class Alive(RemoteEndpoint):
    """A server whose health checks pass, whatever its requests meet."""

    def check_alive(self):
        pass


class Dead(RemoteEndpoint):
    def check_alive(self):
        raise RuntimeError("vLLM server for m is not running (exit code -9)")


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    monkeypatch.setattr(client, "RETRY_WAITS_S", (0.0, 0.0, 0.0))


def post(statuses: list[int], endpoint=None) -> tuple[dict | Exception, int]:
    """Send one request to a server answering `statuses` in turn (then 200); what came
    back (or was raised) and how many requests the server saw."""
    seen = []

    async def handler(request):
        seen.append(1)
        status = statuses[len(seen) - 1] if len(seen) <= len(statuses) else 200
        return web.json_response(OK if status == 200 else {"error": f"status {status}"}, status=status)

    async def main():
        app = web.Application()
        app.router.add_post("/v1/chat/completions", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        sender = Client(endpoint or Alive(f"http://127.0.0.1:{port}", "m"), PoolSize(2))
        try:
            async with aiohttp.ClientSession() as session:
                return await sender.post(session, f"http://127.0.0.1:{port}", Request("fp8-aime24-think", {"model": "m"}))
        except Exception as exc:  # noqa: BLE001  the test looks at it
            return exc
        finally:
            await runner.cleanup()

    return asyncio.run(main()), len(seen)


def test_5xx_answers_are_retried_until_one_succeeds():
    assert post([503, 500]) == (OK, 3)


def test_a_request_that_keeps_failing_fails_the_case_with_every_attempt():
    error, seen = post([503] * 10)
    assert seen == len(client.RETRY_WAITS_S) + 1
    assert isinstance(error, RuntimeError) and "fp8-aime24-think: the request failed 4 times" in str(error)
    assert str(error).count("HTTP 503") == 4


def test_a_4xx_is_not_retried():
    error, seen = post([400])
    assert seen == 1 and "the server answered 400" in str(error)


def test_connection_errors_are_retried_and_a_dead_server_stops_them():
    sender = Client(Alive("http://127.0.0.1:9", "m"), PoolSize(2))

    async def send():
        async with aiohttp.ClientSession() as session:
            return await sender.post(session, "http://127.0.0.1:9", Request("c", {"model": "m"}))

    with pytest.raises(RuntimeError, match=r"c: the request failed 4 times .*ClientConnectorError"):
        asyncio.run(send())

    sender.endpoint = Dead("http://127.0.0.1:9", "m")
    with pytest.raises(RuntimeError, match="c: ClientConnectorError.*and the server is not alive") as info:
        asyncio.run(send())
    assert "not running (exit code -9)" in str(info.value.__cause__)
