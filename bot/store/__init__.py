"""The store: one typed ``Store`` with one module per aggregate (feeds, items, chats, subscriptions, deliveries,
notices) over SQLAlchemy Core, on SQLite (embedded) or PostgreSQL (several workers)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.chats import ChatStore
from bot.store.db import create_engine, migrate, safe_url
from bot.store.deliveries import DeliveryStore
from bot.store.edits import EditStore
from bot.store.feeds import FeedStore
from bot.store.items import ItemStore
from bot.store.notices import NoticeStore
from bot.store.subscriptions import SubscriptionStore


class AdvisoryLock:
    """A PostgreSQL session lock held on its own connection until ``release``."""

    def __init__(self, conn: AsyncConnection | None):
        self._conn = conn

    async def release(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


class Store:
    def __init__(self, url: str, schema: str | None = None, engine: AsyncEngine | None = None):
        self.url = url
        self.engine = engine if engine is not None else create_engine(url, schema)
        self.feeds = FeedStore(self.engine)
        self.items = ItemStore(self.engine)
        self.chats = ChatStore(self.engine)
        self.subscriptions = SubscriptionStore(self.engine)
        self.deliveries = DeliveryStore(self.engine)
        self.notices = NoticeStore(self.engine)
        self.edits = EditStore(self.engine)
        self.followups = self.edits.followups  # developing stories: one follow-up per chat that opted in

    @classmethod
    def on(cls, engine: AsyncEngine) -> Store:
        """A Store over an engine made elsewhere (tests, benchmarks)."""
        return cls(engine.url.render_as_string(hide_password=False), engine=engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def shared(self) -> bool:
        """Several processes may use this database at once (PostgreSQL); SQLite belongs to one process."""
        return self.dialect == "postgresql"

    def describe(self) -> str:
        return safe_url(self.url)

    async def migrate(self) -> None:
        await migrate(self.engine)

    async def try_lock(self, key: int) -> AdvisoryLock | None:
        """A process-wide lock on a shared database (PostgreSQL advisory lock), or None when another holds it.
        On SQLite, which one process owns, the lock is always granted."""
        if not self.shared:
            return AdvisoryLock(None)
        conn = await self.engine.connect()
        if await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}):
            return AdvisoryLock(conn)
        await conn.close()
        return None

    async def close(self) -> None:
        await self.engine.dispose()


__all__ = ["AdvisoryLock", "Store"]
