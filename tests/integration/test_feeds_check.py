"""``rasad feeds check`` against a local server that plays each case: every case classified correctly."""

from __future__ import annotations

import json

from bot.cli import main
from bot.config import PollConfig
from bot.feeds.check import check_feeds, link_header_hub, table
from tests.fakes.feed_cases import CASES, start_cases


async def test_every_case_is_classified():
    server = await start_cases()
    try:
        feeds = [(name, server.url(path)) for name, (path, _) in CASES.items()]
        feeds.append(("refused", "http://127.0.0.1:9/feed.xml"))  # nothing listens: a network failure
        rows = await check_feeds(feeds, PollConfig(timeout=5, per_host=2, concurrency=4))
    finally:
        await server.stop()
    got = {r.name: r for r in rows}
    for name, (_, verdict) in CASES.items():
        assert got[name].verdict == verdict, (name, got[name])
    assert got["refused"].verdict == "broken" and got["refused"].status is None
    assert got["fresh"].status == 200 and got["fresh"].format == "rss20" and got["fresh"].items == 2
    assert 3000 < got["fresh"].newest_age < 4000
    assert got["ttl_and_cache"].ttl == 30 and got["ttl_and_cache"].cache_control == "max-age=600"
    assert got["hub_in_feed"].hub == "https://hub.example.org/"
    assert got["hub_in_link_header"].hub == "https://hub2.example.org/"
    assert got["temporary_redirect"].redirects == [302] and got["temporary_redirect"].final_url.endswith("/fresh.xml")
    assert got["permanent_redirect"].redirects == [301] and "fresh.xml" in got["permanent_redirect"].reason
    assert got["not_found"].status == 404 and "404" in got["not_found"].reason
    assert got["html_page"].reason == "not an RSS or Atom feed"
    assert got["bad_encoding"].encoding and got["fresh"].encoding is None
    text = table(rows)
    assert text.splitlines()[-1] == "6 ok, 2 stale, 2 moved, 5 broken"


def test_link_header_hub_forms():
    assert link_header_hub('<https://h/>; rel=hub') == "https://h/"
    assert link_header_hub('<https://s/>; rel="self", <https://h/>; rel="hub"') == "https://h/"
    assert link_header_hub('<https://s/>; rel="self"') is None


async def test_cli_exit_code_and_json(tmp_path, capsys):
    server = await start_cases()
    try:
        config = tmp_path / "config.yaml"
        config.write_text(f"feeds:\n  - name: A\n    url: {server.url('/fresh.xml')}\n", encoding="utf-8")
        import asyncio

        code = await asyncio.to_thread(main, ["feeds", "--config", str(config), "check", "--json"])
        out = capsys.readouterr().out
        assert code == 0 and json.loads(out)["verdict"] == "ok"
        config.write_text(f"feeds:\n  - name: A\n    url: {server.url('/fresh.xml')}\n"
                          f"  - name: B\n    url: {server.url('/gone.xml')}\n", encoding="utf-8")
        code = await asyncio.to_thread(main, ["feeds", "--config", str(config), "check"])
        out = capsys.readouterr().out
        assert code == 1 and "broken" in out and "1 ok, 0 stale, 0 moved, 1 broken" in out
        # a feed that declares a WebSub hub while http.public_url is not set: said, since it will only be polled
        config.write_text(f"feeds:\n  - name: H\n    url: {server.url('/hub.xml')}\n", encoding="utf-8")
        code = await asyncio.to_thread(main, ["feeds", "--config", str(config), "check"])
        assert code == 0 and "1 feed(s) declare a WebSub hub, but http.public_url is not set" in capsys.readouterr().err
        config.write_text(f"feeds:\n  - name: H\n    url: {server.url('/hub.xml')}\n"
                          "http:\n  public_url: https://bot.example.org\n", encoding="utf-8")
        code = await asyncio.to_thread(main, ["feeds", "--config", str(config), "check"])
        assert code == 0 and "WebSub" not in capsys.readouterr().err
    finally:
        await server.stop()
