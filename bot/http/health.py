"""What /healthz and /metrics report: the database, the scheduler, the last successful poll, the queue."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from aiohttp import web

from bot.http.metrics import Metrics
from bot.model import DeliveryState
from bot.store import Store
from bot.store.db import describe_store_error, utcnow

log = logging.getLogger(__name__)

SCHEDULER_STALE = 120  # seconds without a tick before the scheduler counts as dead
WRITE_PROBLEM_MEMORY = timedelta(minutes=15)  # a write problem not met again for this long is over
QUEUED = (DeliveryState.PENDING, DeliveryState.FAILED, DeliveryState.HELD, DeliveryState.CLAIMED,
          DeliveryState.SENDING)


class Health:
    """The service's health as its jobs see it. A database problem is said once in the log (not a traceback per
    tick) and /healthz is unhealthy until the database works again: any job clears a connection problem, a
    write of new items clears a write problem (a full disk)."""

    def __init__(self, store: Store, metrics: Metrics, role: str):
        self.store = store
        self.metrics = metrics
        self.role = role
        self.last_tick: datetime | None = None
        self.problem: tuple[str, datetime] | None = None  # the database problem now, and since when
        self._seen = datetime.min  # when it was last met
        self._write = False

    def store_failed(self, exc_or_problem: BaseException | str, write: bool = False) -> str | None:
        """Record a database problem; returns its one-line description (None: not a database problem)."""
        problem = (exc_or_problem if isinstance(exc_or_problem, str)
                   else describe_store_error(exc_or_problem, self.store.url))
        if problem is None:
            return None
        self._seen = utcnow()
        self._write = write
        if self.problem is None or self.problem[0] != problem:
            self.problem = (problem, utcnow())
            log.error("%s; retrying every tick, nothing is lost (/healthz reports it)", problem)
        return problem

    def store_works(self, job_started: datetime | None = None, wrote: bool = False) -> None:
        """A job that started at ``job_started`` worked (``wrote``: it stored new items)."""
        if self.problem is None or (job_started is not None and self._seen >= job_started):
            return
        if self._write and not wrote and utcnow() - self._seen <= WRITE_PROBLEM_MEMORY:
            return
        log.warning("database works again after: %s", self.problem[0])
        self.problem = None

    async def report(self) -> dict:
        """Database reachable, scheduler alive (when running), age of the last successful poll."""
        try:
            feeds = await self.store.feeds.all()
        except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
            return {"ok": False, "database": describe_store_error(exc, self.store.url)
                    or f"unreachable: {type(exc).__name__}"}
        now = utcnow()
        last = max((f.last_success_at for f in feeds if f.last_success_at), default=None)
        tick_age = (now - self.last_tick).total_seconds() if self.last_tick else None
        scheduler_alive = tick_age is None or tick_age < SCHEDULER_STALE
        problem = self.problem
        return {"ok": scheduler_alive and problem is None,
                "database": "ok" if problem is None else f"{problem[0]} (since {problem[1]:%Y-%m-%d %H:%M:%S} UTC)",
                "role": self.role, "feeds": len(feeds),
                "scheduler": "alive" if scheduler_alive else f"no tick for {tick_age:.0f} s",
                "last_successful_poll_age_s": round((now - last).total_seconds(), 1) if last else None}

    async def metrics_endpoint(self, request: web.Request) -> web.Response:  # noqa: ARG002
        try:
            counts = await self.store.deliveries.counts()
            for state in QUEUED:
                self.metrics.set("rasad_queue_depth", counts.get(state, 0), state=state.value)
            report = await self.report()
            if report.get("last_successful_poll_age_s") is not None:
                self.metrics.set("rasad_last_successful_poll_age_seconds", report["last_successful_poll_age_s"])
        except Exception:  # noqa: BLE001 - metrics still answer with what the process counted
            log.warning("metrics: the database did not answer")
        return web.Response(text=self.metrics.render(), content_type="text/plain", charset="utf-8")
