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

from bot.alerts.compose import RLM, clean, clip, fit, isolated, safe_link
from bot.alerts.i18n import t
from bot.commands.handlers import Caller, Commands, Reply
from bot.commands.table import as_typed_on, commands_for
from bot.config import ConfigError
from bot.delivery.digest import Digest, DigestEntry, render_digest
from bot.delivery.limits import SLACK, RateLimiter, ReplyQueue
from bot.delivery.sources import Also, also_text
from bot.errors import DeliveryError
from bot.http.server import HttpServer
from bot.model import Alert, StorySource

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"
EVENTS_PATH = "/slack/events"
SUBCOMMANDS = tuple(c.name for c in commands_for("slack"))  # from the one command table
CHANNEL_GONE = {"channel_not_found", "not_in_channel", "is_archived", "account_inactive", "team_access_not_granted"}
MAX_SOURCE_NAME = 60
RETRYABLE = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_BUTTON = 75
MAX_FALLBACK = 3000  # the message's `text` (Slack allows more; it is the notification and fallback text)


# How feed text is made safe in Slack (see README, Slack):
# - `& < >` become `&amp; &lt; &gt;` in every text field (mrkdwn, plain_text, the message's `text`), so no
#   `<!channel>`, `<@U…>` or `<url|label>` can come from a feed;
# - in mrkdwn (the `text` fallback, sections, context, App Home) the formatting characters of feed text become
#   look-alikes, because mrkdwn has no escape for them and a zero-width space would *enable* formatting:
#   `*` → ∗ (U+2217), `_` → ˍ (U+02CD), `~` → ∼ (U+223C), `` ` `` → ˋ (U+02CB), and the full-width ＊ ＿ ｀
#   likewise; a `>` (or ＞) that starts a line gets a soft hyphen before it, so it is no block quote; the colon
#   that opens an emoji shortcode (`:skull:`, `:flag-sy:`, `:+1:`) becomes ∶ (U+2236), so a feed cannot make
#   Slack draw an emoji (a ✅ "verified" mark, a flag) the source never showed;
# - mrkdwn text objects carry `"verbatim": true` (no automatic linking of names or mentions), plain_text ones
#   `"emoji": false`; messages are posted with `parse="none"` and `link_names=False`;
# - links the bot builds, `<url|label>`: the url only http(s), with `& < > |` and white space encoded, the
#   label escaped like any feed text with `|` as ∣ (U+2223).
_LOOKALIKES = str.maketrans({"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb",
                             "\uff0a": "\ufe61", "\uff3f": "\u2e0f", "\uff40": "\u02cb"})
_LEADING_QUOTE = re.compile(r"(^|\n)(&gt;|\uff1e)")
_SHORTCODE = re.compile(r":(?=[a-z0-9+'\-\u02cd]+:)", re.IGNORECASE)  # a colon that opens :name: (names: a-z 0-9 _ + ' -)
SHY = "\u00ad"
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,30}$")


def mrkdwn_escape(text: str) -> str:
    """Slack's three control characters as entities (the bot's own text: its formatting stays)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def feed_mrkdwn(text: str) -> str:
    """Feed text for a mrkdwn field: cleaned, `& < >` escaped, formatting characters as look-alikes."""
    escaped = mrkdwn_escape(_SHORTCODE.sub("\u2236", clean(text).translate(_LOOKALIKES)))
    return _LEADING_QUOTE.sub(lambda m: m.group(1) + SHY + m.group(2), escaped)


def feed_plain(text: str) -> str:
    """Feed text for a plain_text field (header, button label): cleaned, `& < >` escaped."""
    return mrkdwn_escape(clean(text))


def slack_url(link: str) -> str:
    """A link for `<url|label>`, or "": http(s) only; `& < > |` encoded so nothing can end the link early."""
    link = safe_link(link)
    return link.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")


def mrkdwn_link(link: str, label: str) -> str:
    """`<url|label>` with a feed's url made safe; ``label`` is mrkdwn already escaped (``feed_mrkdwn``,
    ``mrkdwn_escape``), its `|` shown as ∣. The label alone when the link is not fit to be linked."""
    text = label.replace("|", "\u2223")
    url = slack_url(link)
    return f"<{url}|{text}>" if url else text


def _mrkdwn(text: str) -> dict:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _plain(text: str) -> dict:
    return {"type": "plain_text", "text": text, "emoji": False}


def _fitted(text: str, limit: int, render) -> str:
    """``render(text)``, with ``text`` clipped before rendering until the result is at most ``limit`` long."""
    out = render(text)
    while len(out) > limit and text:
        text = clip(text, min(len(text) - 1, limit) * 2 // 3) if len(text) > 2 else ""
        out = render(text)
    return out


def _rtl(text: str, lang: str) -> str:
    return "\n".join(RLM + line for line in text.split("\n")) if lang == "ar" else text


def render_blocks(alert: Alert) -> list[dict]:
    """Block Kit: header, headline, source, matched entities, snippet, link — within Slack's limits.

    Each field is shortened as text before it is escaped, so an entity or a `<url|label>` is never cut."""
    lang = alert.language
    sep = t(lang, "list.separator")
    header_names = alert.watchlist_names or alert.entity_names
    header = _fitted(sep.join(clean(n) for n in header_names), MAX_HEADER, lambda h: feed_plain(f"🔔 {h}"))
    blocks: list[dict] = [{"type": "header", "text": _plain(header)}]
    headline = _fitted(alert.headline, MAX_SECTION, lambda h: _rtl(f"*{isolated(h, lang, feed_mrkdwn)}*", lang))
    blocks.append({"type": "section", "text": _mrkdwn(headline)})
    when = alert.published.strftime("%Y-%m-%d %H:%M") if alert.published else None

    def source_line(source: str) -> str:
        source = isolated(source, lang, feed_mrkdwn)
        return _rtl(t(lang, "alert.source_dated", source=source, date=when) if when
                    else t(lang, "alert.source", source=source), lang)

    blocks.append({"type": "context", "elements": [_mrkdwn(_fitted(alert.source, MAX_SECTION, source_line))]})
    if alert.entity_names:
        names = [clean(n) for n in alert.entity_names[:10]]

        def mentions(per_name: int | None) -> str:
            shown = [clip(n, per_name) for n in names] if per_name else names
            return _rtl(t(lang, "alert.mentions", entities=sep.join(isolated(n, lang, feed_mrkdwn) for n in shown)),
                        lang)

        text = mentions(None)
        if len(text) > MAX_SECTION:  # names are short in practice; if not, each gets its share (×5 for `&amp;`)
            text = mentions(MAX_SECTION // (6 * len(names)))
        blocks.append({"type": "section", "text": _mrkdwn(text)})
    if alert.snippet:
        snippet = _fitted(alert.snippet, MAX_SECTION, lambda x: _rtl(f"> {isolated(x, lang, feed_mrkdwn)}", lang))
        blocks.append({"type": "section", "text": _mrkdwn(snippet)})
    label = mrkdwn_escape(t(lang, "alert.read", link="").rstrip(": ").rstrip())
    link = _rtl(mrkdwn_link(alert.link, label), lang) if slack_url(alert.link) else ""
    if link and len(link) <= MAX_SECTION:  # a link too long once encoded is left out; the alert still goes
        blocks.append({"type": "section", "text": _mrkdwn(link)})
    return [*blocks[:49], *sources_button(alert)]


STORY_ACTION = "rasad_story"  # the "Sources · #<id>" button under an alert: an ephemeral list of the story's sources


def sources_button(alert: Alert) -> list[dict]:
    if alert.story_id is None:
        return []
    label = t(alert.language, "alert.sources_button", id=alert.story_id)
    return [{"type": "actions", "block_id": STORY_ACTION, "elements": [
        {"type": "button", "action_id": STORY_ACTION, "value": str(alert.story_id),
         "text": {"type": "plain_text", "text": label[:75]}}]}]


def render_also_mrkdwn(also: Also, lang: str, links: bool = True) -> str:
    """The "Also: ..." line in mrkdwn: each feed name escaped (look-alikes for the formatting characters), linked when ``links``."""
    def name(source: StorySource) -> str:
        label = isolated(clip(source.feed, MAX_SOURCE_NAME), lang, feed_mrkdwn)
        return mrkdwn_link(source.link, label) if links and slack_url(source.link) else label

    more = t(lang, "alert.also_more", n=also.more) if also.more else ""
    line = t(lang, "alert.also", sources=t(lang, "list.separator").join(name(s) for s in also.shown), more=more,
             count=also.total)
    return _rtl(line, lang)


def render_edited_blocks(alert: Alert, also: Also) -> list[dict]:
    """The alert's blocks, then the "Also:" line as a context block (without links when they do not fit)."""
    line = render_also_mrkdwn(also, alert.language)
    if len(line) > MAX_SECTION:
        line = render_also_mrkdwn(also, alert.language, links=False)
    blocks = render_blocks(alert)
    button = blocks[-1:] if blocks and blocks[-1].get("block_id") == STORY_ACTION else []
    body = blocks[:-1] if button else blocks
    return [*body[:49 - len(button)], {"type": "context", "elements": [_mrkdwn(line)]}, *button]


def render_followup_blocks(alert: Alert, also: Also) -> list[dict]:
    """A developing story's follow-up: a bold "Developing story: N sources" section, then the alert with its
    "Also:" line (the same blocks as an edited alert)."""
    head = _rtl("*" + mrkdwn_escape(t(alert.language, "developing.title", count=also.total)) + "*", alert.language)
    blocks = render_edited_blocks(alert, also) if also.shown else render_blocks(alert)
    if len(blocks) > 49:  # Slack's 50 blocks: the end (the "Also:" line, the button) is kept
        blocks = [*blocks[:47], *blocks[-2:]]
    return [{"type": "section", "text": _mrkdwn(head)}, *blocks]


def _fallback(alert: Alert) -> str:
    lang = alert.language
    sep = t(lang, "list.separator")

    def iso(text: str) -> str:
        return isolated(text, lang, feed_mrkdwn)

    if alert.watchlist_names:
        header = t(lang, "alert.header", watchlists=sep.join(iso(n) for n in alert.watchlist_names))
    else:
        header = t(lang, "alert.header_entities", entities=sep.join(iso(n) for n in alert.entity_names[:4]))
    when = alert.published.strftime("%Y-%m-%d %H:%M") if alert.published else None
    source = (t(lang, "alert.source_dated", source=iso(alert.source), date=when) if when
              else t(lang, "alert.source", source=iso(alert.source)))
    lines = [header, iso(alert.headline), source]
    if alert.watchlist_names and alert.entity_names:
        lines.append(t(lang, "alert.mentions", entities=sep.join(iso(n) for n in alert.entity_names[:4])))
    if alert.snippet:
        lines.append(f"«{iso(alert.snippet)}»" if lang == "ar" else f"“{iso(alert.snippet)}”")
    if slack_url(alert.link):
        lines.append(mrkdwn_link(alert.link, mrkdwn_escape(t(lang, "alert.read", link="").rstrip(": ").rstrip())))
    return _rtl("\n".join(lines), lang)


def render_fallback(alert: Alert) -> str:
    """The message's `text` (mrkdwn: notifications, clients without blocks), feed text escaped like the blocks'
    and shortened as text, never cut as markup, to ``MAX_FALLBACK``."""
    return fit(alert, _fallback, lambda text: len(text) <= MAX_FALLBACK, cap=MAX_FALLBACK)


def _reply_blocks(reply: Reply, origin: str) -> list[dict] | None:
    if not reply.buttons:
        return None
    elements = []
    for i, button in enumerate(b for row in reply.buttons for b in row):
        # a button that needs its command's words carries them: Slack has no reply_to_message to read them from
        # (w:p: the free words of /watch; af:<n>: the page /addfeed discovered feeds on)
        value = f"{button.data}|{origin}" if button.data == "w:p" or button.data.startswith("af:") else button.data
        elements.append({"type": "button", "action_id": f"rasad_choice_{i}", "value": value[:2000],
                         "text": _plain(_fitted(clean(button.label), MAX_BUTTON, feed_plain))})
    text = _fitted(reply.text, MAX_SECTION, lambda x: reply_mrkdwn(x, reply.language))
    return [{"type": "section", "text": _mrkdwn(text)}, {"type": "actions", "elements": elements[:25]}]


def reply_mrkdwn(text: str, lang: str) -> str:
    """A command's answer for a mrkdwn field: commands as Slack users type them (``/rasad watch``), and ``& < >``
    escaped, since an answer may quote what the user typed or a feed's name (no ping, no disguised link)."""
    return _rtl(mrkdwn_escape(as_typed_on("slack", text)), lang)


def _delivery_error(exc: SlackApiError, sending: bool) -> DeliveryError:
    """What a Web API refusal means for a send (``sending``) or an edit: 429 waits its Retry-After; a channel
    that is gone stops a send for good and marks the chat inactive (an edit is only given up); 5xx is retried."""
    error = exc.response.get("error", "") if exc.response is not None else ""
    status = exc.response.status_code if exc.response is not None else 0
    if status == 429 or error == "ratelimited":
        retry = exc.response.headers.get("Retry-After", "1") if exc.response is not None else "1"
        return DeliveryError(f"slack 429 retry after {retry}", retry_after=float(retry))
    if sending and error in CHANNEL_GONE:
        return DeliveryError(f"slack: {error}", permanent=True, chat_gone=True)
    if error in RETRYABLE or status >= 500:
        return DeliveryError(f"slack: {error or status}")
    return DeliveryError(f"slack: {error or status}", permanent=True, chat_gone=False)


def _error_code(exc: SlackApiError) -> str:
    response = exc.response
    error = response.get("error") if response is not None else None
    return str(error or (response.status_code if response is not None else "no answer"))


class SlackAdapter:
    platform = "slack"
    limits = SLACK

    def __init__(self, bot_token: str, commands: Commands, signing_secret: str | None = None,
                 app_token: str | None = None, api_url: str | None = None, http: HttpServer | None = None,
                 admins: Sequence[str] = ()):
        self._commands = commands
        self._admins = set(admins)
        self._app_token = app_token
        # one limiter for everything sent to Slack: the dispatcher's alerts use it too (``adapter.limiter``)
        self.limiter = RateLimiter(self.limits)
        self.replies = ReplyQueue(self.limiter, self.platform)
        self.client = AsyncWebClient(token=bot_token, base_url=api_url or DEFAULT_API_URL)
        socket_mode = app_token is not None
        if not socket_mode and (http is None or not signing_secret):
            raise ValueError("Slack HTTP mode needs SLACK_SIGNING_SECRET and the HTTP server")
        self.app = AsyncApp(client=self.client, signing_secret=signing_secret,
                            request_verification_enabled=not socket_mode, process_before_response=True)
        self.app.command("/rasad")(self._on_command)
        self.app.action(re.compile(r"^rasad_choice_\d+$"))(self._on_action)
        self.app.action(STORY_ACTION)(self._on_sources)
        self.app.event("app_home_opened")(self._on_home)
        self._socket = None
        if not socket_mode:
            http.add_route("POST", EVENTS_PATH, self._on_http)

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Checks the tokens first: one refused by Slack stops the start with one clear line (ConfigError)."""
        try:
            auth = await self.client.auth_test()
        except SlackApiError as exc:
            raise ConfigError([f"SLACK_BOT_TOKEN was refused by Slack ({_error_code(exc)})"]) from None
        except (ClientError, TimeoutError) as exc:
            raise ConfigError([f"Slack could not be reached at {self.client.base_url} "
                               f"({type(exc).__name__}: {exc})"]) from None
        log.info("slack: connected to team %s as %s", auth.get("team"), auth.get("user"))
        if self._app_token:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            self._socket = AsyncSocketModeHandler(self.app, self._app_token)
            try:
                await self._socket.connect_async()
            except SlackApiError as exc:
                raise ConfigError([f"SLACK_APP_TOKEN was refused by Slack ({_error_code(exc)})"]) from None
            log.info("slack: socket mode connected")
        else:
            log.info("slack: HTTP mode, requests at %s (signature checked)", EVENTS_PATH)

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
        await self.replies.close()  # answers still waiting for their slot get a few seconds

    async def _on_http(self, request: web.Request) -> web.Response:
        bolt_response = await self.app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    # ------------------------------------------------------------ delivery

    async def send_alert(self, address: str, alert: Alert) -> str | None:
        return await self._post(address, render_fallback(alert), render_blocks(alert))

    async def send_followup(self, address: str, alert: Alert, also: Also) -> str | None:
        """A developing story's one follow-up: a new message (it notifies), with the Sources button."""
        head = t(alert.language, "developing.title", count=also.total)
        return await self._post(address, f"{feed_plain(head)}\n{render_fallback(alert)}",
                                render_followup_blocks(alert, also))

    async def _post(self, address: str, text: str, blocks: list[dict]) -> str | None:
        try:
            answer = await self.client.chat_postMessage(channel=address, text=text, blocks=blocks,
                                                        unfurl_links=False, unfurl_media=False, parse="none",
                                                        link_names=False)
        except SlackApiError as exc:
            raise _delivery_error(exc, sending=True) from None
        except TimeoutError as exc:
            raise DeliveryError(f"slack timeout (outcome unknown): {exc}", unknown_outcome=True) from None
        except ClientError as exc:
            raise DeliveryError(f"slack network: {type(exc).__name__}: {exc}") from None
        channel, ts = answer.get("channel") or address, answer.get("ts")
        return f"{channel} {ts}" if ts else None

    async def edit_alert(self, address: str, message_ref: str, alert: Alert, also: Also) -> bool:
        """chat.update of the alert's message (an update makes no sound): the same blocks and the "Also:" line."""
        channel, _, ts = message_ref.partition(" ")
        try:
            await self.client.chat_update(channel=channel or address, ts=ts, text=render_fallback(alert),
                                          blocks=render_edited_blocks(alert, also), parse="none", link_names=False)
        except SlackApiError as exc:
            raise _delivery_error(exc, sending=False) from None
        except TimeoutError as exc:
            raise DeliveryError(f"slack timeout: {exc}", unknown_outcome=True) from None
        except ClientError as exc:
            raise DeliveryError(f"slack network: {type(exc).__name__}: {exc}") from None
        return True

    async def send_digest(self, address: str, digest: Digest) -> None:
        """Messages of at most 3,000 characters, split between lines (never inside a `<url|label>` or an entity),
        feed text escaped like an alert's."""
        lang = digest.language

        def line(entry: DigestEntry) -> str:
            title = mrkdwn_link(entry.link, isolated(entry.headline, lang, feed_mrkdwn))
            if entry.update:
                title = f"*{mrkdwn_escape(t(lang, 'digest.update'))}* {title}"
            also = also_text(entry.also, lang, lambda s: isolated(clip(s.feed, MAX_SOURCE_NAME), lang, feed_mrkdwn)) \
                if entry.also else ""
            return f"• {title} ({isolated(entry.source, lang, feed_mrkdwn)})" + (f" — {also}" if also else "")

        parts = render_digest(digest, MAX_FALLBACK, line, group=lambda name: isolated(name, lang, feed_mrkdwn),
                              prefix=RLM if lang == "ar" else "")
        for part in parts:
            await self.client.chat_postMessage(channel=address, text=part, unfurl_links=False, unfurl_media=False,
                                               parse="none", link_names=False)

    async def send_notice(self, address: str, text: str) -> None:
        """To a user id (Slack opens the app's direct-message conversation with that person). A notice may quote a
        feed's name, address or error: a plain_text block shows it as written; the `text` fallback is escaped."""
        def lines(escape):
            return lambda x: "\n".join(escape(line) for line in x.split("\n"))

        await self.client.chat_postMessage(
            channel=address, text=_fitted(text, MAX_FALLBACK, lines(feed_mrkdwn)),
            blocks=[{"type": "section", "text": _plain(_fitted(text, MAX_SECTION, lines(feed_plain)))}],
            unfurl_links=False, unfurl_media=False, parse="none", link_names=False)

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
        self._respond(respond, command["channel_id"], f"answer to {sub}", response_type="ephemeral",
                      text=reply_mrkdwn(reply.text, reply.language), blocks=_reply_blocks(reply, args.strip()))

    async def _on_action(self, ack, body, respond) -> None:
        await ack()
        action = (body.get("actions") or [{}])[0]
        data, _, origin = (action.get("value") or "").partition("|")
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
        user = (body.get("user") or {}).get("id", "")
        reply = await self._commands.callback(self._caller(channel, user, None), data, origin)
        if reply is not None:
            self._respond(respond, channel or user, "answer to a button", replace_original=True,
                          response_type="ephemeral", text=reply_mrkdwn(reply.text, reply.language))

    async def _on_sources(self, ack, body, respond) -> None:
        """An alert's "Sources" button: /rasad story <id> as an ephemeral message to whoever pressed it (the alert
        itself is left as it is)."""
        await ack()
        action = (body.get("actions") or [{}])[0]
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
        user = (body.get("user") or {}).get("id", "")
        reply = await self._commands.dispatch(self._caller(channel, user, None), "story", action.get("value") or "")
        self._respond(respond, channel or user, "answer to a Sources button", replace_original=False,
                      response_type="ephemeral", text=reply_mrkdwn(reply.text, reply.language))

    def _respond(self, respond, channel: str, what: str, **message) -> None:
        """Answers go through response_url (one use per command or button, well within Slack's five in 30
        minutes), paced by the shared limiter like alerts (1 s per channel, overall rate), 429 Retry-After
        honoured (see ReplyQueue). Queued, so the listener returns at once and Slack's 3-second limit holds."""
        async def send() -> None:
            try:
                response = await respond(**message)
            except TimeoutError as exc:
                raise DeliveryError(f"response_url timeout (outcome unknown): {exc}", unknown_outcome=True) from None
            except ClientError as exc:
                raise DeliveryError(f"response_url network: {type(exc).__name__}: {exc}") from None
            status = getattr(response, "status_code", 200)
            if status == 429:
                retry = (response.headers or {}).get("Retry-After", "1")
                raise DeliveryError(f"response_url 429 retry after {retry}", retry_after=float(retry))
            if status >= 500:
                raise DeliveryError(f"response_url: HTTP {status}")
            if status >= 400:  # expired or used up (404 expired_url, used_url): retrying cannot help
                raise DeliveryError(f"response_url: HTTP {status} {getattr(response, 'body', '')}"[:200],
                                    permanent=True, chat_gone=False)

        self.replies.submit(channel, False, send, what)

    async def _on_home(self, event, client) -> None:
        """App Home: what the workspace's channels follow."""
        follows = await self._commands.overview(self.platform, "en")
        blocks = [{"type": "header", "text": {"type": "plain_text", "text": "Rasad (رصد)"}}]
        if not follows:
            blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                       "text": "No channel follows anything yet: try `/rasad watch "
                                                               "Resolution 2254` in a channel."}})
        for channel, names in follows[:40]:
            # a channel id from the store is linked only when it looks like one; names and phrases are escaped
            where = f"<#{channel}>" if _CHANNEL_ID.match(channel) else feed_mrkdwn(channel)
            text = _fitted(", ".join(clean(n) for n in names), MAX_SECTION, lambda x, at=where: f"{at}: {feed_mrkdwn(x)}")
            blocks.append({"type": "section", "text": _mrkdwn(text)})
        await client.views_publish(user_id=event["user"], view={"type": "home", "blocks": blocks[:50]})
