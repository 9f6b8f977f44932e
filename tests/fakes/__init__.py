"""Fake peers for the tests (and the benchmarks): feed server, Telegram Bot API, Slack Web API."""

from __future__ import annotations

from aiohttp import web


async def serve_local(app: web.Application) -> tuple[web.AppRunner, int]:
    """Start ``app`` on 127.0.0.1 on a free port; returns the runner (to clean up) and the port."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]
