"""``/story <id>`` and the "Sources" button (issue 15): every source of a story with its time and link (pure).

The answer is plain text: each platform escapes it for its own field when it sends a reply (Telegram's HTML, Slack's
mrkdwn). Here each feed field is cleaned (no control or bidi characters), clipped and isolated for the chat's
direction; a link is shown only when it is fit to be (http(s), no unsafe characters)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.alerts.compose import clip, isolated, safe_link
from bot.alerts.i18n import t
from bot.model import StorySource

MAX_LISTED = 20  # sources listed in one answer; the rest are counted
MAX_FEED = 60
MAX_TITLE = 200


def parse_story_id(args: str) -> int | None:
    """``12``, ``#12`` or ``١٢`` (Arabic-Indic digits): a positive id, else None."""
    text = args.strip().lstrip("#").strip()
    if not text or not text.isdecimal() or len(text) > 12:
        return None
    value = int(text)
    return value if value > 0 else None


def story_text(story_id: int, sources: Sequence[StorySource], lang: str) -> str:
    """The story's sources, first one first, one entry per item: feed and time, title, link."""
    lines = [t(lang, "story.title", id=story_id, count=len({s.feed for s in sources}), items=len(sources))]
    for n, source in enumerate(sources[:MAX_LISTED], 1):
        when = source.at.strftime("%Y-%m-%d %H:%M UTC") if source.at else t(lang, "story.no_time")
        lines.append(t(lang, "story.line", n=n, feed=isolated(clip(source.feed, MAX_FEED), lang), time=when))
        if source.title:
            lines.append("   " + isolated(clip(source.title, MAX_TITLE), lang))
        if link := safe_link(source.link):
            lines.append("   " + link)
    if len(sources) > MAX_LISTED:
        lines.append(t(lang, "story.more", n=len(sources) - MAX_LISTED))
    return "\n".join(lines)
