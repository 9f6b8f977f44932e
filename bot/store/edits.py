"""Edits of sent alerts when their story grows (issue 15): an outbox like deliveries, one row per delivery.

A new source of a story raises ``wanted`` on the rows of every delivery of the story; a worker claims a row with a
lease (SKIP LOCKED on PostgreSQL), renders the story as it is *then* (so edits coalesce: the last state wins), edits
the message and records the version it showed. An edit shows the whole state, so doing it twice (a worker killed
after the platform answered) shows the same message again: nothing is applied twice, nothing is lost."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.model import ChatRow, DeliveryState, EditJob, EditState, StorySource
from bot.store.db import on_conflict_do_nothing, utcnow
from bot.store.deliveries import DeliveryStore, _decode_followed
from bot.store.followups import FollowupStore
from bot.store.items import stored_item
from bot.store.tables import chats, deliveries, feeds, items, story_edits


class EditStore:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        self.followups = FollowupStore(engine)
        self.deliveries = DeliveryStore(engine)  # a story that grows may become developing

    async def story_grew(self, story_id: int, now: datetime | None = None) -> int:
        """A new item joined ``story_id``: every alert of the story (sent or still to send) wants an edit.
        Returns how many rows now want one."""
        now = now or utcnow()
        await self.followups.check(story_id, now)
        await self.deliveries.digest_updates(story_id, now)  # chats that got the story inside a digest
        async with self.engine.begin() as conn:
            rows = await conn.execute(select(deliveries.c.id).where(
                deliveries.c.story_id == story_id, deliveries.c.state != DeliveryState.DEAD))
            ids = [r.id for r in rows]
            if not ids:
                return 0
            for delivery_id in ids:
                await conn.execute(on_conflict_do_nothing(conn, story_edits).values(
                    delivery_id=delivery_id, story_id=story_id, state=EditState.IDLE, wanted=0, applied=0,
                    attempts=0, edits=0, next_attempt_at=now))
            result = await conn.execute(update(story_edits).where(
                story_edits.c.delivery_id.in_(ids), story_edits.c.state != EditState.DONE).values(
                wanted=story_edits.c.wanted + 1,
                state=case((story_edits.c.state == EditState.CLAIMED, EditState.CLAIMED), else_=EditState.PENDING)))
            return result.rowcount

    async def claim(self, platforms: Sequence[str], limit: int = 100, lease: float = 120.0,
                    now: datetime | None = None) -> list[EditJob]:
        """Edits due (the alert sent, its message known, the coalescing interval over) of active chats on these
        platforms, claimed for ``lease`` seconds; each with the story's sources as they are now."""
        now = now or utcnow()
        query = (
            select(story_edits.c.delivery_id, story_edits.c.wanted, story_edits.c.story_id,
                   story_edits.c.attempts.label("e_attempts"),
                   deliveries.c.watchlists.label("d_wl"), deliveries.c.entities.label("d_ent"),
                   deliveries.c.message_ref, deliveries.c.sent_at,
                   chats.c.id.label("chat_id"), chats.c.platform, chats.c.address,
                   chats.c.language.label("chat_language"), chats.c.active, chats.c.muted_until, chats.c.chat_type,
                   items.c.id, items.c.key, items.c.title, items.c.summary, items.c.link, items.c.published_at,
                   items.c.language, items.c.mentions, items.c.watchlists, feeds.c.name.label("feed_name"))
            .select_from(story_edits.join(deliveries, deliveries.c.id == story_edits.c.delivery_id)
                         .join(chats, chats.c.id == deliveries.c.chat_id)
                         .join(items, items.c.id == deliveries.c.item_id)
                         .join(feeds, feeds.c.id == items.c.feed_id))
            .where(story_edits.c.state == EditState.PENDING, story_edits.c.next_attempt_at <= now,
                   story_edits.c.wanted > story_edits.c.applied,
                   deliveries.c.state == DeliveryState.SENT, deliveries.c.message_ref.is_not(None),
                   chats.c.platform.in_(platforms), chats.c.active.is_(True))
            .order_by(story_edits.c.next_attempt_at, story_edits.c.delivery_id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=story_edits)
        )
        lease_until = now + timedelta(seconds=lease)
        async with self.engine.begin() as conn:
            rows = (await conn.execute(query)).all()
            if rows:
                await conn.execute(update(story_edits).where(
                    story_edits.c.delivery_id.in_([r.delivery_id for r in rows])).values(
                    state=EditState.CLAIMED, attempts=story_edits.c.attempts + 1, lease_until=lease_until))
        sources = {s: await self.sources(s) for s in {r.story_id for r in rows}}
        jobs = []
        for row in rows:
            chat = ChatRow(row.chat_id, row.platform, row.address, row.chat_language, row.active, row.muted_until,
                           row.chat_type)
            jobs.append(EditJob(row.delivery_id, chat, stored_item(row, row.feed_name),
                                _decode_followed(row.d_wl, row.d_ent), row.message_ref, row.sent_at, row.wanted,
                                lease_until, row.story_id, tuple(sources[row.story_id]), row.e_attempts + 1))
        return jobs

    async def finish(self, delivery_id: int, lease_until: datetime, version: int, outcome: str,
                     coalesce: float = 0.0, error: str | None = None, retry_at: datetime | None = None) -> bool:
        """What became of a claimed edit: ``edited`` or ``unchanged`` (the message shows ``version``; a later source
        waits ``coalesce`` seconds), ``gone`` (the message can no longer be edited: never tried again), or ``retry``
        (at ``retry_at``). Only a claim still this worker's is changed; returns whether it was."""
        now = utcnow()
        values: dict[str, object] = {"lease_until": None, "last_error": error[:1000] if error else None}
        if outcome in ("edited", "unchanged"):
            values.update(applied=version, attempts=0, next_attempt_at=now + timedelta(seconds=coalesce),
                          state=case((story_edits.c.wanted > version, EditState.PENDING), else_=EditState.IDLE))
            if outcome == "edited":
                values["edits"] = story_edits.c.edits + 1
        elif outcome == "gone":
            values.update(applied=version, state=EditState.DONE)
        else:
            values.update(state=EditState.PENDING, next_attempt_at=retry_at or now)
        async with self.engine.begin() as conn:
            result = await conn.execute(update(story_edits).where(
                story_edits.c.delivery_id == delivery_id, story_edits.c.state == EditState.CLAIMED,
                story_edits.c.lease_until == lease_until).values(**values))
        return result.rowcount == 1

    async def sources(self, story_id: int) -> list[StorySource]:
        """Every item of the story, first one first, with its feed's name."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(items.c.id, items.c.title, items.c.link, items.c.published_at, items.c.fetched_at,
                       feeds.c.name.label("feed_name"))
                .select_from(items.join(feeds, feeds.c.id == items.c.feed_id))
                .where(or_(items.c.id == story_id, items.c.story_id == story_id))
                .order_by(items.c.id))
            return [StorySource(r.id, r.feed_name, r.title, r.link, r.published_at or r.fetched_at) for r in rows]

    async def counts(self) -> dict[str, int]:
        """Rows per state, and the edits the platforms accepted (``edits``)."""
        from sqlalchemy import func

        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(story_edits.c.state, func.count()).group_by(story_edits.c.state))).all()
            total = await conn.scalar(select(func.coalesce(func.sum(story_edits.c.edits), 0)))
        out = {state: n for state, n in rows}
        out["edits"] = int(total or 0)
        return out

