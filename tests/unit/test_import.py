"""/import goes through the rules loader: one document read against the catalogue, mapped to subscriptions."""

from __future__ import annotations

import pytest

from bot.alerts.i18n import t
from bot.commands.transfer import IMPORT_LIMITS, export_subscriptions, import_subscriptions
from bot.extract.matcher import Matcher
from bot.model import Target
from bot.rules.load import KnownIds, load_document, load_rules
from tests.conftest import RULES

KNOWN = KnownIds(entities={"caesar-act", "unsc-2254"}, watchlists={"syria-process"})


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_rules(RULES))


def imported(matcher: Matcher, text: str, language: str = "en"):
    return import_subscriptions(text.encode(), "f.yaml", matcher, language)


# ---------------------------------------------------------------- the loader, one document

def test_a_document_names_the_catalogue_and_defines_its_own():
    rules = load_document("entities:\n  - {id: mine, type: topic, names: {en: My words}}\n"
                          "watchlists:\n  - id: follows\n    names: {en: Follows}\n    any: [caesar-act, mine]\n",
                          "f.yaml", KNOWN)
    assert rules.errors == [] and rules.files == [] and rules.warnings == []
    assert list(rules.entities) == ["mine"] and rules.entities["mine"].source == "f.yaml:2"
    assert rules.watchlists["follows"].any == ("caesar-act", "mine")


def test_a_document_gets_the_errors_of_rasad_check_with_its_file_and_line():
    rules = load_document("version: 1\nfoo: 1\nwatchlists:\n  - id: mine\n    names: {en: Mine}\n"
                          "    any: [no-such-entity, syria-process]\n  - id: x\n  - 5\n", "mine.yaml", KNOWN)
    assert rules.errors == [
        "mine.yaml:2: unknown top-level key 'foo' (expected one of: version, entities, watchlists)",
        "mine.yaml:7: watchlist 'x': names: Field required",
        "mine.yaml:8: each item of 'watchlists' must be a mapping",
        "mine.yaml:6: watchlist 'mine': any: unknown entity id 'no-such-entity'",
        "mine.yaml:6: watchlist 'mine': any: unknown entity id 'syria-process' (that is a watchlist, not an entity)",
    ]


@pytest.mark.parametrize("text", ["", "# nothing\n", "[]\n", "just words\n"])
def test_a_document_must_be_a_mapping_even_an_empty_one(text):
    rules = load_document(text, "f.yaml", KNOWN)
    assert rules.errors == ["f.yaml:1: a rules file must be a mapping with 'entities:' and/or 'watchlists:'"]


def test_yaml_refusals_within_the_given_limits_in_the_given_language():
    rules = load_document("a: &x 1\n", "f.yaml", KNOWN, IMPORT_LIMITS, "ar")
    assert rules.errors == ["f.yaml:1: " + t("ar", "yaml.anchor", name="x")]
    too_big = b"#" * (IMPORT_LIMITS.max_bytes + 1)
    assert load_document(too_big, "f.yaml", KNOWN, IMPORT_LIMITS).errors == [
        "f.yaml:1: " + t("en", "yaml.too_large", size=IMPORT_LIMITS.max_bytes + 1, max=IMPORT_LIMITS.max_bytes)]


def test_catalogue_ids_stand_for_the_catalogue_definitions():
    # a copy of a shipped watchlist exported before the catalogue changed: its references are not resolved again;
    # a shipped entity's names are the catalogue's business; naming either twice is not a duplicate
    text = ("entities:\n  - {id: caesar-act, type: topic, names: {en: '...'}}\n"
            "  - {id: caesar-act, type: law, names: {en: Caesar Act}}\n"
            "watchlists:\n  - {id: syria-process, names: {en: S}, any: [since-removed]}\n"
            "  - {id: syria-process, names: {en: S}, any: [since-removed]}\n")
    rules = load_document(text, "f.yaml", KNOWN)
    assert rules.errors == []
    assert list(rules.entities) == ["caesar-act"] and list(rules.watchlists) == ["syria-process"]


def test_ids_the_document_defines_twice_are_refused_as_by_rasad_check():
    text = ("entities:\n  - {id: mine, type: topic, names: {en: One}}\n"
            "  - {id: mine, type: topic, names: {en: Two}}\n"
            "watchlists:\n  - {id: follows, names: {en: A}, any: [mine]}\n"
            "  - {id: follows, names: {en: B}, any: [mine]}\n")
    assert load_document(text, "f.yaml", KNOWN).errors == [
        "f.yaml:3: duplicate id 'mine' (entity); first defined at f.yaml:2",
        "f.yaml:6: duplicate id 'follows' (watchlist); first defined at f.yaml:5",
    ]


def test_only_what_a_subscription_follows_is_resolved_and_words_may_be_empty(write_rules):
    # `none` is not followed by an import, and an entity of the document is followed as its words: a form
    # without any (a lone tatweel) is simply not one of them. A rules directory refuses both.
    text = ("entities:\n  - {id: mine, type: topic, names: {en: Mine}, aliases: {ar: ['\u0640']}}\n"
            "watchlists:\n  - {id: follows, names: {en: A}, any: [mine], none: [not-defined]}\n")
    assert load_document(text, "f.yaml", KNOWN).errors == []
    errors = load_rules(write_rules({"f.yaml": text})).errors
    assert [e.rsplit("/", 1)[-1] for e in errors] == [
        "f.yaml:2: entity 'mine': ar name or alias '\u0640' is empty once normalized",
        "f.yaml:4: watchlist 'follows': none: unknown entity id 'not-defined'",
    ]


# ---------------------------------------------------------------- the import: loaded document → subscriptions

def test_export_then_import_gives_back_the_same_subscriptions(matcher):
    followed = [Target("entity", "caesar-act"), Target("entity", "unsc-2254"), Target("watchlist", "syria-process"),
                Target("phrase", "hello world"), Target("phrase", "no"), Target("phrase", "قانون جديد")]
    result = import_subscriptions(export_subscriptions(followed, matcher, "ar").encode(), "", matcher)
    assert result.errors == []
    assert result.watchlists == ["syria-process"]
    assert result.entities == ["caesar-act", "unsc-2254"]
    assert result.phrases == ["hello world", "no", "قانون جديد"]


def test_what_each_definition_makes_the_chat_follow(matcher):
    text = ("entities:\n  - {id: caesar-act, type: law, names: {en: Caesar Act}}\n"
            "  - {id: p, type: topic, names: {en: Alpha, ar: ألفا},\n"
            "     aliases: {en: [alpha beta, ALPHA], ar: ['\u0640']}}\n"
            "  - {id: q, type: topic, names: {en: Q words}}\n"
            "  - {id: unnamed, type: topic, names: {en: Left alone}}\n"
            "watchlists:\n  - {id: w, names: {en: W}, any: [q, p, unsc-2254], all: [caesar-act], none: [unnamed]}\n"
            "  - {id: syria-process, names: {en: S}, any: [q]}\n")
    result = imported(matcher, text)
    assert result.errors == []
    assert result.watchlists == ["syria-process"]
    assert result.entities == ["caesar-act", "unsc-2254"]
    # the words of the entities a watchlist names first, then those of the others; each once, normalized
    assert result.phrases == ["q words", "alpha", "الفا", "alpha beta", "left alone"]


def test_a_file_with_errors_imports_nothing(matcher):
    result = imported(matcher, "watchlists:\n  - {id: w, names: {en: W}, any: [caesar-act, nope]}\n")
    assert result.errors == ["f.yaml:2: watchlist 'w': any: unknown entity id 'nope'"]
    assert not (result.watchlists or result.entities or result.phrases)


def test_an_import_without_a_file_name_is_import_yaml(matcher):
    result = import_subscriptions(b"", "", matcher)
    assert result.errors == ["import.yaml:1: a rules file must be a mapping with 'entities:' and/or 'watchlists:'"]
