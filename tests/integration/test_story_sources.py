"""/story <id> and the alert's "Sources" button (issue 15), against the fake Bot API and the fake Slack Web API:
every source with its time and link, each feed field escaped, in the chat's language; the button survives edits."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import httpx
import pytest

from bot.commands.table import BY_NAME, menu_for
from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram
from tests.integration.test_edit_failures import CHANNEL, CHAT, Story

NAMES = ("Reuters", "Agence <France> & Presse", "<!channel> *Wire*")


@pytest.fixture
async def grown(tmp_path):
    telegram, slack = await FakeTelegram().start(), await FakeSlack().start()
    harness = await Story(tmp_path, telegram, slack, NAMES).start()
    await harness.grow(1)
    await harness.grow(2)
    yield harness
    await harness.service.stop()
    await telegram.stop()
    await slack.stop()


def _button(markup) -> dict:
    return markup["inline_keyboard"][0][0]


async def _answer(story: Story, since: int) -> dict:
    calls = await story.telegram.wait_for(lambda c: any(
        x.method == "sendMessage" and x.params.get("chat_id") == CHAT for x in c[since:]))
    return next(x.params for x in calls[since:] if x.method == "sendMessage" and x.params.get("chat_id") == CHAT)


async def test_telegram_sources_button_lists_every_source_escaped(grown):
    alert = grown.telegram.delivered[0]
    button = _button(alert["reply_markup"])
    assert button["text"] == "Sources · #1" and button["callback_data"] == "story:1"
    edited = grown.telegram.sent("editMessageText", CHAT)[-1]
    assert _button(edited["reply_markup"]) == button  # an edit keeps the button
    before, edits = len(grown.telegram.calls), len(grown.telegram.edits)
    message = {"message_id": 1000, "date": int(time.time()), "chat": {"id": CHAT, "type": "private"},
               "text": alert["text"]}
    grown.telegram.push_callback(CHAT, "story:1", message, user_id=4242)  # anyone may press it
    answer = await _answer(grown, before)
    text = answer["text"]
    assert "Story #1: 3 items from 3 sources" in text
    assert "Agence &lt;France&gt; &amp; Presse" in text and "&lt;!channel&gt; *Wire*" in text
    assert "<France>" not in text
    for n in range(3):
        assert f"https://outlet{n}.example/caesar" in text
    assert text.count(" UTC") == 3
    assert len(grown.telegram.edits) == edits  # the alert itself is not touched


async def test_telegram_story_command_in_both_languages_and_errors(grown):
    service = grown.service
    for args, expected in (("/story #1", "Story #1"), ("/story 99", "No story #99"), ("/story abc", "/story 12")):
        before = len(grown.telegram.calls)
        grown.telegram.push_message(CHAT, args)
        assert expected in (await _answer(grown, before))["text"]
    chat = await service.store.chats.get("telegram", str(CHAT))
    await service.store.chats.set_language(chat.id, "ar")
    before = len(grown.telegram.calls)
    grown.telegram.push_message(CHAT, "/story ١")  # Arabic-Indic digits
    text = (await _answer(grown, before))["text"]
    assert "الخبر #1" in text and "Agence &lt;France&gt; &amp; Presse" in text
    assert "story" in [c.name for c in menu_for("telegram")] and BY_NAME["story"].available_on("slack")


async def test_slack_sources_button_answers_ephemeral(grown):
    posted = grown.slack.posted(CHANNEL)[0]
    actions = posted["blocks"][-1]
    assert actions["type"] == "actions" and actions["elements"][0]["value"] == "1"
    updated = grown.slack.messages[grown.slack_ts()]["blocks"]
    assert updated[-1] == actions and updated[-2]["type"] == "context"  # the Also line, then the button
    payload = {"type": "block_actions", "team": {"id": "T0001"}, "user": {"id": "U0042"}, "api_app_id": "A0001",
               "token": "legacy", "channel": {"id": CHANNEL, "name": "desk"},
               "container": {"type": "message", "channel_id": CHANNEL, "is_ephemeral": False},
               "trigger_id": "1.2", "response_url": grown.slack.response_url(7),
               "actions": [{"type": "button", "action_id": "rasad_story", "block_id": "rasad_story",
                            "value": "1", "action_ts": "1"}]}
    body = urlencode({"payload": json.dumps(payload)})
    url = f"http://127.0.0.1:{grown.service.http.port}/slack/events"
    async with httpx.AsyncClient(timeout=20) as client:
        response = await client.post(url, content=body, headers=FakeSlack.sign("s", body))
    assert response.status_code == 200
    await grown.slack.wait_for(lambda f: bool(f.responses))
    answer = grown.slack.responses[-1]
    assert answer["response_type"] == "ephemeral" and not answer.get("replace_original")
    text = answer["text"]
    assert "Story #1: 3 items from 3 sources" in text and "Agence &lt;France&gt; &amp; Presse" in text
    assert "<!channel>" not in text and "https://outlet2.example/caesar" in text
