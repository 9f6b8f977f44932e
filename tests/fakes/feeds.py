"""Feed documents for tests."""

from __future__ import annotations

from pathlib import Path

from bot.config import FeedConfig, PollConfig, Settings
from tests.conftest import RULES


def settings_for(tmp_path: Path, feeds: list[tuple[str, str]], **poll: object) -> Settings:
    """Settings of a service that polls these (name, url) feeds with the shipped rules on a fresh SQLite file."""
    return Settings(database=f"sqlite+aiosqlite:///{tmp_path}/feeds.db", rules=str(RULES),
                    feeds=[FeedConfig(name=n, url=u) for n, u in feeds], poll=PollConfig(**poll),
                    base_dir=tmp_path)


def feed_xml(*items: tuple[str, str, str]) -> str:
    body = "".join(f"<item><title>{title}</title><guid>{guid}</guid><link>https://e.org/{guid}</link>"
                   f"<description>{summary}</description></item>" for guid, title, summary in items)
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Wire</title>{body}</channel></rss>'
