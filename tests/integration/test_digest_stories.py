"""Stories that grow while held (issue 15), against the fake Bot API and the fake Slack Web API with the real
clients: a story whose first alert is still held shows, inside its digest entry, the other feeds and the count;
a story already sent in a digest brings its count to the next digest as one "Update:" line (however many sources
joined meanwhile), and no digest is ever edited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from bot.app import Application
from bot.commands.handlers import Caller
from bot.config import DeliveryConfig, FeedConfig, PollConfig, Settings, SlackConfig, TelegramConfig
from bot.model import DeliveryState, SubscriptionKind, Target
from bot.store.db import utcnow
from bot.store.tables import deliveries
from tests.conftest import RULES
from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram

CHAT, AR_CHAT, QUIET_FREE, CHANNEL = 7301, 7302, 7303, "C0DIGEST"
TITLE = "Washington extends Caesar Act sanctions waiver for six months"
SUMMARY = "The U.S. Treasury said the Caesar Act waiver allows investment in Syria's energy sector."
FEEDS = ("Reuters", "Agence <France> & Presse", "UN *News*", "Enab Baladi", "AP")


def _feed(n: int, with_item: bool) -> str:
    item = (f"<item><title>{TITLE}</title><guid>g{n}</guid><link>https://outlet{n}.example/caesar</link>"
            f"<description>{SUMMARY}</description></item>") if with_item else ""
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>F{n}</title>{item}</channel></rss>'


class Held:
    def __init__(self, tmp_path, telegram: FakeTelegram, slack: FakeSlack):
        self.telegram, self.slack = telegram, slack
        self.paths = [tmp_path / f"f{n}.xml" for n in range(len(FEEDS))]
        for n, path in enumerate(self.paths):
            path.write_text(_feed(n, n == 0), encoding="utf-8")
        self.service = Application(Settings(
            database=f"sqlite+aiosqlite:///{tmp_path}/held.db", rules=str(RULES),
            feeds=[FeedConfig(name=name, url=str(p)) for name, p in zip(FEEDS, self.paths, strict=True)],
            poll=PollConfig(interval=60), delivery=DeliveryConfig(edit_coalesce=0),
            telegram=TelegramConfig(api_url=telegram.base_url, poll_timeout=1),
            slack=SlackConfig(api_url=slack.api_url), http={"host": "127.0.0.1", "port": 0},
            telegram_token=telegram.token, slack_bot_token=slack.bot_token, slack_signing_secret="s",
            base_dir=tmp_path))

    async def start(self) -> Held:
        await self.service.start()
        commands = self.service.commands
        for platform, address in (("telegram", str(CHAT)), ("telegram", str(AR_CHAT)), ("slack", CHANNEL)):
            chat = await self.service.store.chats.ensure(platform, address)
            await self.service.store.subscriptions.add(chat.id, Target(SubscriptionKind.ENTITY, "caesar-act"))
            if address == str(AR_CHAT):
                await commands.dispatch(Caller(platform, address), "lang", "ar")
            await commands.dispatch(Caller(platform, address), "digest", "hourly")
        await self.service.run_once()
        return self

    async def grow(self, n: int) -> None:
        self.paths[n].write_text(_feed(n, True), encoding="utf-8")
        await self.service.run_once()

    async def digest_time(self) -> None:
        """The hour has come: every held row is due."""
        async with self.service.store.engine.begin() as conn:
            await conn.execute(update(deliveries).where(deliveries.c.state == DeliveryState.HELD).values(
                next_attempt_at=utcnow() - timedelta(seconds=1)))
        await self.service.deliver()

    def digests(self, chat: int) -> list[str]:
        return [m["text"] for m in self.telegram.sent("sendMessage", chat) if TITLE in m["text"]]

    def slack_digests(self) -> list[str]:
        return [m["text"] for m in self.slack.posted(CHANNEL) if TITLE in m.get("text", "")]

    def no_edits(self) -> bool:
        return not self.telegram.sent("editMessageText") and not [
            c for c in self.slack.calls if c.method == "chat.update"]


@pytest.fixture
async def held(tmp_path):
    telegram, slack = await FakeTelegram().start(), await FakeSlack().start()
    harness = await Held(tmp_path, telegram, slack).start()
    yield harness
    await harness.service.stop()
    await telegram.stop()
    await slack.stop()


async def test_a_held_story_is_updated_inside_its_digest_entry(held):
    assert held.digests(CHAT) == [] and held.slack_digests() == []  # held for the hourly digest
    await held.grow(1)
    await held.grow(2)
    await held.digest_time()
    [text] = held.digests(CHAT)
    assert text.count(TITLE) == 1  # one entry for the story, not one per source
    assert "Also: Agence &lt;France&gt; &amp; Presse, UN *News* — 3 sources" in text
    [ar] = held.digests(AR_CHAT)
    assert "عدد المصادر: 3" in ar
    [slack] = held.slack_digests()
    assert slack.count(TITLE) == 1 and "— 3 sources" in slack and "<France>" not in slack
    assert held.no_edits()


async def test_a_story_sent_in_a_digest_gets_its_count_in_the_next_one(held):
    await held.digest_time()
    assert len(held.digests(CHAT)) == 1 and "sources" not in held.digests(CHAT)[0]
    await held.grow(1)
    await held.grow(2)  # two sources join before the next digest: one update line
    await held.service.deliver()
    assert len(held.digests(CHAT)) == 1  # nothing before the next digest, and no edit of the old one
    await held.digest_time()
    first, second = held.digests(CHAT)
    assert second.count(TITLE) == 1 and "Update:" in second and "— 3 sources" in second
    assert "تحديث:" in held.digests(AR_CHAT)[1]
    assert "Update:" in held.slack_digests()[1] and "— 3 sources" in held.slack_digests()[1]
    await held.grow(3)
    await held.digest_time()
    assert "— 4 sources" in held.digests(CHAT)[2] and len(held.digests(CHAT)) == 3
    await held.digest_time()  # nothing new: no digest
    assert len(held.digests(CHAT)) == 3
    assert held.no_edits()


async def test_a_chat_with_no_next_digest_gets_no_update(held):
    store = held.service.store
    await held.digest_time()
    chat = await store.chats.ensure("telegram", str(CHAT))
    await held.service.commands.dispatch(Caller("telegram", str(CHAT)), "digest", "immediate")
    await held.grow(1)
    counts = await store.deliveries.counts()
    assert counts.get(DeliveryState.HELD) == 2  # the Arabic chat and the Slack channel, not the immediate chat
    assert chat.id
