"""Issue 6, polling: what feeds ask (max-age, <ttl>), per-host caps, broken feeds, SSRF, rules reload, bad servers."""

from __future__ import annotations

import time

import pytest

from bot.app import Application
from bot.config import PollConfig, Settings, TelegramConfig
from bot.feeds.fetch import FetchError, fetch, make_client
from bot.feeds.guard import UnsafeURL, check_public_url, is_public_address
from bot.store.db import utcnow
from tests.conftest import DATA
from tests.fakes.adapters import Recorder
from tests.fakes.feed_server import (
    ConcurrencyProbe,
    declared_huge_handler,
    feed_handler,
    gzip_handler,
    status_handler,
    trickle_handler,
)
from tests.fakes.feeds import settings_for
from tests.fakes.telegram_api import FakeTelegram

MIXED = (DATA / "mixed.xml").read_bytes()




async def test_max_age_and_ttl_lengthen_the_interval_within_bounds(server, tmp_path):
    ttl_feed = MIXED.replace(b"<title>Test Wire</title>", b"<title>Test Wire</title><ttl>90</ttl>")
    server.route("/maxage", feed_handler(MIXED.replace(b"t-", b"ma-")))
    server.routes["/maxage"] = _with_headers(server.routes["/maxage"], {"Cache-Control": "public, max-age=1800"})
    server.route("/ttl", feed_handler(ttl_feed.replace(b"t-", b"tt-")))
    server.route("/huge-ttl", feed_handler(ttl_feed.replace(b"<ttl>90</ttl>", b"<ttl>100000</ttl>")))
    server.route("/plain", feed_handler(MIXED.replace(b"t-", b"pl-")))
    service = Application(settings_for(tmp_path, [("maxage", server.url("/maxage")), ("ttl", server.url("/ttl")),
                                              ("huge", server.url("/huge-ttl")), ("plain", server.url("/plain"))],
                                   interval=300, max_interval=3 * 3600), adapters=[Recorder()])
    await service.start()
    try:
        await service.run_once()
        due = {f.name: (f.next_check_at - utcnow()).total_seconds() for f in await service.store.feeds.all()}
    finally:
        await service.stop()
    assert 300 * 0.85 < due["plain"] < 300 * 1.15  # the configured interval, with jitter
    assert 1800 * 0.85 < due["maxage"] < 1800 * 1.15  # Cache-Control: max-age=1800
    assert 5400 * 0.85 < due["ttl"] < 5400 * 1.15  # <ttl>90</ttl> minutes
    assert due["huge"] < 3 * 3600 * 1.15  # capped at poll.max_interval


def _with_headers(handler, headers):
    async def wrapped(request):
        response = await handler(request)
        response.headers.update(headers)
        return response

    return wrapped


async def test_concurrent_fetches_per_host_are_capped(server, tmp_path):
    probe = ConcurrencyProbe(MIXED, hold=0.3)
    for i in range(6):
        server.route(f"/f{i}", probe)
    service = Application(settings_for(tmp_path, [(f"f{i}", server.url(f"/f{i}")) for i in range(6)],
                                   per_host=2, concurrency=8), adapters=[Recorder()])
    await service.start()
    try:
        await service.run_once()
    finally:
        await service.stop()
    assert probe.peak == 2


@pytest.mark.parametrize(
    ("handler", "kind"),
    [
        (trickle_handler(MIXED, chunk=20, pause=0.2), "timeout"),  # alive, but slower than the total timeout
        (declared_huge_handler(50 * 1024 * 1024), "too_large"),
        (status_handler(429, {"Retry-After": "600"}), "http"),
    ],
)
async def test_bad_servers_fail_within_bounds(server, handler, kind):
    server.route("/bad", handler)
    poll = PollConfig(timeout=1.5, max_bytes=2 * 1024 * 1024)
    started = time.monotonic()
    async with make_client(poll) as client:
        with pytest.raises(FetchError) as info:
            await fetch(client, server.url("/bad"), poll)
    assert info.value.kind == kind
    assert time.monotonic() - started < 5
    if kind == "http":
        assert info.value.retry_after == 600


async def test_gzip_bodies_are_decoded(server):
    server.route("/gz", gzip_handler(MIXED))
    poll = PollConfig()
    async with make_client(poll) as client:
        result = await fetch(client, server.url("/gz"), poll)
    assert b"Test Wire" in result.content


async def test_retry_after_delays_the_next_try(server, tmp_path):
    server.route("/busy", status_handler(503, {"Retry-After": "900"}))
    service = Application(settings_for(tmp_path, [("busy", server.url("/busy"))], interval=60), adapters=[Recorder()])
    await service.start()
    try:
        await service.run_once()
        feed = (await service.store.feeds.all())[0]
    finally:
        await service.stop()
    assert (feed.next_check_at - utcnow()).total_seconds() > 850


async def test_broken_feed_tells_admins_once_then_recovery(server, tmp_path):
    fake = await FakeTelegram().start()
    server.route("/flaky", status_handler(500))
    settings = settings_for(tmp_path, [("Flaky", server.url("/flaky"))], broken_after=3, broken_retry=7200)
    settings.telegram = TelegramConfig(api_url=fake.base_url, admins=[4242], poll_timeout=1)
    settings.telegram_token = fake.token
    service = Application(settings)
    await service.start()
    try:
        for _ in range(5):
            await service.run_once()
        notices = [p for p in fake.delivered if p.get("chat_id") == 4242]
        assert len(notices) == 1 and "Flaky" in notices[0]["text"] and "broken" in notices[0]["text"]
        feed = (await service.store.feeds.all())[0]
        assert feed.broken_since is not None and feed.error_count == 5
        assert (feed.next_check_at - utcnow()).total_seconds() > 7000  # slow retry while broken
        server.route("/flaky", feed_handler(MIXED))
        await service.run_once()
        notices = [p for p in fake.delivered if p.get("chat_id") == 4242]
        assert len(notices) == 2 and "works again" in notices[1]["text"]
        assert (await service.store.feeds.all())[0].broken_since is None
    finally:
        await service.stop()
        await fake.stop()


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.5.4", "169.254.169.254",
                                     "224.0.0.1", "::1", "fe80::1", "::ffff:127.0.0.1", "0.0.0.0", "100.64.0.1"])
def test_non_public_addresses(address):
    assert not is_public_address(address)


def test_public_addresses():
    assert is_public_address("8.8.8.8") and is_public_address("2001:4860:4860::8888")


async def test_chat_feeds_cannot_reach_private_networks(server):
    with pytest.raises(UnsafeURL):
        await check_public_url("http://localhost/feed.xml")
    with pytest.raises(UnsafeURL):
        await check_public_url("file:///etc/passwd")
    server.route("/feed", feed_handler(MIXED))
    poll = PollConfig()
    async with make_client(poll) as client:
        with pytest.raises(FetchError) as info:
            await fetch(client, server.url("/feed"), poll, guard=True)
        assert info.value.kind == "refused"
        with pytest.raises(FetchError):
            await fetch(client, "/etc/passwd", poll, guard=True)
    assert server.requests == []  # refused before any request was made


async def test_rules_reload_keeps_the_last_good_rules_on_errors(tmp_path, write_rules):
    rules = write_rules({"a.yaml": "entities:\n  - {id: alpha-act, type: law, names: {en: Alpha Act}}\n"
                                   "watchlists:\n  - {id: w, names: {en: W}, any: [alpha-act]}\n"})
    settings = Settings(database=f"sqlite+aiosqlite:///{tmp_path}/r.db", rules=str(rules), base_dir=tmp_path)
    service = Application(settings, adapters=[Recorder()])
    await service.start()
    try:
        assert not (await service.rules.reload_if_changed()).changed  # nothing changed
        (rules / "b.yaml").write_text("entities:\n  - {id: beta-act, type: law, names: {en: Beta Act}}\n")
        assert (await service.rules.reload_if_changed()).changed
        assert "beta-act" in service.rules.rule_set.entities
        (rules / "b.yaml").write_text("entities:\n  - {id: beta-act, type: planet, names: {en: Beta Act}}\n")
        reload = await service.rules.reload_if_changed()
        assert not reload.changed and reload.new_errors
        assert "beta-act" in service.rules.rule_set.entities  # the last good rules stay
        assert "b.yaml:2: entity 'beta-act': type:" in reload.errors[0]
        (rules / "a.yaml").unlink()
        (rules / "b.yaml").unlink()
        assert not (await service.rules.reload_if_changed()).changed  # an empty rule set is refused too
        assert "alpha-act" in service.rules.rule_set.entities
    finally:
        await service.stop()


async def test_real_corpus_feeds_served_over_http(server, tmp_path, corpora):
    files = sorted((corpora / "feeds").glob("*.xml"))
    for path in files:
        server.route(f"/{path.name}", feed_handler(path.read_bytes(), etag=f'"{path.stat().st_size}"'))
    service = Application(settings_for(tmp_path, [(p.name, server.url(f"/{p.name}")) for p in files]),
                      adapters=[Recorder()])
    await service.start()
    try:
        first = await service.run_once()
        second = await service.run_once()  # everything answers 304 now
    finally:
        await service.stop()
    assert first.feeds_polled == len(files) and first.new_items > 500
    assert second.new_items == 0 and second.feeds_failed == 0
    conditional = [h for path, h in server.requests if h.get("If-None-Match")]
    assert len(conditional) == len(files)
