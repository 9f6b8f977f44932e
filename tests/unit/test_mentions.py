"""Matching: the normalization and clitic cases of the pipeline issue, one by one, negatives included."""

import pytest

from bot.extract.catalog import Catalog
from bot.extract.mentions import find_mentions
from bot.model import Entity

ENTITIES = [
    Entity("caesar-act", "law", {"en": "Caesar Act", "ar": "قانون قيصر"},
           {"en": ("Caesar Syria Civilian Protection Act",), "ar": ("قانون سيزر",)}),
    Entity("unsc-2254", "resolution", {"en": "UN Security Council Resolution 2254", "ar": "قرار مجلس الأمن 2254"},
           resolution=2254),
    Entity("un", "organization", {"en": "United Nations", "ar": "الأمم المتحدة"}, {"en": ("UN", "U.N.")}),
    Entity("unsc", "organization", {"en": "Security Council", "ar": "مجلس الأمن"}),
    Entity("syria", "place", {"en": "Syria", "ar": "سوريا"}, {"en": ("Syrian",), "ar": ("السوريين",)}),
    Entity("iran", "place", {"en": "Iran", "ar": "إيران"}),
    Entity("turkey", "place", {"en": "Turkey", "ar": "تركيا"}),
    Entity("usa", "place", {"en": "United States", "ar": "الولايات المتحدة"}, {"en": ("US",), "ar": ("واشنطن",)}),
    Entity("assad", "person", {"en": "Bashar al-Assad", "ar": "بشار الأسد"}, {"ar": ("الأسد",)}),
    Entity("cc", "organization", {"en": "Constitutional Committee", "ar": "اللجنة الدستورية"}),
]


@pytest.fixture(scope="module")
def catalog():
    return Catalog(ENTITIES)


def found(catalog, text):
    return [(m.entity_id, m.text) for m in find_mentions(catalog, text)]


@pytest.mark.parametrize(
    ("text", "entity", "surface"),
    [
        ("وإيران", "iran", "إيران"),
        ("بسوريا", "syria", "سوريا"),
        ("للسوريين", "syria", "للسوريين"),
        ("وبقانون قيصر", "caesar-act", "قانون قيصر"),
        ("وواشنطن", "usa", "واشنطن"),
        ("للجنة الدستورية", "cc", "للجنة الدستورية"),
        ("فبسوريا", "syria", "سوريا"),
        ("والسوريين", "syria", "السوريين"),
        ("بالأسد", "assad", "الأسد"),
        ("وللجنة الدستورية", "cc", "للجنة الدستورية"),
        ("كقانون قيصر", "caesar-act", "قانون قيصر"),
        ("قانونِ قَيصَر", "caesar-act", "قانونِ قَيصَر"),
        ("قانون قــيصر", "caesar-act", "قانون قــيصر"),
        ("Turkey's", "turkey", "Turkey"),
        ("Turkey’s position", "turkey", "Turkey"),
        ("caesar act", "caesar-act", "caesar act"),
        ("CAESAR ACT", "caesar-act", "CAESAR ACT"),
        ("US envoy", "usa", "US"),
        ("the U.N. said", "un", "U.N."),
        ("(UN)", "un", "UN"),
    ],
)
def test_found_with_clitics_and_forms(catalog, text, entity, surface):
    assert (entity, surface) in found(catalog, text)


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("Assyrian churches", "syria"),  # whole words only
        ("UNSCR", "un"),  # UN inside a longer word
        ("tell us more", "usa"),  # capitals-only alias in lower case
        ("Us and them", "usa"),
        ("the un said", "un"),
        ("أسد", "assad"),  # an alias that starts with ال is not in the bare word
        ("لأسد", "assad"),
        ("قيصرية", "caesar-act"),
        ("Iranian", "iran"),  # no English suffixes
        ("سوريال", "syria"),
        ("مسوريا", "syria"),  # م is no proclitic
        ("ببسوريا", "syria"),  # two prepositions
        ("Resolution 22541", "unsc-2254"),  # a longer number
        ("Resolution 12254", "unsc-2254"),
        ("decree 2254", "unsc-2254"),
        ("المرسوم رقم 2254", "unsc-2254"),
    ],
)
def test_not_found(catalog, text, entity):
    assert entity not in [e for e, _ in found(catalog, text)]


@pytest.mark.parametrize(
    "text",
    [
        "Resolution 2254",
        "resolution 2254 (2015)",
        "UNSCR 2254",
        "S/RES/2254 (2015)",
        "UN Security Council Resolution 2254",
        "Security Council resolution 2254",
        "القرار 2254",
        "القرار رقم ٢٢٥٤",
        "قرار مجلس الأمن 2254",
        "قرار مجلس الأمن الدولي 2254",
        "قرار مجلس الأمن رقم 2254",
        "قرار مجلس الأمن الدولي رقم 2254",
        "القرار الأممي 2254",
        "وبالقرار 2254",
        "للقرار 2254",
        "وفق القرار الأممي رقم 2254.",
        "بقرار مجلس الأمن 2254",
    ],
)
def test_resolution_forms(catalog, text):
    mentions = find_mentions(catalog, text)
    assert [m.entity_id for m in mentions] == ["unsc-2254"]


def test_longest_match_wins_and_spans_index_the_original(catalog):
    text = "قال المبعوث إن قرار مجلس الأمن الدولي رقم ٢٢٥٤ هو الأساس، وإن مجلس الأمن سيجتمع."
    mentions = find_mentions(catalog, text)
    assert [m.entity_id for m in mentions] == ["unsc-2254", "unsc"]
    for m in mentions:
        assert text[m.start:m.end] == m.text
    assert mentions[0].text == "قرار مجلس الأمن الدولي رقم ٢٢٥٤"


def test_english_spans_and_order(catalog):
    text = "The UN Security Council Resolution 2254 and the Caesar Syria Civilian Protection Act; US reaction."
    mentions = find_mentions(catalog, text)
    assert [(m.entity_id, m.text) for m in mentions] == [
        ("unsc-2254", "UN Security Council Resolution 2254"),
        ("caesar-act", "Caesar Syria Civilian Protection Act"),
        ("usa", "US"),
    ]
    assert all(text[m.start:m.end] == m.text for m in mentions)


def test_mention_in_arabic_text_with_bidi_marks(catalog):
    text = "\u200fأعلنت واشنطن\u200f تمديد \u200fقانون قيصر\u200f."
    mentions = find_mentions(catalog, text)
    assert [(m.entity_id, m.text) for m in mentions] == [("usa", "واشنطن"), ("caesar-act", "قانون قيصر")]


def test_alias_shared_by_two_entities_reports_both():
    cat = Catalog([Entity("a", "topic", {"en": "Geneva talks"}), Entity("b", "topic", {"en": "Geneva talks"})])
    assert sorted(m.entity_id for m in find_mentions(cat, "Geneva talks resume")) == ["a", "b"]


def test_empty_catalog_finds_nothing():
    assert find_mentions(Catalog([]), "Resolution 2254") == []


@pytest.mark.parametrize(
    "text",
    [
        "أصدر وزير الزراعة القرار رقم 2254 بشأن تنظيم الأسواق",
        "وأصدرت وزارة الاقتصاد القرار 2254",
        "القرار رقم 2254 الصادر عن وزير الداخلية",
        "القرار رقم 2254 لعام 2023 الصادر عن وزارة المالية",
        "القرار الوزاري رقم 2254",
        "قرار وزاري رقم 2254",
        "المرسوم التشريعي رقم 2254",
        "House Resolution 2254 passed the chamber",
        "the ministry's resolution 2254 on imports",
        "a city council resolution 2254 on parking",
        "Decree No. 2254",
    ],
)
def test_numbered_decisions_of_other_issuers_are_not_resolutions(catalog, text):
    assert "unsc-2254" not in [m.entity_id for m in find_mentions(catalog, text)]


@pytest.mark.parametrize(
    "text",
    [
        "وقال وزير الخارجية إن القرار 2254 هو الأساس",
        "وشدد الوزير على أهمية القرار 2254",
        "أصدر مجلس الأمن القرار 2254 عام 2015",
        "the Council adopted resolution 2254 in 2015",
        "ministers backed resolution 2254",
    ],
)
def test_generic_forms_stand_in_diplomatic_context(catalog, text):
    assert "unsc-2254" in [m.entity_id for m in find_mentions(catalog, text)]


def test_resolution_lists_in_both_languages():
    cat = Catalog([
        Entity("unsc-2139", "resolution", {"en": "R 2139"}, resolution=2139),
        Entity("unsc-2165", "resolution", {"en": "R 2165"}, resolution=2165),
        Entity("unsc-2254", "resolution", {"en": "R 2254"}, resolution=2254),
    ])
    for text in ("القرارين 2139 و2165", "قراري مجلس الأمن الدولي رقم ٢١٣٩ و٢١٦٥", "resolutions 2139 and 2165",
                 "UN Security Council resolutions 2139, 2165", "وبالقرارات 2139 و2165"):
        assert [m.entity_id for m in find_mentions(cat, text)] == ["unsc-2139", "unsc-2165"], text
    text = "أشار إلى القرارات 2139 و9999 و2254 الصادرة بشأن سوريا"
    mentions = find_mentions(cat, text)
    assert [m.entity_id for m in mentions] == ["unsc-2139", "unsc-2254"]  # unknown numbers are skipped
    assert all(text[m.start:m.end] == m.text for m in mentions)
    assert mentions[0].text == "القرارات 2139" and mentions[1].text == "2254"
    assert find_mentions(cat, "أصدرت وزارة المالية القرارات 2139 و2165") == []


def test_match_case_entities_match_only_as_written_or_in_capitals():
    cat = Catalog([Entity("turkey", "place", {"en": "Turkey", "ar": "تركيا"}, match_case=True)])
    assert [m.text for m in find_mentions(cat, "Turkey and TURKEY")] == ["Turkey", "TURKEY"]
    assert find_mentions(cat, "roast turkey") == []
    assert [m.text for m in find_mentions(cat, "زار تركيا")] == ["تركيا"]  # Arabic has no case


def test_exclude_phrases_veto_only_their_entity():
    cat = Catalog([
        Entity("usa", "place", {"en": "United States"}, {"en": ("US", "U.S.")}, exclude={"en": ("U.S. Open",)}),
        Entity("us-open", "event", {"en": "Open"}),
    ])
    assert [m.entity_id for m in find_mentions(cat, "the U.S. Open draw")] == ["us-open"]
    assert [m.entity_id for m in find_mentions(cat, "the U.S. envoy")] == ["usa"]
