"""Slack: the real slack-bolt / slack_sdk clients against a fake Slack Web API; slash commands as signed requests."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import httpx
import pytest

from bot.app import Application
from bot.config import FeedConfig, PollConfig, Settings, SlackConfig
from bot.model import Target
from tests.conftest import RULES
from tests.fakes.feeds import feed_xml
from tests.fakes.slack_api import FakeSlack

SECRET = "slack-signing-secret"
RLM = "\u200f"


class SlackHarness:
    def __init__(self, tmp_path, fake: FakeSlack):
        self.fake = fake
        self.feed = tmp_path / "feed.xml"
        self.feed.write_text(feed_xml(), encoding="utf-8")
        settings = Settings(
            database=f"sqlite+aiosqlite:///{tmp_path}/slack.db", rules=str(RULES),
            feeds=[FeedConfig(name="Wire", url=str(self.feed))], poll=PollConfig(interval=60),
            slack=SlackConfig(api_url=fake.api_url, admins=["UADMIN"]), http={"host": "127.0.0.1", "port": 0},
            slack_bot_token=fake.bot_token, slack_signing_secret=SECRET, base_dir=tmp_path)
        self.service = Application(settings)
        self.client = httpx.AsyncClient(timeout=20)

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.service.http.port}/slack/events"

    async def command(self, text: str, channel: str = "C0001", user: str = "U0001") -> dict:
        n = len(self.fake.responses) + 1
        body = self.fake.slash_command(text, channel, user, n)
        response = await self.client.post(self.events_url, content=body, headers=FakeSlack.sign(SECRET, body))
        assert response.status_code == 200, response.text
        await self.fake.wait_for(lambda f: len(f.responses) >= n)
        return self.fake.responses[n - 1]

    def publish(self, *items) -> None:
        self.feed.write_text(feed_xml(*items), encoding="utf-8")


@pytest.fixture
async def slack(tmp_path):
    fake = await FakeSlack().start()
    harness = SlackHarness(tmp_path, fake)
    await harness.service.start()
    yield harness
    await harness.client.aclose()
    await harness.service.stop()
    await fake.stop()


async def test_watch_in_a_channel_then_one_block_kit_alert(slack):
    reply = await slack.command("watch Resolution 2254")
    assert reply["response_type"] == "ephemeral" and "Resolution 2254" in reply["text"]
    slack.publish(("s1", "Envoy urges implementation of UNSCR 2254", "The Council discussed UNSCR 2254 (2015)."))
    summary = await slack.service.run_once()
    assert summary.alerts_sent == 1
    posted = slack.fake.posted("C0001")
    assert len(posted) == 1
    blocks = posted[0]["blocks"]
    assert blocks[0]["type"] == "header" and "Resolution 2254" in blocks[0]["text"]["text"]
    assert any("UNSCR 2254" in b.get("text", {}).get("text", "") for b in blocks)
    assert posted[0]["text"]  # the plain-text fallback
    assert posted[0]["unfurl_links"] is False
    again = await slack.service.run_once()
    assert again.alerts_sent == 0 and len(slack.fake.posted("C0001")) == 1


async def test_bad_signature_and_stale_timestamp_are_rejected(slack):
    body = slack.fake.slash_command("watch Caesar Act")
    bad = FakeSlack.sign("wrong-secret", body)
    assert (await slack.client.post(slack.events_url, content=body, headers=bad)).status_code == 401
    stale = FakeSlack.sign(SECRET, body, timestamp=int(time.time()) - 600)
    assert (await slack.client.post(slack.events_url, content=body, headers=stale)).status_code == 401
    assert slack.fake.responses == []
    assert await slack.service.store.chats.get("slack", "C0001") is None  # nothing happened


async def test_feed_text_is_escaped_and_blocks_stay_in_limits(slack):
    await slack.command("watch Caesar Act", channel="C0002")
    long_summary = "The Caesar Act " + "word " * 2000
    slack.publish(("e1", "&lt;!channel&gt; Caesar Act &amp; co &lt;b&gt;bold&lt;/b&gt;", long_summary))
    await slack.service.run_once()
    blocks = slack.fake.posted("C0002")[0]["blocks"]
    text = json.dumps(blocks, ensure_ascii=False)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text and "&amp; co" in text
    assert len(blocks) <= 50
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    assert len(blocks[0]["text"]["text"]) <= 150


async def test_arabic_channel_gets_right_to_left_alerts(slack):
    await slack.command("watch قانون قيصر", channel="C0003")
    lang = await slack.command("lang ar", channel="C0003")
    assert "العربية" in lang["text"]
    slack.publish(("a1", "واشنطن تمدد العمل بقانون قيصر", "قالت واشنطن إن قانون قيصر باق."))
    await slack.service.run_once()
    blocks = slack.fake.posted("C0003")[0]["blocks"]
    assert blocks[1]["text"]["text"].startswith(RLM) and "قانون قيصر" in blocks[0]["text"]["text"]


async def test_429_retry_after_is_honoured_and_nothing_is_lost(slack):
    await slack.command("watch Caesar Act", channel="C0004")
    slack.fake.fail_next("C0004", FakeSlack.rate_limited(1), FakeSlack.rate_limited(1))
    slack.publish(("r1", "Caesar Act news", ""))
    await slack.service.run_once()
    deadline = time.monotonic() + 20
    while not slack.fake.posted("C0004"):
        assert time.monotonic() < deadline
        await slack.service.deliver()
        await __import__("asyncio").sleep(0.1)
    assert len(slack.fake.posted("C0004")) == 1
    assert await slack.service.store.deliveries.counts() == {"sent": 1}


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "is_archived"])
async def test_channel_errors_mark_the_channel_inactive(slack, error):
    await slack.command("watch Caesar Act", channel="C0005")
    slack.fake.fail_next("C0005", FakeSlack.error(error))
    slack.publish(("x1", "Caesar Act news", ""))
    await slack.service.run_once()
    chat = await slack.service.store.chats.get("slack", "C0005")
    assert chat.active is False
    assert await slack.service.store.deliveries.counts() == {"dead": 1}


async def test_choices_as_buttons_and_the_action_that_follows(slack):
    reply = await slack.command("watch Assad", channel="C0006")
    actions = next(b for b in reply["blocks"] if b["type"] == "actions")
    button = next(e for e in actions["elements"] if e["value"] == "w:e:bashar-al-assad")
    payload = {"type": "block_actions", "team": {"id": "T0001"}, "user": {"id": "U0001"},
               "api_app_id": "A0001", "token": "legacy", "channel": {"id": "C0006", "name": "desk"},
               "container": {"type": "message", "channel_id": "C0006", "is_ephemeral": True},
               "trigger_id": "1.2", "response_url": slack.fake.response_url(99),
               "actions": [{"type": "button", "action_id": button["action_id"], "block_id": "b",
                            "value": button["value"], "action_ts": "1"}]}
    body = urlencode({"payload": json.dumps(payload)})
    response = await slack.client.post(slack.events_url, content=body, headers=FakeSlack.sign(SECRET, body))
    assert response.status_code == 200
    await slack.fake.wait_for(lambda f: any("Bashar al-Assad" in r.get("text", "") for r in f.responses))
    chat = await slack.service.store.chats.get("slack", "C0006")
    assert await slack.service.store.subscriptions.of_chat(chat.id) == [Target("entity", "bashar-al-assad")]


async def test_help_list_status_and_unknown(slack):
    help_text = (await slack.command("help"))["text"]
    assert "/rasad watch" in help_text and "/rasad help" in help_text
    assert "/start" not in help_text and "/export" not in help_text and "/import" not in help_text
    assert "nothing" in (await slack.command("list"))["text"]
    assert "Feeds polled" in (await slack.command("status"))["text"]
    assert "/rasad help" in (await slack.command("frobnicate"))["text"]
    assert "administrators" in (await slack.command("addfeed https://e.org/rss"))["text"]
    slack.service.commands.allow_private_feeds = True  # no DNS on the test machine
    assert "added" in (await slack.command("addfeed https://e.org/rss", user="UADMIN"))["text"]


async def test_app_home_lists_what_channels_follow(slack):
    await slack.command("watch Caesar Act", channel="C0007")
    event = {"token": "legacy", "team_id": "T0001", "api_app_id": "A0001", "type": "event_callback",
             "event_id": "Ev1", "event_time": int(time.time()),
             "event": {"type": "app_home_opened", "user": "U0001", "channel": "D1", "tab": "home",
                       "event_ts": "1.0"}}
    body = json.dumps(event)
    headers = {**FakeSlack.sign(SECRET, body), "Content-Type": "application/json"}
    assert (await slack.client.post(slack.events_url, content=body, headers=headers)).status_code == 200
    await slack.fake.wait_for(lambda f: any(c.method == "views.publish" for c in f.calls))
    view = next(c.params for c in slack.fake.calls if c.method == "views.publish")
    assert view["user_id"] == "U0001" and "Caesar Act" in json.dumps(view["view"])


async def test_socket_mode_receives_the_slash_command_over_a_websocket(tmp_path):
    fake = await FakeSlack().start()
    feed = tmp_path / "feed.xml"
    feed.write_text(feed_xml(), encoding="utf-8")
    settings = Settings(database=f"sqlite+aiosqlite:///{tmp_path}/sm.db", rules=str(RULES),
                        feeds=[FeedConfig(name="Wire", url=str(feed))], slack=SlackConfig(api_url=fake.api_url),
                        slack_bot_token=fake.bot_token, slack_app_token=fake.app_token, base_dir=tmp_path)
    service = Application(settings)
    await service.start()
    try:
        assert service.http is None  # Socket Mode needs no public URL and no HTTP port
        command = dict(x.split("=", 1) for x in fake.slash_command("watch Caesar Act", channel="C0100").split("&"))
        from urllib.parse import unquote_plus

        payload = {k: unquote_plus(v) for k, v in command.items()}
        await fake.socket_push({"envelope_id": "env-1", "type": "slash_commands", "accepts_response_payload": True,
                                "payload": payload})
        await fake.wait_for(lambda f: any(a.get("envelope_id") == "env-1" for a in f.acks) and f.responses)
        assert "Caesar Act" in fake.responses[0]["text"]
        feed.write_text(feed_xml(("sm1", "Caesar Act renewed", "")), encoding="utf-8")
        await service.run_once()
        assert len(fake.posted("C0100")) == 1
    finally:
        await service.stop()
        await fake.stop()
