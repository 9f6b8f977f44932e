"""Deliveries: the outbox of alerts, one row per (chat, story): claimed with a lease, sent, retried, dead, or held
for a digest. The claim is a token: a worker sends only while its lease is its own."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.model import ChatRow, DeliveryJob, DeliveryState, EditState, Followed, HeldAlert
from bot.store.chats import CHAT_COLS
from bot.store.db import on_conflict_do_nothing, utcnow
from bot.store.items import stored_item
from bot.store.tables import chats, deliveries, feeds, items, story_edits


def next_digest_for(chat: ChatRow, now: datetime) -> datetime | None:
    """When the chat's next digest goes out: its digest time, else the end of its next quiet hours, else never."""
    from bot.delivery.digest import next_digest_at, quiet_ends_at  # pure time functions

    if chat.digest in ("hourly", "daily"):
        if chat.next_digest_at is not None and chat.next_digest_at > now:
            return chat.next_digest_at
        return next_digest_at(chat.digest, chat.digest_time, chat.timezone, now)
    if chat.quiet_start and chat.quiet_end:
        return quiet_ends_at(chat.quiet_end, chat.timezone, now)
    return None


PHRASE_PREFIX = "phrase:"  # how a followed phrase is kept in the deliveries.entities JSON column


def _encode_followed(followed: Followed) -> tuple[str, str]:
    entities = sorted(followed.entities) + sorted(PHRASE_PREFIX + p for p in followed.phrases)
    return json.dumps(sorted(followed.watchlists)), json.dumps(entities)


def requeue_values() -> dict[str, object]:
    """A claimed edit whose worker died goes back at once: an edit shows the whole state, so redoing it is safe."""
    return {"state": EditState.PENDING, "lease_until": None}


def _decode_followed(watchlists: str, entities: str) -> Followed:
    ents = json.loads(entities)
    return Followed(tuple(json.loads(watchlists)), tuple(e for e in ents if not e.startswith(PHRASE_PREFIX)),
                    tuple(e.removeprefix(PHRASE_PREFIX) for e in ents if e.startswith(PHRASE_PREFIX)))


class DeliveryStore:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine

    async def create(self, item_id: int, targets: dict[int, Followed], story_id: int | None = None,
                     urgent: bool = False, held_until: dict[int, datetime] | None = None) -> int:
        """One delivery row per (chat, item), and per (chat, story): a chat that already has an alert for this
        story gets none for another source of it. ``held_until``: chats whose alert waits for a digest."""
        now = utcnow()
        created = 0
        async with self.engine.begin() as conn:
            already: set[int] = set()
            if story_id is not None and targets:
                rows = await conn.execute(select(deliveries.c.chat_id).where(
                    deliveries.c.story_id == story_id, deliveries.c.chat_id.in_(list(targets))))
                already = {r.chat_id for r in rows}
            for chat_id, followed in targets.items():
                if chat_id in already:
                    continue
                hold = (held_until or {}).get(chat_id)
                watchlists, entities = _encode_followed(followed)
                result = await conn.execute(on_conflict_do_nothing(conn, deliveries).values(
                    chat_id=chat_id, item_id=item_id, state=DeliveryState.HELD if hold else DeliveryState.PENDING,
                    attempts=0, watchlists=watchlists, entities=entities,
                    next_attempt_at=hold or now, created_at=now, story_id=story_id, urgent=urgent))
                created += result.rowcount
        return created

    async def claim(self, limit: int = 100, platforms: Sequence[str] = (), now: datetime | None = None,
                    lease: float = 300.0) -> list[DeliveryJob]:
        """Due deliveries of active, unmuted chats on these platforms, claimed for ``lease`` seconds (oldest first).

        On PostgreSQL the rows are locked FOR UPDATE SKIP LOCKED while claimed, so workers never take the same one.
        A claimed row is ``claimed`` (not yet sent): if its worker dies, it returns to the pool when the lease ends."""
        now = now or utcnow()
        query = (
            select(
                deliveries.c.id.label("delivery_id"), deliveries.c.attempts, deliveries.c.watchlists.label("d_wl"),
                deliveries.c.entities.label("d_ent"), deliveries.c.created_at.label("d_created"),
                deliveries.c.story_id.label("d_story"), chats.c.id.label("chat_id"), chats.c.platform, chats.c.address,
                chats.c.language.label("chat_language"), chats.c.active, chats.c.muted_until, chats.c.chat_type,
                items.c.id, items.c.key, items.c.title, items.c.summary, items.c.link, items.c.published_at,
                items.c.language, items.c.mentions, items.c.watchlists, feeds.c.name.label("feed_name"),
            )
            .select_from(deliveries.join(chats, chats.c.id == deliveries.c.chat_id)
                         .join(items, items.c.id == deliveries.c.item_id)
                         .join(feeds, feeds.c.id == items.c.feed_id))
            .where(deliveries.c.state.in_((DeliveryState.PENDING, DeliveryState.FAILED)), deliveries.c.next_attempt_at <= now,
                   chats.c.platform.in_(platforms), chats.c.active.is_(True),
                   or_(chats.c.muted_until.is_(None), chats.c.muted_until <= now),
                   or_(chats.c.next_send_at.is_(None), chats.c.next_send_at <= now))
            .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=deliveries)
        )
        jobs: list[DeliveryJob] = []
        async with self.engine.begin() as conn:
            rows = (await conn.execute(query)).all()
            lease_until = now + timedelta(seconds=lease)
            if rows:
                await conn.execute(update(deliveries).where(deliveries.c.id.in_([r.delivery_id for r in rows])).values(
                    state=DeliveryState.CLAIMED, attempts=deliveries.c.attempts + 1, lease_until=lease_until))
            for row in rows:
                chat = ChatRow(row.chat_id, row.platform, row.address, row.chat_language, row.active, row.muted_until,
                               row.chat_type)  # the digest fields are not needed to send one alert
                jobs.append(DeliveryJob(row.delivery_id, row.attempts + 1, chat, stored_item(row, row.feed_name),
                                        _decode_followed(row.d_wl, row.d_ent), row.d_created, lease_until,
                                        row.d_story or row.id))
        return jobs

    async def mark(self, delivery_id: int, state: str, error: str | None = None,
                            retry_at: datetime | None = None, message_ref: str | None = None) -> None:
        """``message_ref``: where a sent alert is (Telegram message_id, Slack "channel ts"), to edit it later."""
        values: dict[str, object] = {"state": state, "last_error": error[:1000] if error else None,
                                     "lease_until": None}
        if state == DeliveryState.SENT:
            values["sent_at"] = utcnow()
            if message_ref is not None:
                values["message_ref"] = message_ref
        if retry_at is not None:
            values["next_attempt_at"] = retry_at
        async with self.engine.begin() as conn:
            await conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(**values))

    async def postpone(self, delivery_id: int, until: datetime) -> None:
        """Give a claimed delivery back untried (a rate limit said not yet): no attempt is counted."""
        async with self.engine.begin() as conn:
            await conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(
                state=DeliveryState.PENDING, attempts=deliveries.c.attempts - 1, next_attempt_at=until, lease_until=None))

    async def start_sending(self, delivery_id: int, chat_id: int, chat_interval: float,
                            lease: float = 120.0, claimed_until: datetime | None = None) -> bool | None:
        """Right before the request: take the chat's send slot (shared by all workers) and mark the row ``sending``.

        False when another worker sent to this chat less than ``chat_interval`` seconds ago; None when this worker's
        claim is no longer its own (the lease ran out and another worker took the row): then it must not send."""
        now = utcnow()
        async with self.engine.begin() as conn:
            if claimed_until is not None:
                mine = await conn.execute(update(deliveries).where(
                    deliveries.c.id == delivery_id, deliveries.c.state == DeliveryState.CLAIMED,
                    deliveries.c.lease_until == claimed_until).values(lease_until=now + timedelta(seconds=lease)))
                if mine.rowcount != 1:
                    return None
            if chat_interval > 0:
                taken = await conn.execute(update(chats).where(
                    chats.c.id == chat_id, or_(chats.c.next_send_at.is_(None), chats.c.next_send_at <= now))
                    .values(next_send_at=now + timedelta(seconds=chat_interval)))
                if taken.rowcount != 1:
                    return False
            await conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(
                state=DeliveryState.SENDING, lease_until=now + timedelta(seconds=lease)))
        return True

    async def reclaim_expired(self, unknown_outcome_delay: float) -> tuple[int, int]:
        """Leases of dead workers: claimed rows go back at once; rows cut mid-send only after the unknown-outcome
        delay (the platform may have shown them). Returns (claimed, sending) rows returned to the pool."""
        now = utcnow()
        async with self.engine.begin() as conn:
            claimed = await conn.execute(update(deliveries).where(
                deliveries.c.state == DeliveryState.CLAIMED, deliveries.c.lease_until < now).values(
                state=DeliveryState.PENDING, lease_until=None, next_attempt_at=now))
            sending = await conn.execute(update(deliveries).where(
                deliveries.c.state == DeliveryState.SENDING, deliveries.c.lease_until < now).values(
                state=DeliveryState.PENDING, lease_until=None,
                next_attempt_at=now + timedelta(seconds=unknown_outcome_delay)))
            digesting = await conn.execute(update(deliveries).where(
                deliveries.c.state == DeliveryState.DIGESTING, deliveries.c.lease_until < now).values(
                state=DeliveryState.HELD, lease_until=None,
                next_attempt_at=now + timedelta(seconds=unknown_outcome_delay)))
            await conn.execute(update(story_edits).where(
                story_edits.c.state == EditState.CLAIMED, story_edits.c.lease_until < now).values(**requeue_values()))
            from bot.store.followups import requeue_claimed  # followups imports this module

            for statement in requeue_claimed(now):
                await conn.execute(statement)
        return claimed.rowcount, sending.rowcount + digesting.rowcount

    async def requeue_interrupted(self, delay: float = 0.0) -> int:
        """At start of a single process: deliveries left ``claimed`` go back at once, those left ``sending`` (outcome
        unknown: the platform may have shown them) ``delay`` seconds from now — at least once, never within seconds.
        Several workers on one database rely on lease expiry instead (reclaim_expired)."""
        now = utcnow()
        async with self.engine.begin() as conn:
            claimed = await conn.execute(update(deliveries).where(deliveries.c.state == DeliveryState.CLAIMED).values(
                state=DeliveryState.PENDING, lease_until=None, next_attempt_at=now))
            sending = await conn.execute(update(deliveries).where(deliveries.c.state == DeliveryState.SENDING).values(
                state=DeliveryState.PENDING, lease_until=None, next_attempt_at=now + timedelta(seconds=delay)))
            digesting = await conn.execute(update(deliveries).where(
                deliveries.c.state == DeliveryState.DIGESTING).values(
                state=DeliveryState.HELD, lease_until=None, next_attempt_at=now + timedelta(seconds=delay)))
            await conn.execute(update(story_edits).where(story_edits.c.state == EditState.CLAIMED)
                               .values(**requeue_values()))
            from bot.store.followups import requeue_claimed

            for statement in requeue_claimed(None):
                await conn.execute(statement)
            return claimed.rowcount + sending.rowcount + digesting.rowcount

    async def digest_updates(self, story_id: int, now: datetime | None = None) -> int:
        """The story grew: each chat that got it inside a digest (no message to edit) gets one held row that brings
        the story's count to its next digest (digest mode: its next digest; quiet hours: their next end; a chat with
        neither has no next digest). One such row per chat and story while it waits. Returns rows created."""
        now = now or utcnow()
        async with self.engine.begin() as conn:
            latest = await conn.scalar(select(func.max(items.c.id)).where(
                or_(items.c.id == story_id, items.c.story_id == story_id)))
            held = deliveries.alias("held")  # an update already waiting for this chat's next digest
            waiting = select(held.c.id).where(
                held.c.chat_id == deliveries.c.chat_id, held.c.story_id == story_id, held.c.update_of.is_not(None),
                held.c.state.in_((DeliveryState.HELD, DeliveryState.DIGESTING))).exists()
            rows = (await conn.execute(
                select(deliveries.c.id, deliveries.c.watchlists, deliveries.c.entities,
                       *[c.label(f"chat_{c.name}") for c in CHAT_COLS])
                .select_from(deliveries.join(chats, chats.c.id == deliveries.c.chat_id))
                .where(deliveries.c.story_id == story_id, deliveries.c.digested.is_(True),
                       deliveries.c.update_of.is_(None), deliveries.c.state == DeliveryState.SENT, ~waiting))).all()
            created = 0
            for row in rows:
                m = row._mapping
                when = next_digest_for(ChatRow(**{c.name: m[f"chat_{c.name}"] for c in CHAT_COLS}), now)
                if when is None or latest is None:
                    continue
                result = await conn.execute(on_conflict_do_nothing(conn, deliveries).values(
                    chat_id=m["chat_id"], item_id=latest, state=DeliveryState.HELD, attempts=0,
                    watchlists=row.watchlists, entities=row.entities, next_attempt_at=when, created_at=now,
                    story_id=story_id, urgent=False, update_of=row.id))
                created += result.rowcount
            return created

    async def counts(self) -> dict[str, int]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(deliveries.c.state, func.count()).group_by(deliveries.c.state))
            return {state: n for state, n in rows.all()}

    async def claim_held(self, platforms: Sequence[str], now: datetime | None = None, lease: float = 120.0,
                         limit: int = 2000) -> list[tuple[ChatRow, list[HeldAlert], datetime]]:
        """Alerts held for a digest or quiet hours whose time has come, per chat (active, not muted), claimed like
        deliveries (``digesting`` with a lease; SKIP LOCKED on PostgreSQL): two workers never send one digest."""
        now = now or utcnow()
        query = (
            select(deliveries.c.id.label("delivery_id"), deliveries.c.watchlists.label("d_wl"),
                   deliveries.c.entities.label("d_ent"), deliveries.c.story_id, deliveries.c.update_of,
                   items.c.id.label("item_id"), items.c.title, items.c.link, feeds.c.name.label("feed_name"),
                   *[c.label(f"chat_{c.name}") for c in CHAT_COLS])
            .select_from(deliveries.join(chats, chats.c.id == deliveries.c.chat_id)
                         .join(items, items.c.id == deliveries.c.item_id).join(feeds, feeds.c.id == items.c.feed_id))
            .where(deliveries.c.state == DeliveryState.HELD, deliveries.c.next_attempt_at <= now,
                   chats.c.active.is_(True), chats.c.platform.in_(platforms),
                   or_(chats.c.muted_until.is_(None), chats.c.muted_until <= now))
            .order_by(chats.c.id, deliveries.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=deliveries)
        )
        out: dict[int, tuple[ChatRow, list[HeldAlert]]] = {}
        lease_until = now + timedelta(seconds=lease)
        async with self.engine.begin() as conn:
            rows = (await conn.execute(query)).all()
            if rows:
                await conn.execute(update(deliveries).where(deliveries.c.id.in_([r.delivery_id for r in rows]))
                                   .values(state=DeliveryState.DIGESTING, lease_until=lease_until))
            for row in rows:
                m = row._mapping
                chat = ChatRow(**{c.name: m[f"chat_{c.name}"] for c in CHAT_COLS})
                entry = out.setdefault(chat.id, (chat, []))
                entry[1].append(HeldAlert(row.delivery_id, row.title, row.link, row.feed_name,
                                          _decode_followed(row.d_wl, row.d_ent), row.item_id, row.story_id,
                                          row.update_of is not None))
        return [(chat, held, lease_until) for chat, held in out.values()]

    async def finish_digest(self, delivery_ids: Sequence[int], lease_until: datetime, sent: bool,
                            retry_at: datetime | None = None) -> int:
        """A digest went out (``sent``), or failed: its alerts are held again until ``retry_at``. Only rows this
        claim still holds are changed; returns how many."""
        if not delivery_ids:
            return 0
        values: dict[str, object] = {"lease_until": None}
        if sent:
            values.update(state=DeliveryState.SENT, sent_at=utcnow(), attempts=deliveries.c.attempts + 1,
                          digested=True)
        else:
            values.update(state=DeliveryState.HELD, next_attempt_at=retry_at or utcnow())
        async with self.engine.begin() as conn:
            result = await conn.execute(update(deliveries).where(
                deliveries.c.id.in_(list(delivery_ids)), deliveries.c.state == DeliveryState.DIGESTING,
                deliveries.c.lease_until == lease_until).values(**values))
        return result.rowcount
