"""Chat commands, platform-neutral: adapters turn messages into ``Caller`` + text and render the ``Reply``."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlparse

from bot.alerts.i18n import t
from bot.commands.resolve import Lookup
from bot.commands.table import BY_NAME, Who, help_text
from bot.commands.transfer import MAX_IMPORT_BYTES, export_subscriptions, import_subscriptions
from bot.delivery.digest import next_digest_at, parse_hhmm, valid_zone
from bot.delivery.story import parse_story_id, story_text
from bot.extract.matcher import RuleSet
from bot.feeds.guard import UnsafeURL, check_public_url
from bot.feeds.opml import MAX_OPML_BYTES, OPMLError, import_outlines, parse_opml
from bot.feeds.opml import report as opml_report
from bot.feeds.sources import FeedSources
from bot.model import ChatRow, SubscriptionKind, Target
from bot.store import Store
from bot.store.db import utcnow
from bot.text.normalize import normalize_key

log = logging.getLogger(__name__)

MAX_PHRASE = 100
MAX_MUTE = timedelta(days=30)
FOREVER = datetime(9999, 1, 1)


@dataclass
class Caller:
    platform: str
    address: str
    chat_type: str = "private"  # private | group | supergroup | channel
    title: str | None = None
    user_id: str | None = None
    user_language: str | None = None
    is_bot_admin: bool = False
    is_chat_admin: Callable[[], Awaitable[bool]] | None = None  # asked only when needed

    @property
    def is_group(self) -> bool:
        return self.chat_type != "private"


@dataclass
class Button:
    label: str
    data: str


@dataclass
class Reply:
    text: str
    language: str
    buttons: list[list[Button]] = field(default_factory=list)
    document: tuple[str, bytes] | None = None  # (file name, content)


Handler = Callable[["Caller", ChatRow, str], Awaitable["Reply"]]


def parse_duration(text: str) -> timedelta | None:
    match = re.fullmatch(r"\s*(\d{1,4})\s*(m|min|mins|minutes?|h|hours?|d|days?)?\s*", text.lower())
    if not match:
        return None
    amount, unit = int(match.group(1)), (match.group(2) or "h")[0]
    delta = {"m": timedelta(minutes=amount), "h": timedelta(hours=amount), "d": timedelta(days=amount)}[unit]
    return delta if timedelta(0) < delta <= MAX_MUTE else None


class Commands:
    """What each command does. ``rules`` returns the current (RuleSet, Lookup) so a reload is picked up."""

    def __init__(self, store: Store, rules: Callable[[], tuple[RuleSet, Lookup]],
                 allow_private_feeds: bool = False, sources: FeedSources | None = None):
        self.store = store
        self.rules = rules
        self.allow_private_feeds = allow_private_feeds
        self.sources = sources or FeedSources()  # the directory, RSSHub, discovery and OPML of feed commands

    async def chat_for(self, caller: Caller) -> ChatRow:
        language = "ar" if (caller.user_language or "").lower().startswith("ar") else "en"
        return await self.store.chats.ensure(caller.platform, caller.address, language, caller.title,
                                         caller.chat_type)

    # ------------------------------------------------------------ entry points

    async def dispatch(self, caller: Caller, command: str, args: str) -> Reply:
        chat = await self.chat_for(caller)
        lang = chat.language
        spec = BY_NAME.get(command.lower())
        if spec is None or not spec.available_on(caller.platform):
            return Reply(t(lang, "error.unknown_command"), lang)
        if spec.who is Who.BOT_ADMIN and not caller.is_bot_admin:
            return Reply(t(lang, "admin.only_bot_admins"), lang)
        if spec.who is Who.CHAT_ADMIN and caller.is_group and not await self._chat_admin(caller):
            return Reply(t(lang, "admin.only_chat_admins"), lang)
        handler: Handler = getattr(self, f"cmd_{spec.name}")
        return await handler(caller, chat, args.strip())

    async def callback(self, caller: Caller, data: str, origin_args: str = "") -> Reply | None:
        """A button press: ``lang:ar``, ``w:e:<id>``, ``w:w:<id>``, ``w:p`` (the words of the original /watch)."""
        chat = await self.chat_for(caller)
        if caller.is_group and not await self._chat_admin(caller):
            return Reply(t(chat.language, "admin.only_chat_admins"), chat.language)
        if data.startswith("lang:"):
            return await self.cmd_lang(caller, chat, data[5:])
        if data.startswith("w:e:") or data.startswith("w:w:"):
            kind = "entity" if data[2] == "e" else "watchlist"
            return await self._follow(chat, Target(kind, data[4:]))
        if data == "w:p":
            return await self._follow_phrase(chat, origin_args)
        if data.startswith("af:"):
            return await self.add_discovered(caller, data, origin_args)
        return None

    async def _chat_admin(self, caller: Caller) -> bool:
        if caller.is_bot_admin:
            return True
        if caller.is_chat_admin is None:
            return False
        try:
            return await caller.is_chat_admin()
        except Exception:  # noqa: BLE001 - when the platform cannot tell, refuse politely
            log.warning("could not check admin rights in %s chat %s", caller.platform, caller.address)
            return False

    # ------------------------------------------------------------ commands

    async def cmd_start(self, caller, chat, args) -> Reply:
        lang = chat.language
        explain = t(lang, "start.explain", speed=await self.sources.speed(lang))
        return Reply(f"{t(lang, 'start.greeting')}\n{explain}", lang,
                     buttons=[[Button("العربية", "lang:ar"), Button("English", "lang:en")]])

    async def cmd_help(self, caller, chat, args) -> Reply:
        lang = chat.language
        return Reply(help_text(caller.platform, lang, bot_admin=caller.is_bot_admin, group=caller.is_group), lang)

    async def overview(self, platform: str, lang: str = "en") -> list[tuple[str, list[str]]]:
        """Every active chat of a platform → the names of what it follows (Slack's App Home)."""
        follows = await self.store.subscriptions.by_platform(platform)
        return [(address, [f"«{t.id}»" if t.kind == SubscriptionKind.PHRASE else self._name(t, lang) for t in subs])
                for address, subs in sorted(follows.items())]

    def _name(self, target: Target, lang: str) -> str:
        matcher, _ = self.rules()
        if target.kind == "entity" and target.id in matcher.entities:
            return matcher.entities[target.id].name(lang)
        if target.kind == "watchlist" and target.id in matcher.watchlists:
            return matcher.watchlists[target.id].name(lang)
        return target.id

    async def cmd_watch(self, caller, chat, args) -> Reply:
        lang = chat.language
        if not args:
            return Reply(t(lang, "watch.usage"), lang)
        _, resolver = self.rules()
        found = await resolver.lookup(args)
        if len(found) == 1:
            return await self._follow(chat, found[0])
        phrase_button = [Button(t(lang, "watch.offer_phrase", phrase=args[:40]), "w:p")]
        if not found:
            return Reply(t(lang, "watch.none", query=args), lang, buttons=[phrase_button])
        rows = [[Button(self._name(target, lang) + (" 📋" if target.kind == "watchlist" else ""),
                        f"w:{target.kind[0]}:{target.id}")] for target in found]
        return Reply(t(lang, "watch.choose", query=args), lang, buttons=[*rows, phrase_button])

    async def _follow(self, chat, target: Target) -> Reply:
        lang = chat.language
        matcher, _ = self.rules()
        known = matcher.entities if target.kind == "entity" else matcher.watchlists
        if target.id not in known:
            return Reply(t(lang, "watch.none", query=target.id), lang)
        name = self._name(target, lang)
        if not await self.store.subscriptions.add(chat.id, target):
            return Reply(t(lang, "watch.already", name=name), lang)
        key = "watch.done_entity" if target.kind == "entity" else "watch.done_watchlist"
        return Reply(t(lang, key, name=name), lang)

    async def _follow_phrase(self, chat, words: str) -> Reply:
        lang = chat.language
        phrase = normalize_key(words)
        if not phrase:
            return Reply(t(lang, "watch.usage"), lang)
        if len(phrase) > MAX_PHRASE:
            return Reply(t(lang, "watch.too_long", max=MAX_PHRASE), lang)
        if not await self.store.subscriptions.add(chat.id, Target(SubscriptionKind.PHRASE, phrase)):
            return Reply(t(lang, "watch.already", name=f"«{phrase}»"), lang)
        return Reply(t(lang, "watch.done_phrase", phrase=phrase), lang)

    async def cmd_unwatch(self, caller, chat, args) -> Reply:
        lang = chat.language
        if not args:
            return Reply(t(lang, "unwatch.usage"), lang)
        _, resolver = self.rules()
        followed = await self.store.subscriptions.of_chat(chat.id)
        candidates = [*(await resolver.lookup(args)), Target(SubscriptionKind.PHRASE, normalize_key(args))]
        for target in candidates:
            if target in followed:
                await self.store.subscriptions.remove(chat.id, target)
                name = f"«{target.id}»" if target.kind == SubscriptionKind.PHRASE else self._name(target, lang)
                return Reply(t(lang, "unwatch.done", name=name), lang)
        return Reply(t(lang, "unwatch.not_following", query=args), lang)

    async def cmd_list(self, caller, chat, args) -> Reply:
        lang = chat.language
        followed = await self.store.subscriptions.of_chat(chat.id)
        if not followed:
            return Reply(t(lang, "list.empty"), lang)
        lines = [t(lang, "list.title")]
        for kind, title in ((SubscriptionKind.WATCHLIST, "list.watchlists"), (SubscriptionKind.ENTITY, "list.entities"),
                            (SubscriptionKind.PHRASE, "list.phrases")):
            items = [target for target in followed if target.kind == kind]
            if items:
                lines.append(t(lang, title))
                for target in items:
                    lines.append(f"• «{target.id}»" if kind == SubscriptionKind.PHRASE
                                 else f"• {self._name(target, lang)} ({target.id})")
        if chat.muted_until and chat.muted_until > utcnow():
            lines.append(self._muted_line(chat.muted_until, lang))
        return Reply("\n".join(lines), lang)

    @staticmethod
    def _muted_line(until: datetime, lang: str) -> str:
        if until >= FOREVER - timedelta(days=1):
            return t(lang, "mute.done_indefinite")
        return t(lang, "list.muted", until=until.strftime("%Y-%m-%d %H:%M"))

    async def cmd_watchlists(self, caller, chat, args) -> Reply:
        lang = chat.language
        matcher, _ = self.rules()
        lines = [t(lang, "watchlists.title")]
        lines += [f"• {w.id}: {w.name(lang)}" for w in matcher.watchlists.values()]
        return Reply("\n".join(lines), lang)

    async def cmd_lang(self, caller, chat, args) -> Reply:
        choice = args.strip().lower()[:2]
        if choice not in ("ar", "en"):
            return Reply(t(chat.language, "lang.usage"), chat.language)
        await self.store.chats.set_language(chat.id, choice)
        return Reply(t(choice, "lang.done"), choice)

    async def cmd_mute(self, caller, chat, args) -> Reply:
        lang = chat.language
        if not args:
            await self.store.chats.set_muted(chat.id, FOREVER)
            return Reply(t(lang, "mute.done_indefinite"), lang)
        duration = parse_duration(args)
        if duration is None:
            return Reply(t(lang, "mute.usage"), lang)
        until = utcnow() + duration
        await self.store.chats.set_muted(chat.id, until)
        return Reply(t(lang, "mute.done", until=until.strftime("%Y-%m-%d %H:%M")), lang)

    async def cmd_unmute(self, caller, chat, args) -> Reply:
        lang = chat.language
        if not chat.muted_until or chat.muted_until <= utcnow():
            return Reply(t(lang, "unmute.not_muted"), lang)
        await self.store.chats.set_muted(chat.id, None)
        return Reply(t(lang, "unmute.done"), lang)

    async def cmd_digest(self, caller, chat, args) -> Reply:
        lang = chat.language
        parts = args.lower().split()
        mode = parts[0] if parts else ""
        now = utcnow()
        if mode == "immediate":
            await self.store.chats.update(chat.id, digest="immediate", next_digest_at=None)
            return Reply(t(lang, "digest.done_immediate"), lang)
        if mode == "hourly":
            when = next_digest_at("hourly", None, chat.timezone, now)
            await self.store.chats.update(chat.id, digest="hourly", next_digest_at=when)
            return Reply(t(lang, "digest.done_hourly", next=when.strftime("%Y-%m-%d %H:%M")), lang)
        if mode == "daily" and (len(parts) == 1 or parse_hhmm(parts[1])):
            at = parts[1] if len(parts) > 1 else "08:00"
            at = parse_hhmm(at).strftime("%H:%M")
            when = next_digest_at("daily", at, chat.timezone, now)
            await self.store.chats.update(chat.id, digest="daily", digest_time=at, next_digest_at=when)
            return Reply(t(lang, "digest.done_daily", time=at, tz=chat.timezone,
                           next=when.strftime("%Y-%m-%d %H:%M")), lang)
        return Reply(t(lang, "digest.usage", tz=chat.timezone), lang)

    async def cmd_quiet(self, caller, chat, args) -> Reply:
        lang = chat.language
        if args.strip().lower() == "off":
            await self.store.chats.update(chat.id, quiet_start=None, quiet_end=None)
            return Reply(t(lang, "quiet.off"), lang)
        start, _, end = args.replace(" ", "").partition("-")
        a, b = parse_hhmm(start), parse_hhmm(end)
        if a is None or b is None or a == b:
            return Reply(t(lang, "quiet.usage", tz=chat.timezone), lang)
        await self.store.chats.update(chat.id, quiet_start=a.strftime("%H:%M"), quiet_end=b.strftime("%H:%M"))
        return Reply(t(lang, "quiet.done", start=a.strftime("%H:%M"), end=b.strftime("%H:%M"), tz=chat.timezone), lang)

    async def cmd_tz(self, caller, chat, args) -> Reply:
        lang = chat.language
        name = args.strip()
        if not name or not valid_zone(name):
            return Reply(t(lang, "tz.usage"), lang)
        values = {"timezone": name}
        if chat.digest in ("hourly", "daily"):
            values["next_digest_at"] = next_digest_at(chat.digest, chat.digest_time, name, utcnow())
        await self.store.chats.update(chat.id, **values)
        return Reply(t(lang, "tz.done", tz=name), lang)

    async def cmd_story(self, caller, chat, args) -> Reply:
        """Every source of a story with its time and link (issue 15); the alert's "Sources" button runs it too."""
        lang = chat.language
        story_id = parse_story_id(args)
        if story_id is None:
            return Reply(t(lang, "story.usage"), lang)
        sources = await self.store.edits.sources(story_id)
        if not sources:
            return Reply(t(lang, "story.not_found", id=story_id), lang)
        return Reply(story_text(story_id, sources, lang), lang)

    async def cmd_follow(self, caller, chat, args) -> Reply:
        """``/follow developing on|off``: one follow-up when a story this chat was alerted to is developing."""
        lang = chat.language
        parts = args.lower().split()
        followups = self.store.followups
        if parts == ["developing"]:
            on = await followups.following(chat.id)
            return Reply(t(lang, "follow.status_on" if on else "follow.status_off"), lang)
        if len(parts) != 2 or parts[0] != "developing" or parts[1] not in ("on", "off"):
            return Reply(t(lang, "follow.usage"), lang)
        await followups.set_following(chat.id, parts[1] == "on")
        if parts[1] == "off":
            return Reply(t(lang, "follow.off"), lang)
        return Reply(t(lang, "follow.on", count=followups.threshold, minutes=round(followups.window / 60)), lang)

    async def cmd_status(self, caller, chat, args) -> Reply:
        lang = chat.language
        now = utcnow()
        status = await self.store.chats.status(chat.id, now.replace(hour=0, minute=0, second=0,
                                                                             microsecond=0))
        last = status.last_poll.strftime("%Y-%m-%d %H:%M UTC") if status.last_poll else t(lang, "status.never")
        lines = [t(lang, "status.text", feeds=status.feeds, failing=status.failing, last_poll=last,
                   sent=status.sent_today, pending=status.pending)]
        if chat.muted_until and chat.muted_until > now:
            lines.append(self._muted_line(chat.muted_until, lang))
        return Reply("\n".join(lines), lang)

    async def cmd_export(self, caller, chat, args) -> Reply:
        lang = chat.language
        matcher, _ = self.rules()
        followed = await self.store.subscriptions.of_chat(chat.id)
        content = export_subscriptions(followed, matcher, lang).encode("utf-8")
        return Reply(t(lang, "export.caption"), lang, document=("rasad-subscriptions.yaml", content))

    async def cmd_import(self, caller, chat, args) -> Reply:
        return Reply(t(chat.language, "import.usage"), chat.language)

    async def import_too_large(self, caller: Caller) -> Reply:
        """A file announced larger than an import may be: refused before anything is downloaded."""
        lang = (await self.chat_for(caller)).language
        return Reply(t(lang, "import.too_large", max=MAX_IMPORT_BYTES // 1024), lang)

    async def import_file(self, caller: Caller, data: bytes, filename: str, mode: str) -> Reply:
        chat = await self.chat_for(caller)
        lang = chat.language
        if caller.is_group and not await self._chat_admin(caller):
            return Reply(t(lang, "admin.only_chat_admins"), lang)
        if len(data) > MAX_IMPORT_BYTES:
            return Reply(t(lang, "import.too_large", max=MAX_IMPORT_BYTES // 1024), lang)
        matcher, _ = self.rules()
        # parsing is CPU work (bounded by IMPORT_LIMITS): in a thread, so other chats are answered meanwhile
        imported = await asyncio.to_thread(import_subscriptions, data, filename, matcher, lang)
        if imported.errors:
            return Reply("\n".join([t(lang, "import.errors"), *imported.errors[:20]]), lang)
        merge = mode.strip().lower().startswith("merge")
        for kind, ids in ((SubscriptionKind.WATCHLIST, imported.watchlists), (SubscriptionKind.ENTITY, imported.entities),
                          (SubscriptionKind.PHRASE, imported.phrases)):
            if merge:
                for ident in ids:
                    await self.store.subscriptions.add(chat.id, Target(kind, ident))
            else:
                await self.store.subscriptions.replace(chat.id, kind, ids)
        return Reply(t(lang, "import.done", watchlists=len(imported.watchlists), entities=len(imported.entities),
                       phrases=len(imported.phrases), mode=t(lang, "import.mode_merge" if merge
                                                             else "import.mode_replace")), lang)

    # ------------------------------------------------------------ feeds (bot administrators)

    async def cmd_feeds(self, caller, chat, args) -> Reply:
        lang = chat.language
        words = args.split()
        if words and words[0].lower() in ("directory", "dir", "الدليل"):
            return Reply(self.sources.directory_text(lang, words[1] if len(words) > 1 else ""), lang)
        feeds = await self.store.feeds.all()
        if not feeds:
            return Reply(t(lang, "feeds.empty"), lang)
        lines = [t(lang, "feeds.title")]
        for feed in feeds:
            state = (t(lang, "feeds.failing", errors=feed.error_count, error=(feed.last_error or "")[:80])
                     if feed.error_count else t(lang, "feeds.ok"))
            lines.append(t(lang, "feeds.line", id=feed.id, name=feed.name, state=state))
        return Reply("\n".join(lines), lang)

    async def cmd_addfeed(self, caller, chat, args) -> Reply:
        """``/addfeed <url> [name]``, ``/addfeed <directory id>``, ``/addfeed pack <pack>``,
        ``/addfeed rsshub:/route``; a web page that is not a feed offers the feeds it declares as buttons."""
        lang = chat.language
        parts = args.split(maxsplit=1)
        if not parts:
            return Reply(t(lang, "addfeed.usage"), lang)
        if parts[0].lower() == "pack":
            return await self._add_pack(lang, parts[1].strip() if len(parts) > 1 else "")
        resolved = self.sources.resolve(parts[0])
        if resolved is None and "://" not in parts[0]:
            return Reply(t(lang, "addfeed.unknown_preset", name=parts[0][:80]), lang)
        url, default_name = resolved or (parts[0], None)
        if resolved is not None and not url:
            return Reply(t(lang, "addfeed.no_rsshub"), lang)
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            return Reply(t(lang, "addfeed.bad_url"), lang)
        name = parts[1].strip() if len(parts) > 1 else (default_name or parsed.netloc)
        if resolved is None:  # a URL typed in the chat: a web page offers the feeds it declares
            found = await self.sources.discover(url, self.allow_private_feeds)
            if found.refused:
                return Reply(t(lang, "addfeed.refused", reason=found.error), lang)
            if found.error:  # unreachable now (DNS, timeout, HTTP error): added, and polled like any feed
                return await self._add_one(lang, url, name, unread=found.error)
            if not found.is_feed:
                if not found.feeds:
                    return Reply(t(lang, "addfeed.no_feed"), lang)
                return Reply(t(lang, "addfeed.discovered", count=len(found.feeds)), lang,
                             buttons=[[Button(f[1][:60] or f[0][:60], f"af:{i}")] for i, f in
                                      enumerate(found.feeds[:8])])
        return await self._add_one(lang, url, name)

    async def _add_one(self, lang: str, url: str, name: str, unread: str | None = None) -> Reply:
        if not self.allow_private_feeds:
            try:
                await check_public_url(url)
            except UnsafeURL as exc:
                return Reply(t(lang, "addfeed.refused", reason=str(exc)), lang)
        feed_id, created = await self.store.feeds.add(url, name[:200])
        key = "addfeed.done" if created else "addfeed.exists"
        reply = t(lang, key, id=feed_id, name=name)
        if unread is not None:
            reply += "\n" + t(lang, "addfeed.unread", reason=unread[:200])
        return Reply(reply, lang)

    async def _add_pack(self, lang: str, ident: str) -> Reply:
        sources = self.sources.pack(ident)
        if not sources:
            return Reply(t(lang, "addfeed.unknown_pack", name=ident[:80], packs=", ".join(self.sources.pack_ids())),
                         lang)
        lines = [t(lang, "addfeed.pack_title", name=ident)]
        for url, name in sources:
            feed_id, created = await self.store.feeds.add(url, name[:200])
            lines.append(t(lang, "addfeed.pack_added" if created else "addfeed.pack_exists", id=feed_id, name=name))
        lines.append(t(lang, "addfeed.check_note"))
        return Reply("\n".join(lines), lang)

    async def add_discovered(self, caller: Caller, data: str, origin_args: str) -> Reply:
        """A button under ``/addfeed <page>``: the page is read again and its n-th declared feed added."""
        chat = await self.chat_for(caller)
        lang = chat.language
        if not caller.is_bot_admin:
            return Reply(t(lang, "admin.only_bot_admins"), lang)
        index = data.removeprefix("af:")
        url = origin_args.split(maxsplit=1)[0] if origin_args.strip() else ""
        found = await self.sources.discover(url, self.allow_private_feeds) if url else None
        if found is None or not index.isdigit() or int(index) >= len(found.feeds):
            return Reply(t(lang, "addfeed.no_feed"), lang)
        feed_url, title = found.feeds[int(index)]
        return await self._add_one(lang, feed_url, title or urlparse(feed_url).netloc)

    async def import_opml(self, caller: Caller, data: bytes, declared_size: int = 0) -> Reply:
        """An OPML file sent by a bot administrator: each outline through /addfeed's checks (the SSRF guard unless
        poll.allow_private), a report per line. ``declared_size`` over the cap: refused before any download."""
        lang = (await self.chat_for(caller)).language
        if not caller.is_bot_admin:
            return Reply(t(lang, "admin.only_bot_admins"), lang)
        if declared_size > MAX_OPML_BYTES:
            return Reply(t(lang, "opml.unreadable", reason=f"> {MAX_OPML_BYTES // 1024} KiB"), lang)
        try:
            outlines = await asyncio.to_thread(parse_opml, data)
        except OPMLError as exc:
            return Reply(t(lang, "opml.unreadable", reason=str(exc)[:300]), lang)
        lines = await import_outlines(self.store.feeds, outlines, self.allow_private_feeds)
        return Reply("\n".join(opml_report(lines, lang)), lang)

    async def cmd_delfeed(self, caller, chat, args) -> Reply:
        lang = chat.language
        ident = args.lstrip("#").strip()
        if not ident.isdigit():
            return Reply(t(lang, "delfeed.usage"), lang)
        if await self.store.feeds.deactivate(int(ident)):
            return Reply(t(lang, "delfeed.done", id=ident), lang)
        return Reply(t(lang, "delfeed.unknown", id=ident), lang)
