from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.model import Item, Match, Mention
from bot.store import queries
from bot.store.db import migrate, safe_url
from bot.store.tables import metadata


async def test_migrations_are_idempotent_and_match_the_tables(store_engine):
    engine = store_engine
    await migrate(engine)  # a second time changes nothing
    async with engine.connect() as conn:
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), metadata))
    assert diff == []


async def test_items_are_stored_once_and_deliveries_once_per_chat(store_engine):
    engine = store_engine
    await queries.sync_config_feeds(engine, [("file:///a.xml", "A", None, None)])
    feed = (await queries.list_feeds(engine))[0]
    item = Item("guid-1", "Title with Caesar Act", "", "https://e.org", None, "en", "A")
    match = Match((Mention("caesar-act", "Caesar Act", 11, 21),), ("sanctions",))
    assert await queries.new_item_keys(engine, feed.id, ["guid-1", "guid-2"]) == {"guid-1", "guid-2"}
    stored = await queries.store_items(engine, feed.id, [(item, match)])
    assert len(stored) == 1
    assert await queries.store_items(engine, feed.id, [(item, match)]) == []  # already there
    assert await queries.new_item_keys(engine, feed.id, ["guid-1", "guid-2"]) == {"guid-2"}

    chat = await queries.ensure_chat(engine, "console", "c1", "ar")
    assert (await queries.ensure_chat(engine, "console", "c1", "en")).id == chat.id
    assert await queries.add_subscription(engine, chat.id, "watchlist", "sanctions")
    assert not await queries.add_subscription(engine, chat.id, "watchlist", "sanctions")
    targets = await queries.subscribers(engine, ["sanctions"], ["caesar-act"])
    assert targets == {chat.id: (["sanctions"], [])}
    assert await queries.create_deliveries(engine, stored[0].id, targets) == 1
    assert await queries.create_deliveries(engine, stored[0].id, targets) == 0

    jobs = await queries.claim_deliveries(engine, platforms=("console",))
    assert len(jobs) == 1 and jobs[0].chat.language == "ar" and jobs[0].attempts == 1
    assert jobs[0].stored.match.mentions[0].text == "Caesar Act"
    assert await queries.claim_deliveries(engine, platforms=("console",)) == []  # claimed: not twice
    assert await queries.requeue_interrupted(engine) == 1  # a crash mid-send: back to pending
    jobs = await queries.claim_deliveries(engine, platforms=("console",))
    await queries.mark_delivery(engine, jobs[0].id, "sent")
    assert await queries.claim_deliveries(engine, platforms=("console",)) == []
    assert await queries.delivery_counts(engine) == {"sent": 1}


async def test_inactive_chats_and_other_platforms_are_not_claimed(store_engine):
    engine = store_engine
    await queries.sync_config_feeds(engine, [("file:///a.xml", "A", None, None)])
    feed = (await queries.list_feeds(engine))[0]
    stored = await queries.store_items(engine, feed.id, [(Item("g", "t"), Match((), ("w",)))])
    chat = await queries.ensure_chat(engine, "telegram", "42")
    await queries.create_deliveries(engine, stored[0].id, {chat.id: (["w"], [])})
    assert await queries.claim_deliveries(engine, platforms=("console",)) == []
    await queries.set_chat_active(engine, chat.id, False)
    assert await queries.claim_deliveries(engine, platforms=("telegram",)) == []
    assert await queries.subscribers(engine, ["w"], []) == {}


async def test_config_feeds_sync_deactivates_removed_ones(store_engine):
    engine = store_engine
    await queries.sync_config_feeds(engine, [("u1", "One", None, None), ("u2", "Two", "ar", 60)])
    await queries.sync_config_feeds(engine, [("u2", "Two renamed", "ar", 120)])
    feeds = await queries.list_feeds(engine)
    assert [(f.url, f.name, f.interval) for f in feeds] == [("u2", "Two renamed", 120)]
    assert len(await queries.list_feeds(engine, active_only=False)) == 2


async def test_claims_are_leased_and_expired_leases_return(store_engine):
    from datetime import timedelta

    from bot.store.db import utcnow
    engine = store_engine
    await queries.sync_config_feeds(engine, [("u1", "One", None, None), ("u2", "Two", None, None)])
    first = await queries.due_feeds(engine, lease=60)
    assert len(first) == 2 and await queries.due_feeds(engine) == []  # leased: no one else takes them
    later = utcnow() + timedelta(seconds=61)
    assert len(await queries.due_feeds(engine, now=later)) == 2  # the lease ran out (a dead worker)
    feed = first[0]
    stored = await queries.store_items(engine, feed.id, [(Item("g", "t"), Match((), ("w",)))])
    chat = await queries.ensure_chat(engine, "console", "c")
    await queries.create_deliveries(engine, stored[0].id, {chat.id: (["w"], [])})
    jobs = await queries.claim_deliveries(engine, platforms=("console",), lease=-1)  # already expired
    assert len(jobs) == 1 and await queries.claim_deliveries(engine, platforms=("console",)) == []
    assert await queries.reclaim_expired(engine, 60) == (1, 0)
    jobs = await queries.claim_deliveries(engine, platforms=("console",))
    assert await queries.start_sending(engine, jobs[0].id, chat.id, chat_interval=1.0, lease=-1)
    assert not await queries.start_sending(engine, jobs[0].id, chat.id, chat_interval=1.0)  # the chat just got one
    assert await queries.reclaim_expired(engine, 60) == (0, 1)  # cut mid-send: back, but a minute later
    assert await queries.claim_deliveries(engine, platforms=("console",)) == []


def test_safe_url_hides_the_password():
    assert "s3cret" not in safe_url("postgresql+asyncpg://rasad:s3cret@db:5432/rasad")
