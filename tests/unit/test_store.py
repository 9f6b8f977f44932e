from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.model import Followed, Item, Match, Mention, Target
from bot.store.db import safe_url
from bot.store.tables import metadata


async def test_migrations_are_idempotent_and_match_the_tables(store):
    await store.migrate()  # a second time changes nothing
    async with store.engine.connect() as conn:
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), metadata))
    assert diff == []


async def test_items_are_stored_once_and_deliveries_once_per_chat(store):
    await store.feeds.sync_config([("file:///a.xml", "A", None, None)])
    feed = (await store.feeds.all())[0]
    item = Item("guid-1", "Title with Caesar Act", "", "https://e.org", None, "en", "A")
    match = Match((Mention("caesar-act", "Caesar Act", 11, 21),), ("sanctions",))
    assert await store.items.new_keys(feed.id, ["guid-1", "guid-2"]) == {"guid-1", "guid-2"}
    stored = await store.items.store(feed.id, [(item, match)])
    assert len(stored) == 1
    assert await store.items.store(feed.id, [(item, match)]) == []  # already there
    assert await store.items.new_keys(feed.id, ["guid-1", "guid-2"]) == {"guid-2"}

    chat = await store.chats.ensure("console", "c1", "ar")
    assert (await store.chats.ensure("console", "c1", "en")).id == chat.id
    assert await store.subscriptions.add(chat.id, Target("watchlist", "sanctions"))
    assert not await store.subscriptions.add(chat.id, Target("watchlist", "sanctions"))
    targets = await store.subscriptions.subscribers(["sanctions"], ["caesar-act"])
    assert targets == {chat.id: Followed(watchlists=("sanctions",))}
    assert await store.deliveries.create(stored[0].id, targets) == 1
    assert await store.deliveries.create(stored[0].id, targets) == 0

    jobs = await store.deliveries.claim(platforms=("console",))
    assert len(jobs) == 1 and jobs[0].chat.language == "ar" and jobs[0].attempts == 1
    assert jobs[0].stored.match.mentions[0].text == "Caesar Act"
    assert await store.deliveries.claim(platforms=("console",)) == []  # claimed: not twice
    assert await store.deliveries.requeue_interrupted() == 1  # a crash mid-send: back to pending
    jobs = await store.deliveries.claim(platforms=("console",))
    await store.deliveries.mark(jobs[0].id, "sent")
    assert await store.deliveries.claim(platforms=("console",)) == []
    assert await store.deliveries.counts() == {"sent": 1}


async def test_inactive_chats_and_other_platforms_are_not_claimed(store):
    await store.feeds.sync_config([("file:///a.xml", "A", None, None)])
    feed = (await store.feeds.all())[0]
    stored = await store.items.store(feed.id, [(Item("g", "t"), Match((), ("w",)))])
    chat = await store.chats.ensure("telegram", "42")
    await store.deliveries.create(stored[0].id, {chat.id: Followed(watchlists=("w",))})
    assert await store.deliveries.claim(platforms=("console",)) == []
    await store.chats.set_active(chat.id, False)
    assert await store.deliveries.claim(platforms=("telegram",)) == []
    assert await store.subscriptions.subscribers(["w"], []) == {}


async def test_config_feeds_sync_deactivates_removed_ones(store):
    await store.feeds.sync_config([("u1", "One", None, None), ("u2", "Two", "ar", 60)])
    await store.feeds.sync_config([("u2", "Two renamed", "ar", 120)])
    feeds = await store.feeds.all()
    assert [(f.url, f.name, f.interval) for f in feeds] == [("u2", "Two renamed", 120)]
    assert len(await store.feeds.all(active_only=False)) == 2


async def test_claims_are_leased_and_expired_leases_return(store):
    from datetime import timedelta

    from bot.store.db import utcnow
    await store.feeds.sync_config([("u1", "One", None, None), ("u2", "Two", None, None)])
    first = await store.feeds.claim_due(lease=60)
    assert len(first) == 2 and await store.feeds.claim_due() == []  # leased: no one else takes them
    later = utcnow() + timedelta(seconds=61)
    assert len(await store.feeds.claim_due(now=later)) == 2  # the lease ran out (a dead worker)
    feed = first[0]
    stored = await store.items.store(feed.id, [(Item("g", "t"), Match((), ("w",)))])
    chat = await store.chats.ensure("console", "c")
    await store.deliveries.create(stored[0].id, {chat.id: Followed(watchlists=("w",))})
    jobs = await store.deliveries.claim(platforms=("console",), lease=-1)  # already expired
    assert len(jobs) == 1 and await store.deliveries.claim(platforms=("console",)) == []
    assert await store.deliveries.reclaim_expired(60) == (1, 0)
    jobs = await store.deliveries.claim(platforms=("console",))
    assert await store.deliveries.start_sending(jobs[0].id, chat.id, chat_interval=1.0, lease=-1)
    assert not await store.deliveries.start_sending(jobs[0].id, chat.id, chat_interval=1.0)  # the chat just got one
    assert await store.deliveries.reclaim_expired(60) == (0, 1)  # cut mid-send: back, but a minute later
    assert await store.deliveries.claim(platforms=("console",)) == []


def test_safe_url_hides_the_password():
    assert "s3cret" not in safe_url("postgresql+asyncpg://rasad:s3cret@db:5432/rasad")
