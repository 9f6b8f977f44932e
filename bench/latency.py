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
    return asyncio.run(_measure(3 if quick else 20))
