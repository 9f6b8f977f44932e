"""Digests and quiet hours: when held alerts go out (APScheduler cron triggers), and the one message they become."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from bot.alerts.compose import MAX_HEADLINE, MAX_SOURCE, clean, clip, safe_link
from bot.alerts.i18n import t
from bot.delivery.sources import Also

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
    """One held alert as a digest line. Feed text: cleaned of bidi and control characters, clipped like an alert's
    headline and source; the link kept only when it is fit to be linked (``safe_link``). Escaping is the
    platform's, in the ``fmt`` it gives ``render_digest``."""

    headline: str
    source: str
    link: str
    also: Also | None = None  # the story's other feeds and count, rendered by the platform ("Also: ... — N sources")
    update: bool = False  # the story was in an earlier digest: this line brings its count ("Update:")

    def __post_init__(self) -> None:
        self.headline = clip(clean(self.headline or ""), MAX_HEADLINE)
        self.source = clip(clean(self.source or ""), MAX_SOURCE)
        self.link = safe_link(self.link or "")


@dataclass
class Digest:
    """Held alerts of one chat grouped by watchlist (or by what the chat follows)."""

    language: str
    groups: dict[str, list[DigestEntry]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.groups.values())


def _identity(text: str) -> str:
    return text


def render_digest(digest: Digest, limit: int, fmt: Callable[[DigestEntry], str],
                  group: Callable[[str], str] = _identity, prefix: str = "",
                  measure: Callable[[str], int] = len) -> list[str]:
    """The digest as messages of at most ``limit`` (by ``measure``), split between lines, never inside one.

    ``fmt(entry)`` is the platform's line for an entry and ``group(name)`` its group heading, both escaped for
    the platform; ``prefix`` starts every line (RLM in Arabic). An entry whose line would not fit in a message
    is rendered again without its link, then with a shorter headline, until it fits: markup is never cut."""
    lang = digest.language
    title = prefix + t(lang, "digest.title", count=digest.count)
    continued = prefix + t(lang, "digest.continued")
    room = limit - max(measure(title), measure(continued)) - 1  # what one line may take after a message's head
    messages: list[str] = []
    current = title
    for name, entries in digest.groups.items():
        heading = [prefix, prefix + group(clean(name))]  # a blank line, then the group's name
        pending = heading  # a heading goes out with the first entry under it, never alone at a message's end
        for entry in entries:
            line = _fitting_line(entry, fmt, prefix, room, measure)
            if line is None:
                continue
            lines = [*pending, line]
            if measure(current) + sum(measure(x) + 1 for x in lines) > limit:
                messages.append(current)
                current = continued
                lines = [*heading, line]  # the group's name again at the top of the continued message
                if measure(current) + sum(measure(x) + 1 for x in lines) > limit:
                    lines = [line]
            current += "".join("\n" + x for x in lines)
            pending = []
    messages.append(current)
    return messages


def _fitting_line(entry: DigestEntry, fmt: Callable[[DigestEntry], str], prefix: str, room: int,
                  measure: Callable[[str], int]) -> str | None:
    line = prefix + fmt(entry)
    while measure(line) > room:
        if entry.link:
            entry = dataclasses.replace(entry, link="")
        elif entry.also is not None and entry.also.shown:
            entry = dataclasses.replace(entry, also=Also((), entry.also.more + len(entry.also.shown),
                                                         entry.also.total))
        elif len(entry.headline) > 1 or len(entry.source) > 1:
            if len(entry.headline) >= len(entry.source):
                entry = dataclasses.replace(entry, headline=clip(entry.headline, len(entry.headline) * 2 // 3))
            else:
                entry = dataclasses.replace(entry, source=clip(entry.source, len(entry.source) * 2 // 3))
        else:
            return None  # the platform's own line is longer than a message: nothing of it can be sent
        line = prefix + fmt(entry)
    return line
