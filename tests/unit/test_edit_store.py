"""The edit outbox (issue 15) on SQLite and PostgreSQL (RASAD_TEST_POSTGRES_URL): claimed once across workers,
a source that lands while an edit is out is not lost, a dead worker's claim comes back, a gone message stays gone."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from bot.model import DeliveryState, EditState, Followed, Item, Match, Mention
from bot.store import Store
from bot.store.db import utcnow
from bot.store.tables import story_edits


async def _story(store: Store, chats: int = 3) -> tuple[int, list[int]]:
    """A story of one item alerted to ``chats`` Telegram chats (sent, message ids known); returns its id."""
    await store.feeds.sync_config([("file:///a.xml", "A", None, None), ("file:///b.xml", "B", None, None)])
    feed_a = (await store.feeds.all())[0]
    match = Match((Mention("caesar-act", "Caesar Act", 0, 10),), ())
    first = (await store.items.store(feed_a.id, [(Item("g1", "Caesar Act waiver", link="https://a.example/1"),
                                                  match)]))[0]
    targets = {}
    for n in range(chats):
        chat = await store.chats.ensure("telegram", str(9000 + n))
        targets[chat.id] = Followed(entities=("caesar-act",))
    await store.deliveries.create(first.id, targets, story_id=first.id)
    jobs = await store.deliveries.claim(platforms=("telegram",))
    for n, job in enumerate(jobs):
        await store.deliveries.mark(job.id, DeliveryState.SENT, message_ref=str(100 + n))
    return first.id, [j.id for j in jobs]


async def _join(store: Store, story_id: int, feed_name: str, key: str) -> None:
    feed = next(f for f in await store.feeds.all() if f.name == feed_name)
    await store.items.store(feed.id, [(Item(key, "Caesar Act waiver", link=f"https://b.example/{key}"),
                                       Match((), ()))], [{"story_id": story_id}])
    await store.edits.story_grew(story_id)


async def _states(store: Store) -> dict[int, tuple[str, int, int]]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(select(story_edits.c.delivery_id, story_edits.c.state, story_edits.c.wanted,
                                         story_edits.c.applied))
        return {r.delivery_id: (r.state, r.wanted, r.applied) for r in rows}


async def test_two_workers_claim_each_edit_once(store, store_engine):
    story_id, deliveries = await _story(store, chats=6)
    await _join(store, story_id, "B", "b1")
    other = Store.on(store_engine)  # a second worker on the same database
    first, second = await asyncio.gather(store.edits.claim(("telegram",)), other.edits.claim(("telegram",)))
    ids = [j.delivery_id for j in first + second]
    assert sorted(ids) == sorted(deliveries)  # every edit claimed, none twice
    assert all(len(j.sources) == 2 for j in first + second)
    assert await store.edits.claim(("telegram",)) == []


async def test_a_source_during_an_edit_is_not_lost(store):
    story_id, _ = await _story(store, chats=1)
    await _join(store, story_id, "B", "b1")
    [job] = await store.edits.claim(("telegram",))
    await _join(store, story_id, "B", "b2")  # lands while the edit is on the wire
    assert await store.edits.finish(job.delivery_id, job.lease_until, job.version, "edited")
    state, wanted, applied = (await _states(store))[job.delivery_id]
    assert (state, wanted, applied) == (EditState.PENDING, 2, 1)  # edited once more, not forgotten
    [again] = await store.edits.claim(("telegram",))
    assert again.version == 2 and len(again.sources) == 3
    assert await store.edits.finish(again.delivery_id, again.lease_until, again.version, "unchanged")
    assert (await _states(store))[job.delivery_id] == (EditState.IDLE, 2, 2)
    assert await store.edits.claim(("telegram",)) == []


async def test_a_dead_workers_claim_comes_back_and_its_late_answer_is_ignored(store):
    story_id, _ = await _story(store, chats=1)
    await _join(store, story_id, "B", "b1")
    [job] = await store.edits.claim(("telegram",), lease=0.01)
    await asyncio.sleep(0.05)
    await store.deliveries.reclaim_expired(unknown_outcome_delay=0)
    [again] = await store.edits.claim(("telegram",))
    assert again.delivery_id == job.delivery_id
    assert not await store.edits.finish(job.delivery_id, job.lease_until, job.version, "gone")  # not its claim
    assert await store.edits.finish(again.delivery_id, again.lease_until, again.version, "edited")
    assert (await _states(store))[job.delivery_id][0] == EditState.IDLE


async def test_gone_is_final_retry_waits_and_coalescing_delays(store):
    story_id, deliveries = await _story(store, chats=2)
    await _join(store, story_id, "B", "b1")
    gone, later = sorted(await store.edits.claim(("telegram",)), key=lambda j: j.delivery_id)
    assert await store.edits.finish(gone.delivery_id, gone.lease_until, gone.version, "gone", error="deleted")
    assert await store.edits.finish(later.delivery_id, later.lease_until, later.version, "retry",
                                    retry_at=utcnow() + timedelta(seconds=60))
    await _join(store, story_id, "B", "b2")
    assert await store.edits.claim(("telegram",)) == []  # one gone for good, the other not yet due
    states = await _states(store)
    assert states[gone.delivery_id][0] == EditState.DONE and states[later.delivery_id][1] == 2
    [due] = await store.edits.claim(("telegram",), now=utcnow() + timedelta(seconds=61))
    assert due.delivery_id == later.delivery_id and due.version == 2  # the retry shows the latest state
    assert await store.edits.finish(due.delivery_id, due.lease_until, due.version, "edited", coalesce=30)
    await _join(store, story_id, "B", "b3")
    assert await store.edits.claim(("telegram",)) == []  # coalesced: not within 30 s of the last edit
    assert len(await store.edits.claim(("telegram",), now=utcnow() + timedelta(seconds=31))) == 1
    assert deliveries
