"""Adaptive intervals (issue 14): learned from a feed's publishing times, always within the poll bounds."""

from __future__ import annotations

from datetime import datetime, timedelta

from bench.polling import simulated_day
from bot.feeds.schedule import adaptive_interval, learned_interval

NOW = datetime(2026, 1, 2, 12)


def times(every: timedelta, count: int, last: datetime = NOW) -> list[datetime]:
    return [last - every * i for i in range(count)]


def test_busy_feeds_are_polled_often_and_quiet_ones_less():
    assert learned_interval(times(timedelta(minutes=4), 20), NOW, 60, 21600) == 120
    assert learned_interval(times(timedelta(seconds=10), 20), NOW, 60, 21600) == 60  # never below min_interval
    quiet = learned_interval(times(timedelta(hours=8), 10), NOW, 60, 21600)
    assert quiet == 4 * 3600
    assert learned_interval(times(timedelta(days=3), 10), NOW, 60, 21600) == 21600  # never above max_interval
    # silent for longer than usual: asked less and less often
    silent = learned_interval(times(timedelta(minutes=10), 20, last=NOW - timedelta(hours=8)), NOW, 60, 21600)
    assert silent == 2 * 3600
    assert learned_interval(times(timedelta(minutes=10), 2), NOW, 60, 21600) is None  # too little to learn from


def test_own_interval_and_asked_interval_win():
    assert adaptive_interval(900, 300, None, 120, 60, 21600) == 900
    assert adaptive_interval(None, 300, 1800, 120, 60, 21600) == 1800
    assert adaptive_interval(None, 300, None, None, 60, 21600) == 300
    assert adaptive_interval(None, 300, None, 120, 60, 21600) == 120


def test_a_simulated_day_asks_quiet_feeds_much_less():
    day = simulated_day()
    assert day["quiet"]["adaptive_requests"] * 4 < day["quiet"]["fixed_requests"]  # far fewer requests
    assert day["quiet"]["adaptive_mean_delay_s"] < 1200  # ... and a rare item still waits minutes, not hours
    assert day["busy"]["adaptive_mean_delay_s"] <= day["busy"]["fixed_mean_delay_s"]


def test_a_quiet_feed_is_still_asked_every_adaptive_max():
    from datetime import datetime, timedelta

    from bot.config import PollConfig
    from bot.feeds.schedule import learned_interval, learning_ceiling

    now = datetime(2026, 11, 29, 12, 0)
    quiet = [now - timedelta(hours=h) for h in (48, 40, 30, 20)]  # one item every ~9 hours, silent for 20 hours
    poll = PollConfig()
    assert learning_ceiling(poll) == 1800
    assert learned_interval(quiet, now, poll.min_interval, poll.max_interval) > 3600  # what it would learn alone
    assert learned_interval(quiet, now, poll.min_interval, learning_ceiling(poll)) == 1800
    assert learning_ceiling(PollConfig(adaptive_max=100_000, max_interval=7200)) == 7200  # within max_interval
