"""Servers for the benchmarks, each in its own process so it does not share Rasad's core."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
from contextlib import contextmanager

from aiohttp import web


def _feed_app(count: int, body: bytes, not_modified_share: float) -> web.Application:
    cutoff = int(count * not_modified_share)

    async def feed(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        etag = f'"feed-{n}"'
        if n < cutoff and request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        unique = body.replace(b"<guid>", f"<guid>{n}-".encode())  # each feed its own items
        return web.Response(body=unique, headers={"ETag": etag}, content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/feed/{n}", feed)
    return app


def _serve(app_factory, args, port_queue) -> None:
    async def main():
        runner = web.AppRunner(app_factory(*args), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
        await site.start()
        port_queue.put(site._server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    asyncio.run(main())


@contextmanager
def feed_server(count: int, body: bytes, not_modified_share: float = 0.9):
    ctx = mp.get_context("spawn")
    ports = ctx.Queue()
    proc = ctx.Process(target=_serve, args=(_feed_app, (count, body, not_modified_share), ports), daemon=True)
    proc.start()
    try:
        yield f"http://127.0.0.1:{ports.get(timeout=30)}"
    finally:
        proc.terminate()
        proc.join(10)


def _telegram_child(port_queue, stats_queue, command_queue) -> None:
    """A FakeTelegram enforcing Telegram's limits, reporting what it received when asked."""
    from tests.fakes.telegram_api import FakeTelegram

    async def main():
        fake = await FakeTelegram(enforce_limits=True).start()
        port_queue.put((fake.port, fake.token))
        loop = asyncio.get_running_loop()
        while True:
            command = await loop.run_in_executor(None, command_queue.get)
            if command == "stats":
                sends = [c for c in fake.calls if c.method == "sendMessage"]
                stats_queue.put({"requests": len(sends), "limit_hits": fake.limit_hits,
                                 "delivered": [d["chat_id"] for d in fake.delivered],
                                 "times": [c.at for c in sends]})
            elif command == "stop":
                await fake.stop()
                return

    asyncio.run(main())


@contextmanager
def telegram_server():
    ctx = mp.get_context("spawn")
    ports, stats, commands = ctx.Queue(), ctx.Queue(), ctx.Queue()
    proc = ctx.Process(target=_telegram_child, args=(ports, stats, commands), daemon=True)
    proc.start()
    port, token = ports.get(timeout=30)

    def read_stats() -> dict:
        commands.put("stats")
        return stats.get(timeout=60)

    try:
        yield f"http://127.0.0.1:{port}", token, read_stats
    finally:
        commands.put("stop")
        proc.join(10)
        if proc.is_alive():
            proc.terminate()
