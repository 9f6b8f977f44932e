"""Which adapters a process runs: Telegram and/or Slack when their tokens are set, else the console."""

from __future__ import annotations

import logging

from bot.adapters.base import Adapter
from bot.adapters.console import ConsoleAdapter
from bot.commands.handlers import Commands
from bot.config import Settings
from bot.http.server import HttpServer
from bot.store import Store

log = logging.getLogger(__name__)


def platform_adapters(s: Settings, commands: Commands, http: HttpServer | None, store: Store,
                      role: str) -> list[Adapter]:
    """A ``poll`` worker sends nothing (the console still shows what it finds when no platform is set up);
    ``all`` and ``bot`` processes may consume the chat updates, ``deliver`` ones only send."""
    if role == "poll":
        return [] if s.telegram_token or s.slack_bot_token else [ConsoleAdapter()]
    adapters: list[Adapter] = []
    if s.telegram_token:
        from bot.adapters.telegram import UPDATES_LOCK, TelegramAdapter

        adapters.append(TelegramAdapter(
            s.telegram_token, commands, api_url=s.telegram.api_url, admins=s.telegram.admins,
            link_previews=s.telegram.link_previews, poll_timeout=s.telegram.poll_timeout,
            receive_updates=role in ("all", "bot"), mode=s.telegram.mode, webhook_url=s.telegram.webhook_url,
            webhook_secret=s.telegram_webhook_secret, http=http, updates_lock=lambda: store.try_lock(UPDATES_LOCK)))
        log.info("telegram: Bot API at %s", s.telegram.api_url)
    if s.slack_bot_token:
        from bot.adapters.slack import SlackAdapter

        adapters.append(SlackAdapter(s.slack_bot_token, commands, signing_secret=s.slack_signing_secret,
                                     app_token=s.slack_app_token, api_url=s.slack.api_url, http=http,
                                     admins=s.slack.admins))
        log.info("slack: Web API at %s", s.slack.api_url)
    return adapters or [ConsoleAdapter()]
