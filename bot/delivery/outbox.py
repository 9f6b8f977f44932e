"""The delivery dispatcher: claim stored deliveries, compose in the chat's language, send, record."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from bot.alerts.compose import compose_alert
from bot.chat.base import Adapter, DeliveryError
from bot.extract.matcher import Matcher
from bot.store import queries
from bot.store.db import utcnow

log = logging.getLogger(__name__)

BACKOFF_BASE = 5.0  # seconds; doubled per attempt
BACKOFF_MAX = 3600.0


@dataclass
class DeliveryStats:
    sent: int = 0
    retried: int = 0
    dead: int = 0


def backoff(attempts: int, retry_after: float | None = None) -> float:
    delay = min(BACKOFF_BASE * 2 ** max(0, attempts - 1), BACKOFF_MAX)
    return max(delay, retry_after or 0.0)


async def deliver_pending(engine, adapters: Mapping[str, Adapter], matcher: Matcher, max_attempts: int,
                          batch: int = 100) -> DeliveryStats:
    """Send every delivery that is due, for the platforms that have a running adapter."""
    stats = DeliveryStats()
    while True:
        jobs = await queries.claim_deliveries(engine, limit=batch, platforms=tuple(adapters))
        if not jobs:
            return stats
        for job in jobs:
            await _deliver(engine, adapters[job.chat.platform], matcher, job, max_attempts, stats)
        if len(jobs) < batch:
            return stats


async def _deliver(engine, adapter: Adapter, matcher: Matcher, job: queries.DeliveryJob, max_attempts: int,
                   stats: DeliveryStats) -> None:
    item = job.stored.item
    watchlists = [matcher.watchlists[w] for w in job.watchlists if w in matcher.watchlists]
    wanted = set(job.entities)
    mentions = job.stored.match.mentions
    if wanted and not watchlists:
        mentions = tuple(m for m in mentions if m.entity_id in wanted) or mentions
    alert = compose_alert(item, mentions, watchlists, matcher.entities, job.chat.language)
    ctx = {"delivery": job.id, "chat": job.chat.id, "platform": job.chat.platform, "item": job.stored.id}
    try:
        await adapter.send_alert(job.chat.address, alert)
    except DeliveryError as exc:
        if exc.permanent:
            log.warning("delivery %(delivery)s to chat %(chat)s failed for good: %(err)s", {**ctx, "err": exc})
            await queries.mark_delivery(engine, job.id, "dead", str(exc))
            await queries.set_chat_active(engine, job.chat.id, False)
            stats.dead += 1
            return
        await _retry_or_dead(engine, job, max_attempts, str(exc), exc.retry_after, stats)
        return
    except Exception as exc:  # noqa: BLE001 - an adapter bug must not stop the dispatcher
        log.exception("delivery %s: unexpected error from the %s adapter", job.id, job.chat.platform)
        await _retry_or_dead(engine, job, max_attempts, f"{type(exc).__name__}: {exc}", None, stats)
        return
    await queries.mark_delivery(engine, job.id, "sent")
    stats.sent += 1
    log.info("alert sent: delivery %(delivery)s item %(item)s → %(platform)s chat %(chat)s", ctx)


async def _retry_or_dead(engine, job, max_attempts: int, error: str, retry_after: float | None,
                         stats: DeliveryStats) -> None:
    if job.attempts >= max_attempts:
        log.warning("delivery %s dead after %s attempts: %s", job.id, job.attempts, error)
        await queries.mark_delivery(engine, job.id, "dead", error)
        stats.dead += 1
        return
    delay = backoff(job.attempts, retry_after)
    log.info("delivery %s failed (attempt %s), retry in %.0f s: %s", job.id, job.attempts, delay, error)
    await queries.mark_delivery(engine, job.id, "failed", error, retry_at=utcnow() + timedelta(seconds=delay))
    stats.retried += 1
