"""Follow-ups of developing stories (issue 15): claim, render the chat's first alert of the story with a "Developing
story: N sources" line and the "Also:" line, send as a new message, record.

Paced by the platform's limiter like alerts. Quiet hours hold a follow-up until they end unless the story's alert
was urgent (urgent watchlists escalate as for alerts); a muted chat's follow-up waits in the outbox. A follow-up
is sent at most once: the row is ``sending`` under the claim before the request, and one cut mid-send is not
sent again (bot/store/followups.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from bot.adapters.base import Adapter, DeliveryError
from bot.delivery.digest import in_quiet_hours, quiet_ends_at
from bot.delivery.outbox import backoff, chat_alert
from bot.delivery.sources import Also, also_line
from bot.extract.matcher import RuleSet
from bot.model import Alert
from bot.store import Store
from bot.store.db import utcnow
from bot.store.followups import DEAD, SENT, FollowupJob

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


@dataclass
class FollowupStats:
    sent: int = 0
    held: int = 0  # quiet hours or a rate limit: later
    retried: int = 0
    dead: int = 0


def followup_alert(job: FollowupJob, matcher: RuleSet) -> Alert:
    """The chat's first alert of the story, as it was sent (why this chat gets it), in the chat's language."""
    alert = chat_alert(job.stored, job.followed, job.chat.language, matcher)
    return dataclasses.replace(alert, story_id=job.story_id, urgent=alert.urgent or job.urgent)


def followup_also(job: FollowupJob) -> Also:
    """The other feeds of the story; never None (a developing story has several feeds, but the chat's own alert
    may be the only item of its feed that is left)."""
    also = also_line(job.sources, job.stored.id, job.stored.item.feed_name or "")
    return also or Also((), 0, len({s.feed for s in job.sources}) or 1)


class FollowupDispatcher:
    def __init__(self, store: Store, adapters: Mapping[str, Adapter], lease: float = 120.0,
                 max_attempts: int = MAX_ATTEMPTS):
        self.store, self.adapters, self.lease, self.max_attempts = store, adapters, lease, max_attempts

    async def send_pending(self, matcher: RuleSet) -> FollowupStats:
        stats = FollowupStats()
        for platform in self.adapters:
            for job in await self.store.followups.claim((platform,), lease=self.lease):
                await self._one(job, matcher, stats)
        return stats

    async def _one(self, job: FollowupJob, matcher: RuleSet, stats: FollowupStats) -> None:
        followups = self.store.followups
        chat, now = job.chat, utcnow()
        if not job.urgent and chat.quiet_end and in_quiet_hours(chat.quiet_start, chat.quiet_end, chat.timezone, now):
            await followups.finish(job.id, "postpone", retry_at=quiet_ends_at(chat.quiet_end, chat.timezone, now))
            stats.held += 1
            return
        adapter = self.adapters[chat.platform]
        while (wait := adapter.limiter.reserve(chat.address, chat.is_group)) > 0:  # noqa: ASYNC110
            await asyncio.sleep(wait)
        if not await followups.start_sending(job.id, job.lease_until, self.lease):
            log.info("follow-up %s: claim expired before sending; left to the worker that holds it", job.id)
            return
        try:
            ref = await adapter.send_followup(chat.address, followup_alert(job, matcher), followup_also(job))
        except DeliveryError as exc:
            await self._failed(job, exc, stats)
            return
        except Exception as exc:  # noqa: BLE001 - an adapter bug must not stop the dispatcher
            log.exception("follow-up %s: unexpected error", job.id)
            await self._failed(job, DeliveryError(f"{type(exc).__name__}: {exc}", unknown_outcome=True), stats)
            return
        await followups.finish(job.id, SENT, message_ref=ref)
        stats.sent += 1
        log.info("developing story %s: follow-up sent to %s chat %s", job.story_id, chat.platform, chat.id)

    async def _failed(self, job: FollowupJob, exc: DeliveryError, stats: FollowupStats) -> None:
        """Refused for sure (429, network before the request): retried. Permanent, out of attempts, or an unknown
        outcome (the platform may have shown it): never sent again."""
        if exc.retry_after:
            self.adapters[job.chat.platform].limiter.penalize(job.chat.address, exc.retry_after)
        if exc.permanent or exc.unknown_outcome or job.attempts >= self.max_attempts:
            log.info("follow-up %s given up: %s", job.id, exc)
            await self.store.followups.finish(job.id, DEAD, error=str(exc))
            stats.dead += 1
            return
        await self.store.followups.finish(job.id, "retry", error=str(exc),
                                          retry_at=utcnow() + timedelta(seconds=backoff(job.attempts, exc.retry_after)))
        stats.retried += 1
