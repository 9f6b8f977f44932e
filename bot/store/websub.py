"""WebSub subscriptions of feeds (one per feed): hub, topic, per-subscription secret, state and lease.

The table lives beside the feeds' (``bot/store/tables.py`` shares its metadata); migration 0006 creates it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.db import AnyRow, on_conflict_do_nothing, utcnow
from bot.store.tables import feeds, metadata

websub = Table(
    "websub",
    metadata,
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True),
    Column("hub", Text, nullable=False),
    Column("topic", Text, nullable=False),
    Column("secret", String(128), nullable=False),  # the HMAC key of X-Hub-Signature for this subscription
    # wanted (subscribe not yet asked) | pending (asked, waiting for the hub's intent check) | active |
    # unsubscribing (the feed was removed) | denied
    Column("state", String(16), nullable=False),
    Column("lease_until", DateTime),  # the hub's lease; renewed before it ends
    Column("requested_at", DateTime),
    Column("verified_at", DateTime),
    Column("last_push_at", DateTime),
    Column("last_error", Text),
)


@dataclass(frozen=True)
class Subscription:
    feed_id: int
    hub: str
    topic: str
    secret: str
    state: str
    lease_until: datetime | None
    requested_at: datetime | None
    verified_at: datetime | None
    last_push_at: datetime | None
    last_error: str | None


def _row(row: AnyRow) -> Subscription:
    return Subscription(**row._mapping)


class WebSubStore:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine

    async def get(self, feed_id: int) -> Subscription | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(websub).where(websub.c.feed_id == feed_id))).first()
        return _row(row) if row is not None else None

    async def all(self) -> list[Subscription]:
        async with self.engine.connect() as conn:
            return [_row(r) for r in (await conn.execute(select(websub).order_by(websub.c.feed_id))).all()]

    async def want(self, feed_id: int, hub: str, topic: str, secret: str) -> bool:
        """Record that ``feed_id`` should be pushed by ``hub``; True when this is new or the hub/topic changed."""
        async with self.engine.begin() as conn:
            row = (await conn.execute(select(websub.c.hub, websub.c.topic, websub.c.state)
                                      .where(websub.c.feed_id == feed_id))).first()
            if row is not None and row.hub == hub and row.topic == topic and row.state != "unsubscribing":
                return False
            if row is not None:
                await conn.execute(update(websub).where(websub.c.feed_id == feed_id).values(
                    hub=hub, topic=topic, secret=secret, state="wanted", lease_until=None, requested_at=None,
                    verified_at=None, last_error=None))
            else:
                await conn.execute(on_conflict_do_nothing(conn, websub).values(
                    feed_id=feed_id, hub=hub, topic=topic, secret=secret, state="wanted"))
            return True

    async def set_state(self, feed_id: int, state: str, **values: object) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(update(websub).where(websub.c.feed_id == feed_id).values(state=state, **values))

    async def verified(self, feed_id: int, lease_seconds: int | None) -> None:
        now = utcnow()
        lease = now + timedelta(seconds=lease_seconds) if lease_seconds else None
        await self.set_state(feed_id, "active", verified_at=now, lease_until=lease, last_error=None)

    async def pushed(self, feed_id: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(update(websub).where(websub.c.feed_id == feed_id).values(last_push_at=utcnow()))

    async def forget(self, feed_id: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(websub).where(websub.c.feed_id == feed_id))

    async def due(self, now: datetime, renew_before: timedelta, retry_after: timedelta) -> list[Subscription]:
        """What needs a request to its hub: wanted; pending too long; active with a lease ending soon;
        and feeds no longer active (to unsubscribe)."""
        inactive = select(feeds.c.id).where(feeds.c.active.is_(False))
        query = select(websub).where(
            (websub.c.state == "wanted")
            | ((websub.c.state.in_(("pending", "unsubscribing"))) & (websub.c.requested_at < now - retry_after))
            | ((websub.c.state == "active") & (websub.c.lease_until < now + renew_before))
            | ((websub.c.state != "unsubscribing") & websub.c.feed_id.in_(inactive)))
        async with self.engine.connect() as conn:
            return [_row(r) for r in (await conn.execute(query)).all()]

    async def active_count(self) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(websub).where(
                websub.c.state == "active"))).scalar_one())

    async def active_feeds(self) -> set[int]:
        async with self.engine.connect() as conn:
            return {r.feed_id for r in (await conn.execute(select(websub.c.feed_id).where(
                websub.c.state == "active"))).all()}
