"""Items: what feeds published, stored once per feed (by the hash of a stable key), with their matches."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TypedDict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.model import Item, Match, Mention, RecentItem, StoredItem
from bot.store.db import AnyRow, on_conflict_do_nothing, utcnow
from bot.store.tables import items


class StoryColumns(TypedDict, total=False):
    """What story grouping stores with an item (``ItemStore.store``'s ``extra``)."""

    canonical_url: str | None
    fingerprint: str | None
    story_id: int | None


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _mentions_json(mentions: Iterable[Mention]) -> str:
    return json.dumps([[m.entity_id, m.start, m.end] for m in mentions])


def stored_item(row: AnyRow, feed_name: str) -> StoredItem:
    """An item row (key, title, summary, link, published_at, language, mentions, watchlists) as pipeline data."""
    item = Item(key=row.key, title=row.title, summary=row.summary, link=row.link,
                published=row.published_at, language=row.language, feed_name=feed_name)
    text = item.text
    mentions = tuple(Mention(e, text[s:t], s, t) for e, s, t in json.loads(row.mentions))
    return StoredItem(row.id, item, Match(mentions, tuple(json.loads(row.watchlists))))


class ItemStore:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine

    async def new_keys(self, feed_id: int, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` this feed has never stored."""
        if not keys:
            return set()
        by_hash = {key_hash(k): k for k in keys}
        found: set[str] = set()
        hashes = list(by_hash)
        async with self.engine.connect() as conn:
            for i in range(0, len(hashes), 500):
                chunk = hashes[i:i + 500]
                rows = await conn.execute(select(items.c.key_hash).where(
                    items.c.feed_id == feed_id, items.c.key_hash.in_(chunk)))
                found.update(r.key_hash for r in rows)
        return {k for h, k in by_hash.items() if h not in found}

    async def store(self, feed_id: int, matched: Sequence[tuple[Item, Match]],
                          extra: Sequence[StoryColumns] | None = None) -> list[StoredItem]:
        """Insert items never seen before; returns only those this call inserted (a race loses nothing twice).

        ``extra``: per item, more column values (canonical_url, fingerprint)."""
        now = utcnow()
        rows: list[dict[str, object]] = []
        hashes: list[str] = []  # rows[i]'s key hash
        by_hash: dict[str, tuple[Item, Match]] = {}
        for i, (item, match) in enumerate(matched):
            h = key_hash(item.key)
            by_hash[h] = (item, match)
            hashes.append(h)
            rows.append({
                **(extra[i] if extra else {}),
                "feed_id": feed_id, "key_hash": h, "key": item.key, "title": item.title, "summary": item.summary,
                "link": item.link, "language": item.language, "published_at": item.published, "fetched_at": now,
                "entities": json.dumps(list(match.entity_ids)), "watchlists": json.dumps(list(match.watchlists)),
                "mentions": _mentions_json(match.mentions),
            })
        if extra is None:
            for row in rows:
                row.update(canonical_url=None, fingerprint=None, story_id=None)
        out: list[StoredItem] = []
        async with self.engine.begin() as conn:
            for i in range(0, len(rows), 100):  # one multi-row INSERT ... ON CONFLICT DO NOTHING RETURNING per chunk
                chunk = rows[i:i + 100]
                stmt = on_conflict_do_nothing(conn, items).values(chunk).returning(items.c.id, items.c.key_hash)
                inserted: dict[str, int] = {r.key_hash: r.id for r in await conn.execute(stmt)}
                for h in hashes[i:i + 100]:
                    if h in inserted:
                        item, match = by_hash[h]
                        out.append(StoredItem(inserted[h], item, match))
        return out

    async def recent(self, since: datetime, limit: int = 5000) -> list[RecentItem]:
        """Items fetched since ``since`` (newest first) with what story grouping compares."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(items.c.id, items.c.story_id, items.c.canonical_url, items.c.fingerprint, items.c.language,
                       items.c.entities, items.c.published_at, items.c.fetched_at)
                .where(items.c.fetched_at >= since).order_by(items.c.id.desc()).limit(limit))
            return [RecentItem(r.id, r.story_id, r.canonical_url, r.fingerprint, r.language,
                               tuple(json.loads(r.entities)), r.published_at, r.fetched_at) for r in rows]
