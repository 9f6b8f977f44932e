"""2. Pipeline throughput on one core: parse → normalize → extract → match → store, against parsing alone."""

from __future__ import annotations

import asyncio
import dataclasses
import tempfile

import feedparser

from bench.common import Timer, feed_bytes
from bot.extract.matcher import Matcher
from bot.feeds.parse import parse_feed
from bot.rules.load import load_rules
from bot.store import Store
from bot.stories import canonical_url, fingerprint


async def _pipeline(blobs: list[bytes], rounds: int) -> tuple[float, int]:
    matcher = Matcher(load_rules("rules"))
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite+aiosqlite:///{tmp}/bench.db")
        await store.migrate()
        engine = store.engine
        await store.feeds.sync_config([(f"bench://{i}", f"f{i}", None, None) for i in range(len(blobs))])
        feeds = await store.feeds.all()
        count = 0
        with Timer() as t:
            for r in range(rounds):
                for feed, blob in zip(feeds, blobs, strict=True):
                    parsed = parse_feed(blob, feed_name=feed.name)
                    # each round under new keys, so nothing is skipped as already seen
                    items = [dataclasses.replace(i, key=f"{r}:{i.key}") for i in parsed.items]
                    matched = [(item, matcher.match(item)) for item in items]
                    extra = [{"canonical_url": canonical_url(i.link), "fingerprint": fingerprint(i.title, i.summary)}
                             for i in items]
                    count += len(await store.items.store(feed.id, matched, extra))
        await engine.dispose()
    return t.elapsed, count


def run(quick: bool = False) -> dict:
    blobs = feed_bytes()
    rounds = 1 if quick else 3
    with Timer() as parse_only:
        n_parse = 0
        for _ in range(rounds):
            for blob in blobs:
                n_parse += len(feedparser.parse(blob).entries)
    elapsed, count = asyncio.run(_pipeline(blobs, rounds))
    return {
        "name": "pipeline",
        "items": count,
        "pipeline_items_per_s": count / elapsed,
        "feedparser_items_per_s": n_parse / parse_only.elapsed,
        "cost_vs_parsing": elapsed / parse_only.elapsed,
        "target_cost_vs_parsing": 2.0,
    }
