"""An aiohttp app served from a thread on 127.0.0.1, for tests that stand in for vLLM's HTTP
side: a subclass adds its routes (`routes`), the context manager starts and stops it."""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web


class ThreadServer:
    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def on_loop(self) -> None:
        """Made on the server's loop before it serves (e.g. asyncio locks)."""

    def __enter__(self):
        ready = threading.Event()

        def serve():
            self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self.loop)
            self.on_loop()
            app = web.Application()
            self.routes(app)
            self.runner = web.AppRunner(app, shutdown_timeout=0.2)
            self.loop.run_until_complete(self.runner.setup())
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            self.loop.run_until_complete(site.start())
            self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()
        assert ready.wait(10), "the stand-in server did not start"
        return self

    def __exit__(self, *exc):
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
