"""The platform-neutral application, tested directly (no platform, no network): the one command table, its help
on each platform in both languages, and the commands themselves through ``Commands.dispatch``."""

from __future__ import annotations

import re

import pytest

from bot.alerts.i18n import MESSAGES, t
from bot.commands.handlers import Caller, Commands
from bot.commands.resolve import Resolver
from bot.commands.table import BY_NAME, COMMANDS, Who, as_typed_on, commands_for, help_text, menu_for
from bot.extract.matcher import Matcher
from bot.model import Target
from bot.rules.load import load_rules
from bot.store import Store
from tests.conftest import RULES


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_rules(RULES))


@pytest.fixture
async def commands(tmp_path, matcher):
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/c.db")
    await store.migrate()
    resolver = Resolver(matcher)
    yield Commands(store, lambda: (matcher, resolver))
    await store.close()


def test_every_command_has_a_handler_and_its_texts_in_both_languages():
    for command in COMMANDS:
        assert callable(getattr(Commands, f"cmd_{command.name}", None)), command.name
        for language in ("ar", "en"):
            for key in (f"cmd.{command.name}", f"args.{command.name}", f"help.{command.name}"):
                assert key in MESSAGES[language], (language, key)


@pytest.mark.parametrize("language", ["ar", "en"])
def test_slack_help_lists_slack_sub_commands_only(language):
    text = help_text("slack", language, bot_admin=True)
    listed = re.findall(r"^/rasad (\w+)", text, flags=re.M)
    assert listed == [c.name for c in commands_for("slack")]
    assert not re.search(r"(?<!rasad )/(start|export|import)\b", text)  # Telegram's own commands are not offered
    assert {"start", "export", "import"}.isdisjoint(listed)


@pytest.mark.parametrize("language", ["ar", "en"])
def test_telegram_help_and_menu_come_from_the_table(language):
    text = help_text("telegram", language)
    listed = re.findall(r"^/(\w+)", text, flags=re.M)
    assert listed == [c.name for c in commands_for("telegram") if c.who is not Who.BOT_ADMIN]
    assert "/rasad" not in text
    assert [c.name for c in menu_for("telegram")] == [c.name for c in COMMANDS
                                                       if c.menu and c.available_on("telegram")]
    admin = help_text("telegram", language, bot_admin=True)
    assert all(f"/{name}" in admin for name in ("feeds", "addfeed", "delfeed"))


def test_the_bots_own_texts_name_commands_as_each_platform_types_them():
    usage = t("en", "watch.usage")
    assert "/watch Caesar Act" in usage
    slack = as_typed_on("slack", usage)
    assert "/rasad watch Caesar Act" in slack and not re.search(r"(?<!rasad )/watch", slack)
    assert as_typed_on("slack", slack) == slack  # applied twice, changes nothing more
    assert as_typed_on("telegram", usage) == usage


@pytest.mark.parametrize(("language", "words", "done"), [
    ("ar", "قانون قيصر", "✅"),
    ("en", "Caesar Act", "✅"),
])
async def test_watch_list_unwatch_through_the_neutral_layer(commands, language, words, done):
    caller = Caller("telegram", f"chat-{language}", user_language=language)
    reply = await commands.dispatch(caller, "watch", words)
    assert reply.text.startswith(done) and reply.language == language
    chat = await commands.store.chats.get("telegram", f"chat-{language}")
    assert await commands.store.subscriptions.of_chat(chat.id) == [Target("entity", "caesar-act")]
    listed = await commands.dispatch(caller, "list", "")
    assert "(caesar-act)" in listed.text
    assert (await commands.dispatch(caller, "unwatch", words)).text == t(
        language, "unwatch.done", name=commands._name(Target("entity", "caesar-act"), language))
    assert await commands.store.subscriptions.of_chat(chat.id) == []


async def test_who_may_run_what_comes_from_the_table(commands):
    async def not_admin() -> bool:
        return False

    group = Caller("telegram", "-100", chat_type="group", user_language="en", is_chat_admin=not_admin)
    for command in COMMANDS:
        reply = await commands.dispatch(group, command.name, "x")
        refused = reply.text in (t("en", "admin.only_chat_admins"), t("en", "admin.only_bot_admins"))
        assert refused == (command.who is not Who.ANYONE), command.name


async def test_a_command_of_another_platform_is_unknown_there(commands):
    slack = Caller("slack", "C1", chat_type="channel")
    assert (await commands.dispatch(slack, "export", "")).text == t("en", "error.unknown_command")
    assert BY_NAME["export"].available_on("telegram")
