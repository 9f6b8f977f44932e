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
    assert _ids(m, "a process based on Res. 2254, diplomats said") == {"unsc-2254"}
    assert _ids(m, "The House passed H. Res. 2254 on Tuesday") == set()  # Congress's, not the Council's


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


GUARD_RULES = """version: 1
entities:
  - id: hariri
    type: person
    names: {en: Rafik Hariri, ar: رفيق الحريري}
    context: {aliases: {ar: [الحريري], en: [Hariri]}, otherwise: keep}
  - id: powell
    type: person
    names: {en: Colin Powell}
    context: {aliases: {en: [Powell]}, otherwise: keep}
  - {id: lebanon, type: place, names: {en: Lebanon, ar: لبنان}, aliases: {en: [Beirut]}}
  - {id: georgia, type: place, names: {en: Georgia, ar: جورجيا}, aliases: {en: [Tbilisi]}}
  - {id: jordan, type: place, names: {en: Jordan, ar: الأردن}, aliases: {en: [Jordanian, Amman], ar: [عمان]}}
  - {id: palmyra, type: place, names: {en: Palmyra, ar: تدمر}}
  - {id: usa, type: place, names: {en: United States, ar: الولايات المتحدة}, aliases: {ar: [الأمريكية]}}
"""


def test_named_after_another_given_name_and_namesakes_are_dropped(tmp_path: Path) -> None:
    """The built-in checks (bot/extract/guards.py) hold for any entity of the type, plain or ambiguous form."""
    m = _matcher(tmp_path, GUARD_RULES)
    # named after the person: an airport, a stadium, a street (before the name in Arabic, after it in English)
    assert _ids(m, "هبطت الطائرة في مطار رفيق الحريري الدولي") == set()
    assert _ids(m, "Flights resumed to Rafik Hariri International Airport on Monday") == set()
    assert _ids(m, "The Hariri Foundation awarded 40 scholarships") == set()
    # another given name before the bare surname (Latin capitals; a list of Arabic given names)
    assert _ids(m, "Fed chair Jerome Powell kept rates on hold") == set()
    assert _ids(m, "أعلن بهاء الحريري ترشحه") == set()
    # ... but not a title, a sentence-starting word, another mention or the entity's own first name
    assert _ids(m, "Secretary Powell flew to Beirut") == {"powell", "lebanon"}
    assert _ids(m, "Then Powell flew in") == {"powell"}
    assert _ids(m, "قال رفيق الحريري إن الحكومة مستمرة") == {"hariri"}
    assert _ids(m, "Colin Powell spoke") == {"powell"}
    # a namesake elsewhere: a US state after the place, or called a US state
    assert _ids(m, "A butcher in Lebanon, Pennsylvania, smokes bologna") == set()
    assert _ids(m, "ضرب إعصار ولاية جورجيا الأمريكية") == {"usa"}
    assert _ids(m, "Talks in Tbilisi, Georgia, ended") == {"georgia"}  # the entity's own name is no namesake
    assert _ids(m, "Lebanon, Georgia and Ukraine voted") == {"lebanon", "georgia"}  # a list of states


def test_capital_as_a_venue_person_named_like_a_place_and_us_namesakes(tmp_path: Path) -> None:
    m = _matcher(tmp_path, GUARD_RULES)
    # a capital that stands for its state, used as the venue of a sports, cultural or food event
    assert _ids(m, "Thousands of runners took part in the Beirut Marathon on Sunday") == set()
    assert _ids(m, "أحيت فرقة حفلا موسيقيا في عمان مساء الجمعة") == set()
    # ... but not in a sentence of politics, nor the state's own name, nor a city that is its own entity
    assert _ids(m, "Ministers met in Beirut after the marathon talks on the border") == {"lebanon"}
    assert _ids(m, "Lebanon won the basketball tournament") == {"lebanon"}
    assert _ids(m, "Tourists returned to the museum in Palmyra") == {"palmyra"}
    # a place whose name is also a given name, inside a person's name (not in a Title Case headline)
    assert _ids(m, "Jordan Henderson scored twice on Saturday") == set()
    assert _ids(m, "a documentary about Michael Jordan and the Bulls") == set()
    assert _ids(m, "Jordan Reopens Border Crossing With Syria") == {"jordan"}
    assert _ids(m, "King Abdullah of Jordan met Georgia's president") == {"jordan", "georgia"}
    # a namesake in the US: "X County", or a sentence about a US state that names nothing else
    assert _ids(m, "Lebanon County commissioners approved the budget") == set()
    assert _ids(m, "Palmyra borough council in Pennsylvania voted to repave three streets") == set()
    assert _ids(m, "Jordanian troops moved to the Palmyra front, officials said in Ohio") == {"jordan", "palmyra"}
    # "island" and "west" are words of two-word US states (Rhode Island, West Virginia), not states themselves
    assert _ids(m, "Tbilisi held drills near the island and on the west bank, state media said") == {"georgia"}
    assert _ids(m, "Palmyra, a village in Rhode Island, flooded") == set()


def test_explain_names_the_guard_that_dropped_a_mention(tmp_path: Path) -> None:
    m = _matcher(tmp_path, GUARD_RULES)
    decided = m.explain_text("The Rafik Hariri Stadium reopened")
    assert [(d.entity_id, d.text, d.kept) for d in decided] == [("hariri", "Rafik Hariri", False),
                                                                 ("hariri", "Hariri", False)]
    assert all("named after: 'stadium'" in d.reason for d in decided)


def test_likely_forms_are_kept_without_evidence_and_dropped_when_refuted(tmp_path: Path) -> None:
    rules = RULES + """  - id: fletcher
    type: person
    names: {en: Tom Fletcher}
    context:
      aliases: {en: [Fletcher]}
      likely: {en: [Tom Fletcher]}
      confirm: {en: [UN]}
      refute: {en: [singer, McFly]}
"""
    m = _matcher(tmp_path, rules)
    assert _ids(m, "Tom Fletcher arrived in Port Sudan on Monday") == {"fletcher"}  # likely: kept
    assert _ids(m, "Fletcher arrived in Port Sudan on Monday") == set()  # an alias: otherwise drop
    assert _ids(m, "Tom Fletcher, the McFly singer, released an album") == set()  # refuted
    decided = m.explain_text("Tom Fletcher arrived")
    assert decided[0].kept and "'likely' form" in decided[0].reason
    (tmp_path / "r.yaml").write_text(RULES.replace("aliases: {ar: [الأسد]}", "window: 5"), encoding="utf-8")
    assert any("context needs 'aliases' or 'likely'" in e for e in load_rules(tmp_path).errors)


def test_a_surname_that_speaks_in_a_sentence_about_politics_is_kept(tmp_path: Path) -> None:
    m = _matcher(tmp_path)
    assert _ids(m, "وقال الأسد إن الحكومة ستواصل الإصلاحات") == {"assad"}  # a verb of saying + politics
    assert _ids(m, "وقال الأسد إن الطقس جميل اليوم") == set()  # no politics: no evidence, otherwise drop
    assert _ids(m, "زأر الأسد أمام الحكومة") == set()  # زأر (roared) normalizes like زار (visited): not a verb here
    assert _ids(m, "صورة الأسد أمام مبنى الحكومة") == set()  # politics but no verb of saying or doing before it
    decided = m.explain_text("وقال الأسد إن الحكومة ستواصل الإصلاحات")
    assert decided[0].kept and "speaks or acts" in decided[0].reason


def test_family_members_and_sports_sentences_drop_a_bare_surname(tmp_path: Path) -> None:
    m = _matcher(tmp_path, GUARD_RULES)
    assert _ids(m, "Powell saved two match points before winning the tiebreak") == set()  # sports, no politics
    assert _ids(m, "Powell told the Security Council that the tournament of lies must end") == {"powell"}  # politics
    assert _ids(m, "وكان رفيق الحريري الأب قد افتتح المبنى") == set()  # another member of the family
    assert _ids(m, "ناقش رفيق الحريري، الحفيد، أطروحته") == set()
    assert _ids(m, "Colin Powell Sr. was a Jamaican immigrant") == set()


def test_a_hamza_initial_name_is_not_taken_for_the_article(tmp_path: Path) -> None:
    """ألماني normalizes to الماني; its ال is part of the word, so the article and clitics may still come first."""
    rules = RULES + "  - {id: germany, type: place, names: {en: Germany, ar: ألمانيا}, aliases: {ar: [ألماني, ألمانية]}}\n"
    m = _matcher(tmp_path, rules)
    assert _ids(m, "قالت الحكومة الألمانية إن المستشار الألماني سيزور دمشق") == {"germany", "syria"}
    assert _ids(m, "وللألمانية رأي آخر") == {"germany"}


def test_a_likely_form_with_the_article_is_kept_in_its_lil_spelling(tmp_path: Path) -> None:
    rules = RULES + """  - id: unga
    type: organization
    names: {en: UN General Assembly}
    context: {likely: {ar: [الجمعية العامة, اللجنة الخاصة]}, refute: {ar: [المساهمين]}}
"""
    m = _matcher(tmp_path, rules)
    assert _ids(m, "قدم الوفد مشروعا للجمعية العامة") == {"unga"}  # ل + الجمعية, written للجمعية
    assert _ids(m, "رفع تقريرا للجنة الخاصة") == {"unga"}  # ل + اللجنة, written للجنة
    assert _ids(m, "دعت الشركة الجمعية العامة للمساهمين") == set()  # refuted


def test_kept_ambiguous_mentions_are_evidence_and_a_refuted_name_takes_its_parts(tmp_path: Path) -> None:
    rules = RULES + """  - id: envoy
    type: organization
    names: {en: Office of the UN envoy}
    context: {aliases: {ar: [المبعوث الدولي]}, confirm_entities: [geneva]}
  - id: geneva
    type: event
    names: {en: Geneva process}
    context: {likely: {ar: [محادثات جنيف], en: [Berlin talks]}, refute: {en: [Balkans]}}
  - {id: germany, type: place, names: {en: Germany}, aliases: {en: [Berlin]}}
"""
    m = _matcher(tmp_path, rules)
    # the envoy is confirmed by محادثات جنيف, itself an ambiguous (likely) mention kept in the first pass
    assert _ids(m, "واقترح المبعوث الدولي خلال محادثات جنيف جدولا") == {"envoy", "geneva"}
    assert _ids(m, "واقترح المبعوث الدولي جدولا جديدا") == set()
    # a name of several words refuted by its context takes the names inside it along
    assert _ids(m, "Leaders of the Balkans met for the Berlin talks") == set()
    assert _ids(m, "Leaders met for the Berlin talks on Syria") == {"geneva", "syria"}
    decided = {d.text: d for d in m.explain_text("Balkans leaders met for the Berlin talks")}
    assert not decided["Berlin"].kept and "which its context refutes" in decided["Berlin"].reason


MORPH_RULES = """version: 1
entities:
  - id: egypt
    type: place
    names: {en: Egypt}
    context: {likely: {ar: [مصر]}, refute: {en: [zzz]}}
  - id: daraa
    type: place
    names: {en: Daraa}
    context: {likely: {ar: [درعا]}, refute: {en: [zzz]}}
"""


def test_diacritics_decide_with_camel_tools_morphology_only_when_its_data_is_installed(tmp_path: Path) -> None:
    """Tanween always says "not a name"; camel-tools' analyzer (a tiny database the test writes) decides other
    diacritized words, and only when CAMELTOOLS_DATA holds its data; it is never imported at start-up."""
    import json

    from tests.fakes.cli import run
    from tests.fakes.morphology import camel_data

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yaml").write_text(MORPH_RULES, encoding="utf-8")

    def kept(text: str, env: dict) -> dict[str, bool]:
        out = run(["explain", text, "--rules", str(rules), "--json"], cwd=tmp_path, env=env)
        assert out.returncode == 0, out.stderr
        return {c["id"]: c["kept"] for line in out.stdout.splitlines() for c in json.loads(line)["candidates"]}

    no_data = {"CAMELTOOLS_DATA": str(tmp_path / "nowhere")}
    assert kept("تسلم القائد درعاً تكريمياً", no_data) == {"daraa": False}  # tanween, no camel-tools needed
    assert kept("قال إنه مُصِرّ على البقاء", no_data) == {"egypt": True}  # without the data: no morphology
    data = {"CAMELTOOLS_DATA": str(camel_data(tmp_path / "ct"))}
    assert kept("قال إنه مُصِرّ على البقاء", data) == {"egypt": False}  # only the adjective agrees
    assert kept("زار الوفد مِصْر أمس", data) == {"egypt": True}  # the proper noun agrees
    assert kept("زار الوفد مصر أمس", data) == {"egypt": True}  # no diacritics: nothing to tell
    probe = run(["check", "--rules", str(rules)], cwd=tmp_path, env=data)
    assert probe.returncode == 0, probe.stderr
    import subprocess
    import sys
    imported = subprocess.run([sys.executable, "-c", "import sys, bot.app, bot.cli, bot.extract.mentions; "
                               "print('camel_tools.morphology' in sys.modules, 'camel_tools.data' in sys.modules)"],
                              capture_output=True, text=True, env={**data, "PATH": ""}, check=True)
    assert imported.stdout.split() == ["False", "False"]
