"""What every chat platform adapter provides; the rest of Rasad knows only this."""

from __future__ import annotations

from typing import Protocol

from bot.delivery.digest import Digest
from bot.delivery.limits import RateLimiter
from bot.delivery.sources import Also
from bot.errors import DeliveryError
from bot.model import Alert


class Adapter(Protocol):
    """A chat platform. ``limiter`` paces everything the bot sends there (alerts, digests, notices, replies)."""

    platform: str  # the value stored in chats.platform
    limiter: RateLimiter

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send_alert(self, address: str, alert: Alert) -> str | None:
        """Deliver one alert to one chat, or raise DeliveryError. Returns where the message is, to edit it later
        (Telegram: its message_id; Slack: "channel ts"), or None when it cannot be edited (the console)."""
        ...

    async def edit_alert(self, address: str, message_ref: str, alert: Alert, also: Also) -> bool:
        """Edit a sent alert in place to add the story's other sources (no new message, no sound). True when
        edited, False when the message already showed this ("message is not modified"). A message that can no
        longer be edited (deleted, too old) raises DeliveryError with ``permanent=True``; 429 with retry_after."""
        ...

    async def send_followup(self, address: str, alert: Alert, also: Also) -> str | None:
        """A developing story's one follow-up to a chat that opted in (/follow developing on): a new message, the
        alert with a "Developing story: N sources" line and the "Also:" line; errors as ``send_alert``."""
        ...

    async def send_notice(self, address: str, text: str) -> None:
        """A plain message to a person (bot administrators: broken feeds, rules errors), or raise DeliveryError."""
        ...

    async def send_digest(self, address: str, digest: Digest) -> None:
        """Held alerts as one message (split at the platform's limit): digests and the end of quiet hours."""
        ...


__all__ = ["Adapter", "DeliveryError"]
