"""When to poll a feed next: pure functions of the feed's settings, what it asked, and its failures."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Protocol

MAX_BACKOFF = 6 * 3600  # a failing feed is retried at least this often (until it is marked broken)
MAX_RETRY_AFTER = 7 * 24 * 3600  # a server's own Retry-After is honoured in full, up to a week


def asked_interval(max_age: int | None, ttl_minutes: int | None) -> int | None:
    """What a full answer asks: the longer of Cache-Control max-age and the feed's <ttl>, in seconds."""
    asked = max(max_age or 0, (ttl_minutes or 0) * 60)
    return asked or None


def feed_interval(configured: int | None, default: int, asked: int | None, lowest: int, highest: int) -> int:
    """The feed's interval (its own, else the default), lengthened to what it asks, within [lowest, highest]."""
    wanted = max(configured or default, asked or 0)
    return max(lowest, min(wanted, highest))


def next_check(interval: float, now: datetime, jitter: float = 0.1) -> datetime:
    """``interval`` seconds from now, ±``jitter`` so that feeds added together do not stay in step."""
    return now + timedelta(seconds=interval * (1 + random.uniform(-jitter, jitter)))


def failure_delay(interval: int, error_count: int, broken: bool, broken_retry: int,
                  retry_after: float | None = None) -> float:
    """Seconds before the next try of a feed that just failed for the ``error_count + 1``-th time in a row:
    exponential from its interval (at most MAX_BACKOFF), slow once broken, never before the server's Retry-After."""
    delay = broken_retry if broken else min(interval * 2 ** min(error_count, 10), MAX_BACKOFF)
    return max(delay, min(retry_after or 0, MAX_RETRY_AFTER))


class PollLimits(Protocol):
    min_interval: int
    max_interval: int
    adaptive_max: int


LEARN_FROM = 3  # publishing times needed before a feed's interval is learned


def learned_interval(published: list[datetime], now: datetime, lowest: int, highest: int) -> int | None:
    """The interval a feed's own publishing suggests, or None with fewer than ``LEARN_FROM`` dated items.

    Half the median gap between its recent items (so a new item waits on average a quarter of a gap), and, when the
    feed has been silent for longer than its usual gap, a quarter of that silence: a feed that went quiet is asked
    less and less often. Always within [lowest, highest]."""
    times = sorted(t for t in published if t <= now)[-30:]
    if len(times) < LEARN_FROM:
        return None
    gaps = sorted((b - a).total_seconds() for a, b in zip(times, times[1:], strict=False))
    median = gaps[len(gaps) // 2]
    wanted = median / 2
    silence = (now - times[-1]).total_seconds()
    if silence > median:
        wanted = max(wanted, silence / 4)
    return int(max(lowest, min(wanted, highest)))


def learning_ceiling(poll: PollLimits) -> int:
    """The longest interval a feed may learn: ``poll.adaptive_max`` (within ``poll.max_interval``), so that a feed
    that went quiet is still asked often enough for its next item to be news, not history."""
    return max(poll.min_interval, min(poll.adaptive_max, poll.max_interval))


def adaptive_interval(configured: int | None, default: int, asked: int | None, learned: int | None, lowest: int,
                      highest: int) -> int:
    """A feed's own ``interval`` wins; else what it learned (else the default), never below what it asks."""
    base = configured or learned or default
    return max(lowest, min(max(base, asked or 0), highest))
