"""Compose a concise alert for one chat language; render it as plain text (console)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.alerts.i18n import t
from bot.model import Alert, Entity, Item, Mention, Watchlist
from bot.text.lang import is_arabic_letter

MAX_HEADLINE = 160
MAX_SNIPPET = 200
MAX_ENTITIES = 4

# Unicode isolates: a Latin name inside Arabic text (or the reverse) keeps its own direction.
FSI, PDI, RLM = "\u2068", "\u2069", "\u200f"

_SENTENCE_END = re.compile(r"[.!?؟۔\n]+(?=\s|$)|\n")


def isolate(text: str, language: str = "ar") -> str:
    """Wrap ``text`` in FSI…PDI when it holds script of the other direction than the alert's language.

    An Arabic alert isolates Latin names and headlines; an English alert isolates Arabic ones. Text of
    the alert's own direction is left alone (isolates show as odd marks in some plain-text viewers)."""
    if not text:
        return text
    if language == "ar":
        foreign = any(c.isascii() and c.isalpha() for c in text)
    else:
        foreign = any(is_arabic_letter(c) for c in text)
    return f"{FSI}{text}{PDI}" if foreign else text


def clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,،;:") + "…"


def snippet(text: str, mention: Mention | None, limit: int = MAX_SNIPPET) -> str:
    """The sentence around the first mention, clipped to ``limit`` characters around it."""
    if mention is None:
        return clip(text, limit)
    start = 0
    for m in _SENTENCE_END.finditer(text, 0, mention.start):
        start = m.end()
    end_match = _SENTENCE_END.search(text, mention.end)
    end = end_match.end() if end_match else len(text)
    sentence = text[start:end].strip()
    if len(sentence) <= limit:
        return " ".join(sentence.split())
    # center the window on the mention
    rel = mention.start - start - (len(text[start:end]) - len(text[start:end].lstrip()))
    lo = max(0, rel - limit // 3)
    window = sentence[lo: lo + limit]
    if lo > 0:
        space = window.find(" ")
        window = "…" + (window[space + 1:] if 0 <= space < 20 else window)
    return clip(window, limit)


def compose_alert(
    item: Item,
    mentions: Sequence[Mention],
    watchlists: Sequence[Watchlist],
    entities: dict[str, Entity],
    language: str,
    urgent: bool = False,
    phrases: Sequence[str] = (),
) -> Alert:
    entity_ids = list(dict.fromkeys(m.entity_id for m in mentions))
    names = [entities[e].name(language) if e in entities else e for e in entity_ids]
    names += [f"«{p}»" for p in phrases]
    # the first mention that lies in the summary gives the sentence; else the title's
    text = item.text
    summary_start = len(item.title) + 1 if item.title and item.summary else 0
    first = next((m for m in mentions if m.start >= summary_start), mentions[0] if mentions else None)
    if first is not None and first.start >= summary_start and item.summary:
        snip = snippet(text, first)
    elif item.summary:
        snip = clip(item.summary, MAX_SNIPPET)
    else:
        snip = ""
    return Alert(
        language=language,
        watchlist_names=tuple(w.name(language) for w in watchlists),
        headline=clip(item.title, MAX_HEADLINE),
        source=clip(item.feed_name, 60),
        entity_names=tuple(names),
        snippet=snip,
        link=item.link,
        published=item.published,
        urgent=urgent or any(w.urgent for w in watchlists),
    )


def entity_list(alert: Alert, wrap=isolate, limit: int = MAX_ENTITIES) -> str:
    sep = t(alert.language, "list.separator")
    shown = [wrap(n, alert.language) for n in alert.entity_names[:limit]]
    if len(alert.entity_names) > limit:
        shown.append(t(alert.language, "alert.more", count=len(alert.entity_names) - limit))
    return sep.join(shown)


def render_text(alert: Alert) -> str:
    """Plain-text alert (console, and the fallback text of richer platforms)."""
    lang = alert.language
    sep = t(lang, "list.separator")
    if alert.watchlist_names:
        header = t(lang, "alert.header", watchlists=sep.join(isolate(n, lang) for n in alert.watchlist_names))
    else:
        header = t(lang, "alert.header_entities", entities=entity_list(alert))
    source = isolate(alert.source, lang)
    if alert.published:
        line_source = t(lang, "alert.source_dated", source=source, date=alert.published.strftime("%Y-%m-%d %H:%M"))
    else:
        line_source = t(lang, "alert.source", source=source)
    lines = [header, isolate(alert.headline, lang), line_source]
    if alert.watchlist_names and alert.entity_names:
        lines.append(t(lang, "alert.mentions", entities=entity_list(alert)))
    if alert.snippet:
        lines.append(f"«{isolate(alert.snippet, lang)}»" if lang == "ar" else f"“{isolate(alert.snippet, lang)}”")
    if alert.link:
        lines.append(alert.link)
    if lang == "ar":
        lines = [RLM + line for line in lines]
    return "\n".join(lines)
