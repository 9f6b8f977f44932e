"""``rasad feeds check``: fetch each feed live, concurrently and politely, and say what a deployer needs to know.

One row per feed: HTTP status, format, items, age of the newest item, redirects and the final URL, encoding
problems, TTL / Cache-Control, the WebSub hub it declares, and a verdict:

- ``ok``: it answers with a feed whose newest item is recent;
- ``stale``: a feed, but its newest item is older than ``stale_after`` (or it has no dated item);
- ``moved``: it answers only after a permanent redirect (301/308): the configured URL should be changed;
- ``broken``: an HTTP error, a network failure, or a body that is not a feed.
"""

from __future__ import annotations

import asyncio
import calendar
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from urllib.parse import urlparse

import feedparser
import httpx

from bot.config import PollConfig
from bot.feeds.fetch import FetchError, _fetch_local, _read, is_remote

STALE_AFTER = 14 * 86400
PERMANENT = (301, 308)
_LINK_HUB = re.compile(r'<([^>]+)>\s*;[^,]*?\brel\s*=\s*"?([^",;]*\bhub\b[^",;]*)"?', re.I)


@dataclass
class CheckRow:
    name: str
    url: str
    status: int | None = None
    format: str | None = None  # rss20, atom10, ...
    items: int = 0
    newest_age: float | None = None  # seconds since the newest dated item
    redirects: list[int] | None = None  # status codes of the redirects followed
    final_url: str | None = None
    encoding: str | None = None  # an encoding problem, if any
    ttl: int | None = None  # the feed's <ttl>, minutes
    cache_control: str | None = None
    hub: str | None = None  # the WebSub hub it declares (atom:link rel=hub or HTTP Link)
    verdict: str = "broken"
    reason: str = ""

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def link_header_hub(value: str) -> str | None:
    for url, rel in _LINK_HUB.findall(value or ""):
        if "hub" in rel.lower().split():
            return url.strip()
    return None


def feed_hub(parsed: feedparser.FeedParserDict) -> str | None:
    for link in parsed.feed.get("links", []) or []:
        if "hub" in str(link.get("rel", "")).lower().split() and link.get("href"):
            return str(link["href"])
    return None


def _newest(parsed: feedparser.FeedParserDict) -> datetime | None:
    times = [e.get("published_parsed") or e.get("updated_parsed") for e in parsed.entries]
    stamps = [datetime.fromtimestamp(calendar.timegm(t), UTC) for t in times if t]
    return max(stamps) if stamps else None


def _encoding_problem(parsed: feedparser.FeedParserDict, content: bytes) -> str | None:
    exc = parsed.get("bozo_exception")
    if isinstance(exc, (feedparser.CharacterEncodingOverride, feedparser.CharacterEncodingUnknown)):
        return str(exc).split("\n")[0][:200]
    if parsed.get("encoding") in ("utf-8", "utf8") and b"\xef\xbf\xbd" not in content:
        try:
            content.decode("utf-8")
        except UnicodeDecodeError as err:
            return f"declared utf-8 but byte {err.start} is not utf-8"
    return None


def classify(row: CheckRow, parsed: feedparser.FeedParserDict, content: bytes, now: datetime,
             stale_after: float) -> None:
    """Fill the feed fields of ``row`` and its verdict from what was parsed."""
    row.format = parsed.get("version") or None
    row.items = len(parsed.entries)
    row.encoding = _encoding_problem(parsed, content)
    ttl = str(parsed.feed.get("ttl", "")).strip()
    row.ttl = int(ttl) if ttl.isascii() and ttl.isdigit() and len(ttl) < 8 else None
    row.hub = row.hub or feed_hub(parsed)
    if not row.format and not row.items:
        row.verdict, row.reason = "broken", "not an RSS or Atom feed"
        return
    newest = _newest(parsed)
    row.newest_age = (now - newest).total_seconds() if newest else None
    if any(code in PERMANENT for code in row.redirects or []):
        row.verdict, row.reason = "moved", f"permanently redirected to {row.final_url}"
    elif newest is None:
        row.verdict, row.reason = "stale", "no dated item"
    elif row.newest_age is not None and row.newest_age > stale_after:
        row.verdict, row.reason = "stale", f"newest item {row.newest_age / 86400:.0f} days old"
    else:
        row.verdict, row.reason = "ok", ""


async def check_feed(client: httpx.AsyncClient, name: str, url: str, poll: PollConfig,
                     stale_after: float = STALE_AFTER, now: datetime | None = None) -> CheckRow:
    row = CheckRow(name=name, url=url, redirects=[])
    try:
        if is_remote(url):
            async with asyncio.timeout(poll.timeout):
                async with client.stream("GET", url, follow_redirects=True) as response:
                    row.status = response.status_code
                    row.redirects = [r.status_code for r in response.history]
                    row.final_url = str(response.url)
                    row.cache_control = response.headers.get("cache-control")
                    row.hub = link_header_hub(response.headers.get("link", ""))
                    result = await _read(response, poll, None, None)
        else:
            result = await _fetch_local(url, poll.max_bytes)
    except FetchError as exc:
        row.reason = str(exc)
        return row
    except TimeoutError:
        row.reason = f"no complete answer within {poll.timeout:g} s"
        return row
    except httpx.TooManyRedirects:
        row.reason = f"more than {poll.max_redirects} redirects"
        return row
    except httpx.HTTPError as exc:
        row.reason = f"{type(exc).__name__}: {exc}"[:300]
        return row
    parsed = await asyncio.to_thread(feedparser.parse, result.content,
                                     response_headers=result.headers or {"content-type": "application/xml"})
    classify(row, parsed, result.content, now or datetime.now(UTC), stale_after)
    return row


async def check_feeds(feeds: Sequence[tuple[str, str]], poll: PollConfig, stale_after: float = STALE_AFTER,
                      client: httpx.AsyncClient | None = None) -> list[CheckRow]:
    """Every feed at once, within ``poll.concurrency`` fetches overall and ``poll.per_host`` per host."""
    own = client is None
    client = client or httpx.AsyncClient(
        timeout=httpx.Timeout(poll.timeout, connect=poll.connect_timeout), max_redirects=poll.max_redirects,
        headers={"User-Agent": poll.user_agent, "Accept": "application/rss+xml, application/atom+xml, "
                 "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"})
    overall = asyncio.Semaphore(poll.concurrency)
    hosts: dict[str, asyncio.Semaphore] = {}

    async def one(name: str, url: str) -> CheckRow:
        host = urlparse(url).hostname or "local"
        async with hosts.setdefault(host, asyncio.Semaphore(poll.per_host)), overall:
            return await check_feed(client, name, url, poll, stale_after)

    try:
        return list(await asyncio.gather(*(one(n, u) for n, u in feeds)))
    finally:
        if own:
            await client.aclose()


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{max(seconds, 0):.0f}s"


_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")


def _clean(text: str) -> str:
    """What a server said, safe for a terminal: no control characters (escape sequences) and no bidi controls."""
    return _UNPRINTABLE.sub("", text)


def table(rows: list[CheckRow]) -> str:
    """A plain-text table, one row per feed (the reason and the final URL on the same line)."""
    lines = ["verdict  status format  items newest  redir ttl/cache          hub enc  name — detail"]
    for r in rows:
        cache = f"ttl {r.ttl}m" if r.ttl else (r.cache_control or "-")
        detail = r.reason or ""
        if r.redirects and r.final_url and r.verdict != "moved":
            detail = (detail + f" (redirected to {r.final_url})").strip()
        lines.append(f"{r.verdict:<8} {r.status or '-'!s:<6} {r.format or '-':<7} {r.items:>5} {_age(r.newest_age):>6}"
                     f"  {len(r.redirects or []):>4} {cache[:20]:<20} {'yes' if r.hub else 'no':<3} "
                     f"{'BAD' if r.encoding else 'ok':<4} {r.name} — {r.url}{'  ' + detail if detail else ''}"
                     f"{'  encoding: ' + r.encoding if r.encoding else ''}")
        lines[-1] = _clean(lines[-1])
    counts = {v: sum(r.verdict == v for r in rows) for v in ("ok", "stale", "moved", "broken")}
    lines.append(", ".join(f"{n} {v}" for v, n in counts.items()))
    return "\n".join(lines)
