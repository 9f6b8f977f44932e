"""Shared helpers: the item mix, synthetic aliases, timing, child processes for servers."""

from __future__ import annotations

import glob
import random
import string
import time
from pathlib import Path

from bot.feeds.parse import parse_feed
from bot.model import Entity, Item

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT.parent / "shared" / "corpora"
ARABIC_LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"


def item_mix(limit: int | None = None) -> list[Item]:
    """A fixed mix of real Arabic and English items: the corpora feeds, else the bundled example."""
    items: list[Item] = []
    paths = sorted(glob.glob(str(CORPORA / "feeds" / "**" / "*.xml"), recursive=True))
    paths = paths or [str(ROOT / "examples" / "feeds" / "diplomatic-wire.xml")]
    for path in paths:
        try:
            items += parse_feed(Path(path).read_bytes()).items
        except Exception:  # noqa: BLE001 - a bench input that does not parse is skipped
            continue
    random.Random(7).shuffle(items)
    return items[:limit] if limit else items


def feed_bytes() -> list[bytes]:
    paths = sorted(glob.glob(str(CORPORA / "feeds" / "*.xml")))
    return [Path(p).read_bytes() for p in paths] or [(ROOT / "examples" / "feeds" / "diplomatic-wire.xml").read_bytes()]


def synthetic_entities(count: int, seed: int = 1) -> list[Entity]:
    """``count`` entities with one alias each: invented words, half Latin, half Arabic, 1-3 words long."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        letters = ARABIC_LETTERS if i % 2 else string.ascii_lowercase
        words = [
            "".join(rng.choice(letters) for _ in range(rng.randint(4, 9))) for _ in range(rng.randint(1, 3))
        ]
        alias = " ".join(words)
        out.append(Entity(f"syn-{i}", "topic", {"ar" if i % 2 else "en": alias}))
    return out


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.elapsed = time.perf_counter() - self.start
