"""OPML in and out. A file from a user is hostile: its size is capped before parsing, a DTD (and so any entity,
internal or external) is refused, its depth and outline count are bounded, and every feed URL goes through the
checks of ``/addfeed`` (http(s) only, the SSRF guard unless ``poll.allow_private``) before anything is stored."""

from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlparse
from xml.parsers import expat

from bot.alerts.i18n import t
from bot.errors import UnsafeURL
from bot.feeds.guard import check_public_url
from bot.model import FeedRow
from bot.store.feeds import FeedStore

MAX_OPML_BYTES = 512 * 1024
MAX_OUTLINES = 1000
MAX_DEPTH = 32
MAX_URL = 2000
MAX_TITLE = 200
MAX_REPORT_LINES = 40  # in a chat; the command line prints every line
CHECK_CONCURRENCY = 16
CHECK_TIMEOUT = 10.0
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})?")
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class OPMLError(ValueError):
    """The file is not OPML this module reads (the message says why, with a line where there is one)."""


@dataclass(frozen=True)
class Outline:
    line: int
    url: str
    title: str
    language: str | None = None


@dataclass(frozen=True)
class ImportLine:
    line: int
    url: str
    name: str
    status: str  # added | exists | refused
    feed_id: int | None = None
    reason: str = ""  # refused: bad_url | not_http | private | unresolved
    detail: str = ""


class _Reader:
    def __init__(self, parser: expat.XMLParserType):
        self.parser = parser
        self.depth = 0
        self.root: str | None = None
        self.outlines: list[Outline] = []

    def refuse_dtd(self, *_: object) -> None:
        raise OPMLError(f"line {self.parser.CurrentLineNumber}: a DTD or entity declaration is not allowed")

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise OPMLError(f"line {self.parser.CurrentLineNumber}: nested deeper than {MAX_DEPTH}")
        if self.root is None:
            self.root = tag
            if tag.lower() != "opml":
                raise OPMLError(f"line {self.parser.CurrentLineNumber}: the root element is <{tag[:40]}>, not <opml>")
        if tag.lower() != "outline":
            return
        values = {k.lower(): v for k, v in attrs.items()}
        url = values.get("xmlurl", "").strip()
        if not url:  # a folder (or a plain link outline): its children are read, it is not a feed
            return
        if len(self.outlines) >= MAX_OUTLINES:
            raise OPMLError(f"more than {MAX_OUTLINES} feeds in one file")
        title = " ".join((values.get("title") or values.get("text") or "").split())[:MAX_TITLE]
        language = values.get("language", "").strip()
        self.outlines.append(Outline(self.parser.CurrentLineNumber, url[:MAX_URL + 1], title,
                                     language if _LANGUAGE.fullmatch(language) else None))

    def end(self, tag: str) -> None:
        self.depth -= 1


def parse_opml(data: bytes) -> list[Outline]:
    """Each feed outline (one with an ``xmlUrl``), with its line. Raises OPMLError."""
    if len(data) > MAX_OPML_BYTES:
        raise OPMLError(f"larger than {MAX_OPML_BYTES // 1024} KiB")
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    reader = _Reader(parser)
    parser.StartDoctypeDeclHandler = reader.refuse_dtd
    parser.EntityDeclHandler = reader.refuse_dtd
    parser.ExternalEntityRefHandler = reader.refuse_dtd  # type: ignore[assignment]
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise OPMLError(str(exc)) from None
    if not reader.outlines:
        raise OPMLError("no feed outline (an <outline> with xmlUrl) in it")
    return reader.outlines


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def export_opml(feeds: Sequence[FeedRow], title: str = "Rasad feeds") -> bytes:
    """OPML 2.0: one outline per feed (title, xmlUrl, language where known)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC), usegmt=True)
    body = ET.SubElement(root, "body")
    for feed in feeds:
        attrs = {"type": "rss", "text": _clean(feed.name), "title": _clean(feed.name), "xmlUrl": _clean(feed.url)}
        if feed.language:
            attrs["language"] = _clean(feed.language)
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def url_problem(url: str) -> tuple[str, str] | None:
    """(reason, detail) when the URL is refused before any lookup; None when it may be checked further."""
    if len(url) > MAX_URL or any(c.isspace() or ord(c) < 32 for c in url):
        return "bad_url", ""
    try:
        parsed = urlparse(url)
        _ = parsed.port
    except ValueError:
        return "bad_url", ""
    if parsed.scheme.lower() not in ("http", "https"):
        return "not_http", ""
    if not parsed.hostname:
        return "bad_url", ""
    return None


Check = Callable[[str], Awaitable[None]]


async def _verdict(url: str, allow_private: bool, check: Check, gate: asyncio.Semaphore) -> tuple[str, str] | None:
    problem = url_problem(url)
    if problem is not None or allow_private:
        return problem
    async with gate:
        try:
            await asyncio.wait_for(check(url), CHECK_TIMEOUT)
        except UnsafeURL as exc:
            detail = str(exc)
            return ("unresolved" if detail.startswith("cannot resolve") else "private"), detail
        except TimeoutError:
            return "unresolved", "the name lookup timed out"
    return None


async def import_outlines(store: FeedStore, outlines: Sequence[Outline], allow_private: bool,
                          check: Check = check_public_url) -> list[ImportLine]:
    """Each outline checked (concurrently, bounded) as ``/addfeed`` checks a URL, then stored in file order as a
    chat-added feed (so polling it stays behind the SSRF guard)."""
    gate = asyncio.Semaphore(CHECK_CONCURRENCY)
    verdicts = await asyncio.gather(*(_verdict(o.url, allow_private, check, gate) for o in outlines))
    out: list[ImportLine] = []
    for outline, verdict in zip(outlines, verdicts, strict=True):
        name = outline.title or (urlparse(outline.url).hostname or outline.url)[:MAX_TITLE]
        if verdict is not None:
            out.append(ImportLine(outline.line, outline.url[:MAX_URL], name, "refused", reason=verdict[0],
                                  detail=verdict[1]))
            continue
        feed_id, created = await store.add(outline.url, name, language=outline.language)
        out.append(ImportLine(outline.line, outline.url, name, "added" if created else "exists", feed_id))
    return out


def reason_text(line: ImportLine, lang: str) -> str:
    return t(lang, f"opml.reason_{line.reason}", detail=line.detail[:200])


def report(lines: Sequence[ImportLine], lang: str, limit: int | None = MAX_REPORT_LINES) -> list[str]:
    """The per-line report in ``lang``: a title, one line per outline (``limit`` of them), a summary."""
    out = [t(lang, "opml.title")]
    shown = lines if limit is None else lines[:limit]
    for line in shown:
        if line.status == "refused":
            out.append(t(lang, "opml.refused", line=line.line, reason=reason_text(line, lang), url=line.url[:200]))
        else:
            out.append(t(lang, f"opml.{line.status}", line=line.line, id=line.feed_id, name=line.name))
    if len(lines) > len(shown):
        out.append(t(lang, "opml.more", count=len(lines) - len(shown)))
    out.append(t(lang, "opml.summary", **counts(lines)))
    return out


def counts(lines: Sequence[ImportLine]) -> dict[str, int]:
    return {"added": sum(line.status == "added" for line in lines),
            "existing": sum(line.status == "exists" for line in lines),
            "refused": sum(line.status == "refused" for line in lines)}
