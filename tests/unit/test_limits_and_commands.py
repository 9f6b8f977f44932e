from datetime import timedelta

import pytest

from bot.commands.handlers import parse_duration
from bot.commands.resolve import Resolver, Target
from bot.delivery.limits import TELEGRAM, RateLimiter
from bot.extract.matcher import Matcher
from bot.rules.load import load_rules
from tests.conftest import RULES


def test_per_chat_interval_and_global_rate():
    limiter = RateLimiter(TELEGRAM)
    gap = 1 / TELEGRAM.per_second
    assert limiter.reserve("a", now=100.0) == 0
    assert limiter.reserve("a", now=100.5) == pytest.approx(0.5)
    assert limiter.reserve("a", now=101.0) == 0
    assert limiter.reserve("b", now=101.0) == pytest.approx(gap)  # sends are spaced evenly, not in bursts
    sent, now = 0, 101.0
    while now < 102.0:
        if limiter.reserve(f"c{sent}", now=now) == 0:
            sent += 1
        now += 0.001
    assert sent <= TELEGRAM.per_second  # never more than the limit in a second


def test_group_minute_limit():
    limiter = RateLimiter(TELEGRAM)
    for i in range(20):
        assert limiter.reserve("g", is_group=True, now=1000.0 + i * 1.5) == 0
    wait = limiter.reserve("g", is_group=True, now=1000.0 + 20 * 1.5)
    assert wait == pytest.approx(30.0)


def test_penalize_after_retry_after():
    limiter = RateLimiter(TELEGRAM)
    limiter.penalize("x", 5.0, now=10.0)
    assert limiter.reserve("x", now=12.0) == pytest.approx(3.0)  # allowed again at 10 + 5


@pytest.mark.parametrize(("text", "expected"), [("30m", timedelta(minutes=30)), ("2h", timedelta(hours=2)),
                                                ("1d", timedelta(days=1)), ("3", timedelta(hours=3)),
                                                ("90 minutes", timedelta(minutes=90))])
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["soon", "0m", "31d", "-1h", ""])
def test_parse_duration_refuses(text):
    assert parse_duration(text) is None


@pytest.fixture(scope="module")
def resolver():
    return Resolver(Matcher(load_rules(RULES)))


@pytest.mark.parametrize(("query", "target"), [
    ("قانون قيصر", Target("entity", "caesar-act")), ("Caesar Act", Target("entity", "caesar-act")),
    ("ceasar act", Target("entity", "caesar-act")), ("وبقانون قيصر", Target("entity", "caesar-act")),
    ("2254", Target("entity", "unsc-2254")), ("syria-process", Target("watchlist", "syria-process")),
    ("العملية السياسية في سوريا", Target("watchlist", "syria-process")), ("Lavrof", Target("entity", "sergei-lavrov")),
])
def test_resolver_finds_one(resolver, query, target):
    assert resolver.resolve(query) == [target]


def test_resolver_offers_several_and_nothing(resolver):
    assert Target("entity", "bashar-al-assad") in resolver.resolve("Assad")
    # a watchlist that is just one entity stands for it: one answer, no question
    assert resolver.resolve("Resolution 2254") == [Target("watchlist", "resolution-2254")]
    assert resolver.resolve("water crisis") == []
