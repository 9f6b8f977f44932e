"""The one command table: every chat command, who may run it, where it exists, and its help text.

Telegram's menu (setMyCommands), Slack's ``/rasad`` sub-commands, the dispatcher's permission checks and every help
text are derived from this table, so they cannot drift apart."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.alerts.i18n import t

PLATFORMS = frozenset({"telegram", "slack", "console"})


class Who(StrEnum):
    ANYONE = "anyone"  # reading: anyone in the chat
    CHAT_ADMIN = "chat_admin"  # changes what the chat follows: in groups, the chat's administrators
    BOT_ADMIN = "bot_admin"  # manages feeds: the bot administrators of the config


@dataclass(frozen=True)
class Command:
    """i18n keys, in both languages: ``cmd.<name>`` (the short menu text), ``args.<name>`` (argument syntax) and
    ``help.<name>`` (the help line)."""

    name: str
    who: Who = Who.ANYONE
    platforms: frozenset[str] = PLATFORMS
    menu: bool = True  # shown in a platform's command menu (Telegram)

    def available_on(self, platform: str) -> bool:
        return platform in self.platforms


COMMANDS: tuple[Command, ...] = (
    Command("start", platforms=frozenset({"telegram"})),
    Command("help"),
    Command("watch", Who.CHAT_ADMIN),
    Command("unwatch", Who.CHAT_ADMIN),
    Command("list"),
    Command("watchlists"),
    Command("lang", Who.CHAT_ADMIN),
    Command("mute", Who.CHAT_ADMIN),
    Command("unmute", Who.CHAT_ADMIN),
    Command("digest", Who.CHAT_ADMIN),
    Command("quiet", Who.CHAT_ADMIN),
    Command("tz", Who.CHAT_ADMIN),
    Command("export", platforms=frozenset({"telegram"})),  # answers with a file: Telegram only
    Command("import", Who.CHAT_ADMIN, platforms=frozenset({"telegram"})),  # the caption of a YAML file
    Command("status"),
    Command("follow", Who.CHAT_ADMIN),  # /follow developing on|off: one follow-up per developing story (issue 15)
    Command("story"),  # every source of a story (issue 15); the alert's "Sources" button runs it too
    Command("feeds", Who.BOT_ADMIN, menu=False),
    Command("addfeed", Who.BOT_ADMIN, menu=False),
    Command("delfeed", Who.BOT_ADMIN, menu=False),
)
BY_NAME = {c.name: c for c in COMMANDS}


def commands_for(platform: str) -> list[Command]:
    return [c for c in COMMANDS if c.available_on(platform)]


def menu_for(platform: str) -> list[Command]:
    """What a platform shows in its command menu: everyone's commands, not the administrators' ones."""
    return [c for c in commands_for(platform) if c.menu]


def invocation(platform: str, name: str) -> str:
    """How a user types the command: ``/watch`` on Telegram, ``/rasad watch`` on Slack."""
    return f"/rasad {name}" if platform == "slack" else f"/{name}"


def help_line(platform: str, command: Command, language: str) -> str:
    args = t(language, f"args.{command.name}")
    usage = f"{invocation(platform, command.name)} {args}".rstrip()
    return f"{usage}: {t(language, f'help.{command.name}')}"


_MENTION = re.compile(r"(?<![\w/])/(" + "|".join(sorted(BY_NAME, key=len, reverse=True)) + r")\b")


def as_typed_on(platform: str, text: str) -> str:
    """The bot's own text with every command written as this platform's users type it (``/watch`` →
    ``/rasad watch`` on Slack)."""
    if platform != "slack":
        return text
    return _MENTION.sub(lambda m: invocation(platform, m.group(1)), text)


def help_text(platform: str, language: str, bot_admin: bool = False, group: bool = False) -> str:
    """Every command of this platform the caller may run, in the caller's language."""
    lines = [t(language, "help.title")]
    for command in commands_for(platform):
        if command.who is Who.BOT_ADMIN and not bot_admin:
            continue
        lines.append(help_line(platform, command, language))
    if group:
        lines.append(t(language, "help.groups"))
    return "\n".join(lines)
