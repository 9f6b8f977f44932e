"""Subscriptions: what each chat follows (watchlists, entities, phrases), and who follows what an item mentions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import and_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.model import Followed, SubscriptionKind, Target
from bot.store.db import on_conflict_do_nothing, utcnow
from bot.store.tables import chats, subscriptions


class SubscriptionStore:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine

    async def replace(self, chat_id: int, kind: SubscriptionKind, ids: Iterable[str]) -> None:
        """The chat follows exactly ``ids`` of this kind (others of the kind are dropped)."""
        targets = list(dict.fromkeys(ids))
        now = utcnow()
        async with self.engine.begin() as conn:
            await conn.execute(subscriptions.delete().where(
                subscriptions.c.chat_id == chat_id, subscriptions.c.kind == kind,
                subscriptions.c.target.not_in(targets) if targets else true()))
            for target in targets:
                await conn.execute(on_conflict_do_nothing(conn, subscriptions).values(
                    chat_id=chat_id, kind=kind, target=target, created_at=now))

    async def add(self, chat_id: int, target: Target) -> bool:
        """True when added, False when the chat already followed it."""
        async with self.engine.begin() as conn:
            result = await conn.execute(on_conflict_do_nothing(conn, subscriptions).values(
                chat_id=chat_id, kind=target.kind, target=target.id, created_at=utcnow()))
            return result.rowcount == 1

    async def remove(self, chat_id: int, target: Target) -> bool:
        async with self.engine.begin() as conn:
            result = await conn.execute(subscriptions.delete().where(
                subscriptions.c.chat_id == chat_id, subscriptions.c.kind == target.kind,
                subscriptions.c.target == target.id))
            return result.rowcount > 0

    async def of_chat(self, chat_id: int) -> list[Target]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(subscriptions.c.kind, subscriptions.c.target).where(
                subscriptions.c.chat_id == chat_id).order_by(subscriptions.c.kind, subscriptions.c.target))
            return [Target(r.kind, r.target) for r in rows]

    async def subscribers(self, watchlist_ids: Sequence[str], entity_ids: Sequence[str],
                          phrases: Sequence[str] = ()) -> dict[int, Followed]:
        """Active chats following any of these watchlists, entities or phrases → what each of them follows."""
        conditions = []
        for kind, targets in ((SubscriptionKind.WATCHLIST, watchlist_ids), (SubscriptionKind.ENTITY, entity_ids),
                              (SubscriptionKind.PHRASE, phrases)):
            if targets:
                conditions.append(and_(subscriptions.c.kind == kind, subscriptions.c.target.in_(list(targets))))
        if not conditions:
            return {}
        query = (select(subscriptions.c.chat_id, subscriptions.c.kind, subscriptions.c.target)
                 .join(chats, chats.c.id == subscriptions.c.chat_id)
                 .where(chats.c.active.is_(True), or_(*conditions)))
        found: dict[int, dict[str, list[str]]] = {}
        async with self.engine.connect() as conn:
            for row in await conn.execute(query):
                found.setdefault(row.chat_id, {}).setdefault(row.kind, []).append(row.target)
        return {chat_id: Followed(tuple(kinds.get(SubscriptionKind.WATCHLIST, ())),
                                  tuple(kinds.get(SubscriptionKind.ENTITY, ())),
                                  tuple(kinds.get(SubscriptionKind.PHRASE, ())))
                for chat_id, kinds in found.items()}

    async def by_platform(self, platform: str) -> dict[str, list[Target]]:
        """Every active chat of a platform → what it follows (for Slack's App Home)."""
        out: dict[str, list[Target]] = {}
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(chats.c.address, subscriptions.c.kind, subscriptions.c.target)
                .join(subscriptions, subscriptions.c.chat_id == chats.c.id)
                .where(chats.c.platform == platform, chats.c.active.is_(True))
                .order_by(chats.c.address, subscriptions.c.kind, subscriptions.c.target))
            for row in rows:
                out.setdefault(row.address, []).append(Target(row.kind, row.target))
        return out

    async def phrases(self) -> list[str]:
        """Every phrase some active chat follows (normalized), for the per-poll phrase automaton."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(subscriptions.c.target).distinct().join(chats, chats.c.id == subscriptions.c.chat_id)
                .where(subscriptions.c.kind == SubscriptionKind.PHRASE, chats.c.active.is_(True)).order_by(subscriptions.c.target))
            return [r.target for r in rows]
