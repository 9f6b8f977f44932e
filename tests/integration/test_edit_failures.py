"""Every way an edit of a grown story's alert can fail (issue 15), against the fake Bot API and the fake Slack
Web API with the real clients: each is answered once (no retry loop), and a 429 loses no update (the retried edit
shows every source that arrived meanwhile)."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import select

from bot.app import Application
from bot.config import DeliveryConfig, FeedConfig, PollConfig, Settings, SlackConfig, TelegramConfig
from bot.model import EditState, SubscriptionKind, Target
from bot.store.tables import story_edits
from tests.conftest import RULES
from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram

CHAT, CHANNEL = 7101, "C0EDIT"
TITLE = "Washington extends Caesar Act sanctions waiver for six months"
SUMMARY = "The U.S. Treasury said the Caesar Act waiver allows investment in Syria's energy sector."
FEEDS = ("Reuters", "UN News", "Enab Baladi")


def _feed(n: int, with_item: bool) -> str:
    item = (f"<item><title>{TITLE}</title><guid>s{n}</guid><link>https://outlet{n}.example/caesar</link>"
            f"<description>{SUMMARY}</description></item>") if with_item else ""
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>F{n}</title>{item}</channel></rss>'


class Story:
    """Rasad with three feeds, one Telegram chat and one Slack channel following the Caesar Act."""

    def __init__(self, tmp_path, telegram: FakeTelegram, slack: FakeSlack, names: tuple[str, ...] = FEEDS):
        self.telegram, self.slack = telegram, slack
        self.paths = [tmp_path / f"f{n}.xml" for n in range(len(names))]
        for n, path in enumerate(self.paths):
            path.write_text(_feed(n, n == 0), encoding="utf-8")
        settings = Settings(
            database=f"sqlite+aiosqlite:///{tmp_path}/edits.db", rules=str(RULES),
            feeds=[FeedConfig(name=name, url=str(p)) for name, p in zip(names, self.paths, strict=True)],
            poll=PollConfig(interval=60), delivery=DeliveryConfig(edit_coalesce=0),
            telegram=TelegramConfig(api_url=telegram.base_url, poll_timeout=1),
            slack=SlackConfig(api_url=slack.api_url), http={"host": "127.0.0.1", "port": 0},
            telegram_token=telegram.token, slack_bot_token=slack.bot_token, slack_signing_secret="s",
            base_dir=tmp_path)
        self.service = Application(settings)

    async def start(self) -> Story:
        await self.service.start()
        for platform, address in (("telegram", str(CHAT)), ("slack", CHANNEL)):
            chat = await self.service.store.chats.ensure(platform, address)
            await self.service.store.subscriptions.add(chat.id, Target(SubscriptionKind.ENTITY, "caesar-act"))
        await self.service.run_once()
        assert len(self.alerts()) == 1 and len(self.slack.posted(CHANNEL)) == 1
        return self

    def alerts(self) -> list[tuple[int, int]]:
        return [k for k, (text, *_) in self.telegram.messages.items() if k[0] == CHAT and TITLE in text]

    def slack_ts(self) -> tuple[str, str]:
        return next(k for k in self.slack.messages if k[0] == CHANNEL)

    async def grow(self, n: int) -> None:
        """Feed ``n`` reports the story too; poll and deliver."""
        self.paths[n].write_text(_feed(n, True), encoding="utf-8")
        await self.service.run_once()

    def tg_edits(self) -> int:
        return len(self.telegram.sent("editMessageText", CHAT))

    def slack_updates(self) -> int:
        return len([c for c in self.slack.calls if c.method == "chat.update"])


@pytest.fixture
async def story(tmp_path):
    telegram, slack = await FakeTelegram().start(), await FakeSlack().start()
    harness = await Story(tmp_path, telegram, slack).start()
    yield harness
    await harness.service.stop()
    await telegram.stop()
    await slack.stop()


def _shown(text: str) -> int:
    found = re.search(r"— (\d+) sources", text)
    return int(found.group(1)) if found else 1


async def _settle(story: Story, rounds: int = 3) -> None:
    for _ in range(rounds):
        await story.service.deliver()


async def _edit_states(story: Story) -> list[str]:
    async with story.service.store.engine.connect() as conn:
        return [r.state for r in await conn.execute(select(story_edits.c.state).order_by(story_edits.c.delivery_id))]


async def test_telegram_message_is_not_modified_counts_as_shown(story):
    await story.grow(1)
    assert story.tg_edits() == 1 and _shown(story.telegram.messages[story.alerts()[0]][0]) == 2
    story_id = (await story.service.store.edits.sources(1))[0].item_id
    await story.service.store.edits.story_grew(story_id)  # wanted again, but nothing new to show
    await _settle(story)
    assert story.tg_edits() == 2  # answered "message is not modified" once, not retried
    assert set(await _edit_states(story)) == {EditState.IDLE}
    await story.grow(2)  # and the next source is still shown
    assert story.tg_edits() == 3 and _shown(story.telegram.messages[story.alerts()[0]][0]) == 3


@pytest.mark.parametrize("how", ["deleted", "too old"])
async def test_telegram_message_deleted_or_too_old_is_given_up_once(story, how):
    chat, message_id = story.alerts()[0]
    if how == "deleted":
        story.telegram.delete_message(chat, message_id)
    else:
        story.telegram.age_message(chat, message_id)
    await story.grow(1)
    await _settle(story)
    assert story.tg_edits() == 1  # one try, then given up: no retry loop
    assert story.slack_updates() == 1  # the Slack channel's alert is edited all the same
    await story.grow(2)
    await _settle(story)
    assert story.tg_edits() == 1
    assert len(story.telegram.delivered) == 1  # and no new message instead
    states = await _edit_states(story)
    assert EditState.DONE in states and story.slack_updates() == 2


async def test_telegram_429_is_retried_after_retry_after_with_the_latest_state(story):
    story.telegram.fail_next_edit(CHAT, FakeTelegram.too_many_requests(1))
    await story.grow(1)
    assert story.tg_edits() == 1  # answered 429
    await story.grow(2)  # a third source lands while the edit waits
    assert story.tg_edits() == 1  # not before retry_after
    await asyncio.sleep(1.1)
    await _settle(story)
    assert story.tg_edits() == 2  # one retry, showing both later sources: no update lost
    assert _shown(story.telegram.messages[story.alerts()[0]][0]) == 3
    assert set(await _edit_states(story)) == {EditState.IDLE}


@pytest.mark.parametrize("error", ["message_not_found", "cant_update_message"])
async def test_slack_message_not_found_or_cant_update_is_given_up_once(story, error):
    key = story.slack_ts()
    (story.slack.deleted if error == "message_not_found" else story.slack.uneditable).add(key)
    await story.grow(1)
    await _settle(story)
    assert story.slack_updates() == 1
    await story.grow(2)
    await _settle(story)
    assert story.slack_updates() == 1 and len(story.slack.posted(CHANNEL)) == 1
    assert story.tg_edits() == 2  # Telegram's alert still grows
    assert _shown(story.telegram.messages[story.alerts()[0]][0]) == 3


async def test_slack_429_is_retried_with_the_latest_state(story):
    story.slack.fail_next(CHANNEL, FakeSlack.rate_limited(1))
    await story.grow(1)
    assert story.slack_updates() == 1
    await story.grow(2)
    await asyncio.sleep(1.1)
    await _settle(story)
    assert story.slack_updates() == 2
    assert _shown(str(story.slack.messages[story.slack_ts()].get("blocks"))) == 3
    assert set(await _edit_states(story)) == {EditState.IDLE}
