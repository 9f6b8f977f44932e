"""A story already sent in a digest (issue 15), on SQLite and PostgreSQL (RASAD_TEST_POSTGRES_URL): its growth
queues one held "update" row per chat for the chat's next digest (coalesced while it waits), digest rows are never
edited, and a chat with no next digest gets none."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.delivery.held import build_digest
from bot.model import Followed, Item, Match, Mention
from bot.store import Store
from bot.store.db import utcnow
from bot.store.tables import deliveries


async def _digested(store: Store, digest: str = "hourly") -> tuple[int, int]:
    """A story of one item sent to one Telegram chat inside a digest; returns (story id, chat id)."""
    await store.feeds.sync_config([(f"file:///{n}.xml", n, None, None) for n in "ABCD"])
    feed_a = next(f for f in await store.feeds.all() if f.name == "A")
    match = Match((Mention("caesar-act", "Caesar Act", 0, 10),), ())
    first = (await store.items.store(feed_a.id, [(Item("g1", "Caesar Act waiver", link="https://a.example/1"),
                                                  match)]))[0]
    chat = await store.chats.ensure("telegram", "9200")
    await store.chats.update(chat.id, digest=digest)
    await store.deliveries.create(first.id, {chat.id: Followed(entities=("caesar-act",))}, story_id=first.id,
                                  held_until={chat.id: utcnow()})
    [(_, held, lease)] = await store.deliveries.claim_held(("telegram",))
    assert await store.deliveries.finish_digest([a.delivery_id for a in held], lease, sent=True) == 1
    return first.id, chat.id


async def _join(store: Store, story_id: int, feed_name: str, key: str) -> None:
    feed = next(f for f in await store.feeds.all() if f.name == feed_name)
    await store.items.store(feed.id, [(Item(key, "Caesar Act waiver", link=f"https://x.example/{key}"),
                                       Match((), ()))], [{"story_id": story_id}])
    await store.edits.story_grew(story_id)


async def _rows(store: Store) -> list[tuple[str, bool, int | None]]:
    async with store.engine.connect() as conn:
        return [(r.state, r.digested, r.update_of) for r in await conn.execute(
            select(deliveries.c.state, deliveries.c.digested, deliveries.c.update_of).order_by(deliveries.c.id))]


async def test_growth_after_a_digest_waits_for_the_next_digest_once(store):
    story_id, _ = await _digested(store)
    await _join(store, story_id, "B", "b1")
    await _join(store, story_id, "C", "c1")
    rows = await _rows(store)
    first_id = (await store.edits.sources(story_id))[0].item_id
    assert rows[0] == ("sent", True, None) and len(rows) == 2 and rows[1][0] == "held" and rows[1][2] is not None
    assert first_id == story_id
    assert await store.deliveries.claim_held(("telegram",)) == []  # not before the next digest
    assert await store.edits.claim(("telegram",)) == []  # a digest is never edited
    [(chat, held, lease)] = await store.deliveries.claim_held(("telegram",), now=utcnow() + timedelta(hours=2))
    assert [a.update for a in held] == [True]
    digest = build_digest(chat, held, _Matcher(), {story_id: await store.edits.sources(story_id)})
    [entry] = [e for entries in digest.groups.values() for e in entries]
    assert entry.update and entry.also is not None and entry.also.total == 3
    await store.deliveries.finish_digest([a.delivery_id for a in held], lease, sent=True)
    await _join(store, story_id, "D", "d1")  # after that digest: a new update for the next one
    assert [r[0] for r in await _rows(store)] == ["sent", "sent", "held"]


async def test_a_chat_with_no_next_digest_gets_no_update_row(store):
    story_id, chat_id = await _digested(store, digest="immediate")
    await _join(store, story_id, "B", "b1")
    assert len(await _rows(store)) == 1
    await store.chats.update(chat_id, quiet_start="22:00", quiet_end="07:00")  # quiet hours: their next end
    await _join(store, story_id, "C", "c1")
    assert [r[0] for r in await _rows(store)] == ["sent", "held"]


class _Matcher:
    watchlists: dict = {}
