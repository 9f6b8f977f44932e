"""Issue 14, the shipped source directory: its file, presets, packs and routes in config.yaml, and the feed
commands (/addfeed <id>, /addfeed pack <name>, /feeds directory) through Commands.dispatch."""

from __future__ import annotations

import pytest

from bot.alerts.i18n import t
from bot.commands.handlers import Caller, Commands
from bot.commands.resolve import Resolver
from bot.config import ConfigError, load_settings
from bot.extract.matcher import Matcher
from bot.feeds.directory import DEFAULT_DIRECTORY, load_directory
from bot.feeds.sources import FeedSources
from bot.rules.load import load_rules
from bot.store import Store
from tests.conftest import RULES

ADMIN = Caller("telegram", "1", user_id="1", is_bot_admin=True)


def test_the_shipped_directory_is_complete_and_says_to_check():
    text = DEFAULT_DIRECTORY.read_text(encoding="utf-8")
    assert "CHECK EVERY ENTRY WHERE THE BOT RUNS" in text
    directory = load_directory()
    feeds = [s for s in directory.sources.values() if s.url]
    assert len(feeds) == 80
    assert sum(s.language == "ar" for s in feeds) == 27
    assert all(s.kind and s.topics and s.seen for s in directory.sources.values())
    assert {s.route for s in directory.sources.values() if s.route} >= {"/aljazeera/middle-east", "/un/scveto"}
    assert directory.find("un-news-ar").url == "https://news.un.org/feed/subscribe/ar/news/all/rss.xml"
    core = directory.pack("syria-core")
    assert {s.language for s in core} == {"ar", "en"} and 6 <= len(core) <= 12
    assert directory.select("ar") and all(s.language == "ar" for s in directory.select("ar"))
    assert all("syria" in s.topics for s in directory.select("syria"))


def _config(tmp_path, body: str):
    path = tmp_path / "config.yaml"
    path.write_text(f"rules: {RULES}\n{body}", encoding="utf-8")
    return load_settings(path, env={})


def test_config_names_presets_packs_and_routes(tmp_path):
    settings = _config(tmp_path, "rsshub: https://hub.example.org/\nfeeds:\n  - pack: syria-core\n"
                                 "  - preset: un-news-ar\n    interval: 120\n  - route: /un/scveto\n"
                                 "  - name: Own\n    url: https://example.org/rss\n")
    feeds = settings.resolved_feeds()
    urls = [f.url for f in feeds]
    assert "https://hub.example.org/un/scveto" in urls and "https://example.org/rss" in urls
    assert len(urls) == len(set(urls))  # un-news-ar is in the pack too: kept once
    un_ar = next(f for f in feeds if f.url.endswith("/ar/news/all/rss.xml"))
    assert un_ar.language == "ar"


@pytest.mark.parametrize("body, message", [
    ("feeds:\n  - preset: no-such-feed\n", "config.yaml:3: feeds.0: unknown preset 'no-such-feed'"),
    ("feeds:\n  - name: A\n    url: https://a.example/rss\n  - pack: nope\n", "config.yaml:5: feeds.1: unknown pack"),
    ("feeds:\n  - route: /un/scveto\n", "needs `rsshub:`"),
])
def test_config_refuses_what_names_nothing(tmp_path, body, message):
    with pytest.raises(ConfigError) as caught:
        _config(tmp_path, body)
    assert message in caught.value.messages[0]


def test_config_entry_needs_one_source(tmp_path):
    with pytest.raises(ConfigError):
        _config(tmp_path, "feeds:\n  - name: A\n    url: https://a.example/rss\n    preset: un-news-ar\n")
    with pytest.raises(ConfigError):
        _config(tmp_path, "feeds:\n  - url: https://a.example/rss\n")


@pytest.fixture
async def commands(tmp_path):
    matcher = Matcher(load_rules(RULES))
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/c.db")
    await store.migrate()
    resolver = Resolver(matcher)
    yield Commands(store, lambda: (matcher, resolver), allow_private_feeds=True,
                   sources=FeedSources(rsshub="https://rsshub.example.org"))
    await store.close()


@pytest.mark.parametrize("lang", ["ar", "en"])
async def test_addfeed_preset_pack_route_and_directory(commands, lang):
    await commands.store.chats.ensure("telegram", "1", lang)
    reply = await commands.dispatch(ADMIN, "addfeed", "un-news-ar")
    assert reply.text == t(lang, "addfeed.done", id=1, name="UN News — all stories (Arabic) / أخبار الأمم المتحدة")
    reply = await commands.dispatch(ADMIN, "addfeed", "pack syria-core")
    assert t(lang, "addfeed.pack_exists", id=1, name="UN News — all stories (Arabic) / أخبار الأمم المتحدة") \
        in reply.text
    assert reply.text.count("\n") >= 10
    feeds = await commands.store.feeds.all()
    assert len(feeds) == len(commands.sources.pack("syria-core")) and all(f.source == "chat" for f in feeds)
    reply = await commands.dispatch(ADMIN, "addfeed", "rsshub:/aljazeera/middle-east")
    assert "#" in reply.text and (await commands.store.feeds.all())[-1].url == \
        "https://rsshub.example.org/aljazeera/middle-east"
    assert (await commands.dispatch(ADMIN, "addfeed", "pack nope")).text.startswith(
        t(lang, "addfeed.unknown_pack", name="nope", packs="x").split("nope")[0])
    assert (await commands.dispatch(ADMIN, "addfeed", "no-such-id")).text == \
        t(lang, "addfeed.unknown_preset", name="no-such-id")
    listing = (await commands.dispatch(ADMIN, "feeds", "directory ar")).text
    assert "un-news-ar [ar" in listing and "bbc-news-middle-east-en" not in listing
    assert "syria-core" in (await commands.dispatch(ADMIN, "feeds", "directory")).text
    assert t(lang, "addfeed.check_note") in listing


async def test_start_promises_what_the_configuration_delivers(commands):
    text = (await commands.dispatch(Caller("telegram", "5"), "start", "")).text
    assert "within a minute" not in text and "every 1 to 360 minutes" in text
    commands.sources.push_count = _async(3)
    text = (await commands.dispatch(Caller("telegram", "5"), "start", "")).text
    assert "within seconds from the 3 feeds" in text


def _async(value):
    async def get():
        return value
    return get
