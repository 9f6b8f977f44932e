"""Each feed's recent publishing times, read from the items table only when they can have changed.

The learned interval (bot/feeds/schedule.py) is a pure function of these times and the present moment. Reading
them costs a query per poll; most polls (a 304, or nothing new) change nothing, so the times are kept per feed and
read again only when this worker stored new items for the feed, or after ``ttl`` seconds (items another worker or
a WebSub push stored). The rule itself still runs with the present moment on every poll, so a feed that went quiet
is still asked less and less often."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime

Reader = Callable[[int], Awaitable[list[datetime]]]

DEFAULT_TTL = 3600.0


class PublishingTimes:
    def __init__(self, read: Reader, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.monotonic):
        self._read = read
        self._ttl = ttl
        self._clock = clock
        self._kept: dict[int, tuple[float, list[datetime]]] = {}
        self.reads = 0  # queries made (for tests and the bench)

    async def of(self, feed_id: int) -> list[datetime]:
        kept = self._kept.get(feed_id)
        now = self._clock()
        if kept is None or now - kept[0] > self._ttl:
            self.reads += 1
            kept = (now, await self._read(feed_id))
            self._kept[feed_id] = kept
        return kept[1]

    def changed(self, feed_id: int) -> None:
        """New items were stored for the feed: its times are read again at its next poll."""
        self._kept.pop(feed_id, None)
