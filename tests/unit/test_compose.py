from datetime import datetime

import pytest

from bot.alerts.compose import FSI, PDI, RLM, clean, compose_alert, fit, render_text, safe_link, snippet
from bot.alerts.i18n import MESSAGES
from bot.extract.catalog import Catalog
from bot.extract.mentions import find_mentions
from bot.model import Alert, Entity, Item, Mention, Watchlist

ENTITIES = {
    "caesar-act": Entity("caesar-act", "law", {"en": "Caesar Act", "ar": "قانون قيصر"}),
    "pedersen": Entity("pedersen", "person", {"en": "Geir Pedersen", "ar": "غير بيدرسون"}),
}
WATCHLIST = Watchlist("sanctions", {"en": "Sanctions on Syria", "ar": "العقوبات على سوريا"}, any=("caesar-act",))


def alert_for(item, language):
    mentions = find_mentions(Catalog(ENTITIES.values()), item.text)
    return compose_alert(item, mentions, [WATCHLIST], ENTITIES, language)


def test_every_message_key_exists_in_every_language():
    keys = {lang: set(msgs) for lang, msgs in MESSAGES.items()}
    assert set(keys) == {"ar", "en"}
    assert keys["ar"] == keys["en"]


@pytest.mark.parametrize("language", ["ar", "en"])
def test_alert_parts_in_the_chat_language(language):
    item = Item("k", "Washington extends the Caesar Act", "Officials said. The Caesar Act stays. Other news.",
                "https://e.org/1", datetime(2026, 11, 28, 9, 15), "en", "Wire")
    alert = alert_for(item, language)
    text = render_text(alert)
    assert WATCHLIST.name(language) in text
    assert ENTITIES["caesar-act"].name(language) in text
    assert "https://e.org/1" in text and "Wire" in text
    assert alert.snippet == "The Caesar Act stays."
    assert len(text) < 600


def test_arabic_alert_is_right_to_left_and_isolates_latin_names():
    item = Item("k", "Geir Pedersen meets officials", "Geir Pedersen spoke about the Caesar Act.", "", None, "en",
                "Wire")
    text = render_text(alert_for(item, "ar"))
    assert all(line.startswith(RLM) for line in text.splitlines())
    assert f"{FSI}Geir Pedersen meets officials{PDI}" in text
    assert "المصدر" in text


def test_english_alert_isolates_arabic_headline_only():
    item = Item("k", "واشنطن تمدد العمل بقانون قيصر", "", "", None, "ar", "Wire")
    text = render_text(alert_for(item, "en"))
    assert f"{FSI}واشنطن تمدد العمل بقانون قيصر{PDI}" in text
    assert f"{FSI}Wire" not in text


def test_long_item_gives_a_concise_alert():
    long_title = "Caesar Act " + "word " * 300
    long_summary = ("Background sentence number one. " * 30) + "The Caesar Act " + "x " * 500 + ". More."
    item = Item("k", long_title, long_summary, "https://e.org/" + "p" * 100, None, "en", "A" * 200)
    for language in ("ar", "en"):
        text = render_text(alert_for(item, language))
        assert len(text) < 600, len(text)
        assert "Caesar Act" in alert_for(item, language).snippet


def test_snippet_is_the_sentence_around_the_mention():
    text = "First sentence here. Then the envoy spoke of 2254! Last one?"
    start = text.index("2254")
    assert snippet(text, Mention("x", "2254", start, start + 4)) == "Then the envoy spoke of 2254!"
    ar = "جملة أولى. ثم تحدث المبعوث عن القرار 2254؟ جملة أخيرة."
    s = ar.index("القرار")
    assert snippet(ar, Mention("x", "القرار 2254", s, s + 11)) == "ثم تحدث المبعوث عن القرار 2254؟"


def test_feed_text_is_kept_verbatim_in_plain_text():
    # escaping belongs to each platform's renderer; plain text keeps what the feed said
    item = Item("k", "<b>Caesar Act</b> & more", "", "", None, "en", "W")
    assert "<b>Caesar Act</b> & more" in render_text(alert_for(item, "en"))


def test_clean_and_safe_link():
    assert clean("a\u202eb\u2066c\u200fd\u061ce\x00f\ud800g\nh") == "abcdef" + "g h"
    assert safe_link(" https://e.org/a b\u202e ") == "https://e.org/a%20b"
    assert safe_link("ftp://e.org/") == "" and safe_link("https://e.org/" + "a" * 3000) == ""


def test_fit_shortens_text_not_markup():
    alert = Alert("en", ("W",), "h" * 500, "s" * 50, ("e",), "x" * 300, "https://e.org/" + "l" * 1000)
    seen = []

    def render(a: Alert) -> str:
        seen.append(a)
        return f"<b>{a.headline}</b>{a.snippet}{a.source}<a href='{a.link}'>r</a>"

    out = fit(alert, render, lambda text: len(text) <= 400)
    assert len(out) <= 400 and out.startswith("<b>h") and out.endswith("</a>") and "</b>" in out
    assert seen[1].link == "" and seen[1].headline == alert.headline  # the longest piece, the link, went first
    assert fit(alert, render, lambda text: True) == render(alert)
