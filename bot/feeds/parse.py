"""Parse fetched bytes with feedparser into Items with stable keys and plain-text summaries."""

from __future__ import annotations

import calendar
import hashlib
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import feedparser

from bot.errors import FeedError
from bot.model import Item
from bot.text.lang import detect_language

MAX_TITLE = 1000
MAX_SUMMARY = 5000


class ParseError(FeedError):
    """The bytes are not a feed we can read; the message says why."""

    kind = "parse"


@dataclass
class ParsedFeed:
    title: str = ""
    items: list[Item] = field(default_factory=list)
    warning: str | None = None  # set when feedparser had to recover from malformed input
    ttl_minutes: int | None = None  # the feed's own <ttl>: how long it may be cached
    hub: str | None = None  # the WebSub hub it declares (<atom:link rel="hub">)
    self_url: str | None = None  # its own URL as it declares it (<atom:link rel="self">): the WebSub topic


class _TextExtractor(HTMLParser):
    _BLOCK = {"p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "table"}
    _SKIP = {"script", "style", "noscript", "template"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: ARG002
        if tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skip:
            self._skip -= 1
        elif tag in self._BLOCK:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


_WS = re.compile(r"\s+")
# characters XML 1.0 does not allow (C0 controls but tab/newline/return, lone surrogates, U+FFFE/U+FFFF):
# PostgreSQL refuses NUL in text, and a lone surrogate cannot even be encoded to UTF-8
_INVALID_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# a numeric character reference to such a character makes feedparser's whole result unusable
_BAD_CHAR_REF = re.compile(rb"&#(?:[xX]0*([0-9a-fA-F]{1,8})|0*([0-9]{1,10}));")


def clean_text(value: str) -> str:
    """Feed text with the characters no store and no chat accepts removed (NUL, controls, lone surrogates)."""
    return _INVALID_CHARS.sub("", value) if value else value


def _valid_xml_char(code: int) -> bool:
    return (code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD
            or 0x10000 <= code <= 0x10FFFF)


def _drop_bad_char_refs(content: bytes) -> bytes:
    """``&#xD800;``, ``&#0;`` and the like become U+FFFD before feedparser sees them (UTF-16/32 is left as is)."""
    if b"&#" not in content or content[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00<" in content[:4] \
            or b"<\x00" in content[:4]:
        return content

    def replace(m: re.Match[bytes]) -> bytes:
        code = int(m.group(1), 16) if m.group(1) else int(m.group(2))
        return m.group(0) if _valid_xml_char(code) else b"&#xFFFD;"

    return _BAD_CHAR_REF.sub(replace, content)


def strip_html(value: str) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, white space collapsed."""
    if not value:
        return ""
    value = clean_text(value)
    if "<" not in value and "&" not in value:
        return _WS.sub(" ", value).strip()
    parser = _TextExtractor()
    try:
        parser.feed(value)
        parser.close()
        text = "".join(parser.parts)
    except Exception:  # noqa: BLE001 - HTMLParser is lenient, but never lose an item over markup
        text = re.sub(r"<[^>]*>", " ", value)
    return _WS.sub(" ", clean_text(html.unescape(text))).strip()


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _published(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC).replace(tzinfo=None)
            except (OverflowError, ValueError, TypeError):
                continue
    return None


def item_key(guid: str | None, link: str | None, title: str, summary: str) -> str:
    """Stable across polls: the guid, else the link, else a hash of title and summary."""
    guid, link = clean_text(guid or "").strip(), clean_text(link or "").strip()
    if guid:
        return guid
    if link:
        return link
    return "sha256:" + hashlib.sha256(f"{title}\n{summary}".encode()).hexdigest()


def _language(value: str | None) -> str | None:
    if not value:
        return None
    code = value.strip().lower()[:2]
    return code if code in ("ar", "en") else None


def _item(entry: Any, feed_language: str | None, feed_name: str) -> Item | None:
    title = _clip(strip_html(entry.get("title", "")), MAX_TITLE)
    raw_summary = entry.get("summary", "")
    if not raw_summary and entry.get("content"):
        raw_summary = entry["content"][0].get("value", "")
    summary = _clip(strip_html(raw_summary), MAX_SUMMARY)
    if not title and not summary:
        return None
    link = clean_text(entry.get("link", "") or "").strip()
    return Item(
        key=item_key(entry.get("id"), link, title, summary),
        title=title or _clip(summary, 120),
        summary=summary,
        link=link,
        published=_published(entry),
        language=feed_language or detect_language(f"{title} {summary}"),
        feed_name=feed_name,
    )


def parse_feed(
    content: bytes,
    headers: dict[str, str] | None = None,
    feed_name: str = "",
    language: str | None = None,
) -> ParsedFeed:
    parsed = _feedparser(content, headers)
    bozo = parsed.get("bozo_exception") if parsed.get("bozo") else None
    entries = parsed.get("entries") or []
    if not entries:
        _refuse_empty(parsed, bozo)
    feed_meta = parsed.get("feed") or {}
    title = strip_html(feed_meta.get("title", ""))
    feed_language = language or _language(feed_meta.get("language"))
    items, skipped = _items(entries, feed_language, feed_name or title)
    # a feed without entries and with a bozo exception was refused above: here bozo means it recovered
    hub, self_url = _links(feed_meta)
    return ParsedFeed(title=title, items=items, warning=_warning(bozo, skipped), ttl_minutes=_ttl_minutes(feed_meta),
                      hub=hub, self_url=self_url)


def _links(feed_meta: Any) -> tuple[str | None, str | None]:
    """The feed's WebSub hub and self links (http(s) only)."""
    found: dict[str, str] = {}
    for link in feed_meta.get("links") or []:
        href = str(link.get("href") or "").strip()
        for rel in str(link.get("rel") or "").lower().split():
            if rel in ("hub", "self") and href.startswith(("http://", "https://")) and len(href) <= 2048:
                found.setdefault(rel, href)
    return found.get("hub"), found.get("self")


def _feedparser(content: bytes, headers: dict[str, str] | None) -> Any:
    try:
        return feedparser.parse(_drop_bad_char_refs(content), response_headers=headers or {}, sanitize_html=False)
    except Exception as exc:  # noqa: BLE001 - feedparser may raise on pathological input
        raise ParseError(f"feedparser failed: {type(exc).__name__}: {exc}") from None


def _refuse_empty(parsed: Any, bozo: Exception | None) -> None:
    """A result without entries is a feed only when feedparser read it cleanly and found RSS or Atom."""
    if bozo is not None:
        raise ParseError(f"not a readable feed: {type(bozo).__name__}: {bozo}")
    if not parsed.get("version"):
        raise ParseError("not a feed: no RSS or Atom structure found")


def _ttl_minutes(feed_meta: Any) -> int | None:
    ttl = str(feed_meta.get("ttl") or "").strip()
    return int(ttl) if ttl.isascii() and ttl.isdigit() and len(ttl) <= 9 else None  # not "²", not "٥"


def _items(entries: list[Any], feed_language: str | None, feed_name: str) -> tuple[list[Item], int]:
    """The feed's items, each key once, and how many entries could not be read (they are skipped)."""
    items: list[Item] = []
    seen: set[str] = set()
    skipped = 0
    for entry in entries:
        try:
            item = _item(entry, feed_language, feed_name)
        except Exception:  # noqa: BLE001 - one unreadable item must not cost the feed its other items
            skipped += 1
            continue
        if item is None or item.key in seen:
            continue
        seen.add(item.key)
        items.append(item)
    return items, skipped


def _warning(bozo: Exception | None, skipped: int) -> str | None:
    notes = []
    if bozo is not None:
        notes.append(f"recovered from malformed feed: {type(bozo).__name__}: {bozo}")
    if skipped:
        notes.append(f"{skipped} unreadable item(s) skipped")
    return "; ".join(notes) or None
