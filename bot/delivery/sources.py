"""The "Also: Reuters, Enab Baladi, UN News +3 — 6 sources" line of an alert whose story grew (pure)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.alerts.i18n import t
from bot.model import StorySource

SHOWN = 3  # sources named on the line; the rest are counted (+N)


@dataclass(frozen=True)
class Also:
    shown: tuple[StorySource, ...]  # the first other sources, each from another feed, with their links
    more: int  # other sources not named
    total: int  # every source of the story, the alert's own included (distinct feeds)


def also_text(also: Also, lang: str, name: Callable[[StorySource], str]) -> str:
    """The "Also:" line in the chat's language with each source as ``name`` renders it (escaped by the platform);
    with no source named (it did not fit): just the count."""
    if not also.shown:
        return t(lang, "digest.sources", count=also.total)
    more = t(lang, "alert.also_more", n=also.more) if also.more else ""
    return t(lang, "alert.also", sources=t(lang, "list.separator").join(name(s) for s in also.shown), more=more,
             count=also.total)


def also_line(sources: Sequence[StorySource], own_item: int, own_feed: str, shown: int = SHOWN) -> Also | None:
    """The other feeds that carry the story (one entry per feed, first item first), or None when no other."""
    seen = {own_feed}
    others: list[StorySource] = []
    for source in sources:
        if source.item_id == own_item or source.feed in seen:
            continue
        seen.add(source.feed)
        others.append(source)
    if not others:
        return None
    return Also(tuple(others[:shown]), max(0, len(others) - shown), len(others) + 1)
