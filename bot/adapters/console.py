"""The console adapter: alerts printed to a stream. It runs when no platform token is set."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from bot.alerts.compose import MAX_SOURCE, clean, clip, render_text
from bot.alerts.i18n import t
from bot.config import ConsoleConfig
from bot.delivery.digest import Digest, DigestEntry, render_digest
from bot.delivery.limits import UNLIMITED, RateLimiter
from bot.delivery.sources import Also, also_text
from bot.errors import ConfigError
from bot.extract.matcher import RuleSet
from bot.model import Alert, SubscriptionKind
from bot.store import Store

CONSOLE_ADDRESS = "console"


log = logging.getLogger(__name__)


class ConsoleAdapter:
    platform = "console"

    def __init__(self, stream: TextIO | None = None):
        self._stream = stream
        self.limiter = RateLimiter(UNLIMITED)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send_alert(self, address: str, alert: Alert) -> str | None:  # noqa: ARG002 - one console
        stream = self._stream or sys.stdout
        stream.write(render_text(alert) + "\n\n")
        stream.flush()
        return None  # a printed alert cannot be edited: its story's later sources are not shown

    async def edit_alert(self, address: str, message_ref: str, alert: Alert, also: Also) -> bool:  # noqa: ARG002
        return False

    async def send_followup(self, address: str, alert: Alert, also: Also) -> str | None:  # noqa: ARG002
        stream = self._stream or sys.stdout
        stream.write(t(alert.language, "developing.title", count=also.total) + "\n" + render_text(alert) + "\n\n")
        stream.flush()
        return None

    async def send_notice(self, address: str, text: str) -> None:  # noqa: ARG002
        log.warning("notice: %s", text)

    async def send_digest(self, address: str, digest: Digest) -> None:  # noqa: ARG002 - one console
        stream = self._stream or sys.stdout
        lang = digest.language

        def line(e: DigestEntry) -> str:
            head = f"{t(lang, 'digest.update')} " if e.update else ""
            also = f" — {also_text(e.also, lang, lambda s: clip(clean(s.feed), MAX_SOURCE))}" if e.also else ""
            return f"• {head}{e.headline} ({e.source}){also} {e.link}".rstrip()

        for message in render_digest(digest, 4000, line):
            stream.write(message + "\n\n")
        stream.flush()


async def sync_console_chat(store: Store, console: ConsoleConfig, matcher: RuleSet) -> None:
    """The console is one chat: it follows the watchlists the config names (all by default), in its language."""
    wanted = list(matcher.watchlists) if console.watchlists == "all" else list(console.watchlists)
    if unknown := [w for w in wanted if w not in matcher.watchlists]:
        raise ConfigError([f"console.watchlists: unknown watchlist id {w!r}" for w in unknown])
    chat = await store.chats.ensure("console", CONSOLE_ADDRESS, console.language)
    await store.chats.set_language(chat.id, console.language)
    await store.chats.set_active(chat.id, True)
    await store.subscriptions.replace(chat.id, SubscriptionKind.WATCHLIST, wanted)
