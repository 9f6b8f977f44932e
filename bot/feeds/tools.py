"""``rasad feeds ...``: check, stats, import and export, directory. Each returns the process's exit code."""

from __future__ import annotations

import json
import sys
from pathlib import Path
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
    hubs = [r for r in rows if r.hub]
    if hubs and not settings.http.public_url:
        print(f"warning: {len(hubs)} feed(s) declare a WebSub hub, but http.public_url is not set: they are polled, "
              "not pushed", file=sys.stderr)
    return 0 if rows and all(r.verdict == "ok" for r in rows) else 1


async def stats(settings: Settings, out: TextIO = sys.stdout) -> int:
    """Each stored feed: its learned interval (from its publishing times), push state, last items."""
    from bot.feeds.schedule import adaptive_interval, learned_interval, learning_ceiling
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
            learned = learned_interval(times, now, p.min_interval, learning_ceiling(p)) if not feed.interval else None
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


def _read_capped(path: str) -> bytes:
    """The file's bytes, refused by its size before it is read (and read no further than the cap)."""
    from bot.feeds.opml import MAX_OPML_BYTES, OPMLError

    with open(path, "rb") as handle:  # noqa: PTH123 - a user's path, read once
        data = handle.read(MAX_OPML_BYTES + 1)
    if len(data) > MAX_OPML_BYTES:
        raise OPMLError(f"larger than {MAX_OPML_BYTES // 1024} KiB")
    return data


async def import_opml(settings: Settings, path: str, out: TextIO = sys.stdout) -> int:
    """``rasad feeds import FILE.opml``: FILE:LINE: added / already there / refused (why). Exit 1 when the file
    cannot be read or any outline was refused."""
    from bot.feeds.opml import OPMLError, import_outlines, parse_opml, reason_text
    from bot.store import Store

    try:
        outlines = parse_opml(_read_capped(path))
    except OSError as exc:
        print(f"{path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except OPMLError as exc:
        print(f"{path}: not OPML I can read: {exc}", file=sys.stderr)
        return 1
    store = Store(settings.database)
    try:
        await store.migrate()
        lines = await import_outlines(store.feeds, outlines, settings.poll.allow_private)
    finally:
        await store.close()
    for line in lines:
        if line.status == "refused":
            print(f"{path}:{line.line}: refused ({reason_text(line, 'en')}) {line.url}", file=out)
        else:
            what = "added" if line.status == "added" else "already there"
            print(f"{path}:{line.line}: {what} #{line.feed_id} {line.name} <{line.url}>", file=out)
    refused = sum(line.status == "refused" for line in lines)
    print(f"{len(lines) - refused} feeds polled ({sum(line.status == 'added' for line in lines)} added), "
          f"{refused} refused", file=out)
    return 1 if refused else 0


def _write(path: str, content: bytes) -> None:
    Path(path).write_bytes(content)


async def export_opml(settings: Settings, path: str, out: TextIO = sys.stdout) -> int:
    """``rasad feeds export FILE.opml`` (``-``: standard output): every active feed."""
    from bot.feeds.opml import export_opml as render
    from bot.store import Store

    store = Store(settings.database)
    try:
        await store.migrate()
        feeds = await store.feeds.all()
    finally:
        await store.close()
    content = render(feeds)
    if path == "-":
        out.write(content.decode("utf-8"))
        return 0
    try:
        _write(path, content)
    except OSError as exc:
        print(f"{path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"wrote {len(feeds)} feeds to {path}", file=out)
    return 0


async def run(settings: Settings, args: object) -> int:
    action = getattr(args, "feeds_command", "")
    if action == "stats":
        return await stats(settings)
    if action == "check":
        return await check(settings, bool(getattr(args, "directory", False)), bool(getattr(args, "json", False)),
                           float(getattr(args, "stale_days", 14)))
    if action == "import":
        return await import_opml(settings, str(getattr(args, "file", "")))
    if action == "export":
        return await export_opml(settings, str(getattr(args, "file", "")))
    print(f"rasad feeds {action}: not available", file=sys.stderr)
    return 2
