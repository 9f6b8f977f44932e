"""The Telegram adapter: python-telegram-bot's Application inside Rasad's own event loop."""

from __future__ import annotations

import asyncio
import hmac
import html
import logging
import os
from collections.abc import Awaitable, Callable, Sequence

# python-telegram-bot 22: opt in to RetryAfter.retry_after as a timedelta (the future default), no warning
os.environ.setdefault("PTB_TIMEDELTA", "1")

from aiohttp import web  # noqa: E402
from telegram import (  # noqa: E402 - after the PTB_TIMEDELTA opt-in
    BotCommand,
    BotCommandScopeDefault,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.alerts.compose import RLM, clean, clip, entity_list, fit, isolated, safe_link
from bot.alerts.i18n import t
from bot.commands.handlers import Caller, Commands, Reply
from bot.commands.table import menu_for
from bot.commands.transfer import MAX_IMPORT_BYTES
from bot.delivery.digest import Digest, DigestEntry, render_digest
from bot.delivery.limits import TELEGRAM, RateLimiter, ReplyQueue
from bot.delivery.sources import Also, also_text
from bot.errors import DeliveryError
from bot.feeds.opml import MAX_OPML_BYTES
from bot.http.server import HttpServer
from bot.model import Alert, StorySource
from bot.store import AdvisoryLock

log = logging.getLogger(__name__)

MAX_MESSAGE = 4096
MEMBER_RETRY_LIMIT = 10.0  # seconds: a longer flood-control wait on getChatMember refuses the command politely
MAX_ALSO = 1024  # the "Also:" line of an edited alert, links included (else without links)
MAX_SOURCE_NAME = 60
MAX_CAPTION = 1024
WEBHOOK_PATH = "/telegram/webhook"
# edited messages and edited channel posts are not asked for, and ignored if they come (see NEW_POSTS)
UPDATES = ["message", "channel_post", "callback_query"]
# commands are new messages and new channel posts only: editing an old message into "/unwatch X" does nothing
NEW_POSTS = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST
DEFAULT_API_URL = "https://api.telegram.org"
MENU = tuple(c.name for c in menu_for("telegram"))  # from the one command table


class ChatOrderedUpdates(BaseUpdateProcessor):
    """Updates of one chat are handled one after another, in the order they came (a quick "/watch X" then
    "/unwatch X" ends unwatched, and the answers come in that order); different chats are handled concurrently,
    at most ``concurrency`` at a time. A chat waiting for its turn holds no slot, so it never holds up others."""

    def __init__(self, concurrency: int = 8):
        super().__init__(max_concurrent_updates=1_000_000)  # the bound that counts is ``_slots``, taken in turn
        self._slots = asyncio.Semaphore(concurrency)
        self._turns: dict[int, tuple[asyncio.Lock, list[int]]] = {}  # chat → (its lock, [updates using it])

    async def do_process_update(self, update: object, coroutine: Awaitable) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            async with self._slots:
                await coroutine
            return
        lock, users = self._turns.setdefault(chat.id, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock, self._slots:  # asyncio.Lock wakes its waiters first come, first served
                await coroutine
        finally:
            users[0] -= 1
            if not users[0]:
                del self._turns[chat.id]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def _reply_error(exc: TelegramError) -> DeliveryError:
    """What a failed reply means for ReplyQueue: wait and retry, retry a few times, or give up."""
    if isinstance(exc, RetryAfter):
        retry = exc.retry_after.total_seconds() if hasattr(exc.retry_after, "total_seconds") else exc.retry_after
        return DeliveryError(f"429 retry after {retry}", retry_after=float(retry))
    if isinstance(exc, TimedOut):
        return DeliveryError(f"timed out (outcome unknown): {exc.message}", unknown_outcome=True)
    if isinstance(exc, (BadRequest, Forbidden, ChatMigrated)):  # BadRequest is a NetworkError: test it first
        return DeliveryError(f"{type(exc).__name__}: {exc.message}", permanent=True, chat_gone=False)
    if isinstance(exc, NetworkError):
        return DeliveryError(f"network: {exc.message}")
    return DeliveryError(f"{type(exc).__name__}: {exc.message}", permanent=True, chat_gone=False)


class ChatMovedError(DeliveryError):
    """The group became a supergroup: its new id is ``new_address``; send there."""

    def __init__(self, new_address: str):
        super().__init__(f"chat migrated to {new_address}", permanent=False, new_address=new_address)


def _esc(text: str) -> str:
    """Text for Telegram's HTML: cleaned of bidi and control characters, then ``& < >`` as entities."""
    return html.escape(clean(text), quote=False)


def _esc_lines(text: str) -> str:
    """Like ``_esc``, keeping the line breaks of the bot's own multi-line text."""
    return "\n".join(_esc(line) for line in text.split("\n"))


def _attr(value: str) -> str:
    """A double-quoted attribute value (href): ``& < > "`` as the entities Telegram knows."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def utf16_len(text: str) -> int:
    """Length as Telegram may count it (UTF-16 code units): never less than the number of characters."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _fits(limit: int):
    return lambda text: utf16_len(text) <= limit


def _html(alert: Alert) -> str:
    lang = alert.language
    sep = t(lang, "list.separator")

    def iso(text: str) -> str:
        return isolated(text, lang, _esc)

    if alert.watchlist_names:
        header = t(lang, "alert.header", watchlists=sep.join(iso(n) for n in alert.watchlist_names))
    else:
        header = t(lang, "alert.header_entities", entities=entity_list(alert, wrap=lambda n, lg: iso(n)))
    lines = [f"<b>{header}</b>", f"<b>{iso(alert.headline)}</b>"]
    source = iso(alert.source)
    if alert.published:
        lines.append(t(lang, "alert.source_dated", source=source, date=alert.published.strftime("%Y-%m-%d %H:%M")))
    else:
        lines.append(t(lang, "alert.source", source=source))
    if alert.watchlist_names and alert.entity_names:
        lines.append(t(lang, "alert.mentions", entities=entity_list(alert, wrap=lambda n, lg: iso(n))))
    if alert.snippet:
        snippet = iso(alert.snippet)
        lines.append(f"<i>«{snippet}»</i>" if lang == "ar" else f"<i>“{snippet}”</i>")
    link = safe_link(alert.link)
    if link:
        label = _esc(t(lang, "alert.read", link="")).rstrip(": ").rstrip()
        lines.append(f'<a href="{_attr(link)}">{label}</a>')
    if lang == "ar":
        lines = [RLM + line for line in lines]
    return "\n".join(lines)


def render_also(also: Also, lang: str, links: bool = True) -> str:
    """The "Also: ..." line in Telegram's HTML: each feed name escaped and isolated, linked to its item when
    ``links`` (and the link is fit to be shown)."""
    def name(source: StorySource) -> str:
        label = isolated(clip(source.feed, MAX_SOURCE_NAME), lang, _esc)
        link = safe_link(source.link) if links else ""
        return f'<a href="{_attr(link)}">{label}</a>' if link else label

    more = t(lang, "alert.also_more", n=also.more) if also.more else ""
    line = t(lang, "alert.also", sources=t(lang, "list.separator").join(name(s) for s in also.shown), more=more,
             count=also.total)
    return RLM + line if lang == "ar" else line


def digest_also(entry: DigestEntry, lang: str) -> str:
    """A digest line's " — Also: ... — N sources" (feed names escaped, no links: the line stays short)."""
    if entry.also is None:
        return ""
    return " — " + also_text(entry.also, lang, lambda s: isolated(clip(s.feed, MAX_SOURCE_NAME), lang, _esc))


def render_edited(alert: Alert, also: Also) -> str:
    """The alert as first sent, then the "Also:" line; links dropped from that line when they do not fit."""
    line = render_also(also, alert.language)
    if utf16_len(line) > MAX_ALSO:
        line = render_also(also, alert.language, links=False)
    return fit(alert, lambda a: f"{_html(a)}\n{line}", _fits(MAX_MESSAGE), cap=MAX_MESSAGE)


def render_followup(alert: Alert, also: Also) -> str:
    """A developing story's follow-up (a new message): a bold "Developing story: N sources" line, the alert as
    first sent, then the "Also:" line; every piece of feed text escaped as in an alert."""
    head = "<b>" + _esc(t(alert.language, "developing.title", count=also.total)) + "</b>"
    head = RLM + head if alert.language == "ar" else head
    line = render_also(also, alert.language) if also.shown else ""
    if utf16_len(line) > MAX_ALSO:
        line = render_also(also, alert.language, links=False)
    return fit(alert, lambda a: "\n".join(x for x in (head, _html(a), line) if x), _fits(MAX_MESSAGE),
               cap=MAX_MESSAGE)


def render_html(alert: Alert) -> str:
    """The alert in Telegram's HTML: every piece of feed text escaped; Arabic alerts right-to-left.

    At most 4,096 UTF-16 units: when longer, the feed text is shortened and the alert rendered again (a link
    too long is dropped first), so a tag or an entity is never cut and the alert still goes out."""
    return fit(alert, _html, _fits(MAX_MESSAGE), cap=MAX_MESSAGE)


def _clip_keeping_lines(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, cut at a line break or a space when one is near, with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)]
    for boundary in ("\n", " "):
        at = cut.rfind(boundary)
        if at > limit * 0.6:
            cut = cut[:at]
            break
    return cut.rstrip() + "…"


def _fit_text(text: str, limit: int, render) -> str:
    """``render(text)``, with ``text`` shortened (before rendering) until the result is at most ``limit`` UTF-16
    units: the rendered markup is never cut."""
    out = render(text)
    while utf16_len(out) > limit and text:
        text = _clip_keeping_lines(text, min(len(text) - 1, limit) * 2 // 3) if len(text) > 2 else ""
        out = render(text)
    return out


def render_reply(reply: Reply, limit: int = MAX_MESSAGE) -> str:
    """A command's answer as escaped HTML of at most ``limit`` (``MAX_CAPTION`` for a document's caption);
    a longer answer is shortened before it is escaped, never cut after."""
    def render(text: str) -> str:
        escaped = _esc_lines(text)
        return "\n".join(RLM + line for line in escaped.split("\n")) if reply.language == "ar" else escaped

    return _fit_text(reply.text, limit, render)


def _keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label[:60], callback_data=b.data[:64]) for b in row]
                                 for row in reply.buttons])


STORY_BUTTON = "story:"  # callback data of an alert's "Sources" button: story:<id>


def sources_keyboard(alert: Alert) -> InlineKeyboardMarkup | None:
    """The "Sources · #<id>" button under an alert: anyone in the chat may press it (the list is a new message)."""
    if alert.story_id is None:
        return None
    label = t(alert.language, "alert.sources_button", id=alert.story_id)
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=f"{STORY_BUTTON}{alert.story_id}")]])


def _command_args(text: str) -> tuple[str, str]:
    head, _, rest = text.strip().partition(" ")
    return head[1:].split("@", 1)[0].lower(), rest.strip()


UPDATES_LOCK = 727_372_001  # a lock key: one process consumes Telegram's updates (PostgreSQL advisory lock)
UpdatesLock = Callable[[], Awaitable[AdvisoryLock | None]]


class TelegramAdapter:
    """``receive_updates``: this process answers commands (long polling, or the webhook in ``mode="webhook"``).
    ``updates_lock``: asked at start; when another process holds it, this one only sends (one consumer of updates,
    as Telegram requires)."""

    platform = "telegram"
    limits = TELEGRAM

    def __init__(self, token: str, commands: Commands, api_url: str = DEFAULT_API_URL,
                 admins: Sequence[int] = (), link_previews: bool = False, poll_timeout: int = 25,
                 receive_updates: bool = True, mode: str = "polling", webhook_url: str | None = None,
                 webhook_secret: str | None = None, http: HttpServer | None = None,
                 updates_lock: UpdatesLock | None = None):
        self._commands = commands
        self._webhook_url = webhook_url if mode == "webhook" and receive_updates else None
        self._webhook_secret = webhook_secret
        self._updates_lock = updates_lock
        self._lock: AdvisoryLock | None = None
        self.receiving = False  # this process consumes the updates (known once started)
        if self._webhook_url:
            if http is None or not webhook_secret:
                raise ValueError("webhook mode needs the HTTP server and a secret token")
            http.add_route("POST", WEBHOOK_PATH, self._on_webhook)
        self._admins = set(admins)
        self._link_previews = link_previews
        self._poll_timeout = poll_timeout
        self._receive = receive_updates
        # one limiter for everything sent to Telegram: the dispatcher's alerts use it too (``adapter.limiter``)
        self.limiter = RateLimiter(self.limits)
        self.replies = ReplyQueue(self.limiter, self.platform)
        api_url = api_url.rstrip("/")
        self.app: Application = (
            ApplicationBuilder().token(token).base_url(f"{api_url}/bot").base_file_url(f"{api_url}/file/bot")
            .connect_timeout(10).read_timeout(self._poll_timeout + 10).write_timeout(20).pool_timeout(10)
            .get_updates_read_timeout(self._poll_timeout + 10).concurrent_updates(ChatOrderedUpdates(8)).build()
        )
        self.app.add_handler(MessageHandler(
            NEW_POSTS & filters.Document.ALL & (filters.CaptionRegex(r"^/(import|addfeed)\b")
                                                | filters.Document.FileExtension("opml")), self._on_document))
        self.app.add_handler(MessageHandler(NEW_POSTS & filters.COMMAND, self._on_command))
        self.app.add_handler(CallbackQueryHandler(self._on_callback))
        self.app.add_error_handler(self._on_error)

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        await self.app.initialize()
        await self._register_commands()
        await self.app.start()
        if not self._receive or not await self._may_receive():
            return
        self.receiving = True
        if self._webhook_url:
            url = self._webhook_url.rstrip("/") + WEBHOOK_PATH
            await self.app.bot.set_webhook(url, secret_token=self._webhook_secret,
                                           allowed_updates=UPDATES)
            log.info("telegram: webhook at %s as @%s", url, self.app.bot.username)
        else:
            await self.app.updater.start_polling(timeout=self._poll_timeout, drop_pending_updates=False,
                                                 allowed_updates=UPDATES)
            log.info("telegram: long polling as @%s", self.app.bot.username)

    async def _may_receive(self) -> bool:
        if self._updates_lock is None:
            return True
        self._lock = await self._updates_lock()
        if self._lock is None:
            log.info("telegram: another process consumes the updates (lock %d taken); this one only sends",
                     UPDATES_LOCK)
            return False
        log.info("telegram: this process consumes the updates (lock %d held)", UPDATES_LOCK)
        return True

    async def _on_webhook(self, request: web.Request) -> web.Response:
        """Telegram posts updates here; the secret token header proves it is Telegram."""
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given, self._webhook_secret or ""):
            return web.Response(status=403, text="forbidden")
        try:
            data = await request.json()
        except ValueError:
            return web.Response(status=400, text="not JSON")
        update = Update.de_json(data, self.app.bot)
        if update is not None:
            await self.app.update_queue.put(update)
        return web.Response(text="ok")

    async def _register_commands(self) -> None:
        for language in ("en", "ar"):
            commands = [BotCommand(c, t(language, f"cmd.{c}")) for c in MENU]
            await self.app.bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=language)
        await self.app.bot.set_my_commands([BotCommand(c, t("en", f"cmd.{c}")) for c in MENU])

    async def stop(self) -> None:
        if self.app.updater and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.replies.close()  # answers still waiting for their slot get a few seconds
        await self.app.shutdown()
        if self._lock is not None:
            await self._lock.release()
            self._lock = None

    # ------------------------------------------------------------ delivery

    async def send_alert(self, address: str, alert: Alert) -> str | None:
        return await self._post(address, render_html(alert), sources_keyboard(alert))

    async def send_followup(self, address: str, alert: Alert, also: Also) -> str | None:
        """A developing story's one follow-up: a new message (it notifies), with the Sources button."""
        return await self._post(address, render_followup(alert, also), sources_keyboard(alert))

    async def _post(self, address: str, text: str, markup: InlineKeyboardMarkup | None) -> str:
        try:
            message = await self.app.bot.send_message(
                chat_id=int(address), text=text, parse_mode=ParseMode.HTML, reply_markup=markup,
                link_preview_options=LinkPreviewOptions(is_disabled=not self._link_previews))
        except RetryAfter as exc:
            retry = exc.retry_after.total_seconds() if hasattr(exc.retry_after, "total_seconds") else exc.retry_after
            raise DeliveryError(f"429 retry after {retry}", retry_after=float(retry)) from None
        except ChatMigrated as exc:
            raise ChatMovedError(str(exc.new_chat_id)) from None
        except Forbidden as exc:
            raise DeliveryError(f"forbidden: {exc.message}", permanent=True) from None
        except BadRequest as exc:
            gone = "chat not found" in exc.message.lower() or "chat_id is empty" in exc.message.lower()
            raise DeliveryError(f"bad request: {exc.message}", permanent=True, chat_gone=gone) from None
        except TimedOut as exc:
            raise DeliveryError(f"timed out (outcome unknown): {exc.message}", unknown_outcome=True) from None
        except NetworkError as exc:
            raise DeliveryError(f"network: {exc.message}") from None
        return str(message.message_id)

    async def edit_alert(self, address: str, message_ref: str, alert: Alert, also: Also) -> bool:
        """editMessageText: the same alert with the "Also:" line (an edit makes no sound). "message is not
        modified" means it already shows this; a message deleted or too old to edit is given up for good."""
        try:
            await self.app.bot.edit_message_text(
                chat_id=int(address), message_id=int(message_ref), text=render_edited(alert, also),
                parse_mode=ParseMode.HTML, reply_markup=sources_keyboard(alert),  # kept: an edit without it drops it
                link_preview_options=LinkPreviewOptions(is_disabled=not self._link_previews))
        except RetryAfter as exc:
            retry = exc.retry_after.total_seconds() if hasattr(exc.retry_after, "total_seconds") else exc.retry_after
            raise DeliveryError(f"429 retry after {retry}", retry_after=float(retry)) from None
        except Forbidden as exc:
            raise DeliveryError(f"forbidden: {exc.message}", permanent=True, chat_gone=False) from None
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return False
            raise DeliveryError(f"bad request: {exc.message}", permanent=True, chat_gone=False) from None
        except TimedOut as exc:
            raise DeliveryError(f"timed out: {exc.message}", unknown_outcome=True) from None
        except NetworkError as exc:
            raise DeliveryError(f"network: {exc.message}") from None
        return True

    async def send_digest(self, address: str, digest: Digest) -> None:
        """One message (or a few, each at most 4,096 UTF-16 units, split between lines) of held alerts, feed
        text escaped and isolated; a line never cut (see ``render_digest``)."""
        lang = digest.language

        def line(entry: DigestEntry) -> str:
            title = isolated(entry.headline, lang, _esc)
            if entry.link:
                title = f'<a href="{_attr(entry.link)}">{title}</a>'
            if entry.update:
                title = f"<b>{_esc(t(lang, 'digest.update'))}</b> {title}"
            return f"• {title} ({isolated(entry.source, lang, _esc)})" + digest_also(entry, lang)

        parts = render_digest(digest, MAX_MESSAGE, line, group=lambda name: isolated(name, lang, _esc),
                              prefix=RLM if lang == "ar" else "", measure=utf16_len)
        for text in parts:
            try:
                await self.app.bot.send_message(chat_id=int(address), text=text, parse_mode=ParseMode.HTML,
                                                link_preview_options=LinkPreviewOptions(is_disabled=True))
            except RetryAfter as exc:
                raise DeliveryError(f"429 during digest: {exc}") from None

    async def send_notice(self, address: str, text: str) -> None:
        """To a bot administrator: a notice that may quote a feed's name, address or error, all escaped."""
        await self.app.bot.send_message(chat_id=int(address), text=_fit_text(text, MAX_MESSAGE, _esc_lines),
                                        parse_mode=ParseMode.HTML,
                                        link_preview_options=LinkPreviewOptions(is_disabled=True))

    # ------------------------------------------------------------ updates

    def _caller(self, update: Update) -> Caller:
        chat, user = update.effective_chat, update.effective_user
        bot = self.app.bot

        async def is_admin() -> bool:
            if chat.type == "channel":  # only a channel's administrators can post in it
                return True
            if user is None:
                return False
            for attempt in range(3):
                try:
                    member = await bot.get_chat_member(chat.id, user.id)
                    break
                except RetryAfter as exc:  # Telegram's flood control: wait as asked, if that is soon enough
                    wait = _reply_error(exc).retry_after or 1.0
                    if attempt == 2 or wait > MEMBER_RETRY_LIMIT:
                        raise
                    await asyncio.sleep(wait)
            return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)

        return Caller(platform=self.platform, address=str(chat.id), chat_type=chat.type,
                      title=chat.title or chat.full_name, user_id=str(user.id) if user else None,
                      user_language=user.language_code if user else None,
                      is_bot_admin=bool(user and user.id in self._admins), is_chat_admin=is_admin)

    def _queue(self, chat: Chat, call: Callable[[], Awaitable[object]], what: str) -> None:
        """Every answer goes through the shared limiter, in the chat's order, honouring 429 (see ReplyQueue)."""
        async def send() -> None:
            try:
                await call()
            except TelegramError as exc:
                raise _reply_error(exc) from None

        self.replies.submit(str(chat.id), chat.type != "private", send, what)

    def _send_reply(self, update: Update, reply: Reply, what: str = "reply") -> None:
        """Queued; an answer that comes late still goes if the command's message was deleted meanwhile."""
        message = update.effective_message
        if reply.document is not None:
            name, content = reply.document
            self._queue(update.effective_chat, lambda: message.reply_document(
                document=content, filename=name, caption=render_reply(reply, MAX_CAPTION), parse_mode=ParseMode.HTML,
                allow_sending_without_reply=True), what)
            return
        # buttons quote their command in private chats too: a press reads its words from reply_to_message ("w:p")
        self._queue(update.effective_chat, lambda: message.reply_text(
            render_reply(reply), parse_mode=ParseMode.HTML, reply_markup=_keyboard(reply),
            link_preview_options=LinkPreviewOptions(is_disabled=True), allow_sending_without_reply=True,
            do_quote=True if reply.buttons else None), what)

    async def _on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not message.text:
            return
        command, args = _command_args(message.text)
        reply = await self._commands.dispatch(self._caller(update), command, args)
        self._send_reply(update, reply, f"answer to /{command}")

    async def _on_document(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        document = message.document
        caller = self._caller(update)
        command, mode = _command_args(message.caption or "/import")
        if command == "addfeed" or (document.file_name or "").lower().endswith(".opml"):
            await self._on_opml(update, context, caller)
            return
        if (document.file_size or 0) > MAX_IMPORT_BYTES:  # refused by its declared size: never downloaded
            reply = await self._commands.import_too_large(caller)
            self._send_reply(update, reply, "answer to /import")
            return
        file = await context.bot.get_file(document.file_id)
        data = bytes(await file.download_as_bytearray())
        reply = await self._commands.import_file(caller, data, document.file_name or "import.yaml", mode)
        self._send_reply(update, reply, "answer to /import")

    async def _on_opml(self, update: Update, context: ContextTypes.DEFAULT_TYPE, caller: Caller) -> None:
        """An OPML file (a .opml name, or the caption /addfeed): bot administrators only, its size checked before
        it is downloaded; a non-administrator's file is never downloaded."""
        document = update.effective_message.document
        size = document.file_size or 0
        if not caller.is_bot_admin or size > MAX_OPML_BYTES:
            reply = await self._commands.import_opml(caller, b"", declared_size=size)
        else:
            file = await context.bot.get_file(document.file_id)
            data = bytes(await file.download_as_bytearray())
            reply = await self._commands.import_opml(caller, data)
        self._send_reply(update, reply, "answer to an OPML file")

    async def _on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        try:  # stops the button's spinner; not a message, so not paced; losing it costs only the spinner
            await query.answer()
        except TelegramError as exc:
            log.info("telegram: callback query %s not answered: %s", query.id, exc)
        if (query.data or "").startswith(STORY_BUTTON) and query.message is not None:
            await self._on_sources(update, query.data[len(STORY_BUTTON):])
            return
        origin = query.message.reply_to_message if query.message else None
        origin_args = _command_args(origin.text)[1] if origin is not None and origin.text else ""
        reply = await self._commands.callback(self._caller(update), query.data or "", origin_args)
        if reply is None or update.effective_chat is None:
            return
        self._queue(update.effective_chat, lambda: query.edit_message_text(
            render_reply(reply), parse_mode=ParseMode.HTML, reply_markup=_keyboard(reply)), "answer to a button")

    async def _on_sources(self, update: Update, story_id: str) -> None:
        """An alert's "Sources" button: /story <id> answered as a new message quoting the alert (never an edit of
        the alert itself), whoever pressed it."""
        reply = await self._commands.dispatch(self._caller(update), "story", story_id)
        self._send_reply(update, reply, "answer to a Sources button")

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A command whose handling failed still gets an answer (queued like every reply)."""
        error = context.error
        if isinstance(error, RetryAfter):
            log.warning("telegram: flood control while handling an update: %s", error)
        elif isinstance(error, NetworkError) and not isinstance(error, BadRequest):
            log.warning("telegram: network problem while handling an update: %s", error)
        else:
            log.error("telegram: error while handling an update", exc_info=error)
        if not isinstance(update, Update) or update.effective_message is None or update.effective_chat is None:
            return
        try:
            language = (await self._commands.chat_for(self._caller(update))).language
        except Exception:  # noqa: BLE001 - the store may be what failed; answer in the user's language then
            user = update.effective_user
            language = "ar" if user is not None and (user.language_code or "").startswith("ar") else "en"
        message = update.effective_message
        self._queue(update.effective_chat, lambda: message.reply_text(
            t(language, "error.generic"), allow_sending_without_reply=True), "error notice")
