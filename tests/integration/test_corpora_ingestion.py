"""Every real feed in ../shared/corpora goes through ingestion: items, or a logged reason; never a crash."""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from bot.app import Application
from bot.config import FeedConfig, Settings
from bot.store.tables import items
from tests.conftest import RULES
from tests.fakes.adapters import Recorder


async def test_every_corpus_feed_is_ingested_or_rejected_with_a_reason(tmp_path, corpora, caplog):
    paths = sorted(p for sub in ("feeds", "feedparser-tests") for p in (corpora / sub).rglob("*.xml"))
    assert len(paths) > 200
    settings = Settings(
        database=f"sqlite+aiosqlite:///{tmp_path}/corpus.db",
        rules=str(RULES),
        feeds=[FeedConfig(name=p.name, url=str(p)) for p in paths],
        base_dir=tmp_path,
    )
    recorder = Recorder()
    service = Application(settings, adapters=[recorder])
    caplog.set_level(logging.INFO)
    await service.start()
    try:
        summary = await service.run_once()
        feeds = await service.store.feeds.all()
        async with service.store.engine.connect() as conn:
            per_feed = dict((await conn.execute(
                select(items.c.feed_id, func.count()).group_by(items.c.feed_id))).all())
    finally:
        await service.stop()

    assert summary.feeds_polled == len(paths)
    assert not [r for r in caplog.records if "unexpected error" in r.getMessage()]
    for feed in feeds:
        assert per_feed.get(feed.id, 0) > 0 or feed.last_error or feed.last_success_at, feed.name
    failed = [f for f in feeds if f.last_error]
    assert len(failed) == summary.feeds_failed
    for feed in failed:  # each failure is logged with its reason
        assert any(feed.name in r.getMessage() and feed.last_error in r.getMessage() for r in caplog.records)
    # the real news feeds give items, and the Syria/Russia coverage gives alerts
    by_name = {f.name: f for f in feeds}
    for name in ("guardian-world-2016.xml", "nabdsharqi-ar-2015-09-rss.xml", "moscowtimes-2017-lavrov.xml",
                 "guardian-world-2022-09-unga.xml", "oren-ru-windows1251.xml"):
        assert per_feed.get(by_name[name].id, 0) > 0, name
    assert summary.new_items > 700
    assert recorder.alerts, "real Syria and Russia coverage should fire at least one watchlist"
