"""4. Delivery fan-out: one item matching 10,000 Telegram chats (and 1,000 Slack channels), against fake platforms
that enforce the limits (Telegram: 30/s overall, 1/s per chat, 20/min per group, 429 beyond)."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter

from bench.servers import telegram_server
from bot.app import Application
from bot.config import Settings, SlackConfig, TelegramConfig
from bot.model import Item, Match
from bot.store.db import utcnow
from bot.store.tables import chats, subscriptions
from tests.fakes.slack_api import FakeSlack


async def _setup(service: Application, platform: str, addresses: list[str]) -> None:
    now = utcnow()
    async with service.store.engine.begin() as conn:
        await conn.execute(chats.insert(), [{"platform": platform, "address": a, "language": "en", "active": True,
                                              "chat_type": "private" if platform == "telegram" else "channel",
                                              "created_at": now} for a in addresses])
        ids = [r.id for r in await conn.execute(chats.select().where(chats.c.platform == platform))]
        await conn.execute(subscriptions.insert(), [{"chat_id": i, "kind": "watchlist", "target": "sanctions",
                                                     "created_at": now} for i in ids])


async def _fanout(telegram_chats: int, slack_channels: int, tg_url: str, tg_token: str, read_stats) -> dict:
    slack = await FakeSlack().start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database=f"sqlite+aiosqlite:///{tmp}/fan.db", rules="rules", base_dir=".",
                            telegram=TelegramConfig(api_url=tg_url, poll_timeout=1), telegram_token=tg_token,
                            slack=SlackConfig(api_url=slack.api_url), slack_bot_token=slack.bot_token,
                            slack_app_token=slack.app_token)
        service = Application(settings)
        await service.start()
        try:
            await _setup(service, "telegram", [str(100000 + i) for i in range(telegram_chats)])
            await _setup(service, "slack", [f"C{i:06d}" for i in range(slack_channels)])
            await service.store.feeds.sync_config([("bench://feed", "Bench", None, None)])
            feed = (await service.store.feeds.all())[0]
            item = Item("fan-1", "Caesar Act waiver extended", "The Caesar Act stays.", "https://e.org/1")
            match = (await service.rules.in_force().match([item.text]))[0]
            stored = await service.store.items.store(feed.id, [(item, Match(match.mentions,
                                                                                       match.watchlists))])
            targets = await service.store.subscriptions.subscribers(["sanctions"], [])
            await service.store.deliveries.create(stored[0].id, targets, story_id=stored[0].id)
            started = time.perf_counter()
            started_mono = time.monotonic()
            while True:
                await service.deliver()
                counts = await service.store.deliveries.counts()
                if not (counts.keys() - {"sent", "dead"}):
                    break
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - started
            slack_times = [c.at for c in slack.calls if c.method == "chat.postMessage" and c.params.get("_ok")]
            slack_done = (max(slack_times) - started_mono) if slack_times else None
        finally:
            await service.stop()
            await slack.stop()
    stats = read_stats()
    delivered = Counter(stats["delivered"])
    times = sorted(stats["times"])
    # sustained rate: messages over the span between the first and last Telegram request
    span = (times[-1] - times[0]) if len(times) > 1 else elapsed
    slack_posts = Counter(c.params.get("channel") for c in slack.calls if c.method == "chat.postMessage"
                          and c.params.get("_ok"))
    return {
        "name": "fanout",
        "telegram_chats": telegram_chats,
        "slack_channels": slack_channels,
        "wall_s": elapsed,
        "telegram_rate_per_s": len(delivered) / span if span else None,
        "fraction_of_limit": (len(delivered) / span) / 30 if span else None,
        "telegram_requests": stats["requests"],
        "answered_429": stats["limit_hits"],
        "share_429": stats["limit_hits"] / max(1, stats["requests"]),
        "lost": telegram_chats - len(delivered) + slack_channels - len(slack_posts),
        "duplicates": sum(n - 1 for n in delivered.values() if n > 1) + sum(n - 1 for n in slack_posts.values()
                                                                            if n > 1),
        "slack_seconds": slack_done,
        "targets": {"fraction_of_limit": 0.95, "share_429": 0.01, "lost": 0, "duplicates": 0},
    }


def run(quick: bool = False) -> dict:
    telegram_chats, slack_channels = (300, 100) if quick else (10_000, 1_000)
    with telegram_server() as (url, token, read_stats):
        return asyncio.run(_fanout(telegram_chats, slack_channels, url, token, read_stats))
