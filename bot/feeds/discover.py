"""Autodiscovery: the feeds a web page declares (``<link rel="alternate" type="application/rss+xml">``), or, only
when it declares none, the feeds found at common paths. Every fetch goes through the SSRF guard when asked."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlparse

import httpx

from bot.config import PollConfig
from bot.feeds.fetch import FetchError, fetch
from bot.feeds.parse import ParseError, parse_feed

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json", "application/rdf+xml")
COMMON_PATHS = ("/feed", "/rss", "/rss.xml", "/feed.xml", "/atom.xml", "/index.xml", "/feed/", "/rss/")
MAX_FOUND = 20
MAX_TITLE = 120


class _LinkFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []  # (href, title)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("link", "a") or len(self.links) >= MAX_FOUND:
            return
        values = {k.lower(): (v or "") for k, v in attrs}
        rels = values.get("rel", "").lower().split()
        if "alternate" in rels and values.get("type", "").lower().split(";")[0].strip() in FEED_TYPES \
                and values.get("href"):
            self.links.append((values["href"].strip(), " ".join(values.get("title", "").split())[:MAX_TITLE]))


def declared_feeds(html: str, base: str) -> list[tuple[str, str]]:
    """(absolute http(s) URL, title) of each feed the page declares, in page order, without repeats."""
    finder = _LinkFinder()
    try:
        finder.feed(html)
        finder.close()
    except Exception:  # noqa: BLE001,S110 - a page too broken to read declares nothing
        pass
    out: dict[str, str] = {}
    for href, title in finder.links:
        url = urljoin(base, href)
        if urlparse(url).scheme in ("http", "https"):
            out.setdefault(url, title)
    return list(out.items())


def looks_like_feed(content: bytes, headers: dict[str, str]) -> bool:
    if "html" in headers.get("content-type", "").lower() and b"<rss" not in content[:2048] \
            and b"<feed" not in content[:2048]:
        return False
    try:
        parsed = parse_feed(content, headers, "discovery", None)
    except ParseError:
        return False
    return bool(parsed.items) or bool(parsed.title)


@dataclass
class Discovery:
    is_feed: bool = False  # the URL itself is a feed
    feeds: list[tuple[str, str]] = field(default_factory=list)  # (url, title) the page declares or common paths
    error: str | None = None  # the page could not be read (refused address, HTTP error, ...)
    refused: bool = False  # the address itself is not allowed (a private or loopback host from chat)


async def discover(client: httpx.AsyncClient, url: str, poll: PollConfig, guard: bool) -> Discovery:
    try:
        page = await fetch(client, url, poll, guard=guard)
    except FetchError as exc:
        return Discovery(error=str(exc), refused=exc.kind in ("refused", "url", "unsupported"))
    if await asyncio.to_thread(looks_like_feed, page.content, page.headers):
        return Discovery(is_feed=True)
    charset = page.headers.get("content-type", "").partition("charset=")[2].split(";")[0].strip() or "utf-8"
    try:
        html = page.content.decode(charset, errors="replace")
    except LookupError:
        html = page.content.decode("utf-8", errors="replace")
    found = declared_feeds(html, url)
    if found:
        return Discovery(feeds=found)
    return Discovery(feeds=await _common_paths(client, url, poll, guard))


async def _common_paths(client: httpx.AsyncClient, url: str, poll: PollConfig, guard: bool) -> list[tuple[str, str]]:
    """Only when the page declares no feed: the usual places, each fetched (guarded) and parsed."""
    root = f"{urlparse(url).scheme}://{urlparse(url).netloc}"

    async def probe(path: str) -> tuple[str, str] | None:
        candidate = root + path
        try:
            result = await fetch(client, candidate, poll, guard=guard)
        except FetchError:
            return None
        if not await asyncio.to_thread(looks_like_feed, result.content, result.headers):
            return None
        title = parse_feed(result.content, result.headers, "discovery", None).title
        return candidate, " ".join(title.split())[:MAX_TITLE]

    found = [r for r in await asyncio.gather(*(probe(p) for p in COMMON_PATHS)) if r is not None]
    return found[:1] if found else []  # /feed and /feed/ are usually one feed: offer the first that works
