"""The delivery dispatcher: claim stored deliveries, compose in the chat's language, send, record.

Sends run concurrently (bounded) and respect each platform's rate limits: a delivery whose chat is not
allowed yet is given back untried with the time it may go, so one slow chat never holds up the others.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.adapters.base import Adapter, DeliveryError
from bot.alerts.compose import compose_alert
from bot.delivery.limits import RateLimiter
from bot.extract.matcher import RuleSet
from bot.http.metrics import Metrics
from bot.model import Alert, DeliveryJob, DeliveryState, Followed, StoredItem
from bot.store import Store
from bot.store.db import utcnow

if TYPE_CHECKING:
    from bot.delivery.edits import EditDispatcher
    from bot.delivery.followups import FollowupDispatcher

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
    edited: int = 0  # alerts edited in place because their story grew
    followups: int = 0  # follow-ups of developing stories sent


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """The platform's own delay when it gave one (429 Retry-After), else exponential from 5 s up to an hour."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), BACKOFF_MAX)
    return min(BACKOFF_BASE * 2 ** max(0, attempts - 1), BACKOFF_MAX)


class Dispatcher:
    """Keeps the rate limiters between ticks; ``deliver_pending`` sends whatever is due."""

    def __init__(self, store: Store, adapters: Mapping[str, Adapter], max_attempts: int,
                 concurrency: int = CONCURRENCY, unknown_outcome_delay: float = 60.0, lease: float = 120.0,
                 metrics: Metrics | None = None, edit_coalesce: float = 30.0):
        self.store = store
        self.edit_coalesce = edit_coalesce  # seconds between two edits of one message (delivery.edit_coalesce)
        self.edits: EditDispatcher | None = None
        self.followups: FollowupDispatcher | None = None
        self.lease = lease
        self.metrics = metrics
        self.adapters = adapters
        self.max_attempts = max_attempts
        self.unknown_outcome_delay = unknown_outcome_delay
        # each adapter's own limiter: its replies to commands and these alerts share the platform's limits
        self.limiters = {p: a.limiter for p, a in adapters.items()}
        self._slots = asyncio.Semaphore(concurrency)

    async def deliver_pending(self, matcher: RuleSet, batch: int | None = None) -> DeliveryStats:
        """Each platform is served by its own loop, so a long Telegram queue never holds up Slack. Then the alerts
        whose story grew are edited (bot/delivery/edits.py), through the same limiters."""
        from bot.delivery.edits import EditDispatcher
        from bot.delivery.followups import FollowupDispatcher

        stats = DeliveryStats()
        await asyncio.gather(*(self._platform(p, matcher, stats, batch) for p in self.adapters))
        if self.edits is None:
            self.edits = EditDispatcher(self.store, self.adapters, coalesce=self.edit_coalesce, lease=self.lease)
        edits = await self.edits.edit_pending(matcher)
        stats.edited += edits.edited
        if self.followups is None:
            self.followups = FollowupDispatcher(self.store, self.adapters, lease=self.lease)
        stats.followups += (await self.followups.send_pending(matcher)).sent
        return stats

    async def _platform(self, platform: str, matcher: RuleSet, stats: DeliveryStats, batch: int | None) -> None:
        limits = self.limiters[platform].limits
        # claim no more than can be sent well within the lease at the platform's pace
        size = batch or max(5, min(120, int(self.lease * min(limits.per_second, 1000) * 0.5)))
        running: set[asyncio.Task[None]] = set()
        while True:
            jobs = await self.store.deliveries.claim(limit=size, platforms=(platform,), lease=self.lease)
            postponed = stats.postponed
            running |= {asyncio.create_task(self._one(job, matcher, stats)) for job in jobs}
            # claim the next batch while half of this one is still sending: no pause between batches
            while len(running) > size // 2:
                _, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            if len(jobs) < size or (jobs and stats.postponed - postponed >= len(jobs)):
                break
        if running:
            await asyncio.gather(*running)

    async def _one(self, job: DeliveryJob, matcher: RuleSet, stats: DeliveryStats) -> None:
        limiter = self.limiters[job.chat.platform]
        wait = limiter.chat_wait(job.chat.address, job.chat.is_group)
        if wait > 0:  # this chat must wait: give the row back, do not hold up the others
            await self.store.deliveries.postpone(job.id, utcnow() + timedelta(seconds=wait))
            stats.postponed += 1
            return
        async with self._slots:
            # the platform-wide rate: take the slot right before sending, so the pace holds on the wire
            while (wait := limiter.reserve(job.chat.address, job.chat.is_group)) > 0:  # noqa: ASYNC110
                await asyncio.sleep(wait)
            send = _Send(self.store, self.adapters[job.chat.platform], limiter, job, stats, self.max_attempts,
                         self.unknown_outcome_delay, self.lease)
            self._count(job, await send.run(matcher))

    def _count(self, job: DeliveryJob, outcome: str) -> None:
        if self.metrics is None:
            return
        platform = job.chat.platform
        if outcome == "sent":
            self.metrics.inc("rasad_alerts_sent_total", platform=platform)
            if job.created_at is not None:
                lag = (utcnow() - job.created_at).total_seconds()
                self.metrics.inc("rasad_delivery_lag_seconds_sum", lag, platform=platform)
                self.metrics.inc("rasad_delivery_lag_seconds_count", platform=platform)
        elif outcome in ("retried", "dead"):
            self.metrics.inc("rasad_alerts_failed_total", platform=platform)


def chat_alert(stored: StoredItem, followed: Followed, language: str, matcher: RuleSet) -> Alert:
    """The alert of a stored item for one chat, in its language, showing why this chat gets it (the watchlists it
    follows that fired, else the entities or words it follows). Sends, edits and follow-ups all draw it so."""
    watchlists = [matcher.watchlists[w] for w in followed.watchlists if w in matcher.watchlists]
    mentions = stored.match.mentions
    wanted = set(followed.entities)
    phrases = list(followed.phrases)
    if (wanted or phrases) and not watchlists:  # followed as single entities or words: show those
        mentions = tuple(m for m in mentions if m.entity_id in wanted) or (() if phrases else mentions)
    return compose_alert(stored.item, mentions, watchlists, matcher.entities, language, phrases=phrases)


def alert_for(job: DeliveryJob, matcher: RuleSet) -> Alert:
    """The alert of one delivery, with its story's id (the "Sources" button)."""
    alert = chat_alert(job.stored, job.followed, job.chat.language, matcher)
    return dataclasses.replace(alert, story_id=job.story_id or job.stored.id)


class _Send:
    """One claimed delivery on its way: what becomes of it is sent, retried, dead, postponed or skipped."""

    def __init__(self, store: Store, adapter: Adapter, limiter: RateLimiter, job: DeliveryJob,
                 stats: DeliveryStats, max_attempts: int, unknown_outcome_delay: float, lease: float):
        self.store, self.adapter, self.limiter, self.job = store, adapter, limiter, job
        self.stats, self.max_attempts = stats, max_attempts
        self.unknown_outcome_delay, self.lease = unknown_outcome_delay, lease
        self.ctx = {"delivery": job.id, "chat": job.chat.id, "platform": job.chat.platform, "item": job.stored.id}

    async def run(self, matcher: RuleSet) -> str:
        job = self.job
        interval = self.limiter.limits.per_chat_interval
        slot = await self.store.deliveries.start_sending(job.id, job.chat.id, interval, lease=self.lease,
                                                         claimed_until=job.lease_until)
        if slot is None:  # the claim ran out and another worker has the row now
            log.info("delivery %s: claim expired before sending; left to the worker that holds it", job.id)
            return "skipped"
        if not slot:  # another worker sent to this chat a moment ago: the shared per-chat limit says later
            await self.store.deliveries.postpone(job.id, utcnow() + timedelta(seconds=max(interval, 0.2)))
            self.stats.postponed += 1
            return "postponed"
        return await self._send(alert_for(job, matcher))

    async def _send(self, alert: Alert) -> str:
        address = self.job.chat.address
        for _ in range(2):  # a second time only after the chat moved (a Telegram group became a supergroup)
            try:
                message_ref = await self.adapter.send_alert(address, alert)
            except DeliveryError as exc:
                if exc.new_address is None:
                    return await self._failed(exc)
                log.info("chat %s moved to %s; subscriptions follow it", address, exc.new_address)
                await self.store.chats.move(self.job.chat.platform, address, exc.new_address)
                address = exc.new_address
                continue
            except Exception as exc:  # noqa: BLE001 - an adapter bug must not stop the dispatcher
                log.exception("delivery %s: unexpected error from the %s adapter", self.job.id, self.job.chat.platform)
                return await self._retry_or_dead(f"{type(exc).__name__}: {exc}", None)
            await self.store.deliveries.mark(self.job.id, DeliveryState.SENT, message_ref=message_ref)
            self.stats.sent += 1
            log.info("alert sent: delivery %(delivery)s item %(item)s → %(platform)s chat %(chat)s", self.ctx)
            return "sent"
        return await self._retry_or_dead("chat moved twice", None)

    async def _failed(self, exc: DeliveryError) -> str:
        if exc.retry_after:
            self.limiter.penalize(self.job.chat.address, exc.retry_after)
        if not exc.permanent:
            floor = self.unknown_outcome_delay if exc.unknown_outcome else None
            return await self._retry_or_dead(str(exc), exc.retry_after, floor)
        log.warning("delivery %(delivery)s to chat %(chat)s failed for good: %(err)s", {**self.ctx, "err": exc})
        await self.store.deliveries.mark(self.job.id, DeliveryState.DEAD, str(exc))
        if exc.chat_gone:
            await self.store.chats.set_active(self.job.chat.id, False)
        self.stats.dead += 1
        return "dead"

    async def _retry_or_dead(self, error: str, retry_after: float | None, floor: float | None = None) -> str:
        job = self.job
        if job.attempts >= self.max_attempts:
            log.warning("delivery %s dead after %s attempts: %s", job.id, job.attempts, error)
            await self.store.deliveries.mark(job.id, DeliveryState.DEAD, error)
            self.stats.dead += 1
            return "dead"
        delay = max(backoff(job.attempts, retry_after), floor or 0.0)
        log.info("delivery %s failed (attempt %s), retry in %.0f s: %s", job.id, job.attempts, delay, error)
        await self.store.deliveries.mark(job.id, DeliveryState.FAILED, error,
                                         retry_at=utcnow() + timedelta(seconds=delay))
        self.stats.retried += 1
        return "retried"
