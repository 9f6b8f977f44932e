"""Alerts that wait: which chats hold an alert (digest mode, quiet hours), and sending what is due as digests.

Held alerts are claimed like deliveries (``digesting`` with a lease, SKIP LOCKED on PostgreSQL), so two
``deliver`` workers never send the same digest; a digest that fails is held again and retried."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from bot.adapters.base import Adapter
from bot.alerts.i18n import t
from bot.delivery.digest import Digest, DigestEntry, in_quiet_hours, next_digest_at, quiet_ends_at
from bot.delivery.sources import also_line
from bot.extract.matcher import RuleSet
from bot.model import ChatRow, HeldAlert, StorySource
from bot.store import Store
from bot.store.db import utcnow

log = logging.getLogger(__name__)

DIGEST_RETRY = 60.0  # seconds before a digest that failed is tried again


async def holds(store: Store, chat_ids: Iterable[int], urgent: bool) -> dict[int, datetime]:
    """Chats whose alert waits: digest mode, or quiet hours now (unless the alert is urgent) → until when."""
    if urgent:
        return {}
    now = utcnow()
    out: dict[int, datetime] = {}
    for chat in (await store.chats.by_id(chat_ids)).values():
        if chat.digest in ("hourly", "daily"):
            when = chat.next_digest_at
            if when is None or when <= now:
                when = next_digest_at(chat.digest, chat.digest_time, chat.timezone, now)
                await store.chats.update(chat.id, next_digest_at=when)
            if when is not None:
                out[chat.id] = when
        elif chat.quiet_end and in_quiet_hours(chat.quiet_start, chat.quiet_end, chat.timezone, now):
            out[chat.id] = quiet_ends_at(chat.quiet_end, chat.timezone, now)
    return out


def build_digest(chat: ChatRow, held: list[HeldAlert], matcher: RuleSet,
                 sources: Mapping[int, Sequence[StorySource]] | None = None) -> Digest:
    """Held alerts grouped by the first watchlist that fired for the chat, in the chat's language. A held alert
    whose story grew meanwhile shows the story as it is now (its other feeds and count, from ``sources``); a story
    already sent in an earlier digest comes back as an "Update:" line with its count (never an edit of that
    digest), and not at all when no other feed carries it."""
    digest = Digest(chat.language)
    updated: set[int | None] = set()  # one "Update:" line per story (two workers may each have queued one)
    for alert in held:
        story = (sources or {}).get(alert.story_id or 0, ())
        also = also_line(story, alert.item_id, alert.feed_name) if story else None
        if alert.update and (also is None or alert.story_id in updated):
            continue
        if alert.update:
            updated.add(alert.story_id)
        names = [matcher.watchlists[w].name(chat.language) for w in alert.followed.watchlists
                 if w in matcher.watchlists]
        group = names[0] if names else t(chat.language, "digest.other")
        digest.groups.setdefault(group, []).append(
            DigestEntry(alert.title, alert.feed_name, alert.link, also=also, update=alert.update))
    return digest


async def story_sources(store: Store, held: list[HeldAlert]) -> dict[int, list[StorySource]]:
    return {s: await store.edits.sources(s) for s in {a.story_id for a in held if a.story_id is not None}}


async def send_digests(store: Store, adapters: Mapping[str, Adapter], matcher: RuleSet,
                       lease: float = 120.0) -> int:
    """Held alerts whose time has come go out as one digest per chat (split to the platform's limit)."""
    if not adapters:
        return 0
    sent = 0
    now = utcnow()
    for chat, held, lease_until in await store.deliveries.claim_held(tuple(adapters), now, lease=lease):
        ids = [a.delivery_id for a in held]
        digest = build_digest(chat, held, matcher, await story_sources(store, held))
        try:
            if digest.count:  # only "Update:" rows of stories no other feed carries: nothing to say
                await adapters[chat.platform].send_digest(chat.address, digest)
        except Exception as exc:  # noqa: BLE001 - held alerts stay held; a later tick tries again
            log.warning("digest to %s chat %s failed: %s", chat.platform, chat.id, exc)
            await store.deliveries.finish_digest(ids, lease_until, sent=False,
                                                 retry_at=utcnow() + timedelta(seconds=DIGEST_RETRY))
            continue
        await store.deliveries.finish_digest(ids, lease_until, sent=True)
        if chat.digest in ("hourly", "daily"):
            await store.chats.update(chat.id, next_digest_at=next_digest_at(
                chat.digest, chat.digest_time, chat.timezone, now))
        sent += 1
        log.info("digest of %d alerts sent to %s chat %s", len(held), chat.platform, chat.id)
    return sent
