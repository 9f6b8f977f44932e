"""Developing stories' follow-ups (issue 15) on SQLite and PostgreSQL (RASAD_TEST_POSTGRES_URL): a story is marked
once at the threshold of distinct feeds within the window, only following chats with an alert of it get a row,
two workers claim each row once, a restart gives a claimed row back and never sends a row cut mid-send again."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from bot.model import DeliveryState, Followed, Item, Match, Mention
from bot.store import Store
from bot.store.db import utcnow
from bot.store.tables import developing_stories, followups, items

FEEDS = ("A", "B", "C", "D")


async def _story(store: Store, chats: int = 3, following: int = 2) -> tuple[int, list[int]]:
    """A story of one item (feed A) alerted to ``chats`` Telegram chats, the first ``following`` of which follow
    developing stories; returns the story id and the chat ids."""
    await store.feeds.sync_config([(f"file:///{n}.xml", n, None, None) for n in FEEDS])
    feed_a = next(f for f in await store.feeds.all() if f.name == "A")
    match = Match((Mention("caesar-act", "Caesar Act", 0, 10),), ())
    first = (await store.items.store(feed_a.id, [(Item("g1", "Caesar Act waiver", link="https://a.example/1"),
                                                  match)]))[0]
    targets, ids = {}, []
    for n in range(chats):
        chat = await store.chats.ensure("telegram", str(9100 + n))
        targets[chat.id] = Followed(entities=("caesar-act",))
        ids.append(chat.id)
        if n < following:
            await store.followups.set_following(chat.id, True)
    await store.deliveries.create(first.id, targets, story_id=first.id)
    for n, job in enumerate(await store.deliveries.claim(platforms=("telegram",))):
        await store.deliveries.mark(job.id, DeliveryState.SENT, message_ref=str(100 + n))
    return first.id, ids


async def _join(store: Store, story_id: int, feed_name: str, key: str) -> None:
    feed = next(f for f in await store.feeds.all() if f.name == feed_name)
    await store.items.store(feed.id, [(Item(key, "Caesar Act waiver", link=f"https://x.example/{key}"),
                                       Match((), ()))], [{"story_id": story_id}])
    await store.edits.story_grew(story_id)


async def _rows(store: Store) -> list[tuple[int, str]]:
    async with store.engine.connect() as conn:
        return [(r.chat_id, r.state) for r in await conn.execute(
            select(followups.c.chat_id, followups.c.state).order_by(followups.c.chat_id))]


async def test_marked_once_at_the_threshold_for_following_chats_only(store):
    store.followups.threshold = 3
    story_id, chats = await _story(store)
    await _join(store, story_id, "B", "b1")
    await _join(store, story_id, "B", "b2")  # the same feed again: not an independent source
    assert not await store.followups.developing(story_id) and await _rows(store) == []
    await _join(store, story_id, "C", "c1")
    assert await store.followups.developing(story_id)
    assert await _rows(store) == [(chats[0], "pending"), (chats[1], "pending")]  # the third chat did not opt in
    await _join(store, story_id, "D", "d1")  # grows further: still one follow-up per chat
    assert len(await _rows(store)) == 2
    assert await store.followups.check(story_id) == 0


async def test_sources_outside_the_window_do_not_count(store):
    store.followups.threshold, store.followups.window = 3, 600
    story_id, _ = await _story(store)
    async with store.engine.begin() as conn:  # the first report is two hours old
        await conn.execute(items.update().where(items.c.id == story_id).values(
            fetched_at=utcnow() - timedelta(hours=2)))
    await _join(store, story_id, "B", "b1")
    await _join(store, story_id, "C", "c1")
    assert not await store.followups.developing(story_id)
    await _join(store, story_id, "D", "d1")
    assert await store.followups.developing(story_id)


async def test_two_workers_claim_each_followup_once(store, store_engine):
    store.followups.threshold = 2
    story_id, chats = await _story(store, chats=6, following=6)
    await _join(store, story_id, "B", "b1")
    other = Store.on(store_engine)
    first, second = await asyncio.gather(store.followups.claim(("telegram",)), other.followups.claim(("telegram",)))
    assert sorted(j.chat.id for j in first + second) == sorted(chats)
    assert all(len(j.sources) == 2 for j in first + second)
    assert await store.followups.claim(("telegram",)) == []


async def test_two_workers_mark_a_story_once(store, store_engine):
    store.followups.threshold = 2
    story_id, _ = await _story(store)
    await _join(store, story_id, "B", "b1")
    other = Store.on(store_engine)
    other.followups.threshold = 2
    async with store.engine.begin() as conn:  # as if neither worker had marked it yet
        await conn.execute(developing_stories.delete())
        await conn.execute(followups.delete())
    queued = await asyncio.gather(store.followups.check(story_id), other.followups.check(story_id))
    assert sorted(queued) == [0, 2]


async def test_restart_gives_claims_back_and_never_resends_a_cut_send(store):
    store.followups.threshold = 2
    story_id, _ = await _story(store, chats=2, following=2)
    await _join(store, story_id, "B", "b1")
    jobs = await store.followups.claim(("telegram",))
    assert await store.followups.start_sending(jobs[0].id, jobs[0].lease_until)
    await store.deliveries.requeue_interrupted()  # the process was killed: one claimed, one mid-send
    states = dict(await _rows(store))
    assert states[jobs[0].chat.id] == "dead" and states[jobs[1].chat.id] == "pending"
    again = await store.followups.claim(("telegram",))
    assert [j.chat.id for j in again] == [jobs[1].chat.id]
    assert not await store.followups.start_sending(jobs[1].id, jobs[1].lease_until)  # the old claim is not its own


async def test_an_expired_lease_comes_back_to_another_worker(store):
    store.followups.threshold = 2
    story_id, _ = await _story(store, chats=1, following=1)
    await _join(store, story_id, "B", "b1")
    [job] = await store.followups.claim(("telegram",), lease=0.0)
    await asyncio.sleep(0.01)
    await store.deliveries.reclaim_expired(60)
    [again] = await store.followups.claim(("telegram",))
    assert again.id == job.id and again.attempts == 2
    assert await store.followups.start_sending(again.id, again.lease_until)
    await store.followups.finish(again.id, "sent", message_ref="5")
    assert await _rows(store) == [(job.chat.id, "sent")]
