"""Everything the service asks of the database, as plain async functions on plain data."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.model import Item, Match, Mention
from bot.store.db import utcnow
from bot.store.tables import chats, deliveries, feeds, items, notices, subscriptions


def _insert(conn: AsyncConnection, table):
    """INSERT ... ON CONFLICT DO NOTHING for the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise RuntimeError(f"unsupported database dialect {conn.dialect.name}")


@dataclass(frozen=True)
class FeedRow:
    id: int
    url: str
    name: str
    language: str | None
    interval: int | None
    etag: str | None
    last_modified: str | None
    error_count: int
    next_check_at: datetime
    last_success_at: datetime | None
    last_error: str | None
    active: bool
    source: str = "config"
    broken_since: datetime | None = None
    asked_interval: int | None = None  # what the feed asked (max-age, <ttl>) on its last full answer


@dataclass(frozen=True)
class StoredItem:
    id: int
    item: Item
    match: Match


@dataclass(frozen=True)
class ChatRow:
    id: int
    platform: str
    address: str
    language: str
    active: bool
    muted_until: datetime | None
    chat_type: str = "private"
    digest: str = "immediate"
    digest_time: str | None = None
    timezone: str = "UTC"
    quiet_start: str | None = None
    quiet_end: str | None = None
    next_digest_at: datetime | None = None


@dataclass(frozen=True)
class DeliveryJob:
    id: int
    attempts: int
    chat: ChatRow
    stored: StoredItem
    watchlists: tuple[str, ...]
    entities: tuple[str, ...]
    created_at: datetime | None = None
    lease_until: datetime | None = None  # this claim's lease: also its token (start_sending checks it)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


# ---------------------------------------------------------------- feeds

_FEED_COLS = (feeds.c.id, feeds.c.url, feeds.c.name, feeds.c.language, feeds.c.interval, feeds.c.etag,
              feeds.c.last_modified, feeds.c.error_count, feeds.c.next_check_at, feeds.c.last_success_at,
              feeds.c.last_error, feeds.c.active, feeds.c.source, feeds.c.broken_since, feeds.c.asked_interval)


def _feed_row(row) -> FeedRow:
    return FeedRow(**row._mapping)


async def sync_config_feeds(engine: AsyncEngine, configured: Sequence[tuple[str, str, str | None, int | None]]):
    """Make the store's config feeds equal to config.yaml's (url, name, language, interval) list.

    Feeds added from chat are left alone; config feeds no longer listed are deactivated, not deleted
    (their seen items keep them from alerting twice if they come back).
    """
    now = utcnow()
    urls = [c[0] for c in configured]
    async with engine.begin() as conn:
        existing = {r.url: r for r in (await conn.execute(select(feeds.c.id, feeds.c.url))).all()}
        for url, name, language, interval in configured:
            if url in existing:
                await conn.execute(
                    update(feeds).where(feeds.c.url == url).values(
                        name=name, language=language, interval=interval, active=True, source="config")
                )
            else:
                await conn.execute(insert(feeds).values(
                    url=url, name=name, language=language, interval=interval, source="config",
                    active=True, next_check_at=now, created_at=now))
        await conn.execute(
            update(feeds).where(and_(feeds.c.source == "config", feeds.c.url.not_in(urls) if urls else True))
            .values(active=False)
        )


async def list_feeds(engine: AsyncEngine, active_only: bool = True) -> list[FeedRow]:
    query = select(*_FEED_COLS).order_by(feeds.c.id)
    if active_only:
        query = query.where(feeds.c.active.is_(True))
    async with engine.connect() as conn:
        return [_feed_row(r) for r in (await conn.execute(query)).all()]


async def due_feeds(engine: AsyncEngine, now: datetime | None = None, limit: int = 1000,
                    lease: float = 120.0) -> list[FeedRow]:
    """Feeds whose time has come, claimed for ``lease`` seconds (FOR UPDATE SKIP LOCKED on PostgreSQL), so
    several workers split them; a worker that dies leaves its claims to expire."""
    now = now or utcnow()
    query = (select(*_FEED_COLS).where(
        feeds.c.active.is_(True), feeds.c.next_check_at <= now,
        or_(feeds.c.lease_until.is_(None), feeds.c.lease_until < now))
        .order_by(feeds.c.next_check_at).limit(limit).with_for_update(skip_locked=True, of=feeds))
    async with engine.begin() as conn:
        rows = [_feed_row(r) for r in (await conn.execute(query)).all()]
        if rows:
            await conn.execute(update(feeds).where(feeds.c.id.in_([r.id for r in rows])).values(
                lease_until=now + timedelta(seconds=lease)))
    return rows


async def record_poll_success(engine: AsyncEngine, feed_id: int, next_check_at: datetime,
                              etag: str | None, last_modified: str | None, asked_interval: int | None = None,
                              not_modified: bool = False) -> None:
    """A poll that worked. ``asked_interval`` is kept from a full answer; a 304 keeps the one stored then."""
    now = utcnow()
    values = {"etag": etag, "last_modified": last_modified, "next_check_at": next_check_at, "last_checked_at": now,
              "last_success_at": now, "error_count": 0, "last_error": None, "broken_since": None,
              "lease_until": None}
    if not not_modified or asked_interval is not None:
        values["asked_interval"] = asked_interval
    async with engine.begin() as conn:
        await conn.execute(update(feeds).where(feeds.c.id == feed_id).values(**values))


async def record_poll_failure(engine: AsyncEngine, feed_id: int, error: str, next_check_at: datetime,
                              broken: bool = False) -> None:
    values = {"error_count": feeds.c.error_count + 1, "last_error": error[:1000], "next_check_at": next_check_at,
              "last_checked_at": utcnow(), "lease_until": None}
    if broken:
        values["broken_since"] = func.coalesce(feeds.c.broken_since, utcnow())
    async with engine.begin() as conn:
        await conn.execute(update(feeds).where(feeds.c.id == feed_id).values(**values))


# ---------------------------------------------------------------- items

def _mentions_json(mentions: Iterable[Mention]) -> str:
    return json.dumps([[m.entity_id, m.start, m.end] for m in mentions])


def _stored_item(row, feed_name: str) -> StoredItem:
    item = Item(key=row.key, title=row.title, summary=row.summary, link=row.link,
                published=row.published_at, language=row.language, feed_name=feed_name)
    text = item.text
    mentions = tuple(Mention(e, text[s:t], s, t) for e, s, t in json.loads(row.mentions))
    return StoredItem(row.id, item, Match(mentions, tuple(json.loads(row.watchlists))))


async def new_item_keys(engine: AsyncEngine, feed_id: int, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` this feed has never stored."""
    if not keys:
        return set()
    by_hash = {key_hash(k): k for k in keys}
    found: set[str] = set()
    hashes = list(by_hash)
    async with engine.connect() as conn:
        for i in range(0, len(hashes), 500):
            chunk = hashes[i:i + 500]
            rows = await conn.execute(select(items.c.key_hash).where(
                items.c.feed_id == feed_id, items.c.key_hash.in_(chunk)))
            found.update(r.key_hash for r in rows)
    return {k for h, k in by_hash.items() if h not in found}


async def store_items(engine: AsyncEngine, feed_id: int, matched: Sequence[tuple[Item, Match]],
                      extra: Sequence[dict] | None = None) -> list[StoredItem]:
    """Insert items never seen before; returns only those this call inserted (a race loses nothing twice).

    ``extra``: per item, more column values (canonical_url, fingerprint)."""
    now = utcnow()
    rows = []
    by_hash: dict[str, tuple[Item, Match]] = {}
    for i, (item, match) in enumerate(matched):
        h = key_hash(item.key)
        by_hash[h] = (item, match)
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
    async with engine.begin() as conn:
        for i in range(0, len(rows), 100):  # one multi-row INSERT ... ON CONFLICT DO NOTHING RETURNING per chunk
            chunk = rows[i:i + 100]
            stmt = _insert(conn, items).values(chunk).returning(items.c.id, items.c.key_hash)
            inserted = {r.key_hash: r.id for r in await conn.execute(stmt)}
            for row in chunk:
                if row["key_hash"] in inserted:
                    item, match = by_hash[row["key_hash"]]
                    out.append(StoredItem(inserted[row["key_hash"]], item, match))
    return out


# ---------------------------------------------------------------- chats and subscriptions

_CHAT_COLS = (chats.c.id, chats.c.platform, chats.c.address, chats.c.language, chats.c.active, chats.c.muted_until,
              chats.c.chat_type, chats.c.digest, chats.c.digest_time, chats.c.timezone, chats.c.quiet_start,
              chats.c.quiet_end, chats.c.next_digest_at)


async def ensure_chat(engine: AsyncEngine, platform: str, address: str, language: str = "en",
                      title: str | None = None, chat_type: str = "private") -> ChatRow:
    """The chat's row, created on first contact (with this language); an inactive chat that talks is active again."""
    async with engine.begin() as conn:
        await conn.execute(_insert(conn, chats).values(
            platform=platform, address=address, language=language, title=title, active=True,
            chat_type=chat_type, created_at=utcnow()))
        row = (await conn.execute(select(*_CHAT_COLS).where(
            chats.c.platform == platform, chats.c.address == address))).one()
        if not row.active or (row.chat_type != chat_type and chat_type != "private"):
            await conn.execute(update(chats).where(chats.c.id == row.id).values(active=True, chat_type=chat_type))
            row = (await conn.execute(select(*_CHAT_COLS).where(chats.c.id == row.id))).one()
    return ChatRow(**row._mapping)


async def get_chat(engine: AsyncEngine, platform: str, address: str) -> ChatRow | None:
    async with engine.connect() as conn:
        row = (await conn.execute(select(*_CHAT_COLS).where(
            chats.c.platform == platform, chats.c.address == address))).first()
    return ChatRow(**row._mapping) if row else None


async def update_chat(engine: AsyncEngine, chat_id: int, **values) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(chats).where(chats.c.id == chat_id).values(**values))


async def chats_by_id(engine: AsyncEngine, ids: Iterable[int]) -> dict[int, ChatRow]:
    ids = list(ids)
    if not ids:
        return {}
    async with engine.connect() as conn:
        rows = await conn.execute(select(*_CHAT_COLS).where(chats.c.id.in_(ids)))
        return {r.id: ChatRow(**r._mapping) for r in rows}


@dataclass(frozen=True)
class HeldAlert:
    delivery_id: int
    title: str
    link: str
    feed_name: str
    watchlists: tuple[str, ...]
    entities: tuple[str, ...]


async def due_held(engine: AsyncEngine, platforms: Sequence[str], now: datetime | None = None
                   ) -> list[tuple[ChatRow, list[HeldAlert]]]:
    """Alerts held for a digest or quiet hours whose time has come, per chat (active, not muted)."""
    now = now or utcnow()
    query = (
        select(deliveries.c.id.label("delivery_id"), deliveries.c.watchlists.label("d_wl"),
               deliveries.c.entities.label("d_ent"), items.c.title, items.c.link, feeds.c.name.label("feed_name"),
               *[c.label(f"chat_{c.name}") for c in _CHAT_COLS])
        .select_from(deliveries.join(chats, chats.c.id == deliveries.c.chat_id)
                     .join(items, items.c.id == deliveries.c.item_id).join(feeds, feeds.c.id == items.c.feed_id))
        .where(deliveries.c.state == "held", deliveries.c.next_attempt_at <= now, chats.c.active.is_(True),
               chats.c.platform.in_(platforms), or_(chats.c.muted_until.is_(None), chats.c.muted_until <= now))
        .order_by(chats.c.id, deliveries.c.id)
    )
    out: dict[int, tuple[ChatRow, list[HeldAlert]]] = {}
    async with engine.connect() as conn:
        for row in await conn.execute(query):
            m = row._mapping
            chat = ChatRow(**{c.name: m[f"chat_{c.name}"] for c in _CHAT_COLS})
            entry = out.setdefault(chat.id, (chat, []))
            entry[1].append(HeldAlert(row.delivery_id, row.title, row.link, row.feed_name,
                                      tuple(json.loads(row.d_wl)), tuple(json.loads(row.d_ent))))
    return list(out.values())


async def mark_sent_many(engine: AsyncEngine, delivery_ids: Sequence[int]) -> None:
    if not delivery_ids:
        return
    async with engine.begin() as conn:
        await conn.execute(update(deliveries).where(deliveries.c.id.in_(list(delivery_ids))).values(
            state="sent", sent_at=utcnow(), attempts=deliveries.c.attempts + 1))


async def set_chat_muted(engine: AsyncEngine, chat_id: int, until: datetime | None) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(chats).where(chats.c.id == chat_id).values(muted_until=until))


async def migrate_chat(engine: AsyncEngine, platform: str, old_address: str, new_address: str) -> int:
    """A group became a supergroup with a new id: move the chat (and so its subscriptions) to it."""
    async with engine.begin() as conn:
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
                    await conn.execute(_insert(conn, table).values(**values))
            await conn.execute(chats.delete().where(chats.c.id == old.id))
            return existing.id
        await conn.execute(update(chats).where(chats.c.id == old.id).values(
            address=new_address, chat_type="supergroup", active=True))
        return old.id


async def set_chat_language(engine: AsyncEngine, chat_id: int, language: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(chats).where(chats.c.id == chat_id).values(language=language))


async def set_chat_active(engine: AsyncEngine, chat_id: int, active: bool) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(chats).where(chats.c.id == chat_id).values(active=active))


async def replace_subscriptions(engine: AsyncEngine, chat_id: int, kind: str, targets: Iterable[str]) -> None:
    targets = list(dict.fromkeys(targets))
    now = utcnow()
    async with engine.begin() as conn:
        await conn.execute(subscriptions.delete().where(
            subscriptions.c.chat_id == chat_id, subscriptions.c.kind == kind,
            subscriptions.c.target.not_in(targets) if targets else True))
        for target in targets:
            await conn.execute(_insert(conn, subscriptions).values(
                chat_id=chat_id, kind=kind, target=target, created_at=now))


async def add_subscription(engine: AsyncEngine, chat_id: int, kind: str, target: str) -> bool:
    """True when added, False when the chat already followed it."""
    async with engine.begin() as conn:
        result = await conn.execute(_insert(conn, subscriptions).values(
            chat_id=chat_id, kind=kind, target=target, created_at=utcnow()))
        return result.rowcount == 1


async def remove_subscription(engine: AsyncEngine, chat_id: int, kind: str, target: str) -> bool:
    async with engine.begin() as conn:
        result = await conn.execute(subscriptions.delete().where(
            subscriptions.c.chat_id == chat_id, subscriptions.c.kind == kind, subscriptions.c.target == target))
        return result.rowcount > 0


async def chat_subscriptions(engine: AsyncEngine, chat_id: int) -> list[tuple[str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(subscriptions.c.kind, subscriptions.c.target).where(
            subscriptions.c.chat_id == chat_id).order_by(subscriptions.c.kind, subscriptions.c.target))
        return [(r.kind, r.target) for r in rows]


async def subscribers(engine: AsyncEngine, watchlist_ids: Sequence[str], entity_ids: Sequence[str],
                      phrases: Sequence[str] = ()) -> dict[int, tuple[list[str], list[str]]]:
    """Active chats following any of these watchlists, entities or phrases → (watchlists, entities) they follow.

    A followed phrase is reported among the entities as ``phrase:<the phrase>``."""
    conditions = []
    if watchlist_ids:
        conditions.append(and_(subscriptions.c.kind == "watchlist", subscriptions.c.target.in_(watchlist_ids)))
    if entity_ids:
        conditions.append(and_(subscriptions.c.kind == "entity", subscriptions.c.target.in_(entity_ids)))
    if phrases:
        conditions.append(and_(subscriptions.c.kind == "phrase", subscriptions.c.target.in_(phrases)))
    if not conditions:
        return {}
    query = (select(subscriptions.c.chat_id, subscriptions.c.kind, subscriptions.c.target)
             .join(chats, chats.c.id == subscriptions.c.chat_id)
             .where(chats.c.active.is_(True), or_(*conditions)))
    out: dict[int, tuple[list[str], list[str]]] = {}
    async with engine.connect() as conn:
        for row in await conn.execute(query):
            wl, ents = out.setdefault(row.chat_id, ([], []))
            if row.kind == "watchlist":
                wl.append(row.target)
            else:
                ents.append(row.target if row.kind == "entity" else f"phrase:{row.target}")
    return out


async def platform_subscriptions(engine: AsyncEngine, platform: str) -> dict[str, list[tuple[str, str]]]:
    """Every active chat of a platform → what it follows (for Slack's App Home)."""
    out: dict[str, list[tuple[str, str]]] = {}
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(chats.c.address, subscriptions.c.kind, subscriptions.c.target)
            .join(subscriptions, subscriptions.c.chat_id == chats.c.id)
            .where(chats.c.platform == platform, chats.c.active.is_(True))
            .order_by(chats.c.address, subscriptions.c.kind, subscriptions.c.target))
        for row in rows:
            out.setdefault(row.address, []).append((row.kind, row.target))
    return out


async def followed_phrases(engine: AsyncEngine) -> list[str]:
    """Every phrase some active chat follows (normalized), for the per-poll phrase automaton."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(subscriptions.c.target).distinct().join(chats, chats.c.id == subscriptions.c.chat_id)
            .where(subscriptions.c.kind == "phrase", chats.c.active.is_(True)).order_by(subscriptions.c.target))
        return [r.target for r in rows]


async def chat_status(engine: AsyncEngine, chat_id: int, since: datetime) -> dict:
    async with engine.connect() as conn:
        feeds_active = (await conn.execute(select(func.count()).select_from(feeds).where(
            feeds.c.active.is_(True)))).scalar()
        last_poll = (await conn.execute(select(func.max(feeds.c.last_checked_at)))).scalar()
        failing = (await conn.execute(select(func.count()).select_from(feeds).where(
            feeds.c.active.is_(True), feeds.c.error_count > 0))).scalar()
        sent_today = (await conn.execute(select(func.count()).select_from(deliveries).where(
            deliveries.c.chat_id == chat_id, deliveries.c.state == "sent", deliveries.c.sent_at >= since))).scalar()
        pending = (await conn.execute(select(func.count()).select_from(deliveries).where(
            deliveries.c.chat_id == chat_id, deliveries.c.state.in_(("pending", "failed", "sending"))))).scalar()
    return {"feeds": feeds_active, "failing": failing, "last_poll": last_poll, "sent_today": sent_today,
            "pending": pending}


async def add_feed(engine: AsyncEngine, url: str, name: str, source: str = "chat") -> tuple[int, bool]:
    """(feed id, created). A feed that exists is re-activated."""
    now = utcnow()
    async with engine.begin() as conn:
        row = (await conn.execute(select(feeds.c.id, feeds.c.active).where(feeds.c.url == url))).first()
        if row is not None:
            await conn.execute(update(feeds).where(feeds.c.id == row.id).values(active=True, next_check_at=now))
            return row.id, not row.active
        result = await conn.execute(insert(feeds).values(
            url=url, name=name, source=source, active=True, next_check_at=now, created_at=now))
        return result.inserted_primary_key[0], True


async def deactivate_feed(engine: AsyncEngine, feed_id: int) -> bool:
    async with engine.begin() as conn:
        result = await conn.execute(update(feeds).where(feeds.c.id == feed_id, feeds.c.active.is_(True))
                                    .values(active=False))
        return result.rowcount > 0


# ---------------------------------------------------------------- deliveries

async def recent_items(engine: AsyncEngine, since: datetime, limit: int = 5000) -> list:
    """Items fetched since ``since`` (newest first) with what story grouping compares."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(items.c.id, items.c.story_id, items.c.canonical_url, items.c.fingerprint, items.c.language,
                   items.c.entities, items.c.published_at, items.c.fetched_at)
            .where(items.c.fetched_at >= since).order_by(items.c.id.desc()).limit(limit))
        return rows.all()


async def create_deliveries(engine: AsyncEngine, item_id: int,
                            targets: dict[int, tuple[list[str], list[str]]], story_id: int | None = None,
                            urgent: bool = False, held_until: dict[int, datetime] | None = None) -> int:
    """One delivery row per (chat, item), and per (chat, story): a chat that already has an alert for this
    story gets none for another source of it. ``held_until``: chats whose alert waits for a digest."""
    now = utcnow()
    created = 0
    async with engine.begin() as conn:
        already: set[int] = set()
        if story_id is not None and targets:
            rows = await conn.execute(select(deliveries.c.chat_id).where(
                deliveries.c.story_id == story_id, deliveries.c.chat_id.in_(list(targets))))
            already = {r.chat_id for r in rows}
        for chat_id, (wl, ents) in targets.items():
            if chat_id in already:
                continue
            hold = (held_until or {}).get(chat_id)
            result = await conn.execute(_insert(conn, deliveries).values(
                chat_id=chat_id, item_id=item_id, state="held" if hold else "pending", attempts=0,
                watchlists=json.dumps(sorted(wl)), entities=json.dumps(sorted(ents)),
                next_attempt_at=hold or now, created_at=now, story_id=story_id, urgent=urgent))
            created += result.rowcount
    return created


async def claim_deliveries(engine: AsyncEngine, limit: int = 100, platforms: Sequence[str] = (),
                           now: datetime | None = None, lease: float = 300.0) -> list[DeliveryJob]:
    """Due deliveries of active, unmuted chats on these platforms, claimed for ``lease`` seconds (oldest first).

    On PostgreSQL the rows are locked FOR UPDATE SKIP LOCKED while claimed, so workers never take the same one.
    A claimed row is ``claimed`` (not yet sent): if its worker dies, it returns to the pool when the lease ends."""
    now = now or utcnow()
    query = (
        select(
            deliveries.c.id.label("delivery_id"), deliveries.c.attempts, deliveries.c.watchlists.label("d_wl"),
            deliveries.c.entities.label("d_ent"), deliveries.c.created_at.label("d_created"),
            chats.c.id.label("chat_id"), chats.c.platform, chats.c.address,
            chats.c.language.label("chat_language"), chats.c.active, chats.c.muted_until, chats.c.chat_type,
            items.c.id, items.c.key, items.c.title, items.c.summary, items.c.link, items.c.published_at,
            items.c.language, items.c.mentions, items.c.watchlists, feeds.c.name.label("feed_name"),
        )
        .select_from(deliveries.join(chats, chats.c.id == deliveries.c.chat_id)
                     .join(items, items.c.id == deliveries.c.item_id)
                     .join(feeds, feeds.c.id == items.c.feed_id))
        .where(deliveries.c.state.in_(("pending", "failed")), deliveries.c.next_attempt_at <= now,
               chats.c.platform.in_(platforms), chats.c.active.is_(True),
               or_(chats.c.muted_until.is_(None), chats.c.muted_until <= now),
               or_(chats.c.next_send_at.is_(None), chats.c.next_send_at <= now))
        .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=deliveries)
    )
    jobs: list[DeliveryJob] = []
    async with engine.begin() as conn:
        rows = (await conn.execute(query)).all()
        lease_until = now + timedelta(seconds=lease)
        if rows:
            await conn.execute(update(deliveries).where(deliveries.c.id.in_([r.delivery_id for r in rows])).values(
                state="claimed", attempts=deliveries.c.attempts + 1, lease_until=lease_until))
        for row in rows:
            chat = ChatRow(row.chat_id, row.platform, row.address, row.chat_language, row.active, row.muted_until,
                           row.chat_type)  # the digest fields are not needed to send one alert
            jobs.append(DeliveryJob(row.delivery_id, row.attempts + 1, chat, _stored_item(row, row.feed_name),
                                    tuple(json.loads(row.d_wl)), tuple(json.loads(row.d_ent)), row.d_created,
                                    lease_until))
    return jobs


async def mark_delivery(engine: AsyncEngine, delivery_id: int, state: str, error: str | None = None,
                        retry_at: datetime | None = None) -> None:
    values: dict = {"state": state, "last_error": error[:1000] if error else None, "lease_until": None}
    if state == "sent":
        values["sent_at"] = utcnow()
    if retry_at is not None:
        values["next_attempt_at"] = retry_at
    async with engine.begin() as conn:
        await conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(**values))


async def postpone_delivery(engine: AsyncEngine, delivery_id: int, until: datetime) -> None:
    """Give a claimed delivery back untried (a rate limit said not yet): no attempt is counted."""
    async with engine.begin() as conn:
        await conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(
            state="pending", attempts=deliveries.c.attempts - 1, next_attempt_at=until, lease_until=None))


async def start_sending(engine: AsyncEngine, delivery_id: int, chat_id: int, chat_interval: float,
                        lease: float = 120.0, claimed_until: datetime | None = None) -> bool | None:
    """Right before the request: take the chat's send slot (shared by all workers) and mark the row ``sending``.

    False when another worker sent to this chat less than ``chat_interval`` seconds ago; None when this worker's
    claim is no longer its own (the lease ran out and another worker took the row): then it must not send."""
    now = utcnow()
    async with engine.begin() as conn:
        if claimed_until is not None:
            mine = await conn.execute(update(deliveries).where(
                deliveries.c.id == delivery_id, deliveries.c.state == "claimed",
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
            state="sending", lease_until=now + timedelta(seconds=lease)))
    return True


async def reclaim_expired(engine: AsyncEngine, unknown_outcome_delay: float) -> tuple[int, int]:
    """Leases of dead workers: claimed rows go back at once; rows cut mid-send only after the unknown-outcome
    delay (the platform may have shown them). Returns (claimed, sending) rows returned to the pool."""
    now = utcnow()
    async with engine.begin() as conn:
        claimed = await conn.execute(update(deliveries).where(
            deliveries.c.state == "claimed", deliveries.c.lease_until < now).values(
            state="pending", lease_until=None, next_attempt_at=now))
        sending = await conn.execute(update(deliveries).where(
            deliveries.c.state == "sending", deliveries.c.lease_until < now).values(
            state="pending", lease_until=None, next_attempt_at=now + timedelta(seconds=unknown_outcome_delay)))
    return claimed.rowcount, sending.rowcount


async def requeue_interrupted(engine: AsyncEngine, delay: float = 0.0) -> int:
    """At start of a single process: deliveries left ``claimed`` go back at once, those left ``sending`` (outcome
    unknown: the platform may have shown them) ``delay`` seconds from now — at least once, never within seconds.
    Several workers on one database rely on lease expiry instead (reclaim_expired)."""
    now = utcnow()
    async with engine.begin() as conn:
        claimed = await conn.execute(update(deliveries).where(deliveries.c.state == "claimed").values(
            state="pending", lease_until=None, next_attempt_at=now))
        sending = await conn.execute(update(deliveries).where(deliveries.c.state == "sending").values(
            state="pending", lease_until=None, next_attempt_at=now + timedelta(seconds=delay)))
        return claimed.rowcount + sending.rowcount


async def delivery_counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(deliveries.c.state, func.count()).group_by(deliveries.c.state))
        return {state: n for state, n in rows.all()}


# ---------------------------------------------------------------- administrator notices


@dataclass(frozen=True)
class NoticeJob:
    id: int
    platform: str
    address: str
    key: str
    params: dict
    attempts: int
    lease_until: datetime


async def create_notices(engine: AsyncEngine, targets: Sequence[tuple[str, str]], key: str, params: dict) -> int:
    """One stored notice per (platform, address); sent by the dispatcher like alerts."""
    if not targets:
        return 0
    now = utcnow()
    payload = json.dumps(params, ensure_ascii=False, default=str)
    async with engine.begin() as conn:
        await conn.execute(insert(notices), [
            {"platform": p, "address": a, "key": key, "params": payload, "next_attempt_at": now, "created_at": now}
            for p, a in targets])
    return len(targets)


async def claim_notices(engine: AsyncEngine, platforms: Sequence[str], limit: int = 20,
                        lease: float = 120.0) -> list[NoticeJob]:
    now = utcnow()
    until = now + timedelta(seconds=lease)
    query = (select(notices).where(
        notices.c.state == "pending", notices.c.next_attempt_at <= now, notices.c.platform.in_(list(platforms)),
        or_(notices.c.lease_until.is_(None), notices.c.lease_until < now))
        .order_by(notices.c.id).limit(limit).with_for_update(skip_locked=True, of=notices))
    async with engine.begin() as conn:
        rows = (await conn.execute(query)).all()
        if rows:
            await conn.execute(update(notices).where(notices.c.id.in_([r.id for r in rows])).values(
                lease_until=until))
    return [NoticeJob(r.id, r.platform, r.address, r.key, json.loads(r.params or "{}"), r.attempts, until)
            for r in rows]


async def finish_notice(engine: AsyncEngine, job: NoticeJob, state: str, error: str | None = None,
                        retry_at: datetime | None = None) -> bool:
    """sent, dead, or pending again at ``retry_at``; only while this claim's lease is still its own."""
    values: dict = {"state": state, "lease_until": None, "last_error": error[:1000] if error else None}
    if state == "sent":
        values["sent_at"] = utcnow()
    if retry_at is not None:
        values["next_attempt_at"] = retry_at
        values["attempts"] = notices.c.attempts + 1
    async with engine.begin() as conn:
        result = await conn.execute(update(notices).where(
            notices.c.id == job.id, notices.c.lease_until == job.lease_until).values(**values))
    return result.rowcount == 1
