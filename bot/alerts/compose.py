"""Compose a concise alert for one chat language; render it as plain text (console).

Everything in an alert that comes from a feed (title, summary, source name, link) is hostile until the renderer
of each platform escapes it for the exact field it lands in. Here it is only cleaned of what no field may carry
(``clean``): bidi controls that would stay open over the bot's own text, control characters and lone surrogates.
``fit`` shortens the feed text of an alert, never its rendered markup, until the rendering fits a platform limit.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from typing import TypeVar
from urllib.parse import quote

from bot.alerts.i18n import t
from bot.model import Alert, Entity, Item, Mention, Watchlist
from bot.text.lang import is_arabic_letter

MAX_HEADLINE = 160
MAX_SNIPPET = 200
MAX_ENTITIES = 4
MAX_SOURCE = 60
MAX_LINK = 2048  # a longer link is not shown: the alert goes without it

# Unicode isolates: a Latin name inside Arabic text (or the reverse) keeps its own direction.
FSI, PDI, RLM = "\u2068", "\u2069", "\u200f"

# Bidi controls in feed text are removed (not escaped): embeddings and overrides U+202A-U+202E, isolates
# U+2066-U+2069, and the marks LRM, RLM, ALM. Only the bot's own FSI/PDI/RLM remain, so they stay balanced.
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_CLEAN = {ord(c): None for c in BIDI_CONTROLS}
_CLEAN.update({c: " " for c in (0x09, 0x0A, 0x0D)})  # tab, line feed, carriage return: white space
_CLEAN.update({c: None for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0))})
_CLEAN.update({c: None for c in range(0xD800, 0xE000)})  # lone surrogates cannot be encoded for any API

_SENTENCE_END = re.compile(r"[.!?؟۔\n]+(?=\s|$)|\n")
_LINK_UNSAFE = re.compile(r"[\s<>\"`{}^\\]")  # never valid raw in a URL: percent-encoded, as browsers do

T = TypeVar("T")


def clean(text: str) -> str:
    """Feed text without bidi controls, control characters (line breaks become spaces) or lone surrogates."""
    return text.translate(_CLEAN) if text else text


def safe_link(link: str) -> str:
    """The item's link fit to be shown or linked: http(s) only, cleaned, white space and ``< > " ` { } ^ \\``
    percent-encoded, at most ``MAX_LINK`` characters; else "" (the alert goes without a link, never cut or
    refused). Each platform still escapes it for its own field (``&`` in HTML, ``|`` in Slack's links)."""
    link = _LINK_UNSAFE.sub(lambda m: quote(m.group(), safe=""), clean(link or "").strip())
    if not link.lower().startswith(("http://", "https://")) or len(link) > MAX_LINK:
        return ""
    return link


def _foreign(text: str, language: str) -> bool:
    if language == "ar":
        return any(c.isascii() and c.isalpha() for c in text)
    return any(is_arabic_letter(c) for c in text)


def isolate(text: str, language: str = "ar") -> str:
    """Wrap ``text`` in FSI…PDI when it holds script of the other direction than the alert's language.

    An Arabic alert isolates Latin names and headlines; an English alert isolates Arabic ones. Text of
    the alert's own direction is left alone (isolates show as odd marks in some plain-text viewers)."""
    if not text:
        return text
    return f"{FSI}{text}{PDI}" if _foreign(text, language) else text


def isolated(text: str, language: str, escape: Callable[[str], str] | None = None) -> str:
    """Feed text for a platform field: cleaned, then escaped by ``escape``, then isolated as ``isolate`` would
    (decided on the text, not on its escaped form). The isolates come last, so no escaping strips them."""
    text = clean(text or "")
    out = escape(text) if escape is not None else text
    return f"{FSI}{out}{PDI}" if out and _foreign(text, language) else out


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


def _entity_names(mentions: Sequence[Mention], entities: dict[str, Entity], language: str,
                  phrases: Sequence[str]) -> list[str]:
    """The names of the entities mentioned (in order, once each), then the followed phrases in «»."""
    entity_ids = list(dict.fromkeys(m.entity_id for m in mentions))
    names = [entities[e].name(language) if e in entities else e for e in entity_ids]
    return names + [f"«{p}»" for p in phrases]


def _alert_snippet(item: Item, mentions: Sequence[Mention]) -> str:
    """The sentence of the first mention that lies in the summary; else the summary's start (or nothing)."""
    summary_start = len(item.title) + 1 if item.title and item.summary else 0
    first = next((m for m in mentions if m.start >= summary_start), mentions[0] if mentions else None)
    if first is not None and first.start >= summary_start and item.summary:
        return snippet(item.text, first)  # spans index the item's own text: cleaned only afterwards
    if item.summary:
        return clip(item.summary, MAX_SNIPPET)
    return ""


def compose_alert(
    item: Item,
    mentions: Sequence[Mention],
    watchlists: Sequence[Watchlist],
    entities: dict[str, Entity],
    language: str,
    urgent: bool = False,
    phrases: Sequence[str] = (),
) -> Alert:
    names = _entity_names(mentions, entities, language, phrases)
    snip = _alert_snippet(item, mentions)
    return Alert(
        language=language,
        watchlist_names=tuple(clean(w.name(language)) for w in watchlists),
        headline=clip(clean(item.title), MAX_HEADLINE),
        source=clip(clean(item.feed_name), MAX_SOURCE),
        entity_names=tuple(clean(n) for n in names),
        snippet=" ".join(clean(snip).split()),
        link=safe_link(item.link),
        published=item.published,
        urgent=urgent or any(w.urgent for w in watchlists),
    )


def fit(alert: Alert, render: Callable[[Alert], T], fits: Callable[[T], bool], cap: int | None = None) -> T:
    """``render(alert)``, with the alert's feed text shortened until ``fits`` accepts the rendering.

    The markup a renderer builds is never cut: the longest piece of text (headline, snippet, source, a name) is
    clipped to two thirds and the alert rendered again; a link longer than every piece is dropped first. With
    ``cap``, every piece starts clipped to that many characters (a longer piece could not fit anyway)."""
    if cap is not None:
        alert = _shortened(alert, lambda text: clip(text, cap) if len(text) > cap else text)
    out = render(alert)
    while not fits(out):
        shorter = _shorten_once(alert)
        if shorter is None:  # nothing left to shorten: the renderer's own text is too long for the limit
            return out
        alert = shorter
        out = render(alert)
    return out


def _shortened(alert: Alert, shorten: Callable[[str], str]) -> Alert:
    return dataclasses.replace(
        alert, headline=shorten(alert.headline), snippet=shorten(alert.snippet), source=shorten(alert.source),
        entity_names=tuple(shorten(n) for n in alert.entity_names),
        watchlist_names=tuple(shorten(n) for n in alert.watchlist_names))


def _shorten_once(alert: Alert) -> Alert | None:
    pieces = [("headline", alert.headline), ("snippet", alert.snippet), ("source", alert.source)]
    pieces += [(("entity_names", i), n) for i, n in enumerate(alert.entity_names)]
    pieces += [(("watchlist_names", i), n) for i, n in enumerate(alert.watchlist_names)]
    where, longest = max(pieces, key=lambda p: len(p[1]))
    if alert.link and len(alert.link) >= len(longest):
        return dataclasses.replace(alert, link="")
    if not longest:
        return None
    shorter = clip(longest, len(longest) * 2 // 3) if len(longest) > 2 else ""
    if isinstance(where, str):
        return dataclasses.replace(alert, **{where: shorter})
    name, i = where
    values = list(getattr(alert, name))
    values[i] = shorter
    return dataclasses.replace(alert, **{name: tuple(values)})


def entity_list(alert: Alert, wrap=isolate, limit: int = MAX_ENTITIES) -> str:
    sep = t(alert.language, "list.separator")
    shown = [wrap(n, alert.language) for n in alert.entity_names[:limit]]
    if len(alert.entity_names) > limit:
        shown.append(t(alert.language, "alert.more", count=len(alert.entity_names) - limit))
    return sep.join(shown)


def render_text(alert: Alert) -> str:
    """Plain-text alert (the console). Feed text is shown as written, cleaned of bidi and control characters."""
    lang = alert.language
    sep = t(lang, "list.separator")

    def iso(text: str, language: str = lang) -> str:
        return isolated(text, language)

    if alert.watchlist_names:
        header = t(lang, "alert.header", watchlists=sep.join(iso(n) for n in alert.watchlist_names))
    else:
        header = t(lang, "alert.header_entities", entities=entity_list(alert, wrap=iso))
    source = iso(alert.source)
    if alert.published:
        line_source = t(lang, "alert.source_dated", source=source, date=alert.published.strftime("%Y-%m-%d %H:%M"))
    else:
        line_source = t(lang, "alert.source", source=source)
    lines = [header, iso(alert.headline), line_source]
    if alert.watchlist_names and alert.entity_names:
        lines.append(t(lang, "alert.mentions", entities=entity_list(alert, wrap=iso)))
    if alert.snippet:
        lines.append(f"«{iso(alert.snippet)}»" if lang == "ar" else f"“{iso(alert.snippet)}”")
    link = clean(alert.link).strip()
    if link:
        lines.append(link)
    if lang == "ar":
        lines = [RLM + line for line in lines]
    return "\n".join(lines)
