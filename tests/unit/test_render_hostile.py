"""Feed text is hostile until escaped for the exact field it lands in: the renderers of Slack, Telegram and the
console, given titles, summaries, links and source names that try to write into the chat."""

from __future__ import annotations

import json
from datetime import datetime
from types import SimpleNamespace

import pytest

from bot.adapters.slack import (
    SlackAdapter,
    _reply_blocks,
    feed_mrkdwn,
    feed_plain,
    mrkdwn_escape,
    mrkdwn_link,
    render_blocks,
    render_fallback,
)
from bot.adapters.telegram import (
    MAX_CAPTION,
    MAX_MESSAGE,
    TelegramAdapter,
    render_html,
    render_reply,
    utf16_len,
)
from bot.alerts.compose import FSI, MAX_LINK, PDI, RLM, compose_alert, render_text
from bot.commands.handlers import Button, Reply
from bot.delivery.digest import Digest, DigestEntry, render_digest
from bot.model import Alert, Entity, Item, Mention, Watchlist
from tests.fakes.hostile import (
    BIDI,
    DISGUISED_LINK,
    HOSTILE_LINK,
    HOSTILE_SOURCE,
    HOSTILE_SUMMARY,
    HOSTILE_TITLE,
    HUGE_TITLE,
    LONG_LINK,
    MENTIONS,
    RLO,
)
from tests.fakes.slack_api import blocks_problem, mrkdwn_injections, texts_of
from tests.fakes.telegram_html import HtmlError, assert_valid_html, parse_html

CAESAR = Entity("caesar-act", "law", {"en": "Caesar Act", "ar": "قانون قيصر"})
SANCTIONS = Watchlist("sanctions", {"en": "Sanctions on Syria", "ar": "العقوبات على سوريا"}, any=("caesar-act",))
WHEN = datetime(2026, 11, 28, 9, 15)
OWN_BIDI = FSI + PDI + RLM  # the marks the bot itself adds


def hostile_alert(language: str = "en", title: str = HOSTILE_TITLE, summary: str = HOSTILE_SUMMARY,
                  link: str = HOSTILE_LINK) -> Alert:
    item = Item("k", title, summary, link, WHEN, "en", HOSTILE_SOURCE)
    text = item.text
    start = text.index("Caesar Act", len(title) + 1)
    return compose_alert(item, [Mention("caesar-act", "Caesar Act", start, start + 10)], [SANCTIONS],
                         {"caesar-act": CAESAR}, language)


def no_feed_bidi(text: str) -> None:
    """No bidi control but the bot's own FSI/PDI/RLM, and every FSI closed by a PDI on its line."""
    assert not any(c in text for c in BIDI if c not in OWN_BIDI), repr(text)
    for line in text.split("\n"):
        depth = 0
        for c in line:
            depth += c == FSI
            depth -= c == PDI
            assert depth >= 0, repr(line)
        assert depth == 0, repr(line)


# ---------------------------------------------------------------- the composed alert


def test_composed_alert_carries_clean_bounded_feed_text():
    alert = hostile_alert()
    for text in (alert.headline, alert.snippet, alert.source):
        assert not any(c in text for c in BIDI)
    assert alert.headline.startswith("Caesar Act <!channel>") and len(alert.headline) <= 160
    assert alert.snippet == "The Caesar Act stays <!channel> *now* &lt;b&gt; embedded :white_check_mark::flag-sy:"
    assert alert.source == "Wire <!here> *bold* </i> :skull:"
    assert alert.link == "https://e.org/x?a=1&b=%3C2%3E|3%224"  # what may never be raw in a URL, encoded
    huge = hostile_alert(title=HUGE_TITLE)
    assert len(huge.headline) <= 160 and huge.headline.endswith("…")
    assert hostile_alert(link=LONG_LINK).link == ""  # 6,000 characters: the alert goes without it
    assert hostile_alert(link="javascript:alert(1)").link == ""
    assert hostile_alert(link="https://e.org/" + "a" * (MAX_LINK - 14)).link  # at the limit it stays


# ---------------------------------------------------------------- Slack


@pytest.mark.parametrize(("feed", "shown"), [
    ("<!channel>", "&lt;!channel&gt;"),
    ("<!here>", "&lt;!here&gt;"),
    ("<@U123>", "&lt;@U123&gt;"),
    (DISGUISED_LINK, "&lt;https://evil.example|click&gt;"),
    ("*bold* _x_ ~x~ `code`", "\u2217bold\u2217 \u02cdx\u02cd \u223cx\u223c \u02cbcode\u02cb"),
    ("＊wide＊ ＿x＿ ｀c｀", "\ufe61wide\ufe61 \u2e0fx\u2e0f \u02cbc\u02cb"),
    ("&amp;", "&amp;amp;"),
    ("</a><b>", "&lt;/a&gt;&lt;b&gt;"),
    ("> not a quote", "\u00ad&gt; not a quote"),
    (f"left {RLO}right", "left right"),
    ("line\nbreak", "line break"),
    (":white_check_mark: Verified :flag-sy: :+1::skin-tone-2:", "\u2236white\u02cdcheck\u02cdmark: Verified "
     "\u2236flag-sy: \u2236+1:\u2236skin-tone-2:"),
    # prose keeps its colons; a time followed by a colon looks like :30: (:100: is an emoji) and is neutralised
    ("Geneva: talks at 11:00, 10:30: vote", "Geneva: talks at 11:00, 10\u223630: vote"),
])
def test_feed_text_in_mrkdwn_is_escaped_and_neutralised(feed, shown):
    assert feed_mrkdwn(feed) == shown
    assert mrkdwn_injections(shown) == []


def test_feed_text_in_plain_text_is_escaped():
    assert feed_plain("<!channel> *b* &amp;") == "&lt;!channel&gt; *b* &amp;amp;"


def test_links_the_bot_builds_cannot_be_broken_out_of():
    link = mrkdwn_link(HOSTILE_LINK, feed_mrkdwn("title | with > and <!here>"))
    assert link == "<https://e.org/x?a=1&amp;b=%3C2%3E%7C3%224|title \u2223 with &gt; and &lt;!here&gt;>"
    assert mrkdwn_injections(link) == []
    assert mrkdwn_link("javascript:alert(1)", "label") == "label"  # not a link the bot makes
    assert mrkdwn_link(LONG_LINK, "label") == "label"


def test_slack_blocks_escape_every_field_of_a_hostile_alert():
    blocks = render_blocks(hostile_alert())
    assert blocks_problem(blocks) is None
    headline = blocks[1]["text"]["text"]
    assert headline == ("*Caesar Act &lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt; &lt;@U123&gt; "
                        "&lt;!subteam^S123&gt; &lt;#C123&gt; &lt;https://evil.example|click&gt; \u2217bold\u2217 "
                        "\u02cdx\u02cd \u223cx\u223c \u02cbcode\u02cb &lt;/a&gt;&lt;b&gt;&amp;amp; reversed*")
    assert blocks[2]["elements"][0]["text"] == ("Source: Wire &lt;!here&gt; \u2217bold\u2217 &lt;/i&gt; \u2236skull: · "
                                                "2026-11-28 09:15")  # no emoji drawn from a feed's shortcode
    assert blocks[4]["text"]["text"] == ("> The Caesar Act stays &lt;!channel&gt; \u2217now\u2217 &amp;lt;b&amp;gt; "
                                         "embedded \u2236white\u02cdcheck\u02cdmark:\u2236flag-sy:")
    assert blocks[5]["text"]["text"] == "<https://e.org/x?a=1&amp;b=%3C2%3E%7C3%224|Read>"
    for kind, text in texts_of({"blocks": blocks}):
        if kind == "mrkdwn":
            assert mrkdwn_injections(text) == [], text
        else:
            assert "<" not in text and ">" not in text
    assert all(b["text"]["verbatim"] is True for b in blocks if b["type"] == "section")
    assert blocks[0]["text"] == {"type": "plain_text", "text": "🔔 Sanctions on Syria", "emoji": False}


def test_slack_fallback_text_is_escaped_like_the_blocks():
    alert = Alert("en", ("Sanctions on Syria",), "<!channel> *Caesar* Act", "Wire <@U1>", ("Caesar Act",),
                  "It <https://evil|click> stays", "https://e.org/1|x", WHEN)
    assert render_fallback(alert) == (
        "🔔 Sanctions on Syria\n"
        "&lt;!channel&gt; \u2217Caesar\u2217 Act\n"
        "Source: Wire &lt;@U1&gt; · 2026-11-28 09:15\n"
        "Mentions: Caesar Act\n"
        "“It &lt;https://evil|click&gt; stays”\n"
        "<https://e.org/1%7Cx|Read>")
    assert mrkdwn_injections(render_fallback(hostile_alert())) == []


def test_slack_renderings_stay_within_limits_with_huge_text_and_links():
    alert = Alert("en", ("W",), "&<" * 50_000, "&" * 10_000, ("x" * 5000,) * 12, "*" * 50_000, LONG_LINK)
    blocks = render_blocks(alert)
    assert blocks_problem(blocks) is None
    assert not any("e.org" in t for _, t in texts_of({"blocks": blocks}))  # the 6,000-character link is left out
    fallback = render_fallback(alert)
    assert len(fallback) <= 3000 and mrkdwn_injections(fallback) == []
    link_heavy = Alert("en", ("W",), "t", "s", (), "", "https://e.org/?" + "&" * 2000)  # 10,000 once escaped
    assert blocks_problem(render_blocks(link_heavy)) is None


def test_slack_button_labels_and_reply_text_are_escaped():
    reply = Reply("Follow «<!channel>»?", "en", buttons=[[Button("follow «<!channel> *x*»", "w:p"),
                                                           Button("<@U1>" * 40, "w:e:x")]])
    blocks = _reply_blocks(reply, "<!channel>")
    assert blocks_problem(blocks) is None
    labels = [e["text"] for e in blocks[1]["elements"]]
    assert labels[0] == {"type": "plain_text", "text": "follow «&lt;!channel&gt; *x*»", "emoji": False}
    assert all("<" not in x["text"] and len(x["text"]) <= 75 for x in labels)
    assert blocks[0]["text"]["text"] == "Follow «&lt;!channel&gt;»?"


async def test_slack_digest_and_notice_are_escaped_and_split_between_lines():
    posted = []

    async def post(**message):
        posted.append(message)

    stub = SimpleNamespace(client=SimpleNamespace(chat_postMessage=post))
    entries = [DigestEntry(f"{HOSTILE_TITLE} {i} " + "&" * 100, HOSTILE_SOURCE, HOSTILE_LINK) for i in range(40)]
    await SlackAdapter.send_digest(stub, "C1", Digest("en", {"Sanctions <!here>": entries}))
    assert len(posted) > 1
    for message in posted:
        assert len(message["text"]) <= 3000 and mrkdwn_injections(message["text"]) == []
        assert message["parse"] == "none" and message["unfurl_links"] is False
        no_feed_bidi(message["text"])
    text = "\n".join(m["text"] for m in posted)
    assert text.count("<https://e.org/x?a=1&amp;b=%3C2%3E%7C3%224|Caesar Act &lt;!channel&gt;") == 40
    assert "Sanctions &lt;!here&gt;" in posted[1]["text"]  # the group's name again atop the continued part
    posted.clear()
    await SlackAdapter.send_notice(stub, "U1", "⚠️ Feed «Wire <!channel> *x*» is broken (https://e.org/a_b).")
    assert posted[0]["text"] == "⚠️ Feed «Wire &lt;!channel&gt; \u2217x\u2217» is broken (https://e.org/a\u02cdb)."
    assert posted[0]["blocks"][0]["text"] == {
        "type": "plain_text", "text": "⚠️ Feed «Wire &lt;!channel&gt; *x*» is broken (https://e.org/a_b).",
        "emoji": False}


# ---------------------------------------------------------------- Telegram


def test_telegram_html_escapes_every_field_exactly_once():
    html = render_html(hostile_alert())
    assert html == (
        "<b>🔔 Sanctions on Syria</b>\n"
        "<b>Caesar Act &lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt; &lt;@U123&gt; &lt;!subteam^S123&gt; "
        "&lt;#C123&gt; &lt;https://evil.example|click&gt; *bold* _x_ ~x~ `code` &lt;/a&gt;&lt;b&gt;&amp;amp; "
        "reversed</b>\n"
        "Source: Wire &lt;!here&gt; *bold* &lt;/i&gt; :skull: · 2026-11-28 09:15\n"
        "Mentions: Caesar Act\n"
        "<i>“The Caesar Act stays &lt;!channel&gt; *now* &amp;lt;b&amp;gt; embedded :white_check_mark::flag-sy:”</i>\n"
        '<a href="https://e.org/x?a=1&amp;b=%3C2%3E|3%224">Read</a>')
    visible, entities = parse_html(html)
    assert "</a><b>&amp; reversed" in visible and MENTIONS[0] in visible  # shown as the feed wrote it
    assert [e.type for e in entities] == ["b", "b", "i", "a"]
    assert entities[-1].url == "https://e.org/x?a=1&b=%3C2%3E|3%224"


@pytest.mark.parametrize("language", ["en", "ar"])
def test_telegram_alert_with_a_6000_character_link_is_valid_and_keeps_the_rest(language):
    direct = Alert(language, ("Sanctions on Syria",), "Caesar Act renewed", "Wire", ("Caesar Act",), "It stays.",
                   LONG_LINK)
    for alert in (direct, hostile_alert(language, link=LONG_LINK)):
        html = render_html(alert)
        assert utf16_len(html) <= MAX_MESSAGE and "<a " not in html
        visible = assert_valid_html(html)
        assert "Caesar Act" in visible and "Sanctions on Syria" in visible or "العقوبات" in visible


def test_telegram_alert_with_a_100_kb_title_is_shortened_as_text_not_as_markup():
    alert = Alert("en", ("Sanctions on Syria",), HUGE_TITLE, "Wire & co", ("Caesar Act",), "It stays.",
                  "https://e.org/1")
    html = render_html(alert)
    assert utf16_len(html) <= MAX_MESSAGE
    visible = assert_valid_html(html)
    assert visible.startswith("🔔 Sanctions on Syria\nCaesar Act & <b> Caesar Act")  # the title, escaped, clipped
    assert '<a href="https://e.org/1">Read</a>' in html and "Source: Wire &amp; co" in html
    assert "…</b>" in html


@pytest.mark.parametrize("language", ["en", "ar"])
def test_no_feed_bidi_control_survives_on_any_platform(language):
    alert = hostile_alert(language)
    no_feed_bidi(render_html(alert))
    no_feed_bidi(render_text(alert))
    no_feed_bidi(render_fallback(alert))
    for _, text in texts_of({"blocks": render_blocks(alert)}):
        no_feed_bidi(text)
    # even an alert built by hand (not through compose_alert) is cleaned by the renderers
    raw = Alert(language, (f"W{RLO}",), f"Title {RLO}x", f"S{RLO}", (f"E{RLO}",), f"{RLO}snippet", "https://e.org/")
    for text in (render_html(raw), render_text(raw), render_fallback(raw)):
        no_feed_bidi(text)
        assert RLO not in text
    if language == "ar":  # the bot's own marks stay: RLM at each line, Latin isolated
        assert all(line.startswith(RLM) for line in render_html(raw).split("\n"))
        assert f"{FSI}Title x{PDI}" in render_html(raw)


async def test_telegram_digest_splits_at_4096_between_lines_and_every_part_is_valid():
    sent = []

    async def send_message(**message):
        sent.append(message)

    stub = SimpleNamespace(app=SimpleNamespace(bot=SimpleNamespace(send_message=send_message)))
    entries = [DigestEntry(f"{HOSTILE_TITLE} {i} " + "&<" * 80, HOSTILE_SOURCE, "https://e.org/" + "b" * 2000)
               for i in range(30)] + [DigestEntry("short", "Wire", LONG_LINK)]
    for language in ("en", "ar"):
        sent.clear()
        await TelegramAdapter.send_digest(stub, "42", Digest(language, {"Sanctions & <Co>": entries}))
        assert len(sent) > 2
        shown = ""
        for message in sent:
            assert utf16_len(message["text"]) <= MAX_MESSAGE
            shown += assert_valid_html(message["text"]) + "\n"
            no_feed_bidi(message["text"])
        assert shown.count("• ") == 31 and "Sanctions & <Co>" in shown and "<!channel>" in shown


def test_render_digest_never_cuts_a_line():
    digest = Digest("en", {"G": [DigestEntry(f"T{i} " + "x" * 150, "Wire", f"https://e.org/{i}") for i in range(200)]})
    parts = render_digest(digest, 1000, lambda e: f"<a href='{e.link}'>{e.headline}</a>")
    assert len(parts) > 10 and all(len(p) <= 1000 for p in parts)
    lines = [x for p in parts for x in p.split("\n") if x.startswith("<a")]
    assert len(lines) == 200 and all(x.endswith("</a>") for x in lines)


def test_replies_and_captions_are_shortened_before_escaping():
    long_reply = Reply("Feeds:\n" + "\n".join(f"{i}. Wire & <Co> «{RLO}x»" for i in range(400)), "ar")
    for limit in (MAX_MESSAGE, MAX_CAPTION):
        text = render_reply(long_reply, limit)
        assert utf16_len(text) <= limit
        assert_valid_html(text, limit)
        no_feed_bidi(text)
        assert text.split("\n")[1] == f"{RLM}0. Wire &amp; &lt;Co&gt; «x»"  # lines kept, each RLM-led
    assert render_reply(Reply("a < b", "en")) == "a &lt; b"


# ---------------------------------------------------------------- the fake Bot API's checker can fail


@pytest.mark.parametrize("html", [
    "<b>unclosed", "text</b>", "<b><i>crossed</b></i>", "<script>x</script>", "a < b", "a > b", "fish & chips",
    "&nbsp;", '<a href="https://e.org">x', "<a>no href</a>", '<a href="https://e.org/&#xD800;">x</a>',
    '<b>cut <a href="https://e.org/' + "a" * 100,
])
def test_the_html_checker_refuses_what_telegram_refuses(html):
    with pytest.raises(HtmlError):
        parse_html(html)


def test_the_html_checker_reads_entities_and_nesting():
    visible, entities = parse_html('<b>a &lt;b&gt; &amp; &quot; &#39; &#x263A;</b> <a href="https://e.org/?a=1&amp;b=2">'
                                   "<i>l</i></a>")
    assert visible == "a <b> & \" ' ☺ l"
    assert [(e.type, e.offset, e.length) for e in entities] == [("b", 0, 13), ("i", 14, 1), ("a", 14, 1)]
    assert entities[-1].url == "https://e.org/?a=1&b=2"
    assert json.dumps(visible)  # plain text that can be sent back
    assert mrkdwn_escape("<&>") == "&lt;&amp;&gt;"
