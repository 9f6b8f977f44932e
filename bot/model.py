"""Plain data passed between the stages of the pipeline: no I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TypeAlias

# What JSON holds once decoded (json.loads): notice parameters are kept in the store this way.
JSONValue: TypeAlias = "str | int | float | bool | None | list[JSONValue] | dict[str, JSONValue]"

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
    story_id: int | None = None  # the story the alert opens: its "Sources" button and /story <id> (issue 15)


# ---------------------------------------------------------------- what the store keeps (rows and states)


class DeliveryState(StrEnum):
    """Where an alert (one chat, one story) stands in the outbox."""

    PENDING = "pending"  # waiting to be claimed (first try or a retry at next_attempt_at)
    CLAIMED = "claimed"  # a worker holds it until its lease ends
    SENDING = "sending"  # handed to the platform: the outcome is unknown until marked
    SENT = "sent"
    FAILED = "failed"  # failed, retried at next_attempt_at
    DEAD = "dead"  # given up (too many attempts, or a permanent error)
    HELD = "held"  # waits for a digest or the end of quiet hours
    DIGESTING = "digesting"  # held, and claimed by a worker that is sending the digest (with a lease)


class SubscriptionKind(StrEnum):
    WATCHLIST = "watchlist"
    ENTITY = "entity"
    PHRASE = "phrase"  # free words, normalized like aliases


@dataclass(frozen=True, slots=True, order=True)
class Target:
    """What a chat may follow: a watchlist, an entity, or a phrase (free words)."""

    kind: str  # a SubscriptionKind value
    id: str  # watchlist id, entity id, or the normalized phrase


@dataclass(frozen=True, slots=True)
class Followed:
    """What one chat follows among what an item mentions: why it gets the alert."""

    watchlists: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()


@dataclass(frozen=True)
class FeedRow:
    id: int
    url: str
    name: str
    language: str | None
    interval: int | None
    etag: str | None
    last_modified: str | None
    error_count: int
    next_check_at: datetime
    last_success_at: datetime | None
    last_error: str | None
    active: bool
    source: str = "config"
    broken_since: datetime | None = None
    asked_interval: int | None = None  # what the feed asked (max-age, <ttl>) on its last full answer


@dataclass(frozen=True)
class StoredItem:
    id: int
    item: Item
    match: Match


@dataclass(frozen=True)
class RecentItem:
    """What story grouping compares of an item already stored."""

    id: int
    story_id: int | None
    canonical_url: str | None
    fingerprint: str | None
    language: str | None
    entities: tuple[str, ...]
    published_at: datetime | None
    fetched_at: datetime


@dataclass(frozen=True)
class ChatRow:
    id: int
    platform: str
    address: str
    language: str
    active: bool
    muted_until: datetime | None
    chat_type: str = "private"
    digest: str = "immediate"
    digest_time: str | None = None
    timezone: str = "UTC"
    quiet_start: str | None = None
    quiet_end: str | None = None
    next_digest_at: datetime | None = None

    @property
    def is_group(self) -> bool:
        return self.chat_type != "private"


@dataclass(frozen=True)
class DeliveryJob:
    id: int
    attempts: int
    chat: ChatRow
    stored: StoredItem
    followed: Followed
    created_at: datetime | None = None
    lease_until: datetime | None = None  # this claim's lease: also its token (start_sending checks it)
    story_id: int | None = None  # the story this alert opens (its first item's id)


@dataclass(frozen=True)
class HeldAlert:
    delivery_id: int
    title: str
    link: str
    feed_name: str
    followed: Followed
    item_id: int = 0
    story_id: int | None = None
    update: bool = False  # the story was already in a digest: this entry brings its count


@dataclass(frozen=True)
class NoticeJob:
    id: int
    platform: str
    address: str
    key: str
    params: dict[str, JSONValue]  # the message's values, as JSON gave them back
    attempts: int
    lease_until: datetime


@dataclass(frozen=True)
class ChatStatus:
    feeds: int
    failing: int
    last_poll: datetime | None
    sent_today: int
    pending: int


# ---------------------------------------------------------------- stories that grow (issue 15)


class EditState(StrEnum):
    """Where the edit of a sent alert (its "Also: ..." line) stands: one row per delivery, coalesced."""

    IDLE = "idle"  # the message shows the story as last wanted (or there is nothing to edit yet)
    PENDING = "pending"  # the story grew: edit at next_attempt_at (no sooner than the coalescing interval)
    CLAIMED = "claimed"  # a worker holds it until its lease ends
    DONE = "done"  # the message can no longer be edited (deleted, older than 48 h): later sources are not shown


@dataclass(frozen=True)
class StorySource:
    """One item of a story, as ``/story`` and the "Also:" line show it."""

    item_id: int
    feed: str
    title: str
    link: str
    at: datetime | None


@dataclass(frozen=True)
class EditJob:
    """A claimed edit: the delivery's first alert, where the message is, and the story's sources."""

    delivery_id: int
    chat: ChatRow
    stored: StoredItem
    followed: Followed
    message_ref: str  # Telegram: message_id; Slack: "channel ts"
    sent_at: datetime | None
    version: int  # the story state this edit shows; finishing records it as applied
    lease_until: datetime
    story_id: int
    sources: tuple[StorySource, ...] = ()
    attempts: int = 1
