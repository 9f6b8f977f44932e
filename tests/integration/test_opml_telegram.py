"""An OPML file sent to the Telegram bot (issue 14): bot administrators only, a per-line report in the chat's
language, hostile files refused; the real python-telegram-bot client against the fake Bot API."""

from __future__ import annotations

from tests.fakes.harness import ADMIN, Harness

OPML = (b"<?xml version='1.0'?>\n<opml version='2.0'><body>\n"
        b"<outline text='UN' xmlUrl='http://8.8.8.8/un.xml' language='en'/>\n"
        b"<outline text='Local' xmlUrl='http://127.0.0.1:9/feed.xml'/>\n"
        b"<outline text='Mail' xmlUrl='mailto:desk@example.org'/>\n"
        b"</body></opml>\n")


async def send_file(tg: Harness, chat_id: int, name: str, content: bytes, caption: str = "", **kw) -> str:
    before = len(tg.fake.calls)
    tg.fake.push_document(chat_id, name, content, caption=caption, **kw)
    calls = await tg.fake.wait_for(lambda c: any(x.method == "sendMessage" and x.params.get("chat_id") == chat_id
                                                 for x in c[before:]))
    return next(x.params["text"] for x in calls[before:] if x.method == "sendMessage")


async def test_admin_opml_file_reports_each_line(tg):
    text = await send_file(tg, ADMIN, "desk.opml", OPML)
    assert "OPML import:" in text and "line 3: added #2 UN" in text
    assert "line 4: refused (private address:" in text and "line 5: refused (not an http(s) URL)" in text
    assert "1 added, 0 already there, 2 refused." in text
    urls = [f.url for f in await tg.service.store.feeds.all()]
    assert "http://8.8.8.8/un.xml" in urls and "http://127.0.0.1:9/feed.xml" not in urls
    # the caption /addfeed makes any file name OPML; the chat's language is Arabic here
    await tg.say(ADMIN, "/lang ar")
    again = await send_file(tg, ADMIN, "feeds.xml", OPML, caption="/addfeed")
    assert "استيراد OPML:" in again and "السطر 3: متابع بالفعل (#2) UN" in again and "عنوان خاص" in again


async def test_non_admin_file_is_refused_and_never_downloaded(tg):
    text = await send_file(tg, 901, "desk.opml", OPML)
    assert "administrators" in text
    assert not tg.fake.sent("getFile")
    assert len(await tg.service.store.feeds.all()) == 1  # only the configured feed


async def test_hostile_opml_is_refused_with_its_reason(tg):
    evil = b"<?xml version='1.0'?><!DOCTYPE opml [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><opml/>"
    text = await send_file(tg, ADMIN, "evil.opml", evil)
    assert "not OPML I can read" in text and "DTD" in text
    assert len(await tg.service.store.feeds.all()) == 1
