"""The learned interval's publishing times are read from the items table only when new items arrive (issue 14)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.app import Application
from bot.config import FeedConfig, PollConfig, Settings
from bot.feeds.learned import PublishingTimes
from tests.conftest import RULES
from tests.fakes.adapters import Recorder
from tests.fakes.feeds import feed_xml


async def test_times_are_kept_until_changed_or_stale():
    calls: list[int] = []
    clock = [0.0]
    at = datetime(2026, 1, 1)

    async def read(feed_id: int) -> list[datetime]:
        calls.append(feed_id)
        return [at + timedelta(hours=len(calls))]

    times = PublishingTimes(read, ttl=60, clock=lambda: clock[0])
    first = await times.of(1)
    assert await times.of(1) == first and calls == [1]
    times.changed(1)
    assert await times.of(1) != first and calls == [1, 1]
    await times.of(2)
    clock[0] = 61  # items another worker stored are picked up after the ttl
    await times.of(1)
    assert calls == [1, 1, 2, 1] and times.reads == 4


async def test_polls_without_new_items_do_not_query_publishing_times(tmp_path):
    feed = tmp_path / "feed.xml"
    feed.write_text(feed_xml(("a1", "One", "x"), ("a2", "Two", "y"), ("a3", "Three", "z")), encoding="utf-8")
    settings = Settings(database=f"sqlite+aiosqlite:///{tmp_path}/l.db", rules=str(RULES),
                        feeds=[FeedConfig(name="Wire", url=str(feed))], poll=PollConfig(interval=60),
                        base_dir=tmp_path)
    service = Application(settings, adapters=[Recorder()])
    await service.start()
    try:
        await service.run_once()
        reads = service.poller.times.reads
        assert reads == 1
        await service.run_once()  # nothing new: the kept times serve
        assert service.poller.times.reads == reads
        feed.write_text(feed_xml(("a4", "Four", "w"), ("a1", "One", "x")), encoding="utf-8")
        summary = await service.run_once()  # a new item: read again
        assert summary.new_items == 1 and service.poller.times.reads == reads + 1
    finally:
        await service.stop()
