"""Feeds over real HTTP from a fake server on 127.0.0.1: conditional GET, errors, caps, isolation."""

from __future__ import annotations

import time

import pytest

from bot.app import Application
from bot.config import FeedConfig, PollConfig, Settings
from bot.feeds.fetch import FetchError, fetch, make_client
from bot.store.db import utcnow
from tests.conftest import DATA, RULES
from tests.fakes.adapters import Recorder
from tests.fakes.feed_server import (
    feed_handler,
    hang_handler,
    huge_handler,
    redirect_loop_handler,
    status_handler,
)


async def test_conditional_get_sends_validators_and_handles_304(server):
    server.route("/feed", feed_handler((DATA / "mixed.xml").read_bytes(), etag='"v1"'))
    poll = PollConfig()
    async with make_client(poll) as client:
        first = await fetch(client, server.url("/feed"), poll)
        assert first.etag == '"v1"' and b"Test Wire" in first.content
        second = await fetch(client, server.url("/feed"), poll, etag=first.etag)
    assert second.not_modified
    assert server.requests[1][1].get("If-None-Match") == '"v1"'


@pytest.mark.parametrize(
    ("handler", "kind"),
    [
        (status_handler(500), "http"),
        (status_handler(404), "http"),
        (huge_handler(3 * 1024 * 1024), "too_large"),
        (hang_handler(3), "timeout"),
        (redirect_loop_handler("/loop"), "redirects"),
    ],
)
async def test_fetch_errors_have_a_kind_and_a_reason(server, handler, kind):
    server.route("/loop", handler)
    poll = PollConfig(timeout=1, max_bytes=1024 * 1024, max_redirects=3)
    async with make_client(poll) as client:
        with pytest.raises(FetchError) as info:
            await fetch(client, server.url("/loop"), poll)
    assert info.value.kind == kind
    assert str(info.value)


async def test_retry_after_is_read_from_429(server):
    server.route("/busy", status_handler(429, {"Retry-After": "120"}))
    poll = PollConfig()
    async with make_client(poll) as client:
        with pytest.raises(FetchError) as info:
            await fetch(client, server.url("/busy"), poll)
    assert info.value.retry_after == 120


async def test_one_bad_feed_never_stops_or_delays_the_others_beyond_its_timeout(server, tmp_path):
    server.route("/good", feed_handler((DATA / "mixed.xml").read_bytes(), etag='"g1"'))
    server.route("/hang", hang_handler(6))
    server.route("/error", status_handler(500))
    settings = Settings(
        database=f"sqlite+aiosqlite:///{tmp_path}/http.db",
        rules=str(RULES),
        feeds=[FeedConfig(name="hang", url=server.url("/hang")), FeedConfig(name="error", url=server.url("/error")),
               FeedConfig(name="good", url=server.url("/good"))],
        poll=PollConfig(timeout=2, interval=60),
        base_dir=tmp_path,
    )
    recorder = Recorder()
    service = Application(settings, adapters=[recorder])
    await service.start()
    try:
        started = time.monotonic()
        summary = await service.run_once()
        elapsed = time.monotonic() - started
        assert summary.new_items == 3 and summary.feeds_failed == 2 and summary.alerts_sent == 2
        assert elapsed < 10  # bounded by the hanging feed's own 2 s timeout, not its 6 s hang
        feeds = {f.name: f for f in await service.store.feeds.all()}
        assert feeds["hang"].error_count == 1 and "timeout" not in (feeds["good"].last_error or "")
        assert feeds["error"].last_error == "HTTP 500 Internal Server Error"
        assert feeds["good"].etag == '"g1"'

        # the next poll of the good feed is conditional and alerts nothing twice
        again = await service.run_once()
        assert again.new_items == 0 and again.alerts_sent == 0
        good_requests = [h for path, h in server.requests if path == "/good"]
        assert good_requests[-1].get("If-None-Match") == '"g1"'
        assert len(recorder.alerts) == 2
        # a feed failing again backs off exponentially: twice its interval after the second failure
        error_feed = {f.name: f for f in await service.store.feeds.all()}["error"]
        assert error_feed.error_count == 2
        assert (error_feed.next_check_at - utcnow()).total_seconds() > 100
    finally:
        await service.stop()
