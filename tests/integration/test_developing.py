"""Developing stories (issue 15), against the fake Bot API and the fake Slack Web API with the real clients: at the
threshold of distinct feeds, each chat that ran /follow developing on gets ONE new message (its language, feed
text escaped), the others none; a story that grows further and a restart send no second one; quiet hours hold a
follow-up unless the alert was urgent."""

from __future__ import annotations

import pytest

from bot.app import Application
from bot.commands.handlers import Caller
from bot.config import (
    DeliveryConfig,
    FeedConfig,
    PollConfig,
    Settings,
    SlackConfig,
    StoriesConfig,
    TelegramConfig,
)
from bot.model import SubscriptionKind, Target
from tests.conftest import RULES
from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram

EN, AR, OFF, CHANNEL = 7201, 7202, 7203, "C0DEVELOP"
TITLE = "Washington extends Caesar Act sanctions waiver for six months"
SUMMARY = "The U.S. Treasury said the Caesar Act waiver allows investment in Syria's energy sector."
FEEDS = ("Reuters", "Agence <France> & Presse", "UN *News*", "Enab Baladi")


def _feed(n: int, with_item: bool) -> str:
    item = (f"<item><title>{TITLE}</title><guid>d{n}</guid><link>https://outlet{n}.example/caesar</link>"
            f"<description>{SUMMARY}</description></item>") if with_item else ""
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>F{n}</title>{item}</channel></rss>'


class Developing:
    def __init__(self, tmp_path, telegram: FakeTelegram, slack: FakeSlack):
        self.tmp_path, self.telegram, self.slack = tmp_path, telegram, slack
        self.paths = [tmp_path / f"f{n}.xml" for n in range(len(FEEDS))]
        for n, path in enumerate(self.paths):
            path.write_text(_feed(n, n == 0), encoding="utf-8")
        self.service = self._service()

    def _service(self) -> Application:
        telegram, slack = self.telegram, self.slack
        return Application(Settings(
            database=f"sqlite+aiosqlite:///{self.tmp_path}/developing.db", rules=str(RULES),
            feeds=[FeedConfig(name=name, url=str(p)) for name, p in zip(FEEDS, self.paths, strict=True)],
            poll=PollConfig(interval=60), delivery=DeliveryConfig(edit_coalesce=0),
            stories=StoriesConfig(developing_sources=3, developing_window=3600),
            telegram=TelegramConfig(api_url=telegram.base_url, poll_timeout=1),
            slack=SlackConfig(api_url=slack.api_url), http={"host": "127.0.0.1", "port": 0},
            telegram_token=telegram.token, slack_bot_token=slack.bot_token, slack_signing_secret="s",
            base_dir=self.tmp_path))

    async def start(self) -> Developing:
        await self.service.start()
        commands = self.service.commands
        for platform, address, follow in (("telegram", str(EN), True), ("telegram", str(AR), True),
                                          ("telegram", str(OFF), False), ("slack", CHANNEL, True)):
            chat = await self.service.store.chats.ensure(platform, address)
            await self.service.store.subscriptions.add(chat.id, Target(SubscriptionKind.ENTITY, "caesar-act"))
            if address == str(AR):
                await commands.dispatch(Caller(platform, address), "lang", "ar")
            if follow:
                reply = await commands.dispatch(Caller(platform, address), "follow", "developing on")
                assert "3" in reply.text
        await self.service.run_once()
        return self

    async def grow(self, n: int) -> None:
        self.paths[n].write_text(_feed(n, True), encoding="utf-8")
        await self.service.run_once()
        for _ in range(2):
            await self.service.deliver()

    def tg(self, chat: int) -> list[str]:
        return [m["text"] for m in self.telegram.sent("sendMessage", chat) if TITLE in m["text"]]

    def sl(self) -> list[dict]:
        return [m for m in self.slack.posted(CHANNEL) if TITLE in str(m.get("blocks"))]


@pytest.fixture
async def developing(tmp_path):
    telegram, slack = await FakeTelegram().start(), await FakeSlack().start()
    harness = await Developing(tmp_path, telegram, slack).start()
    yield harness
    await harness.service.stop()
    await telegram.stop()
    await slack.stop()


async def test_one_followup_per_following_chat_at_the_threshold(developing):
    d = developing
    assert [len(d.tg(c)) for c in (EN, AR, OFF)] == [1, 1, 1] and len(d.sl()) == 1
    await d.grow(1)
    assert [len(d.tg(c)) for c in (EN, AR, OFF)] == [1, 1, 1] and len(d.sl()) == 1  # two feeds: edits only
    await d.grow(2)
    assert [len(d.tg(c)) for c in (EN, AR, OFF)] == [2, 2, 1] and len(d.sl()) == 2
    en, ar = d.tg(EN)[1], d.tg(AR)[1]
    assert "Developing story: 3 sources" in en and "خبر متطور: عدد المصادر 3" in ar
    assert "&lt;France&gt; &amp; Presse" in en and "<France>" not in en  # feed text escaped in Telegram's HTML
    slack_head = d.sl()[1]["blocks"][0]["text"]["text"]
    assert "Developing story: 3 sources" in slack_head
    assert "<France>" not in str(d.sl()[1]["blocks"])  # escaped for mrkdwn too
    await d.grow(3)  # four feeds: the alerts are edited, no second follow-up
    assert [len(d.tg(c)) for c in (EN, AR, OFF)] == [2, 2, 1] and len(d.sl()) == 2
    assert (await d.service.store.followups.counts()) == {"sent": 3}


async def test_no_second_followup_after_a_restart(developing):
    d = developing
    await d.grow(1)
    await d.grow(2)
    await d.service.stop()
    d.service = d._service()
    await d.service.start()
    await d.service.run_once()
    await d.service.deliver()
    assert [len(d.tg(c)) for c in (EN, AR, OFF)] == [2, 2, 1] and len(d.sl()) == 2


async def test_quiet_hours_hold_a_followup(developing):
    d = developing
    store = d.service.store
    chat = await store.chats.ensure("telegram", str(EN))
    await store.chats.update(chat.id, quiet_start="00:00", quiet_end="23:59")  # quiet all day (UTC)
    await d.grow(1)
    await d.grow(2)
    assert len(d.tg(EN)) == 1 and len(d.tg(AR)) == 2  # held until the quiet hours end
    assert (await store.followups.counts()) == {"pending": 1, "sent": 2}


async def test_follow_command(developing):
    commands = developing.service.commands
    caller = Caller("telegram", str(OFF))
    assert "off" in (await commands.dispatch(caller, "follow", "developing")).text
    assert "/follow developing on|off" in (await commands.dispatch(caller, "follow", "sideways")).text
    await commands.dispatch(caller, "follow", "developing on")
    assert "on" in (await commands.dispatch(caller, "follow", "developing")).text
    await commands.dispatch(caller, "follow", "developing off")
    chat = await developing.service.store.chats.ensure("telegram", str(OFF))
    assert not await developing.service.store.followups.following(chat.id)


async def test_quiet_hours_do_not_hold_an_urgent_followup(developing):
    from sqlalchemy import update

    from bot.store.tables import deliveries

    d = developing
    store = d.service.store
    chat = await store.chats.ensure("telegram", str(EN))
    await store.chats.update(chat.id, quiet_start="00:00", quiet_end="23:59")
    async with store.engine.begin() as conn:  # the chat's alert came from an urgent watchlist
        await conn.execute(update(deliveries).where(deliveries.c.chat_id == chat.id).values(urgent=True))
    await d.grow(1)
    await d.grow(2)
    assert len(d.tg(EN)) == 2 and "Developing story: 3 sources" in d.tg(EN)[1]
