"""Issue 12: two `deliver` workers on one PostgreSQL database never send the same digest.

Before, digests were read without a claim: with two workers, both read the same held alerts and both sent the
digest (this test, run against that code, counted every alert twice). Held alerts are now claimed like deliveries
(``digesting`` with a lease, SKIP LOCKED), and a worker that dies mid-digest leaves them to be held again."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import text

from bot.delivery.held import send_digests
from bot.model import Followed, Item, Match
from bot.rules.holder import RulesHolder
from bot.store import Store
from bot.store.db import utcnow
from tests.conftest import POSTGRES_URL, RULES
from tests.fakes.adapters import Recorder
from tests.fakes.postgres import fresh_database

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="needs RASAD_TEST_POSTGRES_URL (a PostgreSQL server); "
                                                         ".ci/run sets it on this project's machines")
CHATS = 12
ALERTS_PER_CHAT = 5


class SlowDigests(Recorder):
    """An adapter whose digests take a moment on the wire, so two workers overlap."""

    def __init__(self, sent: list[tuple[str, tuple[str, ...]]]):
        super().__init__("telegram")
        self.sent = sent

    async def send_digest(self, address, digest):
        await asyncio.sleep(0.05)
        self.sent.append((address, tuple(e.headline for entries in digest.groups.values() for e in entries)))


async def _held_alerts(store: Store) -> None:
    await store.feeds.sync_config([("file:///w.xml", "W", None, None)])
    feed = (await store.feeds.all())[0]
    items = [(Item(f"g{i}", f"Headline {i}"), Match((), ("syria-process",))) for i in range(ALERTS_PER_CHAT)]
    stored = await store.items.store(feed.id, items)
    due = utcnow() - timedelta(seconds=1)
    for c in range(CHATS):
        chat = await store.chats.ensure("telegram", str(5000 + c))
        for entry in stored:
            await store.deliveries.create(entry.id, {chat.id: Followed(watchlists=("syria-process",))},
                                          held_until={chat.id: due})


async def test_two_workers_send_each_digest_once():
    matcher = RulesHolder(RULES).rule_set
    async with fresh_database("digests") as url:
        first, second = Store(url), Store(url)
        await first.migrate()
        await _held_alerts(first)
        sent: list[tuple[str, tuple[str, ...]]] = []
        adapters = {"telegram": SlowDigests(sent)}
        counts = await asyncio.gather(*(send_digests(s, adapters, matcher) for s in (first, second, first, second)))
        alerts = [(address, h) for address, headlines in sent for h in headlines]
        assert len(alerts) == len(set(alerts)) == CHATS * ALERTS_PER_CHAT  # every alert once, none twice
        assert sum(counts) == len(sent)
        async with first.engine.connect() as conn:
            states = dict((await conn.execute(text("SELECT state, count(*) FROM deliveries GROUP BY state"))).all())
        assert states == {"sent": CHATS * ALERTS_PER_CHAT}
        await first.close()
        await second.close()


async def test_a_digest_cut_by_a_dead_worker_is_held_again(store):
    await _held_alerts(store)
    claimed = await store.deliveries.claim_held(("telegram",), lease=0.0)  # a worker claims, then dies
    assert sum(len(held) for _, held, _ in claimed) == CHATS * ALERTS_PER_CHAT
    assert await store.deliveries.claim_held(("telegram",)) == []  # nobody else takes them meanwhile
    await asyncio.sleep(0.01)
    _, interrupted = await store.deliveries.reclaim_expired(unknown_outcome_delay=0)
    assert interrupted == CHATS * ALERTS_PER_CHAT
    again = await store.deliveries.claim_held(("telegram",))
    assert sum(len(held) for _, held, _ in again) == CHATS * ALERTS_PER_CHAT
    # the dead worker's late "sent" changes nothing: its claim is no longer its own
    chat, held, lease = claimed[0]
    assert await store.deliveries.finish_digest([a.delivery_id for a in held], lease, sent=True) == 0
