"""A feed cannot write into the chat: hostile items through the real Slack and Telegram clients to the fakes
(which check blocks and HTML as the platforms do), a refused Slack token at start, and logs without secrets."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import sys
import time
from urllib.parse import urlencode

import httpx
import pytest

from bot.app import Application
from bot.config import FeedConfig, PollConfig, Settings, SlackConfig, TelegramConfig
from bot.logs import setup as setup_logging
from tests.conftest import RULES
from tests.fakes.hostile import (
    BIDI,
    HOSTILE_LINK,
    HOSTILE_SOURCE,
    HOSTILE_SUMMARY,
    HOSTILE_TITLE,
    LONG_LINK,
    feed,
    feed_item,
)
from tests.fakes.slack_api import FakeSlack, mrkdwn_injections, texts_of
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_html import assert_valid_html

SECRET = "slack-signing-secret"
OWN_MARKS = "\u2068\u2069\u200f"


def assert_safe_slack(payload: dict) -> None:
    """Every text of a message, reply or view: mrkdwn without markup from a feed, plain_text without `<` `>`."""
    texts = texts_of(payload)
    assert texts
    for kind, text in texts:
        if kind == "plain_text":
            assert "<" not in text and ">" not in text, text
        else:
            assert mrkdwn_injections(text) == [], text
        assert not any(c in text for c in BIDI if c not in OWN_MARKS), repr(text)


async def deliver_all(service, within: float = 20) -> None:
    """Deliver until nothing waits (two alerts to one chat are a second apart: the per-chat limit)."""
    deadline = time.monotonic() + within
    while True:
        await service.deliver()
        counts = await service.store.deliveries.counts()
        if not counts.get("pending") and not counts.get("failed") and not counts.get("sending"):
            return
        assert time.monotonic() < deadline, counts
        await asyncio.sleep(0.1)


def hostile_feed() -> str:
    return feed(feed_item("h1", HOSTILE_TITLE, HOSTILE_SUMMARY, HOSTILE_LINK),
                feed_item("h2", "Treasury renews the Caesar Act waiver", "The Caesar Act stays in force.", LONG_LINK))


# ---------------------------------------------------------------- Slack


@pytest.fixture
async def slack(tmp_path):
    fake = await FakeSlack().start()
    path = tmp_path / "feed.xml"
    path.write_text(feed(), encoding="utf-8")
    settings = Settings(
        database=f"sqlite+aiosqlite:///{tmp_path}/slack.db", rules=str(RULES),
        feeds=[FeedConfig(name=HOSTILE_SOURCE, url=str(path))], poll=PollConfig(interval=60),
        slack=SlackConfig(api_url=fake.api_url), http={"host": "127.0.0.1", "port": 0},
        slack_bot_token=fake.bot_token, slack_signing_secret=SECRET, base_dir=tmp_path)
    service = Application(settings)
    await service.start()
    client = httpx.AsyncClient(timeout=20)
    yield fake, service, client, path
    await client.aclose()
    await service.stop()
    await fake.stop()


async def _post(client, service, body: str, content_type: str | None = None) -> None:
    headers = FakeSlack.sign(SECRET, body)
    if content_type:
        headers["Content-Type"] = content_type
    url = f"http://127.0.0.1:{service.http.port}/slack/events"
    assert (await client.post(url, content=body, headers=headers)).status_code == 200


async def _command(fake, client, service, text: str, channel: str) -> dict:
    n = len(fake.responses) + 1
    await _post(client, service, fake.slash_command(text, channel, "U0001", n))
    await fake.wait_for(lambda f: len(f.responses) >= n)
    return fake.responses[n - 1]


async def test_slack_alerts_replies_buttons_and_app_home_carry_no_markup_from_a_feed(slack):
    fake, service, client, path = slack
    await _command(fake, client, service, "watch Caesar Act", "C0900")
    path.write_text(hostile_feed(), encoding="utf-8")
    await service.run_once()
    await deliver_all(service)
    posted = fake.posted("C0900")
    # both arrive: the one whose link is 6,000 characters long too (its link left out, not cut into the blocks)
    assert len(posted) == 2, [c.params for c in fake.calls][-3:]
    for message in posted:
        assert_safe_slack(message)
        assert message["parse"] == "none" and message["unfurl_links"] is False
    hostile = next(m for m in posted if "&lt;!channel&gt;" in m["blocks"][1]["text"]["text"])
    assert "\u2217bold\u2217" in hostile["text"] and "&lt;!here&gt;" in hostile["blocks"][2]["elements"][0]["text"]
    assert "<https://e.org/x?a=1&amp;b=%3C2%3E%7C3%224|Read>" in json.dumps(hostile, ensure_ascii=False)
    long_link = next(m for m in posted if m is not hostile)
    assert "e.org/aaaa" not in json.dumps(long_link)

    # buttons whose labels quote what was typed; then the phrase followed, and shown on the App Home
    reply = await _command(fake, client, service, "watch <!channel> *zzqq* </b>", "C0900")
    assert_safe_slack({"blocks": reply["blocks"]})  # (the reply's `text` is the command path's, not a feed's)
    actions = next(b for b in reply["blocks"] if b["type"] == "actions")
    button = next(e for e in actions["elements"] if e["value"].startswith("w:p"))
    payload = {"type": "block_actions", "team": {"id": "T0001"}, "user": {"id": "U0001"}, "api_app_id": "A0001",
               "token": "legacy", "channel": {"id": "C0900", "name": "desk"},
               "container": {"type": "message", "channel_id": "C0900", "is_ephemeral": True}, "trigger_id": "1.2",
               "response_url": fake.response_url(99),
               "actions": [{"type": "button", "action_id": button["action_id"], "block_id": "b",
                            "value": button["value"], "action_ts": "1"}]}
    before = len(fake.responses)
    await _post(client, service, urlencode({"payload": json.dumps(payload)}))
    await fake.wait_for(lambda f: len(f.responses) > before)
    event = {"token": "legacy", "team_id": "T0001", "api_app_id": "A0001", "type": "event_callback",
             "event_id": "Ev9", "event_time": int(time.time()),
             "event": {"type": "app_home_opened", "user": "U0001", "channel": "D1", "tab": "home", "event_ts": "1"}}
    await _post(client, service, json.dumps(event), "application/json")
    await fake.wait_for(lambda f: any(c.method == "views.publish" for c in f.calls))
    view = next(c.params for c in fake.calls if c.method == "views.publish")
    assert_safe_slack(view)
    home = json.dumps(view, ensure_ascii=False)
    assert "<#C0900>" in home and "&lt;!channel&gt; \u2217zzqq\u2217 &lt;/b&gt;" in home


async def test_slack_notice_to_an_admin_quotes_a_feed_safely(slack):
    fake, service, _, _ = slack
    service.settings.slack.admins = ["UADMIN"]
    await service.notify_admins("admin.feed_broken", name="<!channel> *Wire*", url="https://e.org/a_b|<x>",
                                failures=10, error="HTTP 500 <!here>")
    await service.deliver()  # (notices may be stored first and sent with the deliveries)
    await fake.wait_for(lambda f: bool(f.posted("UADMIN")))
    notice = fake.posted("UADMIN")[0]
    assert_safe_slack(notice)
    assert "&lt;!channel&gt; \u2217Wire\u2217" in notice["text"]
    assert "&lt;!channel&gt; *Wire*" in notice["blocks"][0]["text"]["text"]  # plain_text: shown as written


# ---------------------------------------------------------------- Telegram


@pytest.fixture
async def telegram(tmp_path):
    fake = await FakeTelegram().start()
    path = tmp_path / "feed.xml"
    path.write_text(feed(), encoding="utf-8")
    settings = Settings(
        database=f"sqlite+aiosqlite:///{tmp_path}/tg.db", rules=str(RULES),
        feeds=[FeedConfig(name=HOSTILE_SOURCE, url=str(path))], poll=PollConfig(interval=60),
        telegram=TelegramConfig(api_url=fake.base_url, poll_timeout=1), telegram_token=fake.token,
        base_dir=tmp_path)
    service = Application(settings)
    await service.start()
    yield fake, service, path
    await service.stop()
    await fake.stop()


async def _say(fake, chat_id: int, text: str) -> None:
    before = len(fake.calls)
    fake.push_message(chat_id, text)
    await fake.wait_for(lambda calls: any(c.method == "sendMessage" and c.params.get("chat_id") == chat_id
                                          for c in calls[before:]))


@pytest.mark.parametrize("language", ["en", "ar"])
async def test_telegram_alert_with_a_6000_character_link_arrives_as_valid_html(telegram, language):
    fake, service, path = telegram
    await _say(fake, 2001, "/watch Caesar Act")
    await _say(fake, 2001, f"/lang {language}")
    path.write_text(hostile_feed(), encoding="utf-8")
    await service.run_once()
    await deliver_all(service)
    alerts = [d for d in fake.delivered if d["chat_id"] == 2001 and "🔔" in d["text"]]
    assert fake.refused == [] and len(alerts) == 2
    for alert in alerts:
        visible = assert_valid_html(alert["text"])
        assert not any(c in alert["text"] for c in BIDI if c not in OWN_MARKS)
        assert "Caesar Act" in visible
    long_link = next(a for a in alerts if "Treasury" in a["text"])
    assert "<a " not in long_link["text"]
    hostile = next(a for a in alerts if a is not long_link)
    assert "&lt;!channel&gt;" in hostile["text"] and "<!channel>" in assert_valid_html(hostile["text"])


async def test_telegram_digest_of_hostile_items_is_valid_html(telegram):
    from sqlalchemy import update

    from bot.store.db import utcnow
    from bot.store.tables import chats, deliveries

    fake, service, path = telegram
    await _say(fake, 2002, "/watch Caesar Act")
    await _say(fake, 2002, "/digest hourly")
    path.write_text(hostile_feed(), encoding="utf-8")
    await service.run_once()
    chat = await service.store.chats.get("telegram", "2002")
    async with service.store.engine.begin() as conn:  # the hour has passed
        past = utcnow().replace(microsecond=0)
        await conn.execute(update(chats).where(chats.c.id == chat.id).values(next_digest_at=past))
        await conn.execute(update(deliveries).where(deliveries.c.chat_id == chat.id, deliveries.c.state == "held")
                           .values(next_attempt_at=past))
    await service.deliver()
    digests = [d for d in fake.delivered if d["chat_id"] == 2002 and "📰" in d["text"]]
    assert fake.refused == [] and len(digests) == 1
    visible = assert_valid_html(digests[0]["text"])
    assert "<!channel>" in visible and "Treasury renews" in visible
    assert '<a href="https://e.org/x?a=1&amp;b=%3C2%3E|3%224">' in digests[0]["text"]


# ---------------------------------------------------------------- Slack failures say what they are


async def test_a_refused_slack_token_is_one_clear_line_and_a_nonzero_exit(tmp_path):
    fake = await FakeSlack().start()
    try:
        config = tmp_path / "config.yaml"
        config.write_text(f"database: sqlite+aiosqlite:///{tmp_path}/t.db\nrules: {RULES}\nfeeds: []\n",
                          encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "TELEGRAM_", "SLACK_"))}
        env.update(SLACK_BOT_TOKEN="xoxb-wrong-token-1234", SLACK_APP_TOKEN=fake.app_token,
                   SLACK_API_URL=fake.api_url)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--once", "--config", str(config), cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(proc.communicate(), 120)
        stderr = err.decode()
        assert proc.returncode == 1, stderr
        assert "SLACK_BOT_TOKEN was refused by Slack (invalid_auth)" in stderr
        assert "Traceback" not in stderr and "xoxb-wrong-token-1234" not in stderr
    finally:
        await fake.stop()


async def test_refused_slack_requests_are_logged_without_token_or_response_url(tmp_path, monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    setup_logging(logging.INFO)  # before the Slack app exists, so slack_bolt's loggers log at INFO
    fake = await FakeSlack().start()
    settings = Settings(database=f"sqlite+aiosqlite:///{tmp_path}/l.db", rules=str(RULES), feeds=[],
                        slack=SlackConfig(api_url=fake.api_url), http={"host": "127.0.0.1", "port": 0},
                        slack_bot_token=fake.bot_token, slack_signing_secret=SECRET, base_dir=tmp_path)
    service = Application(settings)
    try:
        await service.start()
        body = urlencode({"token": "legacy-verification-token", "team_id": "T0001", "command": "/rasad",
                          "text": "list", "response_url": "https://hooks.slack.com/commands/T1/2/SECRETPATH"})
        async with httpx.AsyncClient() as client:
            response = await client.post(f"http://127.0.0.1:{service.http.port}/slack/events", content=body,
                                         headers=FakeSlack.sign("not-the-secret", body))
        assert response.status_code == 401
        logging.getLogger("slack_sdk.web.async_base_client").info("calling with xoxb-1-2-abc and xapp-1-A1-2-b")
    finally:
        await service.stop()
        await fake.stop()
        root.handlers[:], level = saved
        root.setLevel(level)
    log = stream.getvalue()
    assert "Invalid request signature detected" in log  # slack_bolt did log the refused request
    assert "legacy-verification-token" not in log and "SECRETPATH" not in log and "hooks.slack.com" not in log
    assert "token=[redacted]" in log and "response_url=[redacted]" in log
    assert "xoxb-1-2-abc" not in log and "xapp-1-A1-2-b" not in log and fake.bot_token not in log
