"""The Slack adapter: one slash command `/rasad <sub-command>`, Block Kit alerts, Socket Mode or HTTP mode."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from aiohttp import ClientError, web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts.compose import RLM, clip, isolate, render_text
from bot.alerts.i18n import t
from bot.chat.base import DeliveryError
from bot.chat.commands import Caller, Commands, Reply
from bot.delivery.digest import Digest, DigestEntry, render_digest
from bot.delivery.limits import SLACK
from bot.http.server import HttpServer
from bot.model import Alert
from bot.store import queries

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"
EVENTS_PATH = "/slack/events"
SUBCOMMANDS = ("watch", "unwatch", "list", "watchlists", "lang", "mute", "unmute", "digest", "quiet", "tz", "status",
               "help", "feeds", "addfeed", "delfeed")
CHANNEL_GONE = {"channel_not_found", "not_in_channel", "is_archived", "account_inactive", "team_access_not_granted"}
RETRYABLE = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
MAX_SECTION = 3000
MAX_HEADER = 150


def mrkdwn_escape(text: str) -> str:
    """Slack's three control characters; the rest of feed text is shown as written."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _rtl(text: str, lang: str) -> str:
    return "\n".join(RLM + line for line in text.split("\n")) if lang == "ar" else text


def render_blocks(alert: Alert) -> list[dict]:
    """Block Kit: header, headline, source, matched entities, snippet, link — within Slack's limits."""
    lang = alert.language
    sep = t(lang, "list.separator")
    header_text = sep.join(alert.watchlist_names) if alert.watchlist_names else sep.join(alert.entity_names)
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "emoji": True,
                                                      "text": clip(f"🔔 {header_text}", MAX_HEADER)}}]
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _rtl(
        clip(f"*{mrkdwn_escape(isolate(alert.headline, lang))}*", MAX_SECTION), lang)}})
    source = mrkdwn_escape(isolate(alert.source, lang))
    when = alert.published.strftime("%Y-%m-%d %H:%M") if alert.published else None
    source_line = (t(lang, "alert.source_dated", source=source, date=when) if when
                   else t(lang, "alert.source", source=source))
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _rtl(source_line, lang)}]})
    if alert.entity_names:
        names = sep.join(mrkdwn_escape(isolate(n, lang)) for n in alert.entity_names[:10])
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _rtl(
            clip(t(lang, "alert.mentions", entities=names), MAX_SECTION), lang)}})
    if alert.snippet:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _rtl(
            clip(f"> {mrkdwn_escape(isolate(alert.snippet, lang))}", MAX_SECTION), lang)}})
    if alert.link.startswith(("http://", "https://")):
        label = t(lang, "alert.read", link="").rstrip(": ").rstrip()
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": f"<{alert.link.replace('|', '%7C')}|{label}>"}})
    return blocks[:50]


def _reply_blocks(reply: Reply, origin: str) -> list[dict] | None:
    if not reply.buttons:
        return None
    elements = []
    for i, button in enumerate(b for row in reply.buttons for b in row):
        value = f"{button.data}|{origin}" if button.data == "w:p" else button.data
        elements.append({"type": "button", "action_id": f"rasad_choice_{i}", "value": value[:2000],
                         "text": {"type": "plain_text", "text": clip(button.label, 75), "emoji": True}})
    return [{"type": "section", "text": {"type": "mrkdwn", "text": _rtl(mrkdwn_escape(reply.text), reply.language)}},
            {"type": "actions", "elements": elements[:25]}]


class SlackAdapter:
    platform = "slack"
    limits = SLACK

    def __init__(self, bot_token: str, commands: Commands, signing_secret: str | None = None,
                 app_token: str | None = None, api_url: str | None = None, http: HttpServer | None = None,
                 admins: Sequence[str] = ()):
        self._commands = commands
        self._admins = set(admins)
        self._app_token = app_token
        self.client = AsyncWebClient(token=bot_token, base_url=api_url or DEFAULT_API_URL)
        socket_mode = app_token is not None
        if not socket_mode and (http is None or not signing_secret):
            raise ValueError("Slack HTTP mode needs SLACK_SIGNING_SECRET and the HTTP server")
        self.app = AsyncApp(client=self.client, signing_secret=signing_secret,
                            request_verification_enabled=not socket_mode, process_before_response=True)
        self.app.command("/rasad")(self._on_command)
        self.app.action(re.compile(r"^rasad_choice_\d+$"))(self._on_action)
        self.app.event("app_home_opened")(self._on_home)
        self._socket = None
        if not socket_mode:
            http.add_route("POST", EVENTS_PATH, self._on_http)

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        auth = await self.client.auth_test()
        log.info("slack: connected to team %s as %s", auth.get("team"), auth.get("user"))
        if self._app_token:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            self._socket = AsyncSocketModeHandler(self.app, self._app_token)
            await self._socket.connect_async()
            log.info("slack: socket mode connected")
        else:
            log.info("slack: HTTP mode, requests at %s (signature checked)", EVENTS_PATH)

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()

    async def _on_http(self, request: web.Request) -> web.Response:
        bolt_response = await self.app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    # ------------------------------------------------------------ delivery

    async def send_alert(self, address: str, alert: Alert) -> None:
        try:
            await self.client.chat_postMessage(channel=address, text=clip(render_text(alert), 3000),
                                               blocks=render_blocks(alert), unfurl_links=False, unfurl_media=False)
        except SlackApiError as exc:
            error = exc.response.get("error", "") if exc.response is not None else ""
            status = exc.response.status_code if exc.response is not None else 0
            if status == 429 or error == "ratelimited":
                retry = exc.response.headers.get("Retry-After", "1") if exc.response is not None else "1"
                raise DeliveryError(f"slack 429 retry after {retry}", retry_after=float(retry)) from None
            if error in CHANNEL_GONE:
                raise DeliveryError(f"slack: {error}", permanent=True, chat_gone=True) from None
            if error in RETRYABLE or status >= 500:
                raise DeliveryError(f"slack: {error or status}") from None
            raise DeliveryError(f"slack: {error or status}", permanent=True, chat_gone=False) from None
        except TimeoutError as exc:
            raise DeliveryError(f"slack timeout (outcome unknown): {exc}", unknown_outcome=True) from None
        except ClientError as exc:
            raise DeliveryError(f"slack network: {type(exc).__name__}: {exc}") from None

    async def send_digest(self, address: str, digest: Digest) -> None:
        def line(entry: DigestEntry) -> str:
            title = mrkdwn_escape(entry.headline)
            if entry.link.startswith(("http://", "https://")):
                title = f"<{entry.link.replace('|', '%7C')}|{title}>"
            return f"• {title} ({mrkdwn_escape(entry.source)})"

        for part in render_digest(digest, MAX_SECTION - 100, line):
            await self.client.chat_postMessage(channel=address, text=_rtl(part, digest.language),
                                               unfurl_links=False, unfurl_media=False)

    async def send_notice(self, address: str, text: str) -> None:
        """To a user id: Slack opens the app's direct-message conversation with that person."""
        await self.client.chat_postMessage(channel=address, text=mrkdwn_escape(text))

    # ------------------------------------------------------------ the slash command

    def _caller(self, channel: str, user: str, title: str | None) -> Caller:
        async def member() -> bool:  # in Slack, people in a channel may change what it follows
            return True

        return Caller(platform=self.platform, address=channel, chat_type="channel", title=title, user_id=user,
                      is_bot_admin=user in self._admins, is_chat_admin=member)

    async def _on_command(self, ack, command, respond) -> None:
        await ack()
        text = (command.get("text") or "").strip()
        sub, _, args = text.partition(" ")
        sub = sub.lower() or "help"
        if sub not in SUBCOMMANDS:
            sub = "unknown"
        caller = self._caller(command["channel_id"], command["user_id"], command.get("channel_name"))
        reply = await self._commands.dispatch(caller, sub, args.strip())
        await respond(response_type="ephemeral", text=_rtl(reply.text, reply.language),
                      blocks=_reply_blocks(reply, args.strip()))

    async def _on_action(self, ack, body, respond) -> None:
        await ack()
        action = (body.get("actions") or [{}])[0]
        data, _, origin = (action.get("value") or "").partition("|")
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
        user = (body.get("user") or {}).get("id", "")
        reply = await self._commands.callback(self._caller(channel, user, None), data, origin)
        if reply is not None:
            await respond(replace_original=True, response_type="ephemeral", text=_rtl(reply.text, reply.language))

    async def _on_home(self, event, client) -> None:
        """App Home: what the workspace's channels follow."""
        follows = await queries.platform_subscriptions(self._commands.engine, self.platform)
        matcher, _ = self._commands.rules()
        blocks = [{"type": "header", "text": {"type": "plain_text", "text": "Rasad (رصد)"}}]
        if not follows:
            blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                       "text": "No channel follows anything yet: try `/rasad watch "
                                                               "Resolution 2254` in a channel."}})
        for channel, subs in sorted(follows.items())[:40]:
            names = []
            for kind, target in subs:
                if kind == "watchlist" and target in matcher.watchlists:
                    names.append(matcher.watchlists[target].name("en"))
                elif kind == "entity" and target in matcher.entities:
                    names.append(matcher.entities[target].name("en"))
                else:
                    names.append(f"«{target}»")
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": clip(
                f"<#{channel}>: {mrkdwn_escape(', '.join(names))}", MAX_SECTION)}})
        await client.views_publish(user_id=event["user"], view={"type": "home", "blocks": blocks[:50]})
