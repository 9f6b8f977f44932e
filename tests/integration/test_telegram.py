"""Whole Telegram conversations: the real python-telegram-bot client against a fake Bot API on 127.0.0.1."""

from __future__ import annotations

import pytest
import yaml

from bot.app import Application
from bot.commands.table import menu_for
from bot.config import Settings, TelegramConfig
from bot.model import Target
from tests.conftest import RULES
from tests.fakes.feeds import feed_xml
from tests.fakes.harness import ADMIN
from tests.fakes.telegram_api import FakeTelegram

RLM = "\u200f"


def alerts_to(fake: FakeTelegram, chat_id: int) -> list[dict]:
    return [p for p in fake.delivered if p.get("chat_id") == chat_id and "<b>🔔" in p["text"]]


async def test_commands_are_registered_in_both_languages(tg):
    calls = tg.fake.sent("setMyCommands")
    languages = {c.get("language_code") for c in calls}
    assert {"ar", "en"} <= languages
    ar = next(c for c in calls if c.get("language_code") == "ar")
    names = [c["command"] for c in ar["commands"]]
    assert {"start", "watch", "unwatch", "list", "watchlists", "lang", "mute", "unmute", "export", "import",
            "status", "help"} <= set(names)
    assert any("متابعة" in c["description"] for c in ar["commands"])
    assert names == [c.name for c in menu_for("telegram")]  # the menu is the command table's


async def test_arabic_user_follows_caesar_act_and_gets_one_arabic_alert(tg):
    start = await tg.say(100, "/start", language="ar")
    assert "رصد" in start["text"] and start["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "lang:ar"
    reply = await tg.say(100, "/watch قانون قيصر", language="ar")
    assert "قانون قيصر" in reply["text"] and "✅" in reply["text"]
    tg.publish(("a1", "واشنطن تمدد العمل بقانون قيصر", "أعلنت وزارة الخزانة تمديد العقوبات بموجب «قانون قيصر»."))
    summary = await tg.service.run_once()
    assert summary.alerts_sent == 1
    alerts = alerts_to(tg.fake, 100)
    assert len(alerts) == 1
    text = alerts[0]["text"]
    assert text.startswith(RLM) and "المصدر" in text and "قانون قيصر" in text
    assert alerts[0]["link_preview_options"] == {"is_disabled": True}
    assert '<a href="https://e.org/a1">' in text
    # polled again: nothing new, nothing sent twice
    again = await tg.service.run_once()
    assert again.alerts_sent == 0 and len(alerts_to(tg.fake, 100)) == 1


async def test_feed_text_is_escaped_in_html(tg):
    await tg.say(101, "/watch Caesar Act")
    tg.publish(("h1", "Caesar Act &amp; &lt;script&gt;alert(1)&lt;/script&gt; A &lt; B", "Tom &amp; Jerry <i>x</i>"))
    await tg.service.run_once()
    text = alerts_to(tg.fake, 101)[0]["text"]
    assert "<script>" not in text and "A &lt; B" in text and "&amp;" in text
    assert len(text) <= 4096


async def test_group_member_who_is_not_admin_cannot_unsubscribe_the_group(tg):
    group, member, admin = -1001, 5, 6
    tg.fake.members[(group, admin)] = "administrator"
    done = await tg.say(group, "/watch UNSCR 2254", user_id=admin, chat_type="supergroup")
    assert "✅" in done["text"] and "2254" in done["text"]
    refused = await tg.say(group, "/unwatch UNSCR 2254", user_id=member, chat_type="supergroup")
    assert "administrators" in refused["text"]
    chat = await tg.service.store.chats.get("telegram", str(group))
    assert await tg.service.store.subscriptions.of_chat(chat.id)  # still subscribed
    ok = await tg.say(group, "/unwatch UNSCR 2254", user_id=admin, chat_type="supergroup")
    assert "Stopped" in ok["text"]
    listing = await tg.say(group, "/list", user_id=member, chat_type="supergroup")  # reading is for everyone
    assert "nothing" in listing["text"]


async def test_flood_control_on_the_admin_check_is_waited_out_not_a_refusal(tg):
    group, admin = -1002, 7
    tg.fake.members[(group, admin)] = "administrator"
    await tg.say(group, "/watch UNSCR 2254", user_id=admin, chat_type="supergroup")
    tg.fake.fail_next_member(group, FakeTelegram.too_many_requests(1))
    ok = await tg.say(group, "/unwatch UNSCR 2254", user_id=admin, chat_type="supergroup")
    assert "Stopped" in ok["text"]  # asked again after the second Telegram asked for, not refused
    assert not tg.fake.member_failures[group]
    tg.fake.fail_next_member(group, FakeTelegram.too_many_requests(60))  # too long to keep the user waiting
    refused = await tg.say(group, "/watch UNSCR 2254", user_id=admin, chat_type="supergroup")
    assert "administrators" in refused["text"]


async def test_a_429_storm_delays_but_loses_nothing(tg):
    for chat in (201, 202, 203):
        await tg.say(chat, "/watch Caesar Act")
    tg.fake.fail_next(202, *[FakeTelegram.too_many_requests(1)] * 3)
    tg.publish(("s1", "Caesar Act extended", "The Caesar Act stays."), ("s2", "New Caesar Act waiver", "Caesar Act."))
    await tg.service.run_once()
    await tg.deliver_all()
    for chat in (201, 202, 203):
        alerts = alerts_to(tg.fake, chat)
        assert len(alerts) == 2, chat
        assert len({a["text"] for a in alerts}) == 2  # no duplicates
    counts = await tg.service.store.deliveries.counts()
    assert counts == {"sent": 6}


async def test_blocked_bot_marks_chat_inactive(tg):
    await tg.say(301, "/watch Caesar Act")
    tg.fake.fail_next(301, FakeTelegram.blocked())
    tg.publish(("b1", "Caesar Act news", ""))
    await tg.service.run_once()
    chat = await tg.service.store.chats.get("telegram", "301")
    assert chat.active is False
    tg.publish(("b1", "Caesar Act news", ""), ("b2", "More Caesar Act news", ""))
    summary = await tg.service.run_once()
    assert summary.deliveries_created == 0  # an inactive chat gets no new deliveries


async def test_chat_not_found_is_permanent_too(tg):
    await tg.say(302, "/watch Caesar Act")
    tg.fake.fail_next(302, FakeTelegram.chat_not_found())
    tg.publish(("n1", "Caesar Act news", ""))
    await tg.service.run_once()
    assert (await tg.service.store.chats.get("telegram", "302")).active is False
    assert (await tg.service.store.deliveries.counts()) == {"dead": 1}


async def test_migrated_group_moves_subscriptions_and_resends(tg):
    group, admin = -400, 8
    tg.fake.members[(group, admin)] = "creator"
    await tg.say(group, "/watch Caesar Act", user_id=admin, chat_type="group")
    tg.fake.fail_next(group, FakeTelegram.migrated(-1009400))
    tg.publish(("m1", "Caesar Act news", ""))
    await tg.service.run_once()
    assert len(alerts_to(tg.fake, -1009400)) == 1
    moved = await tg.service.store.chats.get("telegram", "-1009400")
    assert moved is not None and await tg.service.store.subscriptions.of_chat(moved.id) == [
        Target("entity", "caesar-act")]
    assert await tg.service.store.chats.get("telegram", str(group)) is None


async def test_watch_resolves_typos_offers_choices_and_free_words(tg):
    typo = await tg.say(501, "/watch ceasar act")
    assert "Caesar Act" in typo["text"]
    choose = await tg.say(501, "/watch Assad")
    buttons = [b for row in choose["reply_markup"]["inline_keyboard"] for b in row]
    assert any(b["callback_data"] == "w:e:bashar-al-assad" for b in buttons)
    keyboard_message = {"message_id": 9001, "date": 0, "chat": {"id": 501, "type": "private"}, "text": "choose",
                        "reply_to_message": {"message_id": 9000, "date": 0, "chat": {"id": 501, "type": "private"},
                                             "text": "/watch Assad"}}
    chosen = await tg.press(501, "w:e:bashar-al-assad", keyboard_message)
    assert "Bashar al-Assad" in chosen["text"]
    none = await tg.say(501, "/watch water crisis")
    assert none["reply_markup"]["inline_keyboard"][-1][0]["callback_data"] == "w:p"
    keyboard_message["reply_to_message"]["text"] = "/watch water crisis"
    phrase = await tg.press(501, "w:p", keyboard_message)
    assert "water crisis" in phrase["text"]
    tg.publish(("w1", "Drought deepens the water crisis in Iraq", "Officials warned of shortages."))
    await tg.service.run_once()
    alerts = alerts_to(tg.fake, 501)
    assert len(alerts) == 1 and "«water crisis»" in alerts[0]["text"]
    listing = await tg.say(501, "/list")
    assert "Bashar al-Assad" in listing["text"] and "«water crisis»" in listing["text"]


async def test_language_mute_unmute_status(tg):
    await tg.say(601, "/watch Caesar Act")
    assert "Use /lang" in (await tg.say(601, "/lang fr"))["text"]
    assert "العربية" in (await tg.say(601, "/lang ar"))["text"]
    muted = await tg.say(601, "/mute 2h")
    assert "🔕" in muted["text"]
    assert "30m" in (await tg.say(601, "/mute soon"))["text"]  # usage in Arabic still names the forms
    tg.publish(("u1", "Caesar Act extended", ""))
    await tg.service.run_once()
    assert alerts_to(tg.fake, 601) == []  # held, not lost
    await tg.say(601, "/unmute")
    await tg.deliver_all()
    alerts = alerts_to(tg.fake, 601)
    assert len(alerts) == 1 and alerts[0]["text"].startswith(RLM)  # in the chat's new language
    status = await tg.say(601, "/status")
    assert "1" in status["text"] and "المصادر" in status["text"]


async def test_export_then_import_round_trip_and_errors_with_lines(tg):
    await tg.say(701, "/watch Caesar Act")
    await tg.say(701, "/watch syria-process")
    exported = await tg.say(701, "/export")
    assert "document" in exported
    content = exported["document"]["content"]
    doc = yaml.safe_load(content)
    assert doc["version"] == 1 and {w["id"] for w in doc["watchlists"]} == {"chat-follows", "syria-process"}
    # a fresh chat imports the file and follows the same things
    before = len(tg.fake.calls)
    tg.fake.push_document(702, "rasad-subscriptions.yaml", content)
    await tg.fake.wait_for(lambda c: any(x.method == "sendMessage" and x.params.get("chat_id") == 702
                                         for x in c[before:]))
    chat = await tg.service.store.chats.get("telegram", "702")
    assert sorted(await tg.service.store.subscriptions.of_chat(chat.id)) == [
        Target("entity", "caesar-act"), Target("watchlist", "syria-process")]
    # a broken file: every error with file:line, nothing applied
    bad = b"watchlists:\n  - id: mine\n    names: {en: Mine}\n    any: [no-such-entity]\n  - id: x\n"
    before = len(tg.fake.calls)
    tg.fake.push_document(702, "mine.yaml", bad)
    calls = await tg.fake.wait_for(lambda c: any(x.method == "sendMessage" and x.params.get("chat_id") == 702
                                                 for x in c[before:]))
    text = next(x.params["text"] for x in calls[before:] if x.method == "sendMessage")
    assert "mine.yaml:4: watchlist 'mine': any: unknown entity id 'no-such-entity'" in text
    assert "mine.yaml:5:" in text
    assert len(await tg.service.store.subscriptions.of_chat(chat.id)) == 2


async def test_feeds_are_for_bot_admins(tg):
    refused = await tg.say(801, "/addfeed https://example.org/rss.xml Example")
    assert "administrators" in refused["text"]
    local = await tg.say(ADMIN, "/addfeed http://127.0.0.1:9/feed.xml Local")
    assert "will not poll" in local["text"] and "127.0.0.1" in local["text"]  # no SSRF from chat
    tg.service.commands.allow_private_feeds = True  # example.org does not resolve on a machine without DNS
    added = await tg.say(ADMIN, "/addfeed https://example.org/rss.xml Example")
    assert "added" in added["text"]
    listing = await tg.say(ADMIN, "/feeds")
    assert "Example" in listing["text"] and "Wire" in listing["text"]
    assert "not an http" in (await tg.say(ADMIN, "/addfeed ftp://x/y"))["text"]
    feed_id = next(f.id for f in await tg.service.store.feeds.all() if f.name == "Example")
    assert "removed" in (await tg.say(ADMIN, f"/delfeed {feed_id}"))["text"]


async def test_help_and_unknown_command(tg):
    help_text = (await tg.say(901, "/help"))["text"]
    assert "/watch" in help_text and "/export" in help_text and "/feeds" not in help_text
    assert "/feeds" in (await tg.say(ADMIN, "/help"))["text"]
    assert "/help" in (await tg.say(901, "/frobnicate"))["text"]


async def test_webhook_mode_with_secret_token_behind_the_health_port(tmp_path):
    import httpx

    fake = await FakeTelegram().start()
    settings = Settings(
        database=f"sqlite+aiosqlite:///{tmp_path}/wh.db", rules=str(RULES), feeds=[],
        telegram=TelegramConfig(api_url=fake.base_url, mode="webhook", webhook_url="https://rasad.example.org/"),
        http={"host": "127.0.0.1", "port": 0}, telegram_token=fake.token, telegram_webhook_secret="s3cret-token",
        base_dir=tmp_path)
    service = Application(settings)
    await service.start()
    try:
        hook = fake.sent("setWebhook")[0]
        assert hook["url"] == "https://rasad.example.org/telegram/webhook" and hook["secret_token"] == "s3cret-token"
        assert not fake.sent("getUpdates")  # no long polling in webhook mode
        base = f"http://127.0.0.1:{service.http.port}"
        update = {"update_id": 1, "message": {
            "message_id": 5, "date": 0, "chat": {"id": 55, "type": "private", "first_name": "A"},
            "from": {"id": 55, "is_bot": False, "first_name": "A", "language_code": "en"},
            "text": "/watch Caesar Act", "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}
        async with httpx.AsyncClient() as client:
            bad = await client.post(f"{base}/telegram/webhook", json=update,
                                    headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})
            assert bad.status_code == 403
            ok = await client.post(f"{base}/telegram/webhook", json=update,
                                   headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"})
            assert ok.status_code == 200
            await fake.wait_for(lambda calls: any(c.method == "sendMessage" and "Caesar Act" in c.params["text"]
                                                  for c in calls))
            health = await client.get(f"{base}/healthz")
            assert health.status_code == 200 and health.json()["database"] == "ok"
        assert len([c for c in fake.sent("sendMessage") if "Caesar Act" in c["text"]]) == 1  # refused one did nothing
    finally:
        await service.stop()
        await fake.stop()


def test_webhook_mode_needs_url_and_secret(tmp_path):
    from bot.config import ConfigError, load_settings

    config = tmp_path / "c.yaml"
    config.write_text("telegram: {mode: webhook}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(config, env={"TELEGRAM_BOT_TOKEN": "1:x"})
    text = "\n".join(info.value.messages)
    assert "webhook_url" in text and "TELEGRAM_WEBHOOK_SECRET" in text and "1:x" not in text


async def test_slow_bot_api_answers_still_deliver(tg):
    await tg.say(1001, "/watch Caesar Act")
    tg.fake.delay = 1.5
    tg.publish(("slow1", "Caesar Act news", ""))
    summary = await tg.service.run_once()
    assert summary.alerts_sent == 1 and len(alerts_to(tg.fake, 1001)) == 1


async def test_channel_posts_are_commands_from_its_administrators(tg):
    channel = -1002000
    before = len(tg.fake.calls)
    update = {"channel_post": {"message_id": 1, "date": 0, "chat": {"id": channel, "type": "channel", "title": "Desk"},
                               "text": "/watch Caesar Act",
                               "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}
    tg.fake._push(update)
    await tg.fake.wait_for(lambda c: any(x.method == "sendMessage" and x.params.get("chat_id") == channel
                                         for x in c[before:]))
    chat = await tg.service.store.chats.get("telegram", str(channel))
    assert chat.chat_type == "channel"
    assert await tg.service.store.subscriptions.of_chat(chat.id) == [Target("entity", "caesar-act")]


async def test_one_alert_per_story_across_feeds(tg, tmp_path):
    second = tmp_path / "second.xml"
    second.write_text(feed_xml(), encoding="utf-8")
    await tg.service.store.feeds.add(str(second), "Second Wire", source="config")
    await tg.say(1101, "/watch Caesar Act")
    tg.publish(("x1", "Washington extends Caesar Act sanctions waiver for six months",
                "The U.S. Treasury said the waiver allows investment in Syria's energy sector."))
    await tg.service.run_once()
    # the same story from another feed, rewritten, with a new guid
    second.write_text(feed_xml(("y9", "US extends Caesar Act sanctions waiver for another six months",
                                "The Treasury said on Tuesday the waiver allows investment in Syria's energy sector.")),
                      encoding="utf-8")
    summary = await tg.service.run_once()
    assert summary.new_items == 1 and summary.duplicates == 1 and summary.alerts_sent == 0
    assert len(alerts_to(tg.fake, 1101)) == 1
    # a different story still alerts
    tg.publish(("x2", "Senate votes to repeal the Caesar Act", "The defence bill repeals the Caesar Act."))
    assert (await tg.service.run_once()).deliveries_created == 1
    await tg.deliver_all()  # the chat's 1/s limit may hold it a moment
    assert len(alerts_to(tg.fake, 1101)) == 2


async def _make_due(service, chat_address: str) -> None:
    """Bring the chat's digest time to now (as if the hour had passed)."""
    from sqlalchemy import update

    from bot.store.db import utcnow
    from bot.store.tables import chats, deliveries
    chat = await service.store.chats.get("telegram", chat_address)
    async with service.store.engine.begin() as conn:
        past = utcnow().replace(microsecond=0)
        await conn.execute(update(chats).where(chats.c.id == chat.id).values(next_digest_at=past))
        await conn.execute(update(deliveries).where(deliveries.c.chat_id == chat.id, deliveries.c.state == "held")
                           .values(next_attempt_at=past))


async def test_hourly_digest_groups_held_alerts_by_watchlist(tg):
    await tg.say(1201, "/watch sanctions")
    await tg.say(1201, "/watch Resolution 2254")
    reply = await tg.say(1201, "/digest hourly")
    assert "every hour" in reply["text"]
    tg.publish(("d1", "Caesar Act waiver extended", "The Caesar Act stays."),
               ("d2", "Pedersen briefs on Resolution 2254", "Resolution 2254 remains the basis."),
               ("d3", "Captagon Act enforcement begins", "The Captagon Act took effect."))
    summary = await tg.service.run_once()
    assert summary.deliveries_created == 3 and alerts_to(tg.fake, 1201) == []
    assert (await tg.service.store.deliveries.counts()).get("held") == 3
    await _make_due(tg.service, "1201")
    await tg.service.deliver()
    digests = [d for d in tg.fake.delivered if d["chat_id"] == 1201 and "📰" in d["text"]]
    assert len(digests) == 1
    text = digests[0]["text"]
    assert "3 alerts" in text and "Sanctions on Syria" in text and "Resolution 2254" in text
    assert text.index("Caesar Act waiver") < text.index("Captagon Act") or "Captagon" in text
    assert (await tg.service.store.deliveries.counts()) == {"sent": 3}
    chat = await tg.service.store.chats.get("telegram", "1201")
    assert chat.next_digest_at is not None and chat.digest == "hourly"


async def test_quiet_hours_hold_alerts_but_urgent_ones_break_through(tg):
    import dataclasses
    from datetime import timedelta

    from bot.store.db import utcnow
    now = utcnow()
    start, end = (now - timedelta(hours=1)).strftime("%H:%M"), (now + timedelta(hours=1)).strftime("%H:%M")
    await tg.say(1301, "/watch sanctions")
    await tg.say(1301, "/watch chemical-weapons")
    assert "Quiet hours" in (await tg.say(1301, f"/quiet {start}-{end}"))["text"]
    wl = tg.service.rules.rule_set.watchlists
    wl["chemical-weapons"] = dataclasses.replace(wl["chemical-weapons"], urgent=True)
    tg.publish(("q1", "Caesar Act waiver extended", "The Caesar Act stays."),
               ("q2", "OPCW confirms chlorine use", "The OPCW said chlorine was used."))
    await tg.service.run_once()
    alerts = alerts_to(tg.fake, 1301)
    assert len(alerts) == 1 and "OPCW" in alerts[0]["text"]  # urgent: at once
    assert (await tg.service.store.deliveries.counts()).get("held") == 1
    await _make_due(tg.service, "1301")  # quiet hours over
    await tg.service.deliver()
    digests = [d for d in tg.fake.delivered if d["chat_id"] == 1301 and "📰" in d["text"]]
    assert len(digests) == 1 and "Caesar Act waiver" in digests[0]["text"]
    assert "off" in (await tg.say(1301, "/quiet off"))["text"]
    assert "zone" in (await tg.say(1301, "/tz Mars/Olympus"))["text"]
    assert "Asia/Damascus" in (await tg.say(1301, "/tz Asia/Damascus"))["text"]
