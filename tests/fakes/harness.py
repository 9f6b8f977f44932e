"""A whole Rasad (the real Application) wired to a fake Bot API and a local feed file: say, press, deliver."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bot.app import Application
from bot.config import FeedConfig, PollConfig, Settings, TelegramConfig
from tests.conftest import RULES
from tests.fakes.feeds import feed_xml
from tests.fakes.telegram_api import FakeTelegram

ADMIN = 777


class Harness:
    def __init__(self, tmp_path: Path, fake: FakeTelegram):
        self.fake = fake
        self.feed = tmp_path / "feed.xml"
        self.feed.write_text(feed_xml(), encoding="utf-8")
        self.settings = Settings(
            database=f"sqlite+aiosqlite:///{tmp_path}/tg.db", rules=str(RULES),
            feeds=[FeedConfig(name="Wire", url=str(self.feed))], poll=PollConfig(interval=60),
            telegram=TelegramConfig(api_url=fake.base_url, admins=[ADMIN], poll_timeout=1),
            telegram_token=fake.token, base_dir=tmp_path)
        self.service = Application(self.settings)

    def publish(self, *items: tuple[str, str, str]) -> None:
        self.feed.write_text(feed_xml(*items), encoding="utf-8")

    async def say(self, chat_id: int, text: str, **kw) -> dict:
        """Send a user message and wait for the bot's answer to that chat."""
        before = len(self.fake.calls)
        self.fake.push_message(chat_id, text, **kw)
        calls = await self.fake.wait_for(lambda c: any(
            x.method in ("sendMessage", "sendDocument", "editMessageText") and x.params.get("chat_id") == chat_id
            for x in c[before:]))
        return next(x.params for x in calls[before:] if x.params.get("chat_id") == chat_id
                    and x.method in ("sendMessage", "sendDocument", "editMessageText"))

    async def press(self, chat_id: int, data: str, keyboard_message: dict, **kw) -> dict:
        before = len(self.fake.calls)
        self.fake.push_callback(chat_id, data, keyboard_message, **kw)
        calls = await self.fake.wait_for(lambda c: any(x.method == "editMessageText" for x in c[before:]))
        return next(x.params for x in calls[before:] if x.method == "editMessageText")

    async def deliver_all(self, within: float = 20) -> None:
        """Deliver until nothing is pending or failed (waiting for retry times, never a fixed sleep)."""
        deadline = time.monotonic() + within
        while True:
            await self.service.deliver()
            counts = await self.service.store.deliveries.counts()
            if not counts.get("pending") and not counts.get("failed") and not counts.get("sending"):
                return
            assert time.monotonic() < deadline, counts
            await asyncio.sleep(0.1)
