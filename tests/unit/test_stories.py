from datetime import datetime, timedelta

import pytest

from bot.evaluate import evaluate_stories
from bot.extract.matcher import Matcher
from bot.rules.load import load_rules
from bot.stories import StoryCandidate, StoryIndex, canonical_url, fingerprint, same_story
from tests.conftest import RULES


@pytest.mark.parametrize(("a", "b"), [
    ("https://www.site.example/a/1/?utm_source=rss&utm_medium=feed", "http://site.example/a/1"),
    ("https://m.site.example/a/1?fbclid=x#comments", "https://site.example/a/1"),
    ("https://site.example/a/1/amp", "https://site.example/a/1"),
    ("https://site.example/a?b=2&a=1&gclid=z", "https://site.example/a?a=1&b=2"),
])
def test_canonical_url_strips_tracking_and_variants(a, b):
    assert canonical_url(a) == canonical_url(b)


def test_canonical_url_keeps_what_matters():
    assert canonical_url("https://site.example/a?id=1") != canonical_url("https://site.example/a?id=2")
    assert canonical_url("ftp://x/y") is None and canonical_url("") is None


def cand(n, title, summary="", hours=0, lang="en", url=None, entities=()):
    return StoryCandidate(n, n, url, fingerprint(title, summary), lang, frozenset(entities),
                          datetime(2026, 1, 1) + timedelta(hours=hours))


def test_near_duplicates_within_a_day_join_the_first_story():
    first = cand(1, "Washington extends Caesar Act sanctions waiver", "The U.S. Treasury said the waiver allows "
                 "investment in Syria's energy sector.")
    rewrite = cand(2, "US extends Caesar Act sanctions waiver again", "The Treasury said the waiver allows "
                   "investment in Syria's energy sector.", hours=3)
    later = cand(3, "Washington extends Caesar Act sanctions waiver", "The U.S. Treasury said the waiver allows "
                 "investment in Syria's energy sector.", hours=30)
    assert same_story(rewrite, first) and not same_story(later, first)
    index = StoryIndex()
    index.add(first)
    assert index.find(rewrite) == 1 and index.find(later) is None


def test_languages_join_on_several_shared_entities_and_numbers():
    ents = ("geir-pedersen", "unsc", "unsc-2254", "constitutional-committee")
    en = cand(1, "Pedersen briefs the Council on 2254", hours=0, entities=ents)
    ar = cand(2, "بيدرسون يطلع المجلس على القرار 2254", lang="ar", hours=1, entities=ents)
    other_number = cand(3, "بيدرسون يطلع المجلس على القرار 2118", lang="ar", hours=1, entities=ents)
    few = cand(4, "روسيا وسوريا 2254", lang="ar", hours=1, entities=("russia", "syria"))
    assert same_story(ar, en) and not same_story(other_number, en) and not same_story(few, en)


def test_labelled_pairs_are_measured():
    """Both files, per split and per kind. The figures pinned are those reported for issue 15: grouping never
    put two different stories together (precision 1.0 on dev and on the held-out split); recall is low on
    rewrites, follow-ups and cross-language pairs that share few words or entities (see the README)."""
    eval_dir = RULES.parent / "eval"
    paths = [eval_dir / "story_pairs.yaml", eval_dir / "story_pairs_blind.yaml"]
    report = evaluate_stories(Matcher(load_rules(RULES)), paths)
    assert report.pairs == 42 + 170
    assert report.by_split["dev"].precision == 1.0 and report.by_split["test"].precision == 1.0
    assert report.by_split["dev"].recall >= 0.36 and report.by_split["test"].recall >= 0.2
    assert report.by_kind["dev republish"].recall == 1.0 and report.by_kind["test republish"].recall == 1.0
    held_out = evaluate_stories(Matcher(load_rules(RULES)), paths, "test")
    assert held_out.pairs == 60 and set(held_out.by_split) == {"test"}


def test_the_same_words_about_another_place_are_another_story():
    lebanon = cand(1, "غوتيريش يدعو إلى وقف التصعيد في جنوب لبنان", lang="ar",
                   entities=("antonio-guterres", "lebanon", "un-secretariat"))
    sweida = cand(2, "غوتيريش يدعو إلى وقف التصعيد في السويداء", lang="ar", hours=5,
                  entities=("antonio-guterres", "suwayda", "un-secretariat"))
    again = cand(3, "غوتيريش يدعو إلى وقف التصعيد في جنوب لبنان", lang="ar", hours=2,
                 entities=("antonio-guterres", "lebanon", "un-secretariat"))
    assert not same_story(sweida, lebanon) and same_story(again, lebanon)


def test_story_index_finds_what_the_pairwise_rule_finds():
    index = StoryIndex()
    first = cand(1, "Washington extends Caesar Act sanctions waiver", "The U.S. Treasury said the waiver allows "
                 "investment in Syria's energy sector.", url="https://a.example/1")
    index.add(first)
    for n in range(2, 400):  # unrelated traffic
        index.add(cand(n, f"Unrelated story number {n} about weather", f"Rain {n}", hours=1))
    rewrite = cand(500, "US extends Caesar Act sanctions waiver again", "The Treasury said the waiver allows "
                   "investment in Syria's energy sector.", hours=3)
    same_url = cand(501, "Totally new headline", url="https://a.example/1", hours=2)
    other = cand(502, "Senate votes on defence bill", "Lawmakers approved the bill.", hours=2)
    assert index.find(rewrite) == 1 and index.find(same_url) == 1 and index.find(other) is None
    index.prune(datetime(2026, 1, 4))
    assert len(index) == 0 and index.find(rewrite) is None
