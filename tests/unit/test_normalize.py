import pytest

from bot.text.lang import detect_language
from bot.text.normalize import normalize, normalize_key


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("أحمد", "احمد"),
        ("إدلب", "ادلب"),
        ("آستانة", "استانه"),
        ("ٱلله", "الله"),
        ("مستشفى", "مستشفي"),
        ("اللجنة", "اللجنه"),
        ("قـــانون", "قانون"),  # tatweel
        ("قَانُونُ", "قانون"),  # diacritics
        ("٢٢٥٤", "2254"),  # Arabic-Indic digits
        ("۲۲۵۴", "2254"),  # Persian digits
        ("قرار\u200f 2254", "قرار 2254"),  # RLM
        ("سو\u200cريا", "سوريا"),  # ZWNJ
        ("سو\u200dريا", "سوريا"),  # ZWJ
        ("\u200eUN", "un"),  # LRM
        ("قرار\u061c", "قرار"),  # Arabic letter mark
        ("ﻻ", "لا"),  # NFKC of a presentation form
        ("Ｕｎｉｔｅｄ", "united"),  # NFKC of full-width Latin
        ("Caesar   Act\n", "caesar act"),  # white space collapsed and trimmed
        ("Turkey’s", "turkey's"),  # curly apostrophe
        ("کرد ی", "كرد ي"),  # Persian kaf and yeh
    ],
)
def test_normalize_key(raw, expected):
    assert normalize_key(raw) == expected


def test_cased_keeps_capitals_and_folded_lowers():
    n = normalize("UN Envoy")
    assert n.cased == "UN Envoy"
    assert n.folded == "un envoy"


def test_offsets_map_back_to_original():
    text = "وبِقـــانُونِ قيصر"
    n = normalize(text)
    start = n.folded.index("قانون")
    o_start, o_end = n.span(start, start + len("قانون قيصر"))
    assert text[o_start:o_end] == "قـــانُونِ قيصر"


def test_bidi_mark_after_mention_is_not_part_of_it():
    text = "UN\u200f said"
    n = normalize(text)
    assert n.span(0, 2) == (0, 2)


@pytest.mark.parametrize(
    ("text", "lang"),
    [("مجلس الأمن يناقش القرار 2254", "ar"), ("Security Council debates 2254", "en"), ("2254", None),
     ("المبعوث Geir Pedersen في جنيف اليوم", "ar")],
)
def test_detect_language(text, lang):
    assert detect_language(text) == lang
