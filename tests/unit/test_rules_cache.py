"""The compiled-rules cache (issue 16): keyed by the rules' content, a hit is the same matcher as a fresh build, and
a bad cache is only ignored."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from bot.rules.cache import PREFIX, build, compile_rules, rules_hash
from bot.rules.holder import RulesHolder

RULES = Path(__file__).resolve().parents[2] / "rules"
TEXTS = [
    "The Caesar Law was extended; واشنطن تمدد قانون قيصر وبقانون قيصر، وفي القرار 2254 والقرارين 2139 و2165.",
    "UN envoy Pedersen met Assad in Damascus; U.N. Security Council Resolution 2254 (2015) was cited.",
    "أصدر وزير الزراعة القرار رقم 2254 بشأن الأسمدة، وقال المبعوث الأممي إن الأمم المتحدة تتابع.",
    "Turkey's foreign minister and Iran's president discussed Hezbollah, the SDF and HTS in Ankara.",
]


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    return Path(shutil.copytree(RULES, tmp_path / "rules"))


def _mentions(compiled, texts: list[str]) -> list:
    return [compiled.matcher.match_text(t) for t in texts]


def test_a_cache_hit_is_the_fresh_build(rules: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = compile_rules(rules, cache)
    assert not first.cached and len(list(cache.glob(PREFIX + "*.pickle"))) == 1
    hit = compile_rules(rules, cache)
    assert hit.cached
    fresh = build(rules)
    # every entity's names as text, so every form of the catalogue is exercised
    texts = TEXTS + [" ، ".join(e.names.values()) for e in fresh.matcher.entities.values()]  # type: ignore[union-attr]
    assert _mentions(hit, texts) == _mentions(fresh, texts)
    assert sum(len(m.mentions) for m in _mentions(hit, texts)) > len(texts)
    assert hit.resolver is not None and hit.resolver.resolve("قانون قيصر") == fresh.resolver.resolve("قانون قيصر")  # type: ignore[union-attr]
    assert hit.warnings == fresh.warnings


def test_changing_one_alias_changes_the_hash_and_the_matcher(rules: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    before_hash = rules_hash(rules)
    before = compile_rules(rules, cache)
    laws = rules / "entities" / "laws.yaml"
    laws.write_text(laws.read_text(encoding="utf-8").replace("Caesar Law]", "Caesar Statute]"), encoding="utf-8")
    assert rules_hash(rules) != before_hash
    after = compile_rules(rules, cache)
    assert not after.cached
    old, new = "Lawmakers renewed the Caesar Law.", "Lawmakers renewed the Caesar Statute."
    assert [m.entity_id for m in before.matcher.match_text(old).mentions] == ["caesar-act"]  # type: ignore[union-attr]
    assert after.matcher.match_text(old).mentions == ()  # type: ignore[union-attr]
    assert [m.entity_id for m in after.matcher.match_text(new).mentions] == ["caesar-act"]  # type: ignore[union-attr]
    assert len(list(cache.glob(PREFIX + "*.pickle"))) == 1  # the stale entry is gone


def test_a_corrupt_cache_is_ignored_with_one_line(rules: Path, tmp_path: Path, caplog) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / f"{PREFIX}{rules_hash(rules)}.pickle").write_bytes(b"not a pickle")
    with caplog.at_level(logging.WARNING, logger="bot.rules.cache"):
        compiled = compile_rules(rules, cache)
    assert compiled.matcher is not None and not compiled.cached
    assert len([r for r in caplog.records if r.name == "bot.rules.cache"]) == 1
    assert compile_rules(rules, cache).cached  # rewritten


def test_an_unwritable_cache_is_ignored_with_one_line(rules: Path, tmp_path: Path, caplog) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("x")
    with caplog.at_level(logging.WARNING, logger="bot.rules.cache"):
        holder = RulesHolder(rules, blocked / "cache")
    assert [m.entity_id for m in holder.in_force().rules.match_text("Caesar Act").mentions] == ["caesar-act"]
    assert len([r for r in caplog.records if r.name == "bot.rules.cache"]) == 1


async def test_reload_swaps_matcher_and_resolver_together(rules: Path, tmp_path: Path) -> None:
    holder = RulesHolder(rules, tmp_path / "cache")
    first = holder.current()
    assert (await holder.reload_if_changed()).changed is False
    laws = rules / "entities" / "laws.yaml"
    laws.write_text(laws.read_text(encoding="utf-8").replace("Caesar Law]", "Caesar Statute]"), encoding="utf-8")
    assert (await holder.reload_if_changed()).changed is True
    matcher, resolver = holder.current()
    assert matcher is not first[0] and resolver.matcher is matcher
    assert (tmp_path / "cache" / f"{PREFIX}{rules_hash(rules)}.pickle").exists()  # built by the child process
    laws.write_text(laws.read_text(encoding="utf-8") + "  - {id: caesar-act, type: law}\n", encoding="utf-8")
    broken = await holder.reload_if_changed()
    assert broken.errors and broken.new_errors and not broken.changed
    assert holder.current() == (matcher, resolver)  # the last good rules stay
    assert [m.entity_id for m in matcher.match_text("the Caesar Statute").mentions] == ["caesar-act"]


def test_a_cache_built_by_the_child_process_is_read_here(rules: Path, tmp_path: Path, caplog) -> None:
    from bot.rules.cache import prepare_aside, read_header

    cache = tmp_path / "cache"
    with caplog.at_level(logging.WARNING, logger="bot.rules.cache"):
        path = prepare_aside(rules, cache)  # built and written by `python -m bot.rules.cache`
        assert path is not None and read_header(path) is not None
        hit = compile_rules(rules, cache)
    assert hit.cached and not caplog.records  # read as it was written: no "ignored", no rebuild here
    assert [m.entity_id for m in hit.matcher.match_text("Caesar Act").mentions] == ["caesar-act"]  # type: ignore[union-attr]
