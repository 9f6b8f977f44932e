"""The delivery dispatcher: claim stored deliveries, compose in the chat's language, send, record.

Sends run concurrently (bounded) and respect each platform's rate limits: a delivery whose chat is not
allowed yet is given back untried with the time it may go, so one slow chat never holds up the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from bot.alerts.compose import compose_alert
from bot.chat.base import Adapter, DeliveryError
from bot.delivery.limits import UNLIMITED, RateLimiter
from bot.extract.matcher import Matcher
from bot.store import queries
from bot.store.db import utcnow

log = logging.getLogger(__name__)

BACKOFF_BASE = 5.0  # seconds; doubled per attempt
BACKOFF_MAX = 3600.0
CONCURRENCY = 16


@dataclass
class DeliveryStats:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    postponed: int = 0


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """The platform's own delay when it gave one (429 Retry-After), else exponential from 5 s up to an hour."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), BACKOFF_MAX)
    return min(BACKOFF_BASE * 2 ** max(0, attempts - 1), BACKOFF_MAX)


class Dispatcher:
    """Keeps the rate limiters between ticks; ``deliver_pending`` sends whatever is due."""

    def __init__(self, engine, adapters: Mapping[str, Adapter], max_attempts: int, concurrency: int = CONCURRENCY,
                 unknown_outcome_delay: float = 60.0, lease: float = 120.0, metrics=None):
        self.engine = engine
        self.lease = lease
        self.metrics = metrics
        self.adapters = adapters
        self.max_attempts = max_attempts
        self.unknown_outcome_delay = unknown_outcome_delay
        # the adapter's own limiter when it has one: its replies to commands and these alerts share the limits
        self.limiters = {p: getattr(a, "limiter", None) or RateLimiter(getattr(a, "limits", UNLIMITED))
                         for p, a in adapters.items()}
        self._slots = asyncio.Semaphore(concurrency)

    async def deliver_pending(self, matcher: Matcher, batch: int | None = None) -> DeliveryStats:
        """Each platform is served by its own loop, so a long Telegram queue never holds up Slack."""
        stats = DeliveryStats()
        await asyncio.gather(*(self._platform(p, matcher, stats, batch) for p in self.adapters))
        return stats

    async def _platform(self, platform: str, matcher: Matcher, stats: DeliveryStats, batch: int | None) -> None:
        limits = self.limiters[platform].limits
        # claim no more than can be sent well within the lease at the platform's pace
        size = batch or max(5, min(120, int(self.lease * min(limits.per_second, 1000) * 0.5)))
        running: set[asyncio.Task] = set()
        while True:
            jobs = await queries.claim_deliveries(self.engine, limit=size, platforms=(platform,), lease=self.lease)
            postponed = stats.postponed
            running |= {asyncio.create_task(self._one(job, matcher, stats)) for job in jobs}
            # claim the next batch while half of this one is still sending: no pause between batches
            while len(running) > size // 2:
                _, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            if len(jobs) < size or (jobs and stats.postponed - postponed >= len(jobs)):
                break
        if running:
            await asyncio.gather(*running)

    async def _one(self, job: queries.DeliveryJob, matcher: Matcher, stats: DeliveryStats) -> None:
        limiter = self.limiters[job.chat.platform]
        is_group = job.chat.chat_type != "private"
        wait = limiter.chat_wait(job.chat.address, is_group)
        if wait > 0:  # this chat must wait: give the row back, do not hold up the others
            await queries.postpone_delivery(self.engine, job.id, utcnow() + timedelta(seconds=wait))
            stats.postponed += 1
            return
        async with self._slots:
            # the platform-wide rate: take the slot right before sending, so the pace holds on the wire
            while (wait := limiter.reserve(job.chat.address, is_group)) > 0:  # noqa: ASYNC110 - a timed wait
                await asyncio.sleep(wait)
            outcome = await _deliver(self.engine, self.adapters[job.chat.platform], matcher, job,
                                     self.max_attempts, stats, limiter, self.unknown_outcome_delay, self.lease)
            if self.metrics is not None:
                platform = job.chat.platform
                if outcome == "sent":
                    self.metrics.inc("rasad_alerts_sent_total", platform=platform)
                    lag = (utcnow() - job.created_at).total_seconds()
                    self.metrics.inc("rasad_delivery_lag_seconds_sum", lag, platform=platform)
                    self.metrics.inc("rasad_delivery_lag_seconds_count", platform=platform)
                elif outcome in ("retried", "dead"):
                    self.metrics.inc("rasad_alerts_failed_total", platform=platform)


async def _deliver(engine, adapter: Adapter, matcher: Matcher, job: queries.DeliveryJob, max_attempts: int,
                   stats: DeliveryStats, limiter: RateLimiter | None = None,
                   unknown_outcome_delay: float = 60.0, lease: float = 120.0) -> str:
    """Send one claimed delivery; returns what became of it: sent, retried, dead, postponed or skipped."""
    item = job.stored.item
    watchlists = [matcher.watchlists[w] for w in job.watchlists if w in matcher.watchlists]
    wanted = set(job.entities)
    mentions = job.stored.match.mentions
    phrases = [e.removeprefix("phrase:") for e in job.entities if e.startswith("phrase:")]
    if wanted and not watchlists:  # followed as single entities or words: show those
        mentions = tuple(m for m in mentions if m.entity_id in wanted) or (() if phrases else mentions)
    alert = compose_alert(item, mentions, watchlists, matcher.entities, job.chat.language, phrases=phrases)
    ctx = {"delivery": job.id, "chat": job.chat.id, "platform": job.chat.platform, "item": job.stored.id}
    interval = limiter.limits.per_chat_interval if limiter is not None else 0.0
    slot = await queries.start_sending(engine, job.id, job.chat.id, interval, lease=lease,
                                       claimed_until=job.lease_until)
    if slot is None:  # the claim ran out and another worker has the row now
        log.info("delivery %s: claim expired before sending; left to the worker that holds it", job.id)
        return "skipped"
    if not slot:
        # another worker sent to this chat a moment ago: the shared per-chat limit says later
        await queries.postpone_delivery(engine, job.id, utcnow() + timedelta(seconds=max(interval, 0.2)))
        stats.postponed += 1
        return "postponed"
    address = job.chat.address
    for _ in range(2):  # a second time only after the chat moved (Telegram group → supergroup)
        try:
            await adapter.send_alert(address, alert)
            break
        except DeliveryError as exc:
            new_address = getattr(exc, "new_address", None)
            if new_address is not None:
                log.info("chat %s moved to %s; subscriptions follow it", address, new_address)
                await queries.migrate_chat(engine, job.chat.platform, address, new_address)
                address = new_address
                continue
            if exc.retry_after and limiter is not None:
                limiter.penalize(address, exc.retry_after)
            if exc.permanent:
                log.warning("delivery %(delivery)s to chat %(chat)s failed for good: %(err)s", {**ctx, "err": exc})
                await queries.mark_delivery(engine, job.id, "dead", str(exc))
                if exc.chat_gone:
                    await queries.set_chat_active(engine, job.chat.id, False)
                stats.dead += 1
                return "dead"
            floor = unknown_outcome_delay if exc.unknown_outcome else None
            return await _retry_or_dead(engine, job, max_attempts, str(exc), exc.retry_after, stats, floor)
        except Exception as exc:  # noqa: BLE001 - an adapter bug must not stop the dispatcher
            log.exception("delivery %s: unexpected error from the %s adapter", job.id, job.chat.platform)
            return await _retry_or_dead(engine, job, max_attempts, f"{type(exc).__name__}: {exc}", None, stats)
    else:
        return await _retry_or_dead(engine, job, max_attempts, "chat moved twice", None, stats)
    await queries.mark_delivery(engine, job.id, "sent")
    stats.sent += 1
    log.info("alert sent: delivery %(delivery)s item %(item)s → %(platform)s chat %(chat)s", ctx)
    return "sent"


async def _retry_or_dead(engine, job, max_attempts: int, error: str, retry_after: float | None,
                         stats: DeliveryStats, floor: float | None = None) -> str:
    if job.attempts >= max_attempts:
        log.warning("delivery %s dead after %s attempts: %s", job.id, job.attempts, error)
        await queries.mark_delivery(engine, job.id, "dead", error)
        stats.dead += 1
        return "dead"
    delay = max(backoff(job.attempts, retry_after), floor or 0.0)
    log.info("delivery %s failed (attempt %s), retry in %.0f s: %s", job.id, job.attempts, delay, error)
    await queries.mark_delivery(engine, job.id, "failed", error, retry_at=utcnow() + timedelta(seconds=delay))
    stats.retried += 1
    return "retried"
