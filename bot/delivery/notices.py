"""Administrator notices (broken feed, works again, rules errors) as stored jobs, sent like alerts.

A notice is written to the store first and sent by the delivery side: a 429 or a restart at the wrong moment
delays it, never loses it. Each is rendered in the administrator's language when it is sent."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import timedelta

from bot.adapters.base import Adapter, DeliveryError
from bot.alerts.i18n import t
from bot.config import Settings
from bot.model import DeliveryState
from bot.store import Store
from bot.store.db import utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10


def notice_backoff(attempts: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return max(retry_after, 1.0)
    return min(5.0 * 2 ** attempts, 3600.0)


async def send_notices(store: Store, adapters: Mapping[str, Adapter], lease: float = 120.0) -> int:
    """Send the stored notices that are due; returns how many were sent."""
    if not adapters:
        return 0
    sent = 0
    for job in await store.notices.claim(tuple(adapters), lease=lease):
        adapter = adapters[job.platform]
        chat = await store.chats.get(job.platform, job.address)
        text = t(chat.language if chat else "en", job.key, **job.params)
        while (wait := adapter.limiter.reserve(job.address)) > 0:  # noqa: ASYNC110 - a timed wait for the slot
            await asyncio.sleep(min(wait, 5.0))
        try:
            await adapter.send_notice(job.address, text)
        except Exception as exc:  # noqa: BLE001 - a notice that fails is retried, never fatal
            retry_after = getattr(exc, "retry_after", None)
            if isinstance(retry_after, timedelta):
                retry_after = retry_after.total_seconds()
            permanent = isinstance(exc, DeliveryError) and exc.permanent
            if permanent or job.attempts + 1 >= MAX_ATTEMPTS:
                log.warning("notice %d to %s admin %s given up: %s", job.id, job.platform, job.address, exc)
                await store.notices.finish(job, DeliveryState.DEAD, str(exc))
            else:
                delay = notice_backoff(job.attempts, retry_after)
                log.warning("notice %d to %s admin %s failed (%s); retry in %.0f s", job.id, job.platform,
                            job.address, exc, delay)
                await store.notices.finish(job, DeliveryState.PENDING, str(exc),
                                            retry_at=utcnow() + timedelta(seconds=delay))
            continue
        await store.notices.finish(job, DeliveryState.SENT)
        sent += 1
    return sent


async def notify_admins(store: Store, settings: Settings, key: str, values: Mapping[str, object]) -> None:
    """Tell the bot administrators (Telegram and Slack user ids in config), each in their language: stored as
    notices first, sent by the delivery side like alerts (retried on 429, kept across a restart)."""
    targets = [("telegram", str(a)) for a in settings.telegram.admins] if settings.telegram_token else []
    targets += [("slack", a) for a in settings.slack.admins] if settings.slack_bot_token else []
    log.warning("admin notice: %s", t("en", key, **values).replace("\n", " "))
    if targets:
        await store.notices.create(targets, key, dict(values))
