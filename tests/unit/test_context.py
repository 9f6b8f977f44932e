"""Per-mention context decisions (issue 13): the rules' ``context:`` key, explain, lint, missed forms."""

from __future__ import annotations

from pathlib import Path

from bot.extract.matcher import Matcher
from bot.rules.load import load_rules

RULES = """version: 1
entities:
  - id: assad
    type: person
    names: {en: Bashar al-Assad, ar: بشار الأسد}
    exclude: {ar: [بحيرة الأسد]}
    context:
      aliases: {ar: [الأسد]}
      confirm: {ar: [الرئيس]}
      refute: {ar: [حديقة, شبل*]}
      confirm_entities: [syria]
  - {id: syria, type: place, names: {en: Syria, ar: سوريا}, aliases: {ar: [دمشق]}}
  - {id: caesar-act, type: law, names: {en: Caesar Act, ar: قانون قيصر}}
  - {id: unsc-2254, type: resolution, resolution: 2254, names: {en: UNSC Resolution 2254}}
"""


def _matcher(tmp_path: Path, text: str = RULES) -> Matcher:
    (tmp_path / "r.yaml").write_text(text, encoding="utf-8")
    rules = load_rules(tmp_path)
    assert rules.ok, rules.errors
    return Matcher(rules)


def _ids(matcher: Matcher, text: str) -> set[str]:
    return set(matcher.match_text(text).entity_ids)


def test_ambiguous_alias_is_decided_by_evidence(tmp_path: Path) -> None:
    m = _matcher(tmp_path)
    assert _ids(m, "وقال الأسد إن دمشق لن تقبل شروطا") == {"assad", "syria"}  # confirm_entities
    assert _ids(m, "استقبل الرئيس الأسد الوفد") == {"assad"}  # confirm cue
    assert _ids(m, "ولادة شبلين لأنثى الأسد في حديقة الحيوانات") == set()  # refute cues (prefix cue)
    assert _ids(m, "تراجع منسوب بحيرة الأسد في سوريا") == {"syria"}  # blocking longer name
    assert _ids(m, "زأر الأسد طويلا") == set()  # no evidence: otherwise drop


def test_explain_lists_every_candidate_with_its_reason(tmp_path: Path) -> None:
    m = _matcher(tmp_path)
    decided = m.explain_text("زأر الأسد في حديقة الحيوانات")
    assert [(d.entity_id, d.kept, d.ambiguous) for d in decided] == [("assad", False, True)]
    assert "refute cue" in decided[0].reason


def test_missed_forms_brackets_and_quotes(tmp_path: Path) -> None:
    m = _matcher(tmp_path)
    assert _ids(m, "وفق القرار رقم (٢٢٥٤).") == {"unsc-2254"}
    assert _ids(m, "بموجب قانون «قيصر» الأمريكي") == {"caesar-act"}
    assert _ids(m, 'the so-called "Caesar" Act') == {"caesar-act"}
    assert _ids(m, "قانون، قيصر") == set()  # a comma is not a quote


def test_context_errors_and_lint(tmp_path: Path) -> None:
    bad = RULES.replace("confirm_entities: [syria]", "confirm_entities: [nowhere]")
    (tmp_path / "r.yaml").write_text(bad, encoding="utf-8")
    rules = load_rules(tmp_path)
    assert any(e.endswith("unknown entity id 'nowhere'") and ":11:" in e for e in rules.errors), rules.errors
    bare = RULES.replace("      confirm: {ar: [الرئيس]}\n      refute: {ar: [حديقة, شبل*]}\n"
                         "      confirm_entities: [syria]\n", "")
    (tmp_path / "r.yaml").write_text(bare, encoding="utf-8")
    rules = load_rules(tmp_path)
    assert rules.ok and any("declare no confirm" in w for w in rules.warnings)


def test_shipped_catalogue_decides_bare_assad_and_sharaa() -> None:
    m = Matcher(load_rules("rules"))
    assert "bashar-al-assad" in _ids(m, "وقبل سقوط الأسد سيطرت الفصائل على حماة")
    assert "bashar-al-assad" not in _ids(m, "أعلنت حديقة الحيوانات ولادة شبلين لأنثى الأسد")
    assert "ahmed-al-sharaa" in _ids(m, "التقى الشرع في قصر الشعب وفدا تركيا")
    assert "ahmed-al-sharaa" not in _ids(m, "وأوضح المفتي أن الشرع أجاز قصر الصلاة")
