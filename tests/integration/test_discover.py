"""/addfeed <web page>: the feeds the page declares come back as buttons; common paths only when it declares none;
the SSRF guard holds for pages and discovered feeds."""

from __future__ import annotations

from aiohttp import web

from bot.commands.handlers import Caller, Commands
from bot.commands.resolve import Resolver
from bot.extract.matcher import Matcher
from bot.feeds.sources import FeedSources
from bot.rules.load import load_rules
from bot.store import Store
from tests.conftest import RULES
from tests.fakes.feed_cases import rss
from tests.fakes.feed_server import FeedServer

ADMIN = Caller("telegram", "1", user_id="1", is_bot_admin=True)


def page(body: str):
    async def handler(request):
        return web.Response(text=body, content_type="text/html")
    return handler


def feed_body():
    async def handler(request):
        return web.Response(text=rss(1), content_type="application/rss+xml")
    return handler


async def test_discovery_buttons_common_paths_and_guard(tmp_path):
    server = await FeedServer().start()
    server.route("/", page('<html><head><link rel="alternate" type="application/rss+xml" title="News &amp; <b>"'
                           ' href="/news.xml"><link rel="alternate" type="application/atom+xml" href="atom.xml">'
                           '</head></html>'))
    server.route("/news.xml", feed_body())
    server.route("/bare/", page("<html><body>no links</body></html>"))
    server.route("/feed", feed_body())
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/d.db")
    await store.migrate()
    matcher = Matcher(load_rules(RULES))
    commands = Commands(store, lambda: (matcher, Resolver(matcher)), allow_private_feeds=True, sources=FeedSources())
    try:
        reply = await commands.dispatch(ADMIN, "addfeed", server.url("/"))
        assert [b[0].data for b in reply.buttons] == ["af:0", "af:1"]
        assert reply.buttons[0][0].label == "News & <b>"  # plain text: the adapter escapes it for its platform
        added = await commands.callback(ADMIN, "af:0", server.url("/"))
        assert "#1" in added.text and (await store.feeds.all())[0].url == server.url("/news.xml")
        requested = len(server.requests)
        bare = await commands.dispatch(ADMIN, "addfeed", server.url("/bare/"))
        assert [b[0].label for b in bare.buttons] == ["Wire"]  # found at /feed, a common path
        assert len(server.requests) > requested + 1
        # a feed URL itself is added at once
        direct = await commands.dispatch(ADMIN, "addfeed", server.url("/news.xml"))
        assert "#1" in direct.text
        # without allow_private the page (and so any feed it names) is refused
        commands.allow_private_feeds = False
        refused = await commands.dispatch(ADMIN, "addfeed", server.url("/"))
        assert "127.0.0.1" in refused.text and not refused.buttons
    finally:
        await store.close()
        await server.stop()
