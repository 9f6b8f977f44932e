"""Developing stories (issue 15): a story is marked developing once, when ``threshold`` distinct feeds carry it within
``window`` seconds; every chat that follows developing stories (``/follow developing on``) and has an alert of the story
then gets ONE follow-up, an outbox row like a delivery: claimed with a lease (SKIP LOCKED on PostgreSQL), marked
``sending`` under the claim right before the request, ``sent`` after. One row per (chat, story) (unique), so a story is
never followed up twice in a chat; a follow-up cut mid-send (outcome unknown) is not sent again: ``dead``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Update, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.model import ChatRow, DeliveryState, Followed, StoredItem, StorySource
from bot.store.chats import CHAT_COLS
from bot.store.db import on_conflict_do_nothing, utcnow
from bot.store.deliveries import _decode_followed
from bot.store.items import stored_item
from bot.store.tables import chats, deliveries, developing_stories, feeds, followups, items

PENDING, CLAIMED, SENDING, SENT, DEAD = "pending", "claimed", "sending", "sent", "dead"


@dataclass(frozen=True)
class FollowupJob:
    """A claimed follow-up: the chat's first alert of the story (rendered again) and the story's sources now."""

    id: int
    chat: ChatRow
    stored: StoredItem
    followed: Followed
    story_id: int
    urgent: bool
    lease_until: datetime
    attempts: int
    sources: tuple[StorySource, ...] = ()


class FollowupStore:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        self.threshold = 5  # distinct feeds (stories.developing_sources)
        self.window = 3600.0  # seconds (stories.developing_window)

    async def following(self, chat_id: int) -> bool:
        async with self.engine.connect() as conn:
            return bool(await conn.scalar(select(chats.c.follow_developing).where(chats.c.id == chat_id)))

    async def set_following(self, chat_id: int, on: bool) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(update(chats).where(chats.c.id == chat_id).values(follow_developing=on))

    async def check(self, story_id: int, now: datetime | None = None) -> int:
        """The story grew: when it now has ``threshold`` distinct feeds within ``window`` and was never marked,
        mark it and queue one follow-up per following chat that has an alert of it. Returns follow-ups queued."""
        now = now or utcnow()
        since = now - timedelta(seconds=self.window)
        async with self.engine.begin() as conn:
            count = await conn.scalar(select(func.count(func.distinct(items.c.feed_id))).where(
                or_(items.c.id == story_id, items.c.story_id == story_id), items.c.fetched_at >= since))
            if int(count or 0) < self.threshold:
                return 0
            marked = await conn.execute(on_conflict_do_nothing(conn, developing_stories).values(
                story_id=story_id, sources=int(count or 0), marked_at=now))
            if marked.rowcount != 1:  # marked before (by this worker or another): once per story
                return 0
            rows = (await conn.execute(
                select(deliveries.c.id, deliveries.c.chat_id, deliveries.c.urgent)
                .select_from(deliveries.join(chats, chats.c.id == deliveries.c.chat_id))
                .where(deliveries.c.story_id == story_id, deliveries.c.state != DeliveryState.DEAD,
                       chats.c.follow_developing.is_(True), chats.c.active.is_(True)))).all()
            queued = 0
            for row in rows:
                result = await conn.execute(on_conflict_do_nothing(conn, followups).values(
                    chat_id=row.chat_id, delivery_id=row.id, story_id=story_id, state=PENDING, urgent=row.urgent,
                    attempts=0, next_attempt_at=now, created_at=now))
                queued += result.rowcount
            return queued

    async def developing(self, story_id: int) -> bool:
        async with self.engine.connect() as conn:
            return await conn.scalar(select(developing_stories.c.story_id).where(
                developing_stories.c.story_id == story_id)) is not None

    async def claim(self, platforms: Sequence[str], limit: int = 100, lease: float = 120.0,
                    now: datetime | None = None) -> list[FollowupJob]:
        """Follow-ups due for active, unmuted chats on these platforms, claimed for ``lease`` seconds."""
        now = now or utcnow()
        query = (
            select(followups.c.id.label("f_id"), followups.c.story_id, followups.c.urgent, followups.c.attempts,
                   deliveries.c.watchlists.label("d_wl"), deliveries.c.entities.label("d_ent"),
                   items.c.id, items.c.key, items.c.title, items.c.summary, items.c.link, items.c.published_at,
                   items.c.language, items.c.mentions, items.c.watchlists, feeds.c.name.label("feed_name"),
                   *[c.label(f"chat_{c.name}") for c in CHAT_COLS])
            .select_from(followups.join(deliveries, deliveries.c.id == followups.c.delivery_id)
                         .join(chats, chats.c.id == followups.c.chat_id)
                         .join(items, items.c.id == deliveries.c.item_id)
                         .join(feeds, feeds.c.id == items.c.feed_id))
            .where(followups.c.state == PENDING, followups.c.next_attempt_at <= now,
                   chats.c.platform.in_(platforms), chats.c.active.is_(True),
                   or_(chats.c.muted_until.is_(None), chats.c.muted_until <= now))
            .order_by(followups.c.next_attempt_at, followups.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=followups)
        )
        lease_until = now + timedelta(seconds=lease)
        async with self.engine.begin() as conn:
            rows = (await conn.execute(query)).all()
            if rows:
                await conn.execute(update(followups).where(followups.c.id.in_([r.f_id for r in rows])).values(
                    state=CLAIMED, attempts=followups.c.attempts + 1, lease_until=lease_until))
        sources = {s: await self._sources(s) for s in {r.story_id for r in rows}}
        jobs = []
        for row in rows:
            m = row._mapping
            chat = ChatRow(**{c.name: m[f"chat_{c.name}"] for c in CHAT_COLS})
            jobs.append(FollowupJob(row.f_id, chat, stored_item(row, row.feed_name),
                                    _decode_followed(row.d_wl, row.d_ent), row.story_id, bool(row.urgent),
                                    lease_until, row.attempts + 1, tuple(sources[row.story_id])))
        return jobs

    async def _sources(self, story_id: int) -> list[StorySource]:
        from bot.store.edits import EditStore

        return await EditStore(self.engine).sources(story_id)

    async def start_sending(self, followup_id: int, lease_until: datetime, lease: float = 120.0) -> bool:
        """Right before the request: ``sending``, only while the claim is still this worker's."""
        async with self.engine.begin() as conn:
            result = await conn.execute(update(followups).where(
                followups.c.id == followup_id, followups.c.state == CLAIMED,
                followups.c.lease_until == lease_until).values(
                state=SENDING, lease_until=utcnow() + timedelta(seconds=lease)))
        return result.rowcount == 1

    async def finish(self, followup_id: int, outcome: str, message_ref: str | None = None, error: str | None = None,
                     retry_at: datetime | None = None) -> None:
        """``sent``, ``dead`` (never tried again), ``retry`` (at ``retry_at``; the platform refused it for sure) or
        ``postpone`` (claimed, not tried: quiet hours or a rate limit; no attempt counted)."""
        values: dict[str, object] = {"lease_until": None, "last_error": error[:1000] if error else None}
        if outcome == SENT:
            values.update(state=SENT, sent_at=utcnow(), message_ref=message_ref)
        elif outcome == DEAD:
            values.update(state=DEAD)
        else:
            values.update(state=PENDING, next_attempt_at=retry_at or utcnow())
            if outcome == "postpone":
                values["attempts"] = followups.c.attempts - 1
        async with self.engine.begin() as conn:
            await conn.execute(update(followups).where(followups.c.id == followup_id).values(**values))

    async def counts(self) -> dict[str, int]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(followups.c.state, func.count()).group_by(followups.c.state))).all()
        return {state: n for state, n in rows}


def requeue_claimed(expired_before: datetime | None) -> tuple[Update, Update]:
    """Statements for a dead worker's follow-ups: claimed ones go back at once; one cut mid-send (the platform may
    have shown it) is never sent again (``dead``): a follow-up is at most once."""
    claimed = update(followups).where(followups.c.state == CLAIMED)
    sending = update(followups).where(followups.c.state == SENDING)
    if expired_before is not None:
        claimed = claimed.where(followups.c.lease_until < expired_before)
        sending = sending.where(followups.c.lease_until < expired_before)
    return (claimed.values(state=PENDING, lease_until=None),
            sending.values(state=DEAD, lease_until=None, last_error="cut mid-send: outcome unknown, not sent again"))
