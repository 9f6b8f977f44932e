"""A fake feed server on 127.0.0.1 for tests: routes answer with feeds, errors, delays, huge bodies."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from tests.fakes import serve_local


@dataclass
class FeedServer:
    routes: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    runner: web.AppRunner | None = None
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, handler) -> None:
        self.routes[path] = handler

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.path, dict(request.headers)))
        handler = self.routes.get(request.path)
        if handler is None:
            return web.Response(status=404, text="not found")
        return await handler(request)

    async def start(self) -> FeedServer:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._dispatch)
        self.runner, self.port = await serve_local(app)
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


def feed_handler(body: bytes, etag: str | None = None, content_type: str = "application/rss+xml"):
    async def handler(request: web.Request) -> web.Response:
        if etag and request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        headers = {"ETag": etag} if etag else {}
        return web.Response(body=body, headers=headers, content_type=content_type)

    return handler


def status_handler(status: int, headers: dict[str, str] | None = None):
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, headers=headers or {}, text="error")

    return handler


def hang_handler(seconds: float):
    async def handler(request: web.Request) -> web.Response:
        await asyncio.sleep(seconds)
        return web.Response(text="late")

    return handler


def huge_handler(size: int):
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        chunk = b"<!-- padding -->" * 4096
        sent = 0
        while sent < size:
            await response.write(chunk)
            sent += len(chunk)
        await response.write_eof()
        return response

    return handler


def redirect_loop_handler(path: str):
    async def handler(request: web.Request) -> web.Response:
        raise web.HTTPFound(path)

    return handler


def trickle_handler(body: bytes, chunk: int, pause: float):
    """Sends the body a few bytes at a time: a server that is alive but far too slow."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        for i in range(0, len(body), chunk):
            await response.write(body[i:i + chunk])
            await asyncio.sleep(pause)
        await response.write_eof()
        return response

    return handler


def declared_huge_handler(size: int):
    """Announces a body of ``size`` bytes (50 MB in the tests) and starts sending it."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        response.content_length = size
        await response.prepare(request)
        try:
            for _ in range(size // 65536):
                await response.write(b"\0" * 65536)
        except (ConnectionResetError, RuntimeError):
            pass
        return response

    return handler


def gzip_handler(body: bytes, headers: dict[str, str] | None = None):
    import gzip

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=gzip.compress(body), headers={"Content-Encoding": "gzip",
                                                               "Content-Type": "application/rss+xml",
                                                               **(headers or {})})

    return handler


class ConcurrencyProbe:
    """Counts requests in flight to this server, to prove the per-host cap."""

    def __init__(self, body: bytes, hold: float):
        self.body, self.hold, self.now, self.peak = body, hold, 0, 0

    async def __call__(self, request: web.Request) -> web.Response:
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            await asyncio.sleep(self.hold)
            return web.Response(body=self.body, content_type="application/rss+xml")
        finally:
            self.now -= 1
