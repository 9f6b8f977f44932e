"""Wiring: store, rules, polling, matching, delivery; one asyncio loop runs them all."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import random
import signal
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlparse

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.alerts.i18n import t
from bot.chat.base import Adapter
from bot.chat.commands import Commands
from bot.chat.console import CONSOLE_ADDRESS, ConsoleAdapter
from bot.chat.resolve import Resolver
from bot.config import ConfigError, Settings
from bot.delivery.digest import Digest, DigestEntry, in_quiet_hours, next_digest_at, quiet_ends_at
from bot.delivery.notices import send_notices
from bot.delivery.outbox import Dispatcher
from bot.extract.catalog import Catalog
from bot.extract.matcher import Matcher
from bot.extract.mentions import find_mentions
from bot.feeds.fetch import FetchError, cache_max_age, fetch, make_client
from bot.feeds.parse import ParseError, parse_feed
from bot.http.metrics import Metrics
from bot.http.server import HttpServer
from bot.model import Entity
from bot.rules.load import load_rules, rule_files
from bot.store import queries
from bot.store.db import create_engine, describe_store_error, migrate, safe_url, utcnow
from bot.stories import WINDOW as STORY_WINDOW
from bot.stories import StoryCandidate, StoryIndex, canonical_url, fingerprint

log = logging.getLogger(__name__)

MAX_BACKOFF = 6 * 3600
STORE_PROBLEM_MEMORY = timedelta(minutes=15)  # a write problem not met again for this long is over
MAX_RETRY_AFTER = 7 * 24 * 3600  # a server's own Retry-After is honoured in full, up to a week
TELEGRAM_UPDATES_LOCK = 727_372_001  # PostgreSQL advisory lock key: who consumes Telegram updates
STOP_GRACE = 30  # seconds a stop waits for a poll or delivery in flight


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


def next_check(interval: int, now: datetime, jitter: float = 0.1) -> datetime:
    return now + timedelta(seconds=interval * (1 + random.uniform(-jitter, jitter)))


class Service:
    def __init__(self, settings: Settings, adapters: list[Adapter] | None = None, role: str = "all"):
        """``adapters`` None: Telegram when TELEGRAM_BOT_TOKEN is set, else the console.

        ``role``: all, or one share of the work when several processes use one PostgreSQL database: poll (fetch,
        match, create deliveries), deliver (send alerts and digests), bot (answer chat commands)."""
        self.settings = settings
        self.role = role
        self.metrics = Metrics()
        self._last_tick: datetime | None = None
        self._update_lock = None  # the connection holding the PostgreSQL advisory lock for Telegram updates
        self._given_adapters = adapters
        self.adapters: dict[str, Adapter] = {}
        self.engine = None
        self.matcher: Matcher | None = None
        self.resolver: Resolver | None = None
        self.commands: Commands | None = None
        self.dispatcher: Dispatcher | None = None
        self._phrases: tuple[tuple[str, ...], Catalog] | None = None
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        self._stories: StoryIndex | None = None
        self._stories_pruned = utcnow()
        self._rules_signature: tuple | None = None
        self._bad_rules: tuple[str, ...] = ()
        self.http: HttpServer | None = None
        self._client: httpx.AsyncClient | None = None
        self._store_problem: tuple[str, datetime] | None = None  # the database error now, and since when
        self._store_problem_seen = datetime.min  # when it was last met
        self._store_problem_write = False  # met when writing (a full disk): only a write that works clears it
        self._unreleased: dict[int, str] = {}  # feeds whose failure could not be recorded (database down)
        self._stop = asyncio.Event()
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    # ------------------------------------------------------------ start and stop

    async def start(self) -> None:
        """Load rules (refusing a broken or empty rule set), migrate the store, sync feeds and chats."""
        rules = load_rules(self.settings.rules_dir)
        if rules.errors:
            raise ConfigError(rules.errors)
        for warning in rules.warnings:
            log.warning("%s", warning)
        self.matcher = Matcher(rules)
        self.resolver = Resolver(self.matcher)
        self._rules_signature = self._rules_fingerprint()
        log.info("rules: %d entities, %d watchlists, %d aliases from %s", len(rules.entities),
                 len(rules.watchlists), self.matcher.catalog.size, self.settings.rules_dir)
        self.engine = create_engine(self.settings.database)
        log.info("database: %s", safe_url(self.settings.database))
        await migrate(self.engine)
        await queries.sync_config_feeds(self.engine, [
            (self.settings.feed_location(f.url), f.name, f.language, f.interval) for f in self.settings.feeds
        ])
        requeued = 0
        if self.engine.dialect.name == "sqlite":  # one process owns a SQLite store; workers share PostgreSQL
            requeued = await queries.requeue_interrupted(self.engine, self.settings.delivery.unknown_outcome_delay)
        if requeued:
            log.warning("%d deliveries were interrupted mid-send by the last stop; they will be sent again in %g s",
                        requeued, self.settings.delivery.unknown_outcome_delay)
        self.commands = Commands(self.engine, self.rules, allow_private_feeds=self.settings.poll.allow_private)
        webhook = bool(self.settings.telegram_token) and self.settings.telegram.mode == "webhook"
        slack_http = bool(self.settings.slack_bot_token) and not self.settings.slack_app_token
        if self.settings.http.enabled or webhook or slack_http:
            self.http = HttpServer(self.settings.http.host, self.settings.http.port, self.health)
        self.adapters = {a.platform: a for a in (self._given_adapters or await self._platform_adapters())}
        if "console" in self.adapters:
            await self._sync_console_chat()
        self.dispatcher = Dispatcher(self.engine, self.adapters, self.settings.delivery.max_attempts,
                                     unknown_outcome_delay=self.settings.delivery.unknown_outcome_delay,
                                     lease=self.settings.delivery.lease, metrics=self.metrics)
        self._client = make_client(self.settings.poll)
        if self.http is not None:
            self.http.add_route("GET", "/metrics", self._metrics)
            await self.http.start()
        for adapter in self.adapters.values():
            await adapter.start()

    async def health(self) -> dict:
        """Database reachable, scheduler alive (when running), age of the last successful poll."""
        try:
            feeds = await queries.list_feeds(self.engine)
        except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
            return {"ok": False, "database": describe_store_error(exc, self.settings.database)
                    or f"unreachable: {type(exc).__name__}"}
        now = utcnow()
        last = max((f.last_success_at for f in feeds if f.last_success_at), default=None)
        tick_age = (now - self._last_tick).total_seconds() if self._last_tick else None
        scheduler_alive = tick_age is None or tick_age < 120
        problem = self._store_problem
        return {"ok": scheduler_alive and problem is None,
                "database": "ok" if problem is None else f"{problem[0]} (since {problem[1]:%Y-%m-%d %H:%M:%S} UTC)",
                "role": self.role, "feeds": len(feeds),
                "scheduler": "alive" if scheduler_alive else f"no tick for {tick_age:.0f} s",
                "last_successful_poll_age_s": round((now - last).total_seconds(), 1) if last else None}

    async def _metrics(self, request):
        from aiohttp import web

        try:
            counts = await queries.delivery_counts(self.engine)
            for state in ("pending", "failed", "held", "claimed", "sending"):
                self.metrics.set("rasad_queue_depth", counts.get(state, 0), state=state)
            health = await self.health()
            if health.get("last_successful_poll_age_s") is not None:
                self.metrics.set("rasad_last_successful_poll_age_seconds", health["last_successful_poll_age_s"])
        except Exception:  # noqa: BLE001 - metrics still answer with what the process counted
            log.warning("metrics: the database did not answer")
        return web.Response(text=self.metrics.render(), content_type="text/plain", charset="utf-8")

    def rules(self) -> tuple[Matcher, Resolver]:
        return self.matcher, self.resolver

    def _rules_fingerprint(self) -> tuple:
        out = []
        for path in rule_files(self.settings.rules_dir):
            try:
                stat = path.stat()
            except OSError:
                continue
            out.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(out)

    async def reload_rules_if_changed(self) -> bool:
        """Reload when a file under rules/ changed; with errors, keep the last good rules and tell the admins."""
        signature = await asyncio.to_thread(self._rules_fingerprint)
        if signature == self._rules_signature:
            return False
        self._rules_signature = signature
        rules = await asyncio.to_thread(load_rules, self.settings.rules_dir)
        if rules.errors:
            log.error("rules changed but have errors; keeping the last good rules:\n%s", "\n".join(rules.errors))
            if tuple(rules.errors) != self._bad_rules:
                self._bad_rules = tuple(rules.errors)
                await self.notify_admins("admin.rules_errors", errors="\n".join(rules.errors[:10]))
            return False
        self._bad_rules = ()
        self.matcher = Matcher(rules)
        self.resolver = Resolver(self.matcher)
        self._rules_signature = self._rules_fingerprint()
        log.info("rules reloaded: %d entities, %d watchlists", len(rules.entities), len(rules.watchlists))
        return True

    async def _may_receive_telegram_updates(self) -> bool:
        """Only one process may consume Telegram updates (long polling): a PostgreSQL advisory lock decides."""
        if self.role not in ("all", "bot"):
            return False
        if self.engine.dialect.name != "postgresql":
            return True
        from sqlalchemy import text

        conn = await self.engine.connect()
        got = await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": TELEGRAM_UPDATES_LOCK})
        if got:
            self._update_lock = conn
            log.info("telegram: this process consumes the updates (advisory lock %d held)", TELEGRAM_UPDATES_LOCK)
            return True
        await conn.close()
        log.info("telegram: another process consumes the updates (advisory lock %d taken); this one only sends",
                 TELEGRAM_UPDATES_LOCK)
        return False

    async def _platform_adapters(self) -> list[Adapter]:
        adapters: list[Adapter] = []
        if self.role == "poll":
            return [ConsoleAdapter()] if not self.settings.telegram_token and not self.settings.slack_bot_token \
                else []
        if self.settings.telegram_token:
            from bot.chat.telegram import TelegramAdapter

            tg = self.settings.telegram
            receive = await self._may_receive_telegram_updates()
            webhook = tg.mode == "webhook" and receive
            adapters.append(TelegramAdapter(self.settings.telegram_token, self.commands, api_url=tg.api_url,
                                            admins=tg.admins, link_previews=tg.link_previews,
                                            poll_timeout=tg.poll_timeout, receive_updates=receive,
                                            webhook_url=tg.webhook_url if webhook else None,
                                            webhook_secret=self.settings.telegram_webhook_secret,
                                            http=self.http))
            log.info("telegram: Bot API at %s", tg.api_url)
        if self.settings.slack_bot_token:
            from bot.chat.slack import SlackAdapter

            adapters.append(SlackAdapter(self.settings.slack_bot_token, self.commands,
                                         signing_secret=self.settings.slack_signing_secret,
                                         app_token=self.settings.slack_app_token, api_url=self.settings.slack.api_url,
                                         http=self.http, admins=self.settings.slack.admins))
            log.info("slack: Web API at %s", self.settings.slack.api_url)
        return adapters or [ConsoleAdapter()]

    async def _sync_console_chat(self) -> None:
        console = self.settings.console
        wanted = list(self.matcher.watchlists) if console.watchlists == "all" else list(console.watchlists)
        unknown = [w for w in wanted if w not in self.matcher.watchlists]
        if unknown:
            raise ConfigError([f"console.watchlists: unknown watchlist id {w!r}" for w in unknown])
        chat = await queries.ensure_chat(self.engine, "console", CONSOLE_ADDRESS, console.language)
        await queries.set_chat_language(self.engine, chat.id, console.language)
        await queries.set_chat_active(self.engine, chat.id, True)
        await queries.replace_subscriptions(self.engine, chat.id, "watchlist", wanted)

    async def stop(self) -> None:
        for adapter in self.adapters.values():
            try:
                await adapter.stop()
            except Exception:  # noqa: BLE001
                log.exception("stopping the %s adapter failed", adapter.platform)
        if self.http is not None:
            await self.http.stop()
        if self._update_lock is not None:
            await self._update_lock.close()
        if self._client is not None:
            await self._client.aclose()
        if self.engine is not None:
            await self.engine.dispose()

    # ------------------------------------------------------------ polling

    def _interval(self, feed: queries.FeedRow, asked: int | None = None) -> int:
        """The feed's interval, lengthened to what it asks (Cache-Control max-age, <ttl>) within the bounds."""
        poll = self.settings.poll
        wanted = max(feed.interval or poll.interval, asked or 0)
        return max(poll.min_interval, min(wanted, poll.max_interval))

    @staticmethod
    def _asked(max_age: int | None, ttl_minutes: int | None) -> int | None:
        """What a full answer asks: the longer of Cache-Control max-age and the feed's <ttl>."""
        asked = max(max_age or 0, (ttl_minutes or 0) * 60)
        return asked or None

    async def poll_feed(self, feed: queries.FeedRow, summary: PollSummary) -> None:
        """Fetch, parse, keep new items, match, create deliveries. Never raises for a bad feed."""
        poll = self.settings.poll
        now = utcnow()
        host = urlparse(feed.url).hostname or "local"
        limit = self._host_slots.setdefault(host, asyncio.Semaphore(poll.per_host))
        try:
            async with limit:
                result = await fetch(self._client, feed.url, poll, feed.etag, feed.last_modified,
                                     guard=feed.source == "chat" and not poll.allow_private)
            if result.not_modified:
                self.metrics.inc("rasad_polls_total", outcome="not_modified")
                log.debug("feed %s: not modified", feed.name)
                # a 304 carries no <ttl>: what the feed asked on its last full answer still holds
                asked = max(cache_max_age(result.headers) or 0, feed.asked_interval or 0) or None
                await queries.record_poll_success(self.engine, feed.id, next_check(self._interval(feed, asked), now),
                                                  result.etag, result.last_modified, not_modified=True)
                await self._recovered(feed)
                summary.feeds_polled += 1
                return
            parsed = await asyncio.to_thread(parse_feed, result.content, result.headers, feed.name, feed.language)
        except (FetchError, ParseError) as exc:
            self.metrics.inc("rasad_fetch_errors_total", kind=getattr(exc, "kind", "parse"))
            await self._poll_failed(feed, str(exc), getattr(exc, "retry_after", None), summary)
            return
        except Exception as exc:  # noqa: BLE001 - one feed's bug must not stop the others
            log.exception("feed %s (%s): unexpected error", feed.name, feed.url)
            await self._poll_failed(feed, f"{type(exc).__name__}: {exc}", None, summary)
            return
        if parsed.warning:
            log.warning("feed %s: %s", feed.name, parsed.warning)
        try:
            stored = await self._keep_new(feed, parsed, now, summary)
        except Exception as exc:  # noqa: BLE001 - a store error fails this feed visibly, never the run
            reason = describe_store_error(exc, self.settings.database)
            if reason is None:
                log.exception("feed %s (%s): unexpected error while storing", feed.name, feed.url)
                reason = f"{type(exc).__name__}: {exc}"
            self._store_failed(reason, write=True)
            await self._poll_failed(feed, f"store: {reason}", None, summary)
            return
        if stored:
            self._store_works()
        asked = self._asked(cache_max_age(result.headers), parsed.ttl_minutes)
        await queries.record_poll_success(self.engine, feed.id, next_check(self._interval(feed, asked), now),
                                          result.etag, result.last_modified, asked_interval=asked)
        await self._recovered(feed)
        summary.feeds_polled += 1
        summary.new_items += len(stored)
        self.metrics.inc("rasad_polls_total", outcome="ok")
        self.metrics.inc("rasad_items_total", len(stored))
        self.metrics.inc("rasad_matches_total", sum(1 for s in stored if s.match.watchlists))
        log.info("feed %s: %d items, %d new, %d matched a watchlist", feed.name, len(parsed.items), len(stored),
                 sum(1 for s in stored if s.match.watchlists))

    async def _keep_new(self, feed: queries.FeedRow, parsed, now: datetime, summary: PollSummary) -> list:
        """Store the items never seen before, group them into stories, create the deliveries."""
        fresh_keys = await queries.new_item_keys(self.engine, feed.id, [i.key for i in parsed.items])
        fresh = [i for i in parsed.items if i.key in fresh_keys]
        matched = [(item, self.matcher.match(item)) for item in fresh]
        stories = await self._story_index(now) if fresh else None
        extra, candidates = [], []
        for item, match in matched:
            candidate = StoryCandidate(0, 0, canonical_url(item.link), fingerprint(item.title, item.summary),
                                       item.language, frozenset(match.entity_ids), item.published or now)
            earlier = stories.find(candidate)  # an earlier item of the same story, known before storing
            candidates.append((candidate, earlier))
            extra.append({"canonical_url": candidate.canonical_url, "fingerprint": candidate.fingerprint,
                          "story_id": earlier})
        stored = await queries.store_items(self.engine, feed.id, matched, extra)
        phrases = await self._phrase_catalog() if stored else None
        by_key = {item.key: pair for (item, _), pair in zip(matched, candidates, strict=True)}
        for entry in stored:
            candidate, earlier = by_key[entry.item.key]
            story_id = earlier or entry.id
            stories.add(dataclasses.replace(candidate, item_id=entry.id, story_id=story_id))
            if earlier is not None:
                summary.duplicates += 1
            found = ([m.entity_id for m in find_mentions(phrases, entry.item.text)] if phrases is not None else [])
            targets = await queries.subscribers(self.engine, entry.match.watchlists, entry.match.entity_ids,
                                                phrases=sorted(set(found)))
            if targets:
                urgent = self._urgent(entry.match)
                summary.deliveries_created += await queries.create_deliveries(
                    self.engine, entry.id, targets, story_id=story_id, urgent=urgent,
                    held_until=await self._holds(targets, urgent))
        return stored

    async def _story_index(self, now: datetime) -> StoryIndex:
        """Recent items for story grouping: loaded from the store once, then kept up to date in memory."""
        if self._stories is None:
            self._stories = StoryIndex()
            for r in await queries.recent_items(self.engine, now - STORY_WINDOW, limit=50_000):
                self._stories.add(StoryCandidate(r.id, r.story_id or r.id, r.canonical_url, r.fingerprint or "",
                                                 r.language, frozenset(json.loads(r.entities)),
                                                 r.published_at or r.fetched_at))
        elif now - self._stories_pruned > timedelta(minutes=10):
            self._stories.prune(now)
            self._stories_pruned = now
        return self._stories

    def _urgent(self, match) -> bool:
        """An urgent watchlist or entity (YAML `urgent: true`) breaks through quiet hours and digests."""
        return (any(self.matcher.watchlists[w].urgent for w in match.watchlists if w in self.matcher.watchlists)
                or any(self.matcher.entities[e].urgent for e in match.entity_ids if e in self.matcher.entities))

    async def _holds(self, targets, urgent: bool) -> dict[int, datetime]:
        """Chats whose alert waits: digest mode, or quiet hours now (unless the alert is urgent)."""
        if urgent:
            return {}
        now = utcnow()
        holds: dict[int, datetime] = {}
        for chat in (await queries.chats_by_id(self.engine, targets)).values():
            if chat.digest in ("hourly", "daily"):
                when = chat.next_digest_at
                if when is None or when <= now:
                    when = next_digest_at(chat.digest, chat.digest_time, chat.timezone, now)
                    await queries.update_chat(self.engine, chat.id, next_digest_at=when)
                holds[chat.id] = when
            elif in_quiet_hours(chat.quiet_start, chat.quiet_end, chat.timezone, now):
                holds[chat.id] = quiet_ends_at(chat.quiet_end, chat.timezone, now)
        return holds

    async def send_digests(self) -> int:
        """Held alerts whose time has come go out as one digest per chat (split to the platform's limit)."""
        sent = 0
        now = utcnow()
        for chat, held in await queries.due_held(self.engine, tuple(self.adapters), now):
            adapter = self.adapters[chat.platform]
            digest = Digest(chat.language)
            for alert in held:
                names = [self.matcher.watchlists[w].name(chat.language) for w in alert.watchlists
                         if w in self.matcher.watchlists]
                group = names[0] if names else t(chat.language, "digest.other")
                digest.groups.setdefault(group, []).append(DigestEntry(alert.title, alert.feed_name, alert.link))
            try:
                await adapter.send_digest(chat.address, digest)
            except Exception as exc:  # noqa: BLE001 - held alerts stay held; the next tick tries again
                log.warning("digest to %s chat %s failed: %s", chat.platform, chat.id, exc)
                continue
            await queries.mark_sent_many(self.engine, [a.delivery_id for a in held])
            if chat.digest in ("hourly", "daily"):
                await queries.update_chat(self.engine, chat.id, next_digest_at=next_digest_at(
                    chat.digest, chat.digest_time, chat.timezone, now))
            sent += 1
            log.info("digest of %d alerts sent to %s chat %s", len(held), chat.platform, chat.id)
        return sent

    async def _phrase_catalog(self) -> Catalog | None:
        """The words chats follow, compiled like aliases (clitics, whole words); rebuilt when they change."""
        phrases = tuple(await queries.followed_phrases(self.engine))
        if not phrases:
            return None
        if self._phrases is None or self._phrases[0] != phrases:
            self._phrases = (phrases, Catalog(Entity(p, "topic", {"en": p}) for p in phrases))
        return self._phrases[1]

    async def _poll_failed(self, feed: queries.FeedRow, reason: str, retry_after: float | None,
                           summary: PollSummary) -> None:
        poll = self.settings.poll
        interval = feed.interval or poll.interval
        failures = feed.error_count + 1
        broken = failures >= poll.broken_after
        delay = poll.broken_retry if broken else min(interval * 2 ** min(feed.error_count, 10), MAX_BACKOFF)
        delay = max(delay, min(retry_after or 0, MAX_RETRY_AFTER))  # the server's own delay, in full
        log.warning("feed %s (%s) failed: %s; next try in %.0f s", feed.name, feed.url, reason, delay)
        summary.feeds_polled += 1
        summary.feeds_failed += 1
        self.metrics.inc("rasad_polls_total", outcome="failed")
        summary.errors.append(f"{feed.name}: {reason}")
        try:
            await queries.record_poll_failure(self.engine, feed.id, reason, utcnow() + timedelta(seconds=delay),
                                              broken=broken)
        except Exception as exc:  # noqa: BLE001 - the database itself is failing: release the claim later
            self._unreleased[feed.id] = reason
            log.warning("feed %s: the failure could not be recorded (%s); it is recorded when the database "
                        "answers again", feed.name, describe_store_error(exc, self.settings.database) or exc)
            return
        self._unreleased.pop(feed.id, None)
        if broken and feed.broken_since is None:
            log.error("feed %s is broken after %d failures in a row: %s", feed.name, failures, reason)
            await self.notify_admins("admin.feed_broken", name=feed.name, url=feed.url, failures=failures,
                                     error=reason[:200])

    async def _recovered(self, feed: queries.FeedRow) -> None:
        if feed.broken_since is not None:
            log.info("feed %s recovered", feed.name)
            await self.notify_admins("admin.feed_recovered", name=feed.name, url=feed.url)

    async def notify_admins(self, key: str, **values) -> None:
        """Tell the bot administrators (Telegram and Slack user ids in config), each in their language: stored
        as notices first, sent by the delivery side like alerts (retried on 429, kept across a restart)."""
        targets = [("telegram", str(a)) for a in self.settings.telegram.admins] if self.settings.telegram_token \
            else []
        targets += [("slack", a) for a in self.settings.slack.admins] if self.settings.slack_bot_token else []
        log.warning("admin notice: %s", t("en", key, **values).replace("\n", " "))
        if targets:
            await queries.create_notices(self.engine, targets, key, values)

    async def poll_feeds(self, feeds: list[queries.FeedRow], summary: PollSummary) -> None:
        """``poll.concurrency`` workers take feeds from one queue (not one task per feed: flat memory)."""
        queue = iter(feeds)

        async def worker():
            for feed in queue:  # a shared iterator: each feed goes to exactly one worker
                await self.poll_feed(feed, summary)

        await asyncio.gather(*(worker() for _ in range(min(self.settings.poll.concurrency, len(feeds)))))

    async def deliver(self, summary: PollSummary | None = None) -> int:
        await send_notices(self.engine, self.adapters, self.dispatcher.limiters, lease=self.settings.delivery.lease)
        await self.send_digests()
        stats = await self.dispatcher.deliver_pending(self.matcher)
        if summary is not None:
            summary.alerts_sent += stats.sent
        return stats.sent

    # ------------------------------------------------------------ modes

    async def run_once(self) -> PollSummary:
        """Poll every active feed once, whatever its schedule, then deliver what is due."""
        summary = PollSummary()
        await self.poll_feeds(await queries.list_feeds(self.engine), summary)
        await self.deliver(summary)
        return summary

    async def _poll_due(self) -> None:
        for feed_id, reason in list(self._unreleased.items()):  # failures the database could not take then
            feed = next((f for f in await queries.list_feeds(self.engine) if f.id == feed_id), None)
            self._unreleased.pop(feed_id, None)
            if feed is not None:
                await self._poll_failed(feed, reason, None, PollSummary())
        feeds = await queries.due_feeds(self.engine)
        if feeds:
            summary = PollSummary()
            await self.poll_feeds(feeds, summary)
            if summary.deliveries_created:
                await self.deliver()

    async def _deliver_tick(self) -> None:
        await self.deliver()

    async def _reclaim_tick(self) -> None:
        claimed, sending = await queries.reclaim_expired(self.engine, self.settings.delivery.unknown_outcome_delay)
        if claimed or sending:
            log.warning("took back %d claimed and %d interrupted deliveries of a worker that stopped", claimed,
                        sending)

    async def _job(self, name: str, work) -> None:
        """Run one scheduled job; a stop waits for jobs in flight, so no send is cut between sent and marked."""
        if self._stop.is_set():
            return
        self._last_tick = utcnow()
        self._inflight += 1
        self._idle.clear()
        started = utcnow()
        try:
            await work()
            if name in ("poll", "deliver") and self._store_problem_seen < started and (
                    not self._store_problem_write or utcnow() - self._store_problem_seen > STORE_PROBLEM_MEMORY):
                self._store_works()
        except Exception as exc:  # noqa: BLE001 - the next tick tries again
            problem = describe_store_error(exc, self.settings.database)
            if problem is None:
                log.exception("scheduled %s job failed", name)
            else:
                self._store_failed(problem)
        finally:
            self._inflight -= 1
            if self._inflight == 0:
                self._idle.set()

    def _store_failed(self, problem: str, write: bool = False) -> None:
        """The database failed: say it once (not a traceback per tick), and /healthz is unhealthy until it works
        again: any job for a connection problem, a write of new items for a write problem (a full disk)."""
        self._store_problem_seen = utcnow()
        self._store_problem_write = write
        if self._store_problem is None or self._store_problem[0] != problem:
            self._store_problem = (problem, utcnow())
            log.error("%s; retrying every tick, nothing is lost (/healthz reports it)", problem)

    def _store_works(self) -> None:
        if self._store_problem is not None:
            log.warning("database works again after: %s", self._store_problem[0])
            self._store_problem = None

    async def run_forever(self) -> None:
        """The scheduler asks the store which feeds are due every ``poll.tick`` seconds; until SIGTERM."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self._stop.set)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - non-main thread
                pass
        scheduler = AsyncIOScheduler(event_loop=loop, timezone="UTC")
        now = datetime.now().astimezone()
        defaults = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 30}
        if self.role in ("all", "poll"):
            scheduler.add_job(self._job, "interval", args=["poll", self._poll_due], seconds=self.settings.poll.tick,
                              id="poll", next_run_time=now, **defaults)
        if self.role in ("all", "deliver"):
            scheduler.add_job(self._job, "interval", args=["deliver", self._deliver_tick],
                              seconds=self.settings.delivery.tick, id="deliver", next_run_time=now, **defaults)
        scheduler.add_job(self._job, "interval", args=["rules", self.reload_rules_if_changed],
                          seconds=self.settings.poll.rules_check, id="rules", **defaults)
        scheduler.add_job(self._job, "interval", args=["reclaim", self._reclaim_tick],
                          seconds=min(15.0, self.settings.delivery.lease), id="reclaim", **defaults)
        scheduler.start()
        log.info("rasad running (role %s): %d feeds, adapters: %s", self.role,
                 len(await queries.list_feeds(self.engine)), ", ".join(self.adapters) or "none")
        try:
            await self._stop.wait()
        finally:
            log.info("stopping: waiting for %d job(s) in flight", self._inflight)
            scheduler.pause()
            try:
                await asyncio.wait_for(self._idle.wait(), timeout=STOP_GRACE)
            except TimeoutError:
                log.warning("jobs still running after %d s; stopping anyway", STOP_GRACE)
            scheduler.shutdown(wait=False)

    def request_stop(self) -> None:
        self._stop.set()
