"""What the feed commands need beyond the store: the source directory, the RSSHub instance, autodiscovery."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from bot.alerts.i18n import t
from bot.config import PollConfig
from bot.errors import ConfigError
from bot.feeds.directory import Directory, is_route, load_directory, rsshub_url
from bot.feeds.discover import Discovery, discover

MAX_DIRECTORY_LINES = 40


class FeedSources:
    def __init__(self, directory_path: Path | None = None, rsshub: str | None = None,
                 poll: PollConfig | None = None, client: httpx.AsyncClient | None = None,
                 push_count: Callable[[], Awaitable[int]] | None = None):
        self.push_count = push_count  # feeds a WebSub hub pushes now (None: push is not configured)
        self.directory_path = directory_path
        self.rsshub = rsshub
        self.poll = poll or PollConfig()
        self.client = client
        self._directory: Directory | None = None

    @property
    def directory(self) -> Directory:
        if self._directory is None:
            try:
                self._directory = load_directory(self.directory_path)
            except ConfigError:
                self._directory = Directory({}, {})
        return self._directory

    def resolve(self, word: str) -> tuple[str, str | None] | None:
        """(url, name) for a directory id or ``rsshub:/route``; None when ``word`` is neither (e.g. a URL)."""
        if is_route(word):
            route = word.removeprefix("rsshub:")
            return (rsshub_url(self.rsshub, route), f"RSSHub {route}") if self.rsshub else ("", None)
        source = self.directory.find(word)
        if source is None:
            return None
        location = source.location(self.rsshub)
        return (location or "", source.name)

    def pack(self, ident: str) -> list[tuple[str, str]]:
        return [(loc, s.name) for s in self.directory.pack(ident) if (loc := s.location(self.rsshub))]

    def pack_ids(self) -> list[str]:
        return sorted(self.directory.packs)

    def directory_text(self, lang: str, term: str) -> str:
        entries = self.directory.select(term)
        if not entries:
            return t(lang, "directory.none", term=term[:40], topics=", ".join(self.directory.topics()[:30]))
        lines = [t(lang, "directory.title", count=len(entries))]
        if not term:
            lines += [t(lang, "directory.pack", id=p.id, count=len(p.feeds), description=p.description)
                      for p in self.directory.packs.values()]
        for source in entries[:MAX_DIRECTORY_LINES]:
            lines.append(t(lang, "directory.line", id=source.id, lang=source.language, kind=source.kind,
                           rsshub=" (RSSHub)" if source.route else ""))
        if len(entries) > MAX_DIRECTORY_LINES:
            lines.append(t(lang, "directory.more", count=len(entries) - MAX_DIRECTORY_LINES))
        lines.append(t(lang, "addfeed.check_note"))
        return "\n".join(lines)

    async def speed(self, lang: str) -> str:
        """What the running configuration delivers: push feeds in seconds, the others within their interval."""
        p = self.poll
        high = p.max_interval if p.adaptive else max(p.interval, p.min_interval)
        low = p.min_interval if p.adaptive else min(max(p.interval, p.min_interval), p.max_interval)
        values = {"low": max(1, round(low / 60)), "high": max(1, round(min(high, p.max_interval) / 60))}
        push = await self.push_count() if self.push_count is not None else 0
        if push:
            return t(lang, "start.speed_push", push=push, **values)
        return t(lang, "start.speed_poll", **values)

    async def discover(self, url: str, allow_private: bool) -> Discovery:
        if self.client is None:
            async with httpx.AsyncClient(timeout=self.poll.timeout, follow_redirects=True) as client:
                return await discover(client, url, self.poll, guard=not allow_private)
        return await discover(self.client, url, self.poll, guard=not allow_private)
