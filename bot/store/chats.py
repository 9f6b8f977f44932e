"""Chats: every conversation the bot talks to, with its language, digest and quiet-hour settings."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.model import ChatRow, ChatStatus, DeliveryState
from bot.store.db import on_conflict_do_nothing, utcnow
from bot.store.tables import chats, deliveries, feeds, subscriptions

CHAT_COLS = (chats.c.id, chats.c.platform, chats.c.address, chats.c.language, chats.c.active, chats.c.muted_until,
             chats.c.chat_type, chats.c.digest, chats.c.digest_time, chats.c.timezone, chats.c.quiet_start,
             chats.c.quiet_end, chats.c.next_digest_at)


class ChatStore:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine

    async def ensure(self, platform: str, address: str, language: str = "en",
                          title: str | None = None, chat_type: str = "private") -> ChatRow:
        """The chat's row, created on first contact (with this language); an inactive chat that talks is active again."""
        async with self.engine.begin() as conn:
            await conn.execute(on_conflict_do_nothing(conn, chats).values(
                platform=platform, address=address, language=language, title=title, active=True,
                chat_type=chat_type, created_at=utcnow()))
            row = (await conn.execute(select(*CHAT_COLS).where(
                chats.c.platform == platform, chats.c.address == address))).one()
            if not row.active or (row.chat_type != chat_type and chat_type != "private"):
                await conn.execute(update(chats).where(chats.c.id == row.id).values(active=True, chat_type=chat_type))
                row = (await conn.execute(select(*CHAT_COLS).where(chats.c.id == row.id))).one()
        return ChatRow(**row._mapping)

    async def get(self, platform: str, address: str) -> ChatRow | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(*CHAT_COLS).where(
                chats.c.platform == platform, chats.c.address == address))).first()
        return ChatRow(**row._mapping) if row else None

    async def update(self, chat_id: int, **values: object) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(update(chats).where(chats.c.id == chat_id).values(**values))

    async def by_id(self, ids: Iterable[int]) -> dict[int, ChatRow]:
        ids = list(ids)
        if not ids:
            return {}
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(*CHAT_COLS).where(chats.c.id.in_(ids)))
            return {r.id: ChatRow(**r._mapping) for r in rows}

    async def set_muted(self, chat_id: int, until: datetime | None) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(update(chats).where(chats.c.id == chat_id).values(muted_until=until))

    async def move(self, platform: str, old_address: str, new_address: str) -> int:
        """A group became a supergroup with a new id: move the chat (and so its subscriptions) to it."""
        async with self.engine.begin() as conn:
            existing = (await conn.execute(select(chats.c.id).where(
                chats.c.platform == platform, chats.c.address == new_address))).first()
            old = (await conn.execute(select(chats.c.id).where(
                chats.c.platform == platform, chats.c.address == old_address))).one()
            if existing is not None:  # the new id already talked to us: merge into it
                for table in (subscriptions, deliveries):
                    rows = (await conn.execute(select(table).where(table.c.chat_id == old.id))).all()
                    for row in rows:
                        values = {k: v for k, v in row._mapping.items() if k != "id"}
                        values["chat_id"] = existing.id
                        await conn.execute(on_conflict_do_nothing(conn, table).values(**values))
                await conn.execute(chats.delete().where(chats.c.id == old.id))
                merged_into: int = existing.id
                return merged_into
            await conn.execute(update(chats).where(chats.c.id == old.id).values(
                address=new_address, chat_type="supergroup", active=True))
            moved: int = old.id
            return moved

    async def set_language(self, chat_id: int, language: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(update(chats).where(chats.c.id == chat_id).values(language=language))

    async def set_active(self, chat_id: int, active: bool) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(update(chats).where(chats.c.id == chat_id).values(active=active))

    async def status(self, chat_id: int, since: datetime) -> ChatStatus:
        """What /status shows: feeds polled (and failing), the last poll, alerts sent since ``since``, waiting."""
        async with self.engine.connect() as conn:
            feeds_active = (await conn.execute(select(func.count()).select_from(feeds).where(
                feeds.c.active.is_(True)))).scalar()
            last_poll = (await conn.execute(select(func.max(feeds.c.last_checked_at)))).scalar()
            failing = (await conn.execute(select(func.count()).select_from(feeds).where(
                feeds.c.active.is_(True), feeds.c.error_count > 0))).scalar()
            sent_today = (await conn.execute(select(func.count()).select_from(deliveries).where(
                deliveries.c.chat_id == chat_id, deliveries.c.state == DeliveryState.SENT,
                deliveries.c.sent_at >= since))).scalar()
            pending = (await conn.execute(select(func.count()).select_from(deliveries).where(
                deliveries.c.chat_id == chat_id, deliveries.c.state.in_(
                    (DeliveryState.PENDING, DeliveryState.FAILED, DeliveryState.SENDING))))).scalar()
        return ChatStatus(feeds_active or 0, failing or 0, last_poll, sent_today or 0, pending or 0)
