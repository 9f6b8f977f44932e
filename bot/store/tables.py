"""The schema (SQLAlchemy Core). Alembic migrations in ``migrations/`` create it; keep both in step."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# All times are naive UTC.
feeds = Table(
    "feeds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("language", String(8)),
    Column("interval", Integer),  # seconds; NULL → the configured default
    Column("source", String(16), nullable=False, server_default="config"),  # config | chat
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("next_check_at", DateTime, nullable=False),
    Column("last_checked_at", DateTime),
    Column("last_success_at", DateTime),
    Column("error_count", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("created_at", DateTime, nullable=False),
    Column("broken_since", DateTime),  # set after poll.broken_after failures in a row; cleared on success
    Column("lease_until", DateTime),  # a worker polling this feed holds it until then
    Column("asked_interval", Integer),  # seconds the feed asked (max-age, <ttl>) on its last full answer
)

items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    Column("key_hash", String(64), nullable=False),  # sha256 of the stable key (guid, link or content hash)
    Column("key", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False, server_default=""),
    Column("link", Text, nullable=False, server_default=""),
    Column("language", String(8)),
    Column("published_at", DateTime),
    Column("fetched_at", DateTime, nullable=False),
    Column("entities", Text, nullable=False, server_default="[]"),  # JSON list of entity ids
    Column("watchlists", Text, nullable=False, server_default="[]"),  # JSON list of watchlist ids
    Column("mentions", Text, nullable=False, server_default="[]"),  # JSON [[entity, start, end], ...]
    Column("story_id", Integer),  # the first item of the same story; NULL when this item is the first
    Column("canonical_url", Text),  # link without tracking parameters, for story grouping
    Column("fingerprint", Text),  # normalized word shingles of title + summary, for near-duplicate grouping
    UniqueConstraint("feed_id", "key_hash", name="uq_items_feed_key"),
    Index("ix_items_canonical_url", "canonical_url"),
    Index("ix_items_fetched_at", "fetched_at"),
)

chats = Table(
    "chats",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("platform", String(16), nullable=False),  # console | telegram | slack
    Column("address", Text, nullable=False),  # the platform's chat / channel id
    Column("chat_type", String(16), nullable=False, server_default="private"),  # private|group|supergroup|channel
    Column("title", Text),
    Column("language", String(8), nullable=False, server_default="en"),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("muted_until", DateTime),
    Column("created_at", DateTime, nullable=False),
    Column("digest", String(16), nullable=False, server_default="immediate"),  # immediate | hourly | daily
    Column("digest_time", String(5)),  # HH:MM for daily digests, in the chat's timezone
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    Column("quiet_start", String(5)),  # HH:MM quiet hours, in the chat's timezone
    Column("quiet_end", String(5)),
    Column("next_digest_at", DateTime),  # when held alerts go out as one digest (naive UTC)
    Column("next_send_at", DateTime),  # per-chat rate limit shared by all workers
    Column("follow_developing", Boolean, nullable=False, server_default="0"),  # /follow developing on|off
    UniqueConstraint("platform", "address", name="uq_chats_platform_address"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chat_id", Integer, ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),  # watchlist | entity | phrase
    Column("target", Text, nullable=False),  # watchlist id, entity id, or normalized phrase
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("chat_id", "kind", "target", name="uq_subscriptions_chat_kind_target"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chat_id", Integer, ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("state", String(16), nullable=False, server_default="pending"),  # pending|sending|sent|failed|dead
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("watchlists", Text, nullable=False, server_default="[]"),  # JSON: why this chat gets it
    Column("entities", Text, nullable=False, server_default="[]"),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("last_error", Text),
    Column("created_at", DateTime, nullable=False),
    Column("sent_at", DateTime),
    Column("story_id", Integer),
    Column("urgent", Boolean, nullable=False, server_default="0"),
    Column("lease_until", DateTime),  # claimed (or sending) by a worker until then; expired → back to the pool
    Column("message_ref", Text),  # where the sent alert is, to edit it: Telegram message_id, Slack "channel ts"
    Column("digested", Boolean, nullable=False, server_default="0"),  # sent inside a digest: never edited
    # a held row that brings the count of a story already sent in a digest (delivery ``update_of``) to the next one
    Column("update_of", Integer),
    UniqueConstraint("chat_id", "item_id", name="uq_deliveries_chat_item"),
    Index("ix_deliveries_state_next", "state", "next_attempt_at"),
    Index("ix_deliveries_chat_story", "chat_id", "story_id"),
)

# Edits of sent alerts when their story grows (issue 15): one row per delivery, so edits coalesce (the last
# state wins). ``wanted`` counts the sources that joined; ``applied`` is the count the message shows.
story_edits = Table(
    "story_edits",
    metadata,
    Column("delivery_id", Integer, ForeignKey("deliveries.id", ondelete="CASCADE"), primary_key=True),
    Column("story_id", Integer, nullable=False),
    Column("state", String(16), nullable=False, server_default="pending"),  # idle | pending | claimed | done
    Column("wanted", Integer, nullable=False, server_default="0"),
    Column("applied", Integer, nullable=False, server_default="0"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("edits", Integer, nullable=False, server_default="0"),  # edits the platform accepted
    Column("next_attempt_at", DateTime, nullable=False),  # never sooner than the coalescing interval after an edit
    Column("lease_until", DateTime),
    Column("last_error", Text),
    Index("ix_story_edits_state_next", "state", "next_attempt_at"),
    Index("ix_story_edits_story", "story_id"),
)

# Developing stories (issue 15): a story is marked once when enough distinct feeds carry it within the window;
# chats that follow developing stories get one follow-up per story, an outbox like deliveries.
developing_stories = Table(
    "developing_stories",
    metadata,
    Column("story_id", Integer, primary_key=True),
    Column("sources", Integer, nullable=False),  # distinct feeds within the window when it was marked
    Column("marked_at", DateTime, nullable=False),
)

followups = Table(
    "followups",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chat_id", Integer, ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
    Column("delivery_id", Integer, ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("story_id", Integer, nullable=False),
    Column("state", String(16), nullable=False, server_default="pending"),  # pending|claimed|sending|sent|dead
    Column("urgent", Boolean, nullable=False, server_default="0"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("lease_until", DateTime),
    Column("created_at", DateTime, nullable=False),
    Column("sent_at", DateTime),
    Column("message_ref", Text),
    Column("last_error", Text),
    UniqueConstraint("chat_id", "story_id", name="uq_followups_chat_story"),
    Index("ix_followups_state_next", "state", "next_attempt_at"),
)

# Administrator notices (broken feed, works again, rules errors): an outbox like deliveries, so a 429 or a
# restart at the wrong moment does not lose the one message an administrator gets.
notices = Table(
    "notices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("platform", String(16), nullable=False),
    Column("address", Text, nullable=False),  # the administrator's user id (their private chat)
    Column("key", String(64), nullable=False),  # i18n key, rendered in the admin's language when sent
    Column("params", Text, nullable=False, server_default="{}"),  # JSON values for the key
    Column("state", String(16), nullable=False, server_default="pending"),  # pending | sent | dead
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("lease_until", DateTime),
    Column("last_error", Text),
    Column("created_at", DateTime, nullable=False),
    Column("sent_at", DateTime),
    Index("ix_notices_state_next", "state", "next_attempt_at"),
)
