from bot.rules.load import load_rules
from tests.conftest import RULES

GOOD = """\
version: 1
entities:
  - id: caesar-act
    type: law
    names: {en: Caesar Act, ar: قانون قيصر}
  - id: unsc-2254
    type: resolution
    resolution: 2254
    names: {en: UN Security Council Resolution 2254, ar: قرار مجلس الأمن 2254}
watchlists:
  - id: syria-process
    names: {en: Syria political process, ar: العملية السياسية في سوريا}
    any: [unsc-2254, caesar-act]
"""


def test_shipped_rules_load_without_errors():
    rules = load_rules(RULES)
    assert rules.errors == []
    assert "caesar-act" in rules.entities and "syria-process" in rules.watchlists


def test_good_file(write_rules):
    rules = load_rules(write_rules({"a.yaml": GOOD}))
    assert rules.ok
    assert rules.entities["unsc-2254"].resolution == 2254
    assert rules.watchlists["syria-process"].any == ("unsc-2254", "caesar-act")
    assert rules.entities["caesar-act"].source.endswith("a.yaml:3")


def test_bad_yaml_reports_file_and_line(write_rules):
    rules = load_rules(write_rules({"ok.yaml": GOOD, "bad.yaml": "entities:\n  - id: x\n    names: [unclosed\n"}))
    assert len(rules.errors) == 1
    assert rules.errors[0].startswith("rules/bad.yaml:") or "bad.yaml:" in rules.errors[0]
    assert "invalid YAML" in rules.errors[0]
    assert "caesar-act" in rules.entities  # the other file still loads


def test_all_errors_collected_with_lines(write_rules):
    text = """\
version: 1
entities:
  - id: good
    type: place
    names: {en: Good Place}
  - id: Bad_Id
    type: place
    names: {en: Bad}
  - id: wrong-type
    type: planet
    names: {en: Mars}
  - id: no-number
    type: resolution
    names: {en: Some resolution}
  - id: good
    type: place
    names: {en: Duplicate}
  - id: typo
    type: place
    name: {en: Typo}
watchlists:
  - id: wl
    names: {en: WL}
    any: [good, missing-entity]
    none: [also-missing]
  - id: empty
    names: {en: Empty}
"""
    rules = load_rules(write_rules({"many.yaml": text}))
    errors = "\n".join(rules.errors)
    assert "many.yaml:6: entity 'Bad_Id': id:" in errors
    assert "many.yaml:10: entity 'wrong-type': type:" in errors
    assert "many.yaml:12: entity 'no-number':" in errors and "resolution" in errors
    assert "many.yaml:15: duplicate id 'good'" in errors and "first defined at" in errors
    assert "many.yaml:20: entity 'typo': name: unknown key" in errors
    assert "many.yaml:24: watchlist 'wl': any: unknown entity id 'missing-entity'" in errors
    assert "many.yaml:25: watchlist 'wl': none: unknown entity id 'also-missing'" in errors
    assert "many.yaml:26: watchlist 'empty':" in errors
    assert len(rules.errors) == 9  # typo also misses 'names'
    assert not any("Traceback" in e for e in rules.errors)


def test_duplicate_id_across_files(write_rules):
    other = "entities:\n  - id: caesar-act\n    type: law\n    names: {en: Again}\n"
    rules = load_rules(write_rules({"a.yaml": GOOD, "sub/b.yaml": other}))
    assert any("b.yaml:2: duplicate id 'caesar-act'" in e and "a.yaml:3" in e for e in rules.errors)


def test_wrong_shapes(write_rules):
    rules = load_rules(write_rules({
        "list.yaml": "- just a list\n",
        "key.yaml": "version: 1\nentitys: []\n",
        "ver.yaml": "version: 2\n",
        "ents.yaml": "entities: {id: x}\n",
        "item.yaml": "entities:\n  - plain string\n",
    }))
    errors = "\n".join(rules.errors)
    assert "list.yaml:1: a rules file must be a mapping" in errors
    assert "key.yaml:2: unknown top-level key 'entitys'" in errors
    assert "ver.yaml:1: unsupported rules version 2" in errors
    assert "ents.yaml:1: 'entities' must be a list" in errors
    assert "item.yaml:2: each item of 'entities' must be a mapping" in errors


def test_empty_or_missing_directory_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    assert "no entities defined" in load_rules(tmp_path / "empty").errors[0]
    assert "not found" in load_rules(tmp_path / "nope").errors[0]


def test_alias_empty_once_normalized(write_rules):
    text = "entities:\n  - id: x\n    type: topic\n    names: {en: X}\n    aliases: {ar: ['\u064e\u064f']}\n"
    rules = load_rules(write_rules({"a.yaml": text}))
    assert any("empty once normalized" in e for e in rules.errors)


def test_lint_warns_about_short_common_and_shared_aliases(write_rules):
    text = """\
entities:
  - id: a
    type: topic
    names: {en: Alpha}
    aliases: {en: [ab, the], ar: [في]}
  - id: b
    type: topic
    names: {en: Beta}
    aliases: {en: [Alpha]}
  - id: c
    type: organization
    names: {en: UN}
"""
    rules = load_rules(write_rules({"a.yaml": text}))
    assert rules.ok
    warnings = "\n".join(rules.warnings)
    assert "'ab' is too short" in warnings
    assert "'the' is a common word" in warnings
    assert "'في'" in warnings
    assert "shared by entities a, b" in warnings
    assert "'UN'" not in warnings  # capitals are safe: they match only capitals


def test_yaml_1_2_words_stay_words(write_rules):
    """`NO` (Norway), `on`, `yes` are strings as in YAML 1.2, not booleans; an unquoted `version: 1` is the number."""
    text = ("version: 1\nentities:\n  - id: norway\n    type: place\n    names: {en: Norway, ar: النرويج}\n"
            "    aliases: {en: [NO, Kingdom of Norway]}\n    match_case: true\n  - id: on-topic\n    type: topic\n"
            "    names: {en: on}\n    aliases: {en: [yes]}\n")
    rules = load_rules(write_rules({"a.yaml": text}))
    assert rules.errors == []
    assert rules.entities["norway"].aliases["en"] == ("NO", "Kingdom of Norway")
    assert rules.entities["on-topic"].names == {"en": "on"} and rules.entities["on-topic"].aliases["en"] == ("yes",)


def test_an_anchor_is_an_error_with_its_line(write_rules):
    anchored = GOOD.replace("names: {en: Caesar Act, ar: قانون قيصر}", "names: &n {en: Caesar Act, ar: قانون قيصر}")
    rules = load_rules(write_rules({"a.yaml": anchored, "b.yaml": GOOD.replace("caesar", "other").replace(
        "unsc-2254", "unsc-9999")}))
    assert [e.split("rules/", 1)[-1] for e in rules.errors] == [
        "a.yaml:5: YAML anchors and aliases (&n, *n) are not accepted: write each value out in full"]
