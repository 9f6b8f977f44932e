"""Digests and quiet hours: when held alerts go out (APScheduler cron triggers), and the one message they become."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from bot.alerts.i18n import t

HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(text: str) -> time | None:
    match = HHMM.match(text.strip())
    return time(int(match.group(1)), int(match.group(2))) if match else None


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
        return True
    except (ZoneInfoNotFoundError, ValueError):
        return False


def _next_fire(trigger: CronTrigger, now_utc: datetime) -> datetime:
    aware = now_utc.replace(tzinfo=UTC)
    fire = trigger.get_next_fire_time(None, aware)
    return fire.astimezone(UTC).replace(tzinfo=None)


def next_digest_at(mode: str, digest_time: str | None, tz: str, now_utc: datetime) -> datetime | None:
    """Naive UTC time of the next digest: hourly on the hour, daily at HH:MM in the chat's timezone."""
    if mode == "hourly":
        return _next_fire(CronTrigger(minute=0, timezone=zone(tz)), now_utc)
    if mode == "daily":
        at = parse_hhmm(digest_time or "08:00") or time(8, 0)
        return _next_fire(CronTrigger(hour=at.hour, minute=at.minute, timezone=zone(tz)), now_utc)
    return None


def in_quiet_hours(start: str | None, end: str | None, tz: str, now_utc: datetime) -> bool:
    a, b = parse_hhmm(start or ""), parse_hhmm(end or "")
    if a is None or b is None or a == b:
        return False
    local = now_utc.replace(tzinfo=UTC).astimezone(zone(tz)).time()
    return a <= local < b if a < b else (local >= a or local < b)


def quiet_ends_at(end: str, tz: str, now_utc: datetime) -> datetime:
    at = parse_hhmm(end) or time(7, 0)
    return _next_fire(CronTrigger(hour=at.hour, minute=at.minute, timezone=zone(tz)), now_utc)


@dataclass
class DigestEntry:
    headline: str
    source: str
    link: str


@dataclass
class Digest:
    """Held alerts of one chat grouped by watchlist (or by what the chat follows)."""

    language: str
    groups: dict[str, list[DigestEntry]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.groups.values())


def render_digest(digest: Digest, limit: int, fmt) -> list[str]:
    """The digest as messages of at most ``limit`` characters. ``fmt(entry) -> str`` is the platform's line."""
    lang = digest.language
    head = t(lang, "digest.title", count=digest.count)
    messages, current = [], head
    for group, entries in digest.groups.items():
        block = [f"\n{group}"] + [fmt(e) for e in entries]
        for line in block:
            if len(current) + 1 + len(line) > limit:
                messages.append(current)
                current = t(lang, "digest.continued")
            current += "\n" + line[: limit - len(current) - 1]
    messages.append(current)
    return messages
