"""/rasad addfeed <web page> on Slack (issue 14): the page's declared feeds come back as buttons, and pressing one
adds that feed; the real slack-bolt clients against the fake Slack Web API, the page on a local server."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from tests.fakes.feed_cases import rss
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_api import FakeSlack
from tests.integration.test_discover import page
from tests.integration.test_slack import SECRET, SlackHarness


@pytest.fixture
async def slack(tmp_path):
    fake = await FakeSlack().start()
    harness = SlackHarness(tmp_path, fake)
    harness.service.commands.allow_private_feeds = True  # the page is on 127.0.0.1
    await harness.service.start()
    yield harness
    await harness.client.aclose()
    await harness.service.stop()
    await fake.stop()


async def press(slack: SlackHarness, button: dict, user: str = "UADMIN", n: int = 99) -> None:
    payload = {"type": "block_actions", "team": {"id": "T0001"}, "user": {"id": user},
               "api_app_id": "A0001", "token": "legacy", "channel": {"id": "C0007", "name": "desk"},
               "container": {"type": "message", "channel_id": "C0007", "is_ephemeral": True},
               "trigger_id": "1.2", "response_url": slack.fake.response_url(n),
               "actions": [{"type": "button", "action_id": button["action_id"], "block_id": "b",
                            "value": button["value"], "action_ts": "1"}]}
    body = urlencode({"payload": json.dumps(payload)})
    response = await slack.client.post(slack.events_url, content=body, headers=FakeSlack.sign(SECRET, body))
    assert response.status_code == 200


async def test_addfeed_on_a_page_offers_buttons_and_a_press_adds_the_feed(slack):
    server = await FeedServer().start()
    try:
        server.route("/", page('<html><head><link rel="alternate" type="application/rss+xml" title="News"'
                               ' href="/news.xml"><link rel="alternate" type="application/atom+xml" title="Atom"'
                               ' href="/atom.xml"></head></html>'))

        async def feed(request):
            from aiohttp import web
            return web.Response(text=rss(1), content_type="application/rss+xml")

        server.route("/news.xml", feed)
        server.route("/atom.xml", feed)
        reply = await slack.command(f"addfeed {server.url('/')}", channel="C0007", user="UADMIN")
        actions = next(b for b in reply["blocks"] if b["type"] == "actions")
        labels = [e["text"]["text"] for e in actions["elements"]]
        assert labels == ["News", "Atom"]
        count = len(slack.fake.responses)
        await press(slack, actions["elements"][1])
        await slack.fake.wait_for(lambda f: len(f.responses) > count)
        answer = slack.fake.responses[-1]
        assert "#2" in answer["text"] and "Atom" in answer["text"], answer
        urls = [f.url for f in await slack.service.store.feeds.all()]
        assert server.url("/atom.xml") in urls and server.url("/news.xml") not in urls
        # a member who is not a bot administrator cannot press it
        count = len(slack.fake.responses)
        await press(slack, actions["elements"][0], user="U0001", n=100)
        await slack.fake.wait_for(lambda f: len(f.responses) > count)
        assert "administrators" in slack.fake.responses[-1]["text"]
        assert server.url("/news.xml") not in [f.url for f in await slack.service.store.feeds.all()]
    finally:
        await server.stop()
