"""The shipped source directory (``sources/directory.yaml``): named feeds, RSSHub routes and packs.

A directory entry is a *candidate*: nothing in it was fetched where the bot runs. ``rasad feeds check
--directory`` is how a deployer learns which entries work from their network."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from bot.errors import ConfigError
from bot.yamlfile import CONFIG_LIMITS, display_path, plain, read_yaml_file

DEFAULT_DIRECTORY = Path(__file__).resolve().parents[2] / "sources" / "directory.yaml"
LANGUAGES = ("ar", "en", "fr", "ru", "tr")


@dataclass(frozen=True)
class Source:
    """One directory entry: a feed ``url``, or an RSSHub ``route`` that needs an instance."""

    id: str
    name: str
    language: str
    kind: str
    topics: tuple[str, ...]
    seen: str
    url: str | None = None
    route: str | None = None

    def location(self, rsshub: str | None) -> str | None:
        """The URL to poll: the feed's own, or the route on the configured RSSHub instance (None without one)."""
        if self.url is not None:
            return self.url
        return rsshub_url(rsshub, self.route or "") if rsshub else None

    @property
    def feed_language(self) -> str | None:
        """The language the poller is told (ar or en); others are detected per item."""
        return self.language if self.language in ("ar", "en") else None


@dataclass(frozen=True)
class Pack:
    id: str
    description: str
    feeds: tuple[str, ...]


@dataclass(frozen=True)
class Directory:
    sources: dict[str, Source]
    packs: dict[str, Pack]

    def find(self, ident: str) -> Source | None:
        return self.sources.get(ident.strip().lower())

    def pack(self, ident: str) -> list[Source]:
        pack = self.packs.get(ident.strip().lower())
        return [self.sources[s] for s in pack.feeds] if pack else []

    def select(self, term: str = "") -> list[Source]:
        """Entries whose language, kind or one of whose topics is ``term`` (all entries when empty)."""
        term = term.strip().lower()
        if not term:
            return list(self.sources.values())
        return [s for s in self.sources.values() if term in (s.language, s.kind) or term in s.topics]

    def topics(self) -> list[str]:
        return sorted({t for s in self.sources.values() for t in s.topics})


def rsshub_url(base: str, route: str) -> str:
    """``base`` (an RSSHub instance) + ``route`` (``/aljazeera/middle-east``)."""
    return base.rstrip("/") + "/" + route.lstrip("/")


def is_route(text: str) -> bool:
    """An RSSHub route as config and /addfeed write it: ``rsshub:/reuters/world/middle-east``."""
    return text.startswith("rsshub:")


def _source(raw: dict[str, object], where: str) -> Source:
    try:
        topics = raw.get("topics") or []
        if not isinstance(topics, list):
            raise TypeError("topics must be a list")
        source = Source(id=str(raw["id"]), name=str(raw["name"]), language=str(raw["language"]),
                        kind=str(raw["kind"]), topics=tuple(str(t) for t in topics), seen=str(raw.get("seen", "")),
                        url=str(raw["url"]) if raw.get("url") else None,
                        route=str(raw["route"]) if raw.get("route") else None)
    except (KeyError, TypeError) as exc:
        raise ConfigError([f"{where}: bad directory entry: {exc}"]) from None
    if source.url is not None and urlparse(source.url).scheme not in ("http", "https"):
        raise ConfigError([f"{where}: directory entry {source.id!r}: not an http(s) URL"])
    return source


def load_directory(path: Path | None = None) -> Directory:
    """Read the directory file; raises ConfigError (``file:line: message``) when it is not usable."""
    path = path or DEFAULT_DIRECTORY
    file = display_path(path)
    try:
        doc, problem = read_yaml_file(path, CONFIG_LIMITS)
    except OSError as exc:
        raise ConfigError([f"{file}:0: cannot read the source directory: {exc.strerror or exc}"]) from None
    if problem is not None:
        raise ConfigError([f"{file}:{problem[0]}: {problem[1]}"])
    raw = plain(doc or {})
    if not isinstance(raw, dict):
        raise ConfigError([f"{file}:1: the source directory must be a mapping"])
    sources: dict[str, Source] = {}
    for entry in [*(raw.get("feeds") or []), *(raw.get("rsshub") or [])]:
        source = _source(entry if isinstance(entry, dict) else {}, file)
        if source.id in sources:
            raise ConfigError([f"{file}:0: directory id {source.id!r} listed twice"])
        sources[source.id] = source
    packs: dict[str, Pack] = {}
    for ident, pack in (raw.get("packs") or {}).items():
        members = tuple(str(f) for f in (pack or {}).get("feeds") or [])
        if unknown := [m for m in members if m not in sources]:
            raise ConfigError([f"{file}:0: pack {ident!r} names unknown entries: {', '.join(unknown)}"])
        packs[str(ident)] = Pack(str(ident), str((pack or {}).get("description", "")), members)
    return Directory(sources, packs)
