"""The service's own HTTP server (aiohttp): health checks, and webhooks of the chat platforms on the same port."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class HttpServer:
    def __init__(self, host: str, port: int, health: Callable[[], Awaitable[dict]]):
        self.host = host
        self.port = port
        self._health = health
        self._routes: list[tuple[str, str, Handler]] = []
        self._runner: web.AppRunner | None = None

    def add_route(self, method: str, path: str, handler: Handler) -> None:
        self._routes.append((method, path, handler))

    async def _healthz(self, request: web.Request) -> web.Response:
        body = await self._health()
        return web.json_response(body, status=200 if body.get("ok") else 503)

    async def start(self) -> None:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_get("/healthz", self._healthz)
        for method, path, handler in self._routes:
            app.router.add_route(method, path, handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]  # the port bound (port 0 asks for a free one)
        log.info("http: listening on %s:%d (/healthz)", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
