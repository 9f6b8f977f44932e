"""What every chat platform adapter provides; the rest of Rasad knows only this."""

from __future__ import annotations

from typing import Protocol

from bot.model import Alert


class DeliveryError(Exception):
    """A send that failed. ``permanent`` (blocked bot, deleted chat) stops retries and deactivates the chat;
    otherwise the send is retried, not before ``retry_after`` seconds when the platform asked for a delay."""

    def __init__(self, message: str, permanent: bool = False, retry_after: float | None = None,
                 chat_gone: bool | None = None, unknown_outcome: bool = False):
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        # a timeout after the request left: the platform may have shown the message; resend only much later
        self.unknown_outcome = unknown_outcome
        # a permanent error that also means the chat is unreachable (blocked, kicked, deleted)
        self.chat_gone = permanent if chat_gone is None else chat_gone


class Adapter(Protocol):
    platform: str  # the value stored in chats.platform

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send_alert(self, address: str, alert: Alert) -> None:
        """Deliver one alert to one chat, or raise DeliveryError."""
        ...

    async def send_notice(self, address: str, text: str) -> None:
        """A plain message to a person (bot administrators: broken feeds, rules errors)."""
        ...

    async def send_digest(self, address: str, digest) -> None:
        """Held alerts as one message (split at the platform's limit): digests and the end of quiet hours."""
        ...
