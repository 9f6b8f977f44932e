"""The scheduled jobs: APScheduler ticks that run the application's work, one job of a kind at a time.

A job that fails is logged and tried again at its next tick; a database problem is said once (see Health), not
as a traceback per tick. A stop waits for the jobs in flight, so no send is cut between "sent" and "marked"."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.http.health import Health
from bot.store.db import utcnow

log = logging.getLogger(__name__)

STOP_GRACE = 30  # seconds a stop waits for a poll or delivery in flight
Work = Callable[[], Awaitable[None]]


class Jobs:
    def __init__(self, health: Health):
        self.health = health
        self.stopping = asyncio.Event()
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._jobs: list[tuple[str, Work, float, bool]] = []

    def every(self, name: str, seconds: float, work: Work, at_once: bool = False) -> None:
        """Run ``work`` every ``seconds`` (the first time at once when ``at_once``)."""
        self._jobs.append((name, work, seconds, at_once))

    async def run(self, name: str, work: Work) -> None:
        """Run one job now; a job that fails is logged, and its next tick tries again."""
        if self.stopping.is_set():
            return
        started = self.health.last_tick = utcnow()
        self._inflight += 1
        self._idle.clear()
        try:
            await work()
            if name in ("poll", "deliver"):
                self.health.store_works(job_started=started)
        except Exception as exc:  # noqa: BLE001 - the next tick tries again
            if self.health.store_failed(exc) is None:
                log.exception("scheduled %s job failed", name)
        finally:
            self._inflight -= 1
            if self._inflight == 0:
                self._idle.set()

    async def run_until_stopped(self) -> None:
        """Until SIGINT/SIGTERM (or ``stopping`` is set), then wait for the jobs in flight."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.stopping.set)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - not the main thread
                pass
        scheduler = AsyncIOScheduler(event_loop=loop, timezone="UTC")
        now = datetime.now().astimezone()
        for name, work, seconds, at_once in self._jobs:
            scheduler.add_job(self.run, "interval", args=[name, work], seconds=seconds, id=name, max_instances=1,
                              coalesce=True, misfire_grace_time=30, **({"next_run_time": now} if at_once else {}))
        scheduler.start()
        try:
            await self.stopping.wait()
        finally:
            log.info("stopping: waiting for %d job(s) in flight", self._inflight)
            scheduler.pause()
            try:
                await asyncio.wait_for(self._idle.wait(), timeout=STOP_GRACE)
            except TimeoutError:
                log.warning("jobs still running after %d s; stopping anyway", STOP_GRACE)
            scheduler.shutdown(wait=False)
