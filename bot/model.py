"""Plain data passed between the stages of the pipeline: no I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

LANGUAGES = ("ar", "en")
ENTITY_TYPES = ("person", "organization", "place", "law", "resolution", "event", "topic")


@dataclass(frozen=True, slots=True)
class Entity:
    id: str
    type: str
    names: dict[str, str]  # language → display name
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    resolution: int | None = None
    urgent: bool = False
    match_case: bool = False
    exclude: dict[str, tuple[str, ...]] = field(default_factory=dict)  # phrases in which it is not mentioned
    source: str = ""  # file:line where it is defined

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names.get("en") or next(iter(self.names.values()), self.id)


@dataclass(frozen=True, slots=True)
class Watchlist:
    id: str
    names: dict[str, str]
    any: tuple[str, ...] = ()
    all: tuple[str, ...] = ()
    none: tuple[str, ...] = ()
    urgent: bool = False
    source: str = ""

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names.get("en") or next(iter(self.names.values()), self.id)


@dataclass(frozen=True, slots=True)
class Item:
    """One feed entry, HTML stripped. ``key`` is stable across polls: guid, else link, else a hash."""

    key: str
    title: str
    summary: str = ""
    link: str = ""
    published: datetime | None = None
    language: str | None = None
    feed_name: str = ""

    @property
    def text(self) -> str:
        """The text that is matched; mention spans index into it."""
        return "\n".join(part for part in (self.title, self.summary) if part)


@dataclass(frozen=True, slots=True)
class Mention:
    entity_id: str
    text: str  # as in the item
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Match:
    """What one item mentions and which watchlists fire on it."""

    mentions: tuple[Mention, ...]
    watchlists: tuple[str, ...]

    @property
    def entity_ids(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for m in self.mentions:
            seen.setdefault(m.entity_id)
        return tuple(seen)


@dataclass(frozen=True, slots=True)
class Alert:
    """A composed alert, platform-neutral: adapters format the parts their own way."""

    language: str
    watchlist_names: tuple[str, ...]
    headline: str
    source: str
    entity_names: tuple[str, ...]
    snippet: str
    link: str
    published: datetime | None = None
    urgent: bool = False
