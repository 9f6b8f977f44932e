"""Polling one feed: fetch → parse → keep new items → match → stories → fan-out (one delivery per chat and story).

The database decides which feed is due (``next_check_at``, leases); when to look next comes from the pure rules of
``bot.feeds.schedule``. A bad feed never stops the others, and a store error fails its feed visibly."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlparse

import httpx

from bot.config import PollConfig
from bot.delivery.held import holds
from bot.extract.catalog import Catalog
from bot.extract.matcher import RuleSet
from bot.extract.mentions import find_mentions
from bot.feeds.check import link_header_hub
from bot.feeds.fetch import FetchError, FetchResult, cache_max_age, fetch
from bot.feeds.learned import PublishingTimes
from bot.feeds.parse import ParsedFeed, ParseError, parse_feed
from bot.feeds.schedule import (
    adaptive_interval,
    asked_interval,
    failure_delay,
    feed_interval,
    learned_interval,
    learning_ceiling,
    next_check,
)
from bot.http.health import Health
from bot.http.metrics import Metrics
from bot.model import Entity, FeedRow, Match, StoredItem
from bot.rules.holder import RulesHolder
from bot.rules.worker import WorkerError
from bot.store import Store
from bot.store.db import utcnow
from bot.store.items import StoryColumns
from bot.stories import WINDOW as STORY_WINDOW
from bot.stories import StoryCandidate, StoryIndex, canonical_url, fingerprint

log = logging.getLogger(__name__)

Notify = Callable[..., Awaitable[None]]  # notify(key, **values): tell the bot administrators


@dataclass
class PollSummary:
    feeds_polled: int = 0
    feeds_failed: int = 0
    new_items: int = 0
    duplicates: int = 0  # new items that joined an earlier story
    deliveries_created: int = 0
    alerts_sent: int = 0
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = f"{self.feeds_polled} feeds polled, {self.new_items} new items, {self.alerts_sent} alerts sent"
        if self.feeds_failed:
            text += f", {self.feeds_failed} feeds failed"
        return text


class Stories:
    """Recent items for story grouping: loaded from the store once, then kept up to date in memory."""

    PRUNE_EVERY = timedelta(minutes=10)

    def __init__(self, store: Store):
        self.store = store
        self._index: StoryIndex | None = None
        self._pruned = utcnow()

    async def index(self, now: datetime) -> StoryIndex:
        if self._index is None:
            # built whole before it is shared: feeds polled at the same moment after a start must not see an
            # index still loading (their items would start stories of their own: a second alert, issue 15)
            recent = await self.store.items.recent(now - STORY_WINDOW, limit=50_000)
            if self._index is None:
                index = StoryIndex()
                for r in recent:
                    index.add(StoryCandidate(r.id, r.story_id or r.id, r.canonical_url, r.fingerprint or "",
                                             r.language, frozenset(r.entities), r.published_at or r.fetched_at))
                self._index = index
        elif now - self._pruned > self.PRUNE_EVERY:
            self._index.prune(now)
            self._pruned = now
        return self._index


class Phrases:
    """The words chats follow, compiled like aliases (clitics, whole words). Compiled again only when the set of
    phrases changes (one query per poll compares it), in a worker thread, once however many feeds ask at that
    moment; until then the last automaton serves."""

    def __init__(self, store: Store):
        self.store = store
        self._compiled: tuple[frozenset[str], Catalog] | None = None
        self._lock = asyncio.Lock()

    async def catalog(self) -> Catalog | None:
        phrases = frozenset(await self.store.subscriptions.phrases())
        if not phrases:
            return None
        if self._compiled is None or self._compiled[0] != phrases:
            async with self._lock:
                if self._compiled is None or self._compiled[0] != phrases:
                    catalog = await asyncio.to_thread(Catalog, [Entity(p, "topic", {"en": p}) for p in sorted(phrases)])
                    self._compiled = (phrases, catalog)
        return self._compiled[1]


class Poller:
    def __init__(self, store: Store, poll: PollConfig, client: httpx.AsyncClient, rules: RulesHolder,
                 health: Health, metrics: Metrics, notify: Notify):
        self.store = store
        self.poll = poll
        self.client = client
        self.rules = rules
        self.health = health
        self.metrics = metrics
        self.notify = notify
        self.stories = Stories(store)
        self.phrases = Phrases(store)
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        self.on_hub: Callable[[FeedRow, str, str], Awaitable[None]] | None = None  # WebSub: a feed declares a hub
        self.pushed: set[int] = set()  # feeds a hub pushes: polled only as a slow safety net
        self._unrecorded: dict[int, str] = {}  # feeds whose failure the database could not take then
        self.times = PublishingTimes(store.feeds.published_times)  # read again only when new items arrive

    def _interval(self, feed: FeedRow, asked: int | None, learned: int | None = None) -> int:
        p = self.poll
        if p.adaptive:
            interval = adaptive_interval(feed.interval, p.interval, asked, learned, p.min_interval, p.max_interval)
        else:
            interval = feed_interval(feed.interval, p.interval, asked, p.min_interval, p.max_interval)
        return max(interval, p.push_interval) if feed.id in self.pushed else interval

    async def _learned(self, feed: FeedRow, now: datetime) -> int | None:
        if not self.poll.adaptive or feed.interval:
            return None
        times = await self.times.of(feed.id)
        return learned_interval(times, now, self.poll.min_interval, learning_ceiling(self.poll))

    async def ingest(self, feed_id: int, content: bytes, headers: dict[str, str]) -> PollSummary:
        """Content a WebSub hub pushed: the same pipeline as a poll (parse → new items → match → deliveries),
        so an item seen by both the push and a later poll is stored once."""
        summary = PollSummary()
        feed = await self.store.feeds.get(feed_id)
        if feed is None or not feed.active:
            return summary
        now = utcnow()
        try:
            parsed = await asyncio.to_thread(parse_feed, content, headers, feed.name, feed.language)
        except ParseError as exc:
            self.metrics.inc("rasad_fetch_errors_total", kind="push_parse")
            log.warning("feed %s: pushed content is not a feed: %s", feed.name, exc)
            return summary
        stored = await self._keep_new(parsed, feed, now, summary)
        summary.new_items += len(stored)
        self.metrics.inc("rasad_items_total", len(stored))
        self.metrics.inc("rasad_matches_total", sum(1 for s in stored if s.match.watchlists))
        log.info("feed %s: pushed %d items, %d new", feed.name, len(parsed.items), len(stored))
        return summary

    async def _hub_seen(self, feed: FeedRow, parsed: ParsedFeed, headers: dict[str, str]) -> None:
        hub = parsed.hub or link_header_hub(headers.get("link", ""))
        if hub is None or self.on_hub is None:
            return
        try:
            await self.on_hub(feed, hub, parsed.self_url or feed.url)
        except Exception:  # noqa: BLE001 - push is an extra: polling goes on whatever the hub does
            log.exception("feed %s: subscribing at its hub %s failed", feed.name, hub)

    async def poll_feeds(self, feeds: list[FeedRow], summary: PollSummary) -> None:
        """``poll.concurrency`` workers take feeds from one queue (not one task per feed: flat memory)."""
        queue = iter(feeds)

        async def worker() -> None:
            for feed in queue:  # a shared iterator: each feed goes to exactly one worker
                await self.poll_feed(feed, summary)

        await asyncio.gather(*(worker() for _ in range(min(self.poll.concurrency, len(feeds)))))

    async def poll_due(self) -> PollSummary:
        """The feeds whose time has come (claimed with a lease, so workers split them)."""
        summary = PollSummary()
        await self._record_unrecorded()
        feeds = await self.store.feeds.claim_due()
        if feeds:
            await self.poll_feeds(feeds, summary)
        return summary

    async def poll_feed(self, feed: FeedRow, summary: PollSummary) -> None:
        """Fetch, parse, keep new items, match, create deliveries. Never raises for a bad feed."""
        now = utcnow()
        try:
            result = await self._fetch(feed)
            if result.not_modified:
                await self._not_modified(feed, result, now, summary)
                return
            parsed = await asyncio.to_thread(parse_feed, result.content, result.headers, feed.name, feed.language)
        except (FetchError, ParseError) as exc:
            self.metrics.inc("rasad_fetch_errors_total", kind=getattr(exc, "kind", "parse"))
            await self._failed(feed, str(exc), getattr(exc, "retry_after", None), summary)
            return
        except Exception as exc:  # noqa: BLE001 - one feed's bug must not stop the others
            log.exception("feed %s (%s): unexpected error", feed.name, feed.url)
            await self._failed(feed, f"{type(exc).__name__}: {exc}", None, summary)
            return
        if parsed.warning:
            log.warning("feed %s: %s", feed.name, parsed.warning)
        try:
            stored = await self._keep_new(parsed, feed, now, summary)
        except WorkerError as exc:  # not the feed's fault: nothing stored, the feed is due again when its claim ends
            self.metrics.inc("rasad_fetch_errors_total", kind="matching")
            log.error("feed %s: matching failed, its items wait for the next poll: %s", feed.name, exc)
            return
        except Exception as exc:  # noqa: BLE001 - a store error fails this feed visibly, never the run
            reason = self.health.store_failed(exc, write=True)
            if reason is None:
                log.exception("feed %s (%s): unexpected error while storing", feed.name, feed.url)
                reason = f"{type(exc).__name__}: {exc}"
            await self._failed(feed, f"store: {reason}", None, summary)
            return
        if stored:
            self.health.store_works(wrote=True)
        asked = asked_interval(cache_max_age(result.headers), parsed.ttl_minutes)
        learned = await self._learned(feed, now)
        await self.store.feeds.record_success(feed.id, next_check(self._interval(feed, asked, learned), now),
                                              result.etag, result.last_modified, asked_interval=asked)
        await self._recovered(feed)
        await self._hub_seen(feed, parsed, result.headers)
        matched = sum(1 for s in stored if s.match.watchlists)
        summary.feeds_polled += 1
        summary.new_items += len(stored)
        self.metrics.inc("rasad_polls_total", outcome="ok")
        self.metrics.inc("rasad_items_total", len(stored))
        self.metrics.inc("rasad_matches_total", matched)
        log.info("feed %s: %d items, %d new, %d matched a watchlist", feed.name, len(parsed.items), len(stored),
                 matched)

    async def _fetch(self, feed: FeedRow) -> FetchResult:
        host = urlparse(feed.url).hostname or "local"
        slot = self._host_slots.setdefault(host, asyncio.Semaphore(self.poll.per_host))
        async with slot:
            return await fetch(self.client, feed.url, self.poll, feed.etag, feed.last_modified,
                               guard=feed.source == "chat" and not self.poll.allow_private)

    async def _not_modified(self, feed: FeedRow, result: FetchResult, now: datetime, summary: PollSummary) -> None:
        self.metrics.inc("rasad_polls_total", outcome="not_modified")
        log.debug("feed %s: not modified", feed.name)
        # a 304 carries no <ttl>: what the feed asked on its last full answer still holds
        asked = max(cache_max_age(result.headers) or 0, feed.asked_interval or 0) or None
        learned = await self._learned(feed, now)
        await self.store.feeds.record_success(feed.id, next_check(self._interval(feed, asked, learned), now),
                                              result.etag, result.last_modified, not_modified=True)
        await self._recovered(feed)
        summary.feeds_polled += 1

    async def _keep_new(self, parsed: ParsedFeed, feed: FeedRow, now: datetime,
                        summary: PollSummary) -> list[StoredItem]:
        """Store the items never seen before, group them into stories, create the deliveries."""
        fresh_keys = await self.store.items.new_keys(feed.id, [i.key for i in parsed.items])
        if not fresh_keys:
            return []
        rules = self.rules.in_force()  # one rule set for the whole feed, even if a reload lands meanwhile
        fresh = [item for item in parsed.items if item.key in fresh_keys]
        matched = list(zip(fresh, await rules.match([item.text for item in fresh]), strict=True))
        matcher = rules.rules
        stories = await self.stories.index(now)
        candidates: list[tuple[StoryCandidate, int | None]] = []
        extra: list[StoryColumns] = []
        for item, match in matched:
            candidate = StoryCandidate(0, 0, canonical_url(item.link), fingerprint(item.title, item.summary),
                                       item.language, frozenset(match.entity_ids), item.published or now)
            earlier = stories.find(candidate)  # an earlier item of the same story, known before storing
            candidates.append((candidate, earlier))
            extra.append({"canonical_url": candidate.canonical_url, "fingerprint": candidate.fingerprint,
                          "story_id": earlier})
        stored = await self.store.items.store(feed.id, matched, extra)
        if stored:
            self.times.changed(feed.id)
        by_key = {item.key: pair for (item, _), pair in zip(matched, candidates, strict=True)}
        phrases = await self.phrases.catalog() if stored else None
        for entry in stored:
            candidate, earlier = by_key[entry.item.key]
            story_id = earlier or entry.id
            stories.add(dataclasses.replace(candidate, item_id=entry.id, story_id=story_id))
            summary.duplicates += earlier is not None
            summary.deliveries_created += await self._fan_out(entry, story_id, matcher, phrases)
            if earlier is not None:  # the story grew: its alerts are edited to show the new source (issue 15)
                await self.store.edits.story_grew(story_id)
        return stored

    async def _fan_out(self, entry: StoredItem, story_id: int, matcher: RuleSet, phrases: Catalog | None) -> int:
        """One delivery per chat that follows what the item mentions (and per story: none for a later source)."""
        found = sorted({m.entity_id for m in find_mentions(phrases, entry.item.text)}) if phrases else []
        targets = await self.store.subscriptions.subscribers(entry.match.watchlists, entry.match.entity_ids,
                                                             phrases=found)
        if not targets:
            return 0
        urgent = is_urgent(entry.match, matcher)
        return await self.store.deliveries.create(entry.id, targets, story_id=story_id, urgent=urgent,
                                                  held_until=await holds(self.store, targets, urgent))

    async def _failed(self, feed: FeedRow, reason: str, retry_after: float | None, summary: PollSummary) -> None:
        failures = feed.error_count + 1
        broken = failures >= self.poll.broken_after
        delay = failure_delay(feed.interval or self.poll.interval, feed.error_count, broken, self.poll.broken_retry,
                              retry_after)
        log.warning("feed %s (%s) failed: %s; next try in %.0f s", feed.name, feed.url, reason, delay)
        summary.feeds_polled += 1
        summary.feeds_failed += 1
        summary.errors.append(f"{feed.name}: {reason}")
        self.metrics.inc("rasad_polls_total", outcome="failed")
        try:
            await self.store.feeds.record_failure(feed.id, reason, utcnow() + timedelta(seconds=delay),
                                                  broken=broken)
        except Exception as exc:  # noqa: BLE001 - the database itself is failing: record it when it answers
            self._unrecorded[feed.id] = reason
            log.warning("feed %s: the failure could not be recorded (%s); it is recorded when the database "
                        "answers again", feed.name, self.health.store_failed(exc, write=True) or exc)
            return
        self._unrecorded.pop(feed.id, None)
        if broken and feed.broken_since is None:
            log.error("feed %s is broken after %d failures in a row: %s", feed.name, failures, reason)
            await self.notify("admin.feed_broken", name=feed.name, url=feed.url, failures=failures,
                              error=reason[:200])

    async def _record_unrecorded(self) -> None:
        """Failures met while the database could not take them: recorded now, which also releases the claim."""
        if not self._unrecorded:
            return
        feeds = {f.id: f for f in await self.store.feeds.all()}
        for feed_id, reason in list(self._unrecorded.items()):
            self._unrecorded.pop(feed_id, None)
            if feed_id in feeds:
                await self._failed(feeds[feed_id], reason, None, PollSummary())

    async def _recovered(self, feed: FeedRow) -> None:
        if feed.broken_since is not None:
            log.info("feed %s recovered", feed.name)
            await self.notify("admin.feed_recovered", name=feed.name, url=feed.url)


def is_urgent(match: Match, matcher: RuleSet) -> bool:
    """An urgent watchlist or entity (YAML `urgent: true`) breaks through quiet hours and digests."""
    return (any(matcher.watchlists[w].urgent for w in match.watchlists if w in matcher.watchlists)
            or any(matcher.entities[e].urgent for e in match.entity_ids if e in matcher.entities))
