"""The shipped catalogue: size, coverage the product promises, spelling variants, and measured quality."""

from pathlib import Path

import pytest

from bot.evaluate import EvalSetError, evaluate, load_eval_set
from bot.extract.matcher import Matcher
from bot.rules.load import load_rules
from tests.conftest import RULES

EVAL_SET = RULES.parent / "eval" / "items.yaml"


@pytest.fixture(scope="module")
def rules():
    loaded = load_rules(RULES)
    assert loaded.errors == []
    return loaded


@pytest.fixture(scope="module")
def matcher(rules):
    return Matcher(rules)


def test_at_least_400_bilingual_entities_and_no_lint_warnings(rules):
    assert len(rules.entities) >= 400
    missing = [e.id for e in rules.entities.values() if not (e.names.get("en") and e.names.get("ar"))]
    assert missing == []
    assert rules.warnings == []


REQUIRED = {
    "un bodies": ["unsc", "unga", "ocha", "unhcr", "opcw", "osese", "osesgy", "undof", "unifil"],
    "regional": ["arab-league", "gcc", "eu", "african-union", "oic"],
    "resolutions": [f"unsc-{n}" for n in (2254, 2118, 2139, 2165, 2401, 2585, 2642, 2672, 1701, 2231, 2216, 2259,
                                          2334, 1559)],
    "sanctions": ["caesar-act", "caatsa", "magnitsky-act", "captagon-act", "eu-syria-sanctions", "ofac-sdn"],
    "processes": ["geneva-process", "astana-format", "sochi-congress", "constitutional-committee",
                  "arab-contact-group", "small-group", "jcpoa", "berlin-process"],
    "places": ["bab-al-hawa", "bab-al-salam", "idlib", "golan", "al-tanf"],
}


@pytest.mark.parametrize("group", sorted(REQUIRED))
def test_required_coverage(rules, group):
    assert [i for i in REQUIRED[group] if i not in rules.entities] == []


def test_required_watchlists(rules):
    for wl in ("syria-process", "sanctions", "chemical-weapons", "humanitarian-access", "libya-track",
               "yemen-track", "iran-nuclear"):
        assert wl in rules.watchlists


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("ترمب", "donald-trump"), ("ترامب", "donald-trump"), ("بيدرسون", "geir-pedersen"),
        ("بيدرسن", "geir-pedersen"), ("سيرغي لافروف", "sergei-lavrov"), ("سيرجي لافروف", "sergei-lavrov"),
        ("الروسي", "russia"), ("الروسية", "russia"), ("روسي", "russia"), ("موسكو", "russia"),
        ("Washington", "usa"), ("Moscow", "russia"), ("قانون قيصر", "caesar-act"), ("Caesar Act", "caesar-act"),
        ("OPCW", "opcw"), ("UNDOF", "undof"), ("اليونيفيل", "unifil"), ("Bab al-Hawa", "bab-al-hawa"),
        ("معبر باب السلامة", "bab-al-salam"), ("التنف", "al-tanf"), ("الجولان", "golan"), ("Idleb", "idlib"),
        ("مسار أستانة", "astana-format"), ("Small Group on Syria", "small-group"), ("JCPOA", "jcpoa"),
        ("مؤتمر سوتشي", "sochi-congress"), ("Berlin process on Libya", "berlin-process"),
    ],
)
def test_spelling_variants_resolve(matcher, text, entity):
    assert entity in matcher.match_text(text).entity_ids


@pytest.mark.parametrize("split", ["dev", "test"])
def test_measured_quality_per_language(matcher, rules, split):
    items = [i for i in load_eval_set(EVAL_SET, set(rules.entities)) if i.split == split]
    report = evaluate(matcher, items)
    for lang in ("ar", "en"):
        assert report.entities[lang].f1 >= 0.97, (lang, report.misses, report.false_alarms)


def test_eval_set_is_large_enough_and_mostly_arabic(rules):
    items = load_eval_set(EVAL_SET, set(rules.entities))
    assert len(items) >= 200
    assert sum(1 for i in items if i.lang == "ar") * 2 >= len(items)
    assert sum(1 for i in items if i.split == "test") >= 60
    assert sum(1 for i in items if i.hard_negative) >= 30


def test_dev_hard_negatives_raise_no_false_alarm(matcher, rules):
    items = [i for i in load_eval_set(EVAL_SET, set(rules.entities)) if i.split == "dev"]
    assert evaluate(matcher, items).hard_negative_false_alarms == []


def test_eval_set_errors_have_lines(tmp_path: Path):
    path = tmp_path / "items.yaml"
    path.write_text("items:\n  - {id: a, split: dev, lang: ar, text: x, entities: [nope]}\n"
                    "  - {id: b, split: later, lang: en, text: y}\n", encoding="utf-8")
    with pytest.raises(EvalSetError) as info:
        load_eval_set(path, {"caesar-act"})
    text = "\n".join(info.value.messages)
    assert "items.yaml:2: item 'a': unknown entity id 'nope'" in text
    assert "items.yaml:3: item 2: split:" in text
