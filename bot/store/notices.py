"""Administrator notices (broken feed, works again, rules errors): an outbox like deliveries, so a 429 or a restart
at the wrong moment does not lose the one message an administrator gets."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.model import NoticeJob
from bot.store.db import utcnow
from bot.store.tables import notices


class NoticeStore:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine

    async def create(self, targets: Sequence[tuple[str, str]], key: str, params: Mapping[str, object]) -> int:
        """One stored notice per (platform, address); sent by the dispatcher like alerts."""
        if not targets:
            return 0
        now = utcnow()
        payload = json.dumps(params, ensure_ascii=False, default=str)
        async with self.engine.begin() as conn:
            await conn.execute(insert(notices), [
                {"platform": p, "address": a, "key": key, "params": payload, "next_attempt_at": now, "created_at": now}
                for p, a in targets])
        return len(targets)

    async def claim(self, platforms: Sequence[str], limit: int = 20,
                            lease: float = 120.0) -> list[NoticeJob]:
        now = utcnow()
        until = now + timedelta(seconds=lease)
        query = (select(notices).where(
            notices.c.state == "pending", notices.c.next_attempt_at <= now, notices.c.platform.in_(list(platforms)),
            or_(notices.c.lease_until.is_(None), notices.c.lease_until < now))
            .order_by(notices.c.id).limit(limit).with_for_update(skip_locked=True, of=notices))
        async with self.engine.begin() as conn:
            rows = (await conn.execute(query)).all()
            if rows:
                await conn.execute(update(notices).where(notices.c.id.in_([r.id for r in rows])).values(
                    lease_until=until))
        return [NoticeJob(r.id, r.platform, r.address, r.key, json.loads(r.params or "{}"), r.attempts, until)
                for r in rows]

    async def finish(self, job: NoticeJob, state: str, error: str | None = None,
                            retry_at: datetime | None = None) -> bool:
        """sent, dead, or pending again at ``retry_at``; only while this claim's lease is still its own."""
        values: dict[str, object] = {"state": state, "lease_until": None,
                                     "last_error": error[:1000] if error else None}
        if state == "sent":
            values["sent_at"] = utcnow()
        if retry_at is not None:
            values["next_attempt_at"] = retry_at
            values["attempts"] = notices.c.attempts + 1
        async with self.engine.begin() as conn:
            result = await conn.execute(update(notices).where(
                notices.c.id == job.id, notices.c.lease_until == job.lease_until).values(**values))
        return result.rowcount == 1
