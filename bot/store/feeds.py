"""Feeds: the configured and chat-added sources, their schedule (next check, leases) and their health."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, func, insert, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.model import FeedRow
from bot.store.db import AnyRow, on_conflict_do_nothing, utcnow
from bot.store.tables import feeds
from bot.store.websub import WebSubStore  # noqa: F401 - its table is created with the feeds'

_FEED_COLS = (feeds.c.id, feeds.c.url, feeds.c.name, feeds.c.language, feeds.c.interval, feeds.c.etag,
              feeds.c.last_modified, feeds.c.error_count, feeds.c.next_check_at, feeds.c.last_success_at,
              feeds.c.last_error, feeds.c.active, feeds.c.source, feeds.c.broken_since, feeds.c.asked_interval)


def _feed_row(row: AnyRow) -> FeedRow:
    return FeedRow(**row._mapping)


class FeedStore:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine

    async def sync_config(self, configured: Sequence[tuple[str, str, str | None, int | None]]) -> None:
        """Make the store's config feeds equal to config.yaml's (url, name, language, interval) list.

        Feeds added from chat are left alone; config feeds no longer listed are deactivated, not deleted
        (their seen items keep them from alerting twice if they come back).
        """
        now = utcnow()
        urls = [c[0] for c in configured]
        async with self.engine.begin() as conn:
            existing = {r.url: r for r in (await conn.execute(select(feeds.c.id, feeds.c.url))).all()}
            for url, name, language, interval in configured:
                if url in existing:
                    await conn.execute(
                        update(feeds).where(feeds.c.url == url).values(
                            name=name, language=language, interval=interval, active=True, source="config")
                    )
                else:  # another worker starting at the same moment may insert it first
                    await conn.execute(on_conflict_do_nothing(conn, feeds).values(
                        url=url, name=name, language=language, interval=interval, source="config",
                        active=True, next_check_at=now, created_at=now))
            await conn.execute(
                update(feeds).where(and_(feeds.c.source == "config",
                                         feeds.c.url.not_in(urls) if urls else true()))
                .values(active=False)
            )

    async def all(self, active_only: bool = True) -> list[FeedRow]:
        query = select(*_FEED_COLS).order_by(feeds.c.id)
        if active_only:
            query = query.where(feeds.c.active.is_(True))
        async with self.engine.connect() as conn:
            return [_feed_row(r) for r in (await conn.execute(query)).all()]

    async def get(self, feed_id: int) -> FeedRow | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(*_FEED_COLS).where(feeds.c.id == feed_id))).first()
        return _feed_row(row) if row is not None else None

    async def published_times(self, feed_id: int, limit: int = 30) -> list[datetime]:
        """When the feed's latest items were published (else first seen): what its interval is learned from."""
        from bot.store.tables import items

        when = func.coalesce(items.c.published_at, items.c.fetched_at)
        query = select(when.label("at")).where(items.c.feed_id == feed_id).order_by(when.desc()).limit(limit)
        async with self.engine.connect() as conn:
            return [r.at for r in (await conn.execute(query)).all() if r.at is not None]

    async def claim_due(self, now: datetime | None = None, limit: int = 1000,
                        lease: float = 120.0) -> list[FeedRow]:
        """Feeds whose time has come, claimed for ``lease`` seconds (FOR UPDATE SKIP LOCKED on PostgreSQL), so
        several workers split them; a worker that dies leaves its claims to expire."""
        now = now or utcnow()
        query = (select(*_FEED_COLS).where(
            feeds.c.active.is_(True), feeds.c.next_check_at <= now,
            or_(feeds.c.lease_until.is_(None), feeds.c.lease_until < now))
            .order_by(feeds.c.next_check_at).limit(limit).with_for_update(skip_locked=True, of=feeds))
        async with self.engine.begin() as conn:
            rows = [_feed_row(r) for r in (await conn.execute(query)).all()]
            if rows:
                await conn.execute(update(feeds).where(feeds.c.id.in_([r.id for r in rows])).values(
                    lease_until=now + timedelta(seconds=lease)))
        return rows

    async def record_success(self, feed_id: int, next_check_at: datetime,
                                  etag: str | None, last_modified: str | None, asked_interval: int | None = None,
                                  not_modified: bool = False) -> None:
        """A poll that worked. ``asked_interval`` is kept from a full answer; a 304 keeps the one stored then."""
        now = utcnow()
        values: dict[str, object] = {
            "etag": etag, "last_modified": last_modified, "next_check_at": next_check_at,
            "last_checked_at": now, "last_success_at": now, "error_count": 0, "last_error": None,
            "broken_since": None, "lease_until": None}
        if not not_modified or asked_interval is not None:
            values["asked_interval"] = asked_interval
        async with self.engine.begin() as conn:
            await conn.execute(update(feeds).where(feeds.c.id == feed_id).values(**values))

    async def record_failure(self, feed_id: int, error: str, next_check_at: datetime,
                                  broken: bool = False) -> None:
        values: dict[str, object] = {
            "error_count": feeds.c.error_count + 1, "last_error": error[:1000],
            "next_check_at": next_check_at, "last_checked_at": utcnow(), "lease_until": None}
        if broken:
            values["broken_since"] = func.coalesce(feeds.c.broken_since, utcnow())
        async with self.engine.begin() as conn:
            await conn.execute(update(feeds).where(feeds.c.id == feed_id).values(**values))

    async def add(self, url: str, name: str, source: str = "chat", language: str | None = None) -> tuple[int, bool]:
        """(feed id, created). A feed that exists is re-activated (its name and language kept)."""
        now = utcnow()
        async with self.engine.begin() as conn:
            row = (await conn.execute(select(feeds.c.id, feeds.c.active).where(feeds.c.url == url))).first()
            if row is not None:
                await conn.execute(update(feeds).where(feeds.c.id == row.id).values(active=True, next_check_at=now))
                return row.id, not row.active
            result = await conn.execute(insert(feeds).values(
                url=url, name=name, source=source, language=language, active=True, next_check_at=now,
                created_at=now))
            key = result.inserted_primary_key
            if key is None:  # pragma: no cover - a single-row INSERT always reports its primary key
                raise RuntimeError(f"the database gave no id for the new feed {url}")
            return key[0], True

    async def deactivate(self, feed_id: int) -> bool:
        async with self.engine.begin() as conn:
            result = await conn.execute(update(feeds).where(feeds.c.id == feed_id, feeds.c.active.is_(True))
                                        .values(active=False))
            return result.rowcount > 0
