"""5. Latency: an item appears in a feed → its alert reaches the fake Bot API; p50 and p95, poll interval stated."""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time

from bot.app import Application
from bot.config import DeliveryConfig, FeedConfig, PollConfig, Settings, TelegramConfig
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import FakeTelegram

INTERVAL = 10


def _feed(items: list[tuple[str, str]]) -> bytes:
    body = "".join(f"<item><title>{t}</title><guid>{g}</guid><description>The Caesar Act.</description></item>"
                   .replace("The Caesar Act.", f"{t.split(': ', 1)[-1]}.") for g, t in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>W</title>{body}</channel></rss>'.encode()


async def _measure(count: int) -> dict:
    fake = await FakeTelegram().start()
    server = await FeedServer().start()
    published: list[tuple[str, str]] = []
    content = {"body": _feed([])}

    async def handler(request):
        from aiohttp import web

        return web.Response(body=content["body"], content_type="application/rss+xml")

    server.route("/feed", handler)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database=f"sqlite+aiosqlite:///{tmp}/lat.db", rules="rules", base_dir=".",
                            feeds=[FeedConfig(name="W", url=server.url("/feed"), interval=INTERVAL)],
                            poll=PollConfig(interval=INTERVAL, min_interval=INTERVAL, tick=0.5),
                            delivery=DeliveryConfig(tick=0.5),
                            telegram=TelegramConfig(api_url=fake.base_url, poll_timeout=1), telegram_token=fake.token)
        service = Application(settings)
        await service.start()
        runner = asyncio.create_task(service.run_forever())
        try:

            chat = await service.store.chats.ensure("telegram", "777")
            await service.store.subscriptions.add(chat.id, "entity", "caesar-act")
            latencies = []
            rng = random.Random(3)
            for n in range(count):
                await asyncio.sleep(rng.uniform(0, INTERVAL))  # publish at a random point of the cycle
                # distinct stories, so story grouping does not fold them into one alert
                words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(7)) for _ in range(5)]
                title = f"Caesar Act: {' '.join(words)} #{n}"
                published.append((f"lat-{n}", title))
                content["body"] = _feed(published)
                at = time.monotonic()
                deadline = at + 3 * INTERVAL
                while not any(title in d.get("text", "") for d in fake.delivered):  # noqa: ASYNC110
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"no alert for {title!r} within {3 * INTERVAL} s")
                    await asyncio.sleep(0.02)
                latencies.append(time.monotonic() - at)
        finally:
            service.request_stop()
            await runner
            await service.stop()
            await server.stop()
            await fake.stop()
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"name": "latency", "items": count, "poll_interval_s": INTERVAL, "p50_s": statistics.median(ordered),
            "p95_s": p95, "max_s": ordered[-1], "target_p95_s": INTERVAL + 2}


def run(quick: bool = False) -> dict:
    polled = asyncio.run(_measure(3 if quick else 20))
    polled["push"] = run_push(quick)  # WebSub: the same pipeline, pushed by a local hub
    return polled


async def _measure_push(count: int) -> dict:
    """A hub pushes each new item (WebSub, signed): time from the push to the alert at the fake Bot API."""
    import socket

    from aiohttp import web

    from bot.config import HttpConfig
    from bot.model import SubscriptionKind, Target
    from tests.fakes.websub_hub import FakeHub

    fake = await FakeTelegram().start()
    hub = await FakeHub().start()
    server = await FeedServer().start()
    topic = server.url("/feed")
    published: list[tuple[str, str]] = []

    def body() -> bytes:
        return _feed(published).replace(b"<title>W</title>", f'<title>W</title><atom:link xmlns:atom="http://www.w3.org'
                                        f'/2005/Atom" rel="hub" href="{hub.url}"/>'.encode())

    async def handler(request):
        return web.Response(body=body(), content_type="application/rss+xml")

    server.route("/feed", handler)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    latencies = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database=f"sqlite+aiosqlite:///{tmp}/push.db", rules="rules", base_dir=".",
                            feeds=[FeedConfig(name="W", url=topic)], poll=PollConfig(interval=300, tick=0.5),
                            delivery=DeliveryConfig(tick=0.5),
                            http=HttpConfig(host="127.0.0.1", port=port, public_url=f"http://127.0.0.1:{port}"),
                            telegram=TelegramConfig(api_url=fake.base_url, poll_timeout=1), telegram_token=fake.token)
        service = Application(settings)
        await service.start()
        runner = asyncio.create_task(service.run_forever())
        try:
            chat = await service.store.chats.ensure("telegram", "777")
            await service.store.subscriptions.add(chat.id, Target(SubscriptionKind.ENTITY, "caesar-act"))
            await hub.wait_verified(1, within=30)
            rng = random.Random(5)
            for n in range(count):
                await asyncio.sleep(rng.uniform(1.0, 2.0))  # a chat gets at most one message a second
                words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(7)) for _ in range(5)]
                title = f"Caesar Act: {' '.join(words)} #{n}"
                published.append((f"push-{n}", title))
                at = time.monotonic()
                await hub.publish(topic, body())
                while not any(title in d.get("text", "") for d in fake.delivered):  # noqa: ASYNC110
                    if time.monotonic() > at + 30:
                        raise RuntimeError(f"no alert for pushed {title!r} within 30 s")
                    await asyncio.sleep(0.01)
                latencies.append(time.monotonic() - at)
        finally:
            service.request_stop()
            await runner
            await service.stop()
            await server.stop()
            await hub.stop()
            await fake.stop()
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"items": count, "p50_s": statistics.median(ordered), "p95_s": p95, "max_s": ordered[-1],
            "target_p95_s": 3}


def run_push(quick: bool = False) -> dict:
    return asyncio.run(_measure_push(3 if quick else 20))
