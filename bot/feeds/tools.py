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


async def run(settings: Settings, args: object) -> int:
    action = getattr(args, "feeds_command", "")
    if action == "check":
        return await check(settings, bool(getattr(args, "directory", False)), bool(getattr(args, "json", False)),
                           float(getattr(args, "stale_days", 14)))
    print(f"rasad feeds {action}: not available", file=sys.stderr)
    return 2
