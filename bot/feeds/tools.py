"""``rasad feeds ...``: check, stats, import and export, directory. Each returns the process's exit code."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from bot.config import Settings
from bot.feeds.check import check_feeds, table
from bot.feeds.directory import load_directory


def feeds_to_check(settings: Settings, directory: bool) -> list[tuple[str, str]]:
    """(name, url) of the configured feeds, or of every directory entry (routes only with ``rsshub:``)."""
    if not directory:
        return [(f.name, f.url) for f in settings.resolved_feeds()]
    out = []
    for source in load_directory(settings.directory_path).sources.values():
        location = source.location(settings.rsshub)
        if location:
            out.append((source.id, location))
    return out


async def check(settings: Settings, directory: bool, as_json: bool, stale_days: float,
                out: TextIO = sys.stdout) -> int:
    """Exit 0 when every feed checked is ok, 1 otherwise (the rows say which and why)."""
    feeds = feeds_to_check(settings, directory)
    rows = await check_feeds(feeds, settings.poll, stale_after=stale_days * 86400)
    if as_json:
        for row in rows:
            print(json.dumps(row.as_json(), ensure_ascii=False), file=out)
    else:
        print(table(rows), file=out)
    return 0 if rows and all(r.verdict == "ok" for r in rows) else 1


async def stats(settings: Settings, out: TextIO = sys.stdout) -> int:
    """Each stored feed: its learned interval (from its publishing times), push state, last items."""
    from bot.feeds.schedule import adaptive_interval, learned_interval
    from bot.store import Store
    from bot.store.db import utcnow
    from bot.store.websub import WebSubStore

    store = Store(settings.database)
    try:
        await store.migrate()
        subs = {s.feed_id: s for s in await WebSubStore(store.engine).all()}
        p, now = settings.poll, utcnow()
        print("id  interval  learned  push     last item          name", file=out)
        for feed in await store.feeds.all():
            times = await store.feeds.published_times(feed.id)
            learned = learned_interval(times, now, p.min_interval, p.max_interval) if not feed.interval else None
            interval = adaptive_interval(feed.interval, p.interval, feed.asked_interval, learned, p.min_interval,
                                         p.max_interval)
            sub = subs.get(feed.id)
            push = sub.state if sub else "-"
            last = times[0].strftime("%Y-%m-%d %H:%M") if times else "-"
            print(f"{feed.id:<3} {interval:>7}s {str(learned) + 's' if learned else '-':>8}  {push:<8} {last:<18} "
                  f"{feed.name} ({len(times)} items seen)", file=out)
    finally:
        await store.close()
    return 0


async def run(settings: Settings, args: object) -> int:
    action = getattr(args, "feeds_command", "")
    if action == "stats":
        return await stats(settings)
    if action == "check":
        return await check(settings, bool(getattr(args, "directory", False)), bool(getattr(args, "json", False)),
                           float(getattr(args, "stale_days", 14)))
    print(f"rasad feeds {action}: not available", file=sys.stderr)
    return 2
