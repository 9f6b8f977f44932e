"""Edits of sent alerts whose story grew (issue 15): claim, render the story as it is now, edit in place, record.

Edits are paced by the platform's limiter like sends (they count against Telegram's rates), coalesced per message
(at most one edit per ``coalesce`` seconds; the last state wins), never tried on a message older than
``max_age``, and given up without a retry loop when the message is gone; a 429 or a network failure is retried."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from bot.adapters.base import Adapter, DeliveryError
from bot.delivery.outbox import backoff, chat_alert
from bot.delivery.sources import also_line
from bot.extract.matcher import RuleSet
from bot.model import Alert, EditJob
from bot.store import Store
from bot.store.db import utcnow

log = logging.getLogger(__name__)

COALESCE = 30.0  # seconds between two edits of one message
MAX_AGE = timedelta(hours=48)  # older messages are not edited (Slack and Telegram refuse or bury them)
MAX_ATTEMPTS = 8


@dataclass
class EditStats:
    edited: int = 0
    unchanged: int = 0
    gone: int = 0
    retried: int = 0


def edit_alert_for(job: EditJob, matcher: RuleSet) -> Alert:
    """The first alert of the delivery, in the chat's language, as it was sent."""
    alert = chat_alert(job.stored, job.followed, job.chat.language, matcher)
    return dataclasses.replace(alert, story_id=job.story_id)  # the same "Sources" button as when sent


class EditDispatcher:
    def __init__(self, store: Store, adapters: Mapping[str, Adapter], coalesce: float = COALESCE,
                 lease: float = 120.0, max_attempts: int = MAX_ATTEMPTS):
        self.store, self.adapters, self.coalesce, self.lease = store, adapters, coalesce, lease
        self.max_attempts = max_attempts

    async def edit_pending(self, matcher: RuleSet, platforms: tuple[str, ...] | None = None) -> EditStats:
        stats = EditStats()
        for platform in platforms or tuple(self.adapters):
            jobs = await self.store.edits.claim((platform,), lease=self.lease)
            for job in jobs:
                await self._one(job, matcher, stats)
        return stats

    async def _one(self, job: EditJob, matcher: RuleSet, stats: EditStats) -> None:
        finish = self.store.edits.finish
        if job.sent_at is not None and utcnow() - job.sent_at > MAX_AGE:
            await finish(job.delivery_id, job.lease_until, job.version, "gone", error="older than 48 h")
            stats.gone += 1
            return
        also = also_line(job.sources, job.stored.id, job.stored.item.feed_name or "")
        if also is None:  # only items of the alert's own feed joined: nothing to show
            await finish(job.delivery_id, job.lease_until, job.version, "unchanged", self.coalesce)
            stats.unchanged += 1
            return
        adapter = self.adapters[job.chat.platform]
        limiter = adapter.limiter
        while (wait := limiter.reserve(job.chat.address, job.chat.is_group)) > 0:  # noqa: ASYNC110
            await asyncio.sleep(wait)
        try:
            edited = await adapter.edit_alert(job.chat.address, job.message_ref, edit_alert_for(job, matcher), also)
        except DeliveryError as exc:
            await self._failed(job, exc, stats)
            return
        except Exception as exc:  # noqa: BLE001 - an adapter bug must not stop the dispatcher
            log.exception("edit of delivery %s: unexpected error", job.delivery_id)
            await self._failed(job, DeliveryError(f"{type(exc).__name__}: {exc}"), stats)
            return
        await finish(job.delivery_id, job.lease_until, job.version, "edited" if edited else "unchanged",
                     self.coalesce)
        if edited:
            stats.edited += 1
            log.info("alert edited: delivery %s, story %s, %s sources", job.delivery_id, job.story_id, also.total)
        else:
            stats.unchanged += 1

    async def _failed(self, job: EditJob, exc: DeliveryError, stats: EditStats) -> None:
        finish = self.store.edits.finish
        limiter = self.adapters[job.chat.platform].limiter
        if exc.retry_after:
            limiter.penalize(job.chat.address, exc.retry_after)
        attempts = job.attempts
        if exc.permanent or attempts >= self.max_attempts:
            log.info("edit of delivery %s given up: %s", job.delivery_id, exc)
            await finish(job.delivery_id, job.lease_until, job.version, "gone", error=str(exc))
            stats.gone += 1
            return
        delay = backoff(attempts, exc.retry_after)
        await finish(job.delivery_id, job.lease_until, job.version, "retry", error=str(exc),
                     retry_at=utcnow() + timedelta(seconds=delay))
        stats.retried += 1
