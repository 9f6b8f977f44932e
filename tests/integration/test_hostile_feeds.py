"""Issue 11, hostile feeds and failing disks: decoded-size caps, unreadable items, NUL bytes, what feeds ask
(kept across a 304, Retry-After in full), a full disk mid-run, and notices that survive a 429."""

from __future__ import annotations

import tracemalloc
import zlib

import pytest
from aiohttp import web
from sqlalchemy import text

from bot.app import Application
from bot.config import PollConfig, TelegramConfig
from bot.feeds.fetch import BodyDecoder, FetchError, fetch, make_client
from bot.feeds.parse import parse_feed
from bot.model import Match
from bot.store.db import describe_store_error, utcnow
from tests.conftest import DATA, RULES
from tests.fakes.adapters import Recorder
from tests.fakes.feed_server import feed_handler, status_handler
from tests.fakes.feeds import settings_for
from tests.fakes.telegram_api import FakeTelegram

MIXED = (DATA / "mixed.xml").read_bytes()




def _gzip_stream(chunks, size: int = 1 << 20) -> bytes:
    """gzip of ``chunks`` MiB of zeros, made without holding the plain text in memory."""
    z = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = b"\0" * size
    return b"".join(z.compress(zeros) for _ in range(chunks)) + z.flush()


def _gzip(data: bytes) -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return z.compress(data) + z.flush()


def _encoded_handler(body: bytes, encoding: str):
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, headers={"Content-Encoding": encoding, "Content-Type": "application/rss+xml"})

    return handler


async def test_a_double_gzip_bomb_stops_at_the_cap_in_bounded_memory(server):
    bomb = _gzip(_gzip_stream(1024))  # 1 GiB of zeros, gzipped twice: a few KB on the wire
    assert len(bomb) < 20_000
    server.route("/bomb", _encoded_handler(bomb, "gzip, gzip"))
    server.route("/ok", _encoded_handler(_gzip(_gzip(MIXED)), "gzip, gzip"))
    poll = PollConfig(max_bytes=5 * 1024 * 1024)
    tracemalloc.start()
    try:
        async with make_client(poll) as client:
            with pytest.raises(FetchError) as info:
                await fetch(client, server.url("/bomb"), poll)
            _, peak = tracemalloc.get_traced_memory()
            good = await fetch(client, server.url("/ok"), poll)
    finally:
        tracemalloc.stop()
    assert info.value.kind == "too_large"
    assert peak < 40 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB while refusing the bomb"
    assert good.content == MIXED  # a legitimate double encoding still decodes


def test_body_decoder_undoes_each_coding_and_refuses_unknown_ones():
    body = b"<rss>x</rss>" * 500
    for coding, data in (("gzip", _gzip(body)), ("deflate", zlib.compress(body)),
                         ("deflate", zlib.compress(body)[2:-4]), ("identity", body), ("", body),
                         ("gzip, identity, gzip", _gzip(_gzip(body)))):
        decoder = BodyDecoder(coding, 10**6)
        out = b"".join(decoder.feed(data[i:i + 97]) for i in range(0, len(data), 97)) + decoder.flush()
        assert out == body, coding
    with pytest.raises(FetchError) as info:
        BodyDecoder("br", 10**6)
    assert info.value.kind == "decoding"
    with pytest.raises(FetchError):
        decoder = BodyDecoder("gzip", 10**6)
        decoder.feed(b"not gzip at all")


FEED_WITH = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>W</title>
<item><guid>g1</guid><title>First good item on the Caesar Act</title><link>https://w.example/1</link></item>
<item><guid>g2</guid><title>Lone &#xD800; surrogate &#0; and NUL\x00 here</title><link>https://w.example/2</link>
<description>summary\x00with NUL and &#x1; control</description></item>
<item><guid>g3</guid><title>Third good item on Resolution 2254</title><link>https://w.example/3</link></item>
</channel></rss>"""


def test_a_bad_character_costs_no_item_of_the_feed():
    parsed = parse_feed(FEED_WITH, feed_name="W")
    assert [i.key for i in parsed.items] == ["g1", "g2", "g3"]
    bad = parsed.items[1]
    for value in (bad.title, bad.summary):
        assert "\x00" not in value and "\x01" not in value
        assert not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
        value.encode("utf-8")  # encodable: no lone surrogate left
    assert "surrogate" in bad.title and "with NUL" in bad.summary


async def test_cleaned_text_is_stored_on_every_database(store):
    await store.feeds.sync_config([("file:///w.xml", "W", None, None)])
    feed = (await store.feeds.all())[0]
    items = parse_feed(FEED_WITH, feed_name="W").items
    stored = await store.items.store(feed.id, [(i, Match((), ())) for i in items])
    assert len(stored) == 3


async def test_what_a_feed_asks_survives_a_304(server, tmp_path):
    ttl_feed = MIXED.replace(b"<title>Test Wire</title>", b"<title>Test Wire</title><ttl>90</ttl>")
    server.route("/ttl", feed_handler(ttl_feed, etag='"v1"'))
    service = Application(settings_for(tmp_path, [("ttl", server.url("/ttl"))], interval=300, max_interval=6 * 3600),
                      adapters=[Recorder()])
    await service.start()
    try:
        await service.run_once()  # 200 with <ttl>90</ttl>
        first = (await service.store.feeds.all())[0]
        await service.run_once()  # 304: no <ttl> in it
        second = (await service.store.feeds.all())[0]
    finally:
        await service.stop()
    assert first.asked_interval == second.asked_interval == 5400
    assert (second.next_check_at - utcnow()).total_seconds() > 5400 * 0.85


@pytest.mark.parametrize("seconds", [100, 7 * 3600])
async def test_retry_after_is_honoured_in_full(server, tmp_path, seconds):
    server.route("/busy", status_handler(429, {"Retry-After": str(seconds)}))
    service = Application(settings_for(tmp_path, [("busy", server.url("/busy"))], interval=60, max_interval=6 * 3600),
                      adapters=[Recorder()])
    await service.start()
    try:
        await service.run_once()
        feed = (await service.store.feeds.all())[0]
    finally:
        await service.stop()
    assert (feed.next_check_at - utcnow()).total_seconds() > seconds - 5


async def _limit_pages(service: Application, pages: int | None) -> None:
    """SQLite's max_page_count: past it every write fails with 'database or disk is full', like a full disk."""
    async with service.store.engine.connect() as conn:  # the store keeps one pooled SQLite connection
        if pages is None:
            await conn.execute(text("PRAGMA max_page_count = 1073741823"))
        else:
            current = await conn.scalar(text("PRAGMA page_count"))
            await conn.execute(text(f"PRAGMA max_page_count = {current + pages}"))


async def test_a_full_disk_fails_the_feed_visibly_and_loses_nothing(server, tmp_path):
    entries = "".join(f"<item><guid>full-{i}</guid><title>Caesar Act item {i}</title><description>"
                      f"{'Resolution 2254 and the Caesar Act. ' * 60}</description></item>" for i in range(40))
    many = f'<?xml version="1.0"?><rss version="2.0"><channel><title>W</title>{entries}</channel></rss>'.encode()
    server.route("/feed", feed_handler(many))
    recorder = Recorder()
    service = Application(settings_for(tmp_path, [("Wire", server.url("/feed"))]), adapters=[recorder])
    await service.start()
    try:
        await _limit_pages(service, 0)
        summary = await service.run_once()
        assert summary.feeds_failed == 1 and "full" in summary.errors[0]
        await service.jobs.run("poll", service._poll_tick)  # a scheduled tick while the disk is full: no traceback
        health = await service.health.report()
        assert health["ok"] is False and "full" in health["database"]
        assert recorder.alerts == []
        await _limit_pages(service, None)  # space is back
        await service.jobs.run("poll", service._poll_tick)
        feed = (await service.store.feeds.all())[0]
        assert feed.error_count >= 1 and "full" in (feed.last_error or "")  # the failure was recorded
        summary = await service.run_once()
        assert summary.feeds_failed == 0 and summary.new_items > 0
        assert recorder.alerts, "the items of the failed poll were stored and alerted once the disk was freed"
        assert (await service.health.report())["ok"] is True
    finally:
        await service.stop()


def test_store_errors_are_one_line_a_deployer_can_act_on():
    import errno
    import sqlite3

    from sqlalchemy.exc import OperationalError

    url = "postgresql+asyncpg://rasad:s3cret@db.example/rasad"
    refused = describe_store_error(ConnectionRefusedError(111, "Connect call failed"), url)
    assert "refused" in refused and "DATABASE_URL" in refused and "s3cret" not in refused
    full = describe_store_error(OperationalError("INSERT", {}, sqlite3.OperationalError("database or disk is full")),
                                "sqlite+aiosqlite:///r.db")
    assert "disk is full" in full
    assert "read-only" in describe_store_error(
        OperationalError("x", {}, sqlite3.OperationalError("attempt to write a readonly database")), "sqlite:///r.db")
    assert "full" in describe_store_error(OSError(errno.ENOSPC, "No space left on device"), "sqlite:///r.db")
    assert describe_store_error(ValueError("a bug"), url) is None  # not a database problem: not hidden


async def test_admin_notices_survive_a_429(server, tmp_path):
    fake = await FakeTelegram().start()
    server.route("/flaky", status_handler(500))
    settings = settings_for(tmp_path, [("Flaky", server.url("/flaky"))], broken_after=1, broken_retry=7200)
    settings.telegram = TelegramConfig(api_url=fake.base_url, admins=[4242], poll_timeout=1)
    settings.telegram_token = fake.token
    service = Application(settings)
    await service.start()
    try:
        fake.fail_next(4242, FakeTelegram.too_many_requests(1))
        await service.run_once()  # the feed breaks; the notice meets a 429 and stays stored
        assert not [p for p in fake.delivered if p.get("chat_id") == 4242]
        async with service.store.engine.connect() as conn:
            state = (await conn.execute(text("SELECT state, attempts FROM notices"))).one()
        assert state == ("pending", 1)
        async with service.store.engine.begin() as conn:
            await conn.execute(text("UPDATE notices SET next_attempt_at = :now"), {"now": utcnow()})
        await service.deliver()
        notices = [p for p in fake.delivered if p.get("chat_id") == 4242]
        assert len(notices) == 1 and "Flaky" in notices[0]["text"]
        await service.deliver()  # sent once, never again
        assert len([p for p in fake.delivered if p.get("chat_id") == 4242]) == 1
    finally:
        await service.stop()
        await fake.stop()


@pytest.mark.parametrize("url, words", [
    ("postgresql+asyncpg://rasad:pw@127.0.0.1:9/rasad", "refused the connection"),
    ("sqlite+aiosqlite:///file:{tmp}/missing.db?mode=ro&uri=true", "cannot be opened"),
    ("sqlite+aiosqlite:///file:{tmp}/ro.db?mode=ro&uri=true", "read-only"),
])
def test_rasad_run_says_in_one_line_what_is_wrong_with_the_database(tmp_path, url, words):
    import os
    import sqlite3
    import subprocess
    import sys

    sqlite3.connect(tmp_path / "ro.db").execute("CREATE TABLE t (x)").connection.commit()
    env = {**os.environ, "DATABASE_URL": url.format(tmp=tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "bot", "run", "--once", "--config", str(RULES.parent / "config.yaml")],
                          capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("rasad: database") and words in last and "pw" not in last

