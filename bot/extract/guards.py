"""Built-in checks that drop a candidate mention whatever its form, from the words right around it (issue 13).

They cover the classes of false alarm that no entity-by-entity list can close, because the other referent is
open-ended:

* **named after** — a person's name inside the name of a place or an institution: مطار رفيق الحريري, ملعب
  الباسل, شارع ...; the Bassel al-Assad Stadium, the Rafik Hariri International Airport, the Carter Center;
* **another given name** — a person's bare surname right after a given name that is not the entity's own:
  Jerome Powell (not Colin), Mads Pedersen, Asma al-Assad; ماهر الأسد, بهاء الحريري (Arabic: from a list of
  common given names, as Arabic has no capitals);
* **a namesake elsewhere** — a place followed by a US state (Lebanon, Pennsylvania; Moscow, Idaho) or called a
  US state (ولاية جورجيا الأمريكية, the US state of Georgia).

Each check looks at one or two words next to the mention and returns the reason ``rasad explain`` prints, or None.
A person's full name is a longer mention than its surname alone, so "Bashar al-Assad" never reaches the
given-name check as a bare surname.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import ahocorasick

from bot.extract.context import sentence_bounds
from bot.model import Entity
from bot.text.lang import is_arabic_letter
from bot.text.normalize import normalize_key, word_spaced, word_spaced_once

_AR_INSTITUTIONS = frozenset(normalize_key(w) for w in (
    "مطار ملعب استاد ستاد شارع طريق أوتوستراد جادة ساحة مدرسة ثانوية إعدادية جامعة كلية معهد أكاديمية مستشفى "
    "مشفى مستوصف مسجد جامع جسر سد قاعة صالة مكتبة مؤسسة جمعية جائزة متحف مرفأ ميناء حديقة مركز نادي بطولة "
    "كأس دورة مدينة حي ضاحية ضريح تمثال نصب سفينة فرقاطة").split())
# words that may stand between the institution and the name: مطار الشهيد باسل الأسد, شارع الرئيس ...
_AR_HONORIFICS = frozenset(normalize_key(w) for w in "الشهيد الرئيس الراحل الملك الأمير الشيخ الدكتور الزعيم الإمام "
                           "الدولي الرياضي الوطني".split())
_EN_INSTITUTIONS = frozenset(
    "stadium airport street avenue road highway boulevard square bridge dam school university college hospital "
    "mosque library museum prize award foundation center centre hall park port institute academy trophy cup arena "
    "scholarship memorial tower towers lake mausoleum statue expressway freeway motorway".split())
_EN_PLACE_OF = frozenset("city town village port county province prefecture district".split())
_EN_BEFORE = frozenset("lake fort mount camp stade aeroport aéroport uss hms".split())
_EN_TITLES = frozenset(
    "president presidents minister ministers prime foreign defence defense interior deputy vice special envoy "
    "ambassador secretary chancellor premier leader commander speaker judge senator rep sen gov governor general "
    "gen lt col colonel field marshal crown prince princess king queen emir sheikh sheikha sultan mr mrs ms dr "
    "prof sir lord lady imam ayatollah mullah pope patriarch rabbi brother sister former late ousted exiled "
    "acting interim new old then chief spokesman spokeswoman spokesperson director un u.n. us u.s. uk eu "
    "under after before when while with without against for from by as and but or if since during about "
    "the a an of to in on at that this these those his her their its our your my says said told "
    # words that start a sentence before a name: "Then Assad ...", "Will Erdogan ..."
    "then now so even only both neither either why how what who whom whose where which will would did does do can "
    "could should shall may might must has have had is was are were not no yes meanwhile today yesterday tomorrow "
    "also still yet once here there thus hence later earlier first last next instead indeed perhaps maybe "
    "although though because unless until whether where whereas let tell ask meet call see".split())
_AR_GIVEN_NAMES = frozenset(normalize_key(w) for w in (
    "محمد أحمد محمود مصطفى علي حسن حسين عمر عثمان خالد وليد سعيد سعد سعود فهد فيصل عبدالله عبد سلمان سلطان "
    "ماهر باسل بهاء بشرى أسماء رفعت جميل مجد منذر فواز نمير ريم زين زينب فاطمة عائشة مريم سارة ليلى هند رنا "
    "يوسف إبراهيم إسماعيل إسحاق يعقوب موسى عيسى داود سليمان هارون زكريا يحيى إلياس جورج ميشال ميشيل بيار "
    "جبران سمير سامي سامر سليم كمال جمال نبيل نزار نادر ناصر منصور مروان هشام هاني رامي طارق زياد عماد "
    "إياد أيمن أنس أسامة بلال حمزة طلال عادل عاطف عصام غسان فادي فراس فؤاد قاسم كريم لؤي مازن معاذ "
    "مهند نضال هيثم وائل ياسر يزن الساعدي سيف هنيبعل المعتصم خميس عائشة حافظ بشار ناجي رياض شكري صلاح "
    "توفيق رشيد مجيد حميد عبدالرحمن عبدالعزيز عبدالكريم عبدالحميد عبدالقادر عبداللطيف").split())
_US_STATES = frozenset(
    "alabama alaska arizona arkansas california colorado connecticut delaware florida hawaii idaho illinois "
    "indiana iowa kansas kentucky louisiana maine maryland massachusetts michigan minnesota mississippi missouri "
    "montana nebraska nevada ohio oklahoma oregon pennsylvania tennessee texas utah vermont "
    "wisconsin wyoming pa tenn fla tex ky mich minn ill calif wis mass conn ore ariz".split()) | {
    "new hampshire", "new jersey", "new mexico", "north carolina", "north dakota", "rhode island",
    "south carolina", "south dakota", "west virginia"}
# Georgia, Washington and New York are left out: "Russia, Georgia and Ukraine", "Riyadh, Washington and Moscow".
_AR_US = frozenset(normalize_key(w) for w in ("الأمريكية", "الأميركية", "الامريكيه"))
_AR_STATE = normalize_key("ولاية")


def _spaced(folded: str) -> str:
    return word_spaced_once(folded)


def _words_before(folded: str, start: int, count: int) -> list[str]:
    return _spaced(folded)[max(0, start - 80):start].rsplit(None, count)[-count:]


def _words_after(folded: str, end: int, count: int) -> list[str]:
    return _spaced(folded)[end:end + 80].split(None, count)[:count]


def _adjacent_before(text: str, start: int) -> str | None:
    """The word right before ``start``, when only one space stands between them (no punctuation)."""
    if start < 2 or text[start - 1] != " " or not text[start - 2].isalnum():
        return None
    head = text[:start - 1]
    i = len(head)
    while i > 0 and (head[i - 1].isalnum() or head[i - 1] in "-'’."):
        i -= 1
    return head[i:] or None


def named_after(folded: str, start: int, end: int, own: frozenset[str]) -> str | None:
    before = _words_before(folded, start, 4)
    for i in range(len(before) - 1, -1, -1):
        word = before[i]
        if word in _AR_INSTITUTIONS or _strip_ar_proclitic(word) in _AR_INSTITUTIONS:
            return f"named after: {word!r} before the name (a place or institution named after the person)"
        if word in _EN_BEFORE and i == len(before) - 1:
            return f"named after: {word!r} before the name"
        if word == "of" and i == len(before) - 1 and i > 0 and before[i - 1] in _EN_PLACE_OF:
            return f"named after: {before[i - 1]!r} of before the name (a place called so)"
        if word not in _AR_HONORIFICS and word not in own:  # مطار الشهيد رفيق الحريري for الحريري
            break
    after = _words_after(folded, end, 2)
    if after[:1] and after[0] in ("international", "memorial", "national", "sports", "military") and after[1:]:
        after = after[1:]
    if after and after[0] in _EN_INSTITUTIONS:
        return f"named after: {after[0]!r} after the name (a place or institution named after the person)"
    return None


@lru_cache(maxsize=8192)
def _strip_ar_proclitic(word: str) -> str:
    for prefix in ("وب", "ول", "فب", "و", "ف", "ب", "ل"):
        if word.startswith(prefix) and len(word) > len(prefix) + 2:
            return word[len(prefix):]
    return word


def _own_words(entity: Entity) -> set[str]:
    words: set[str] = set()
    for form in [*entity.names.values(), *(a for group in entity.aliases.values() for a in group)]:
        words.update(word_spaced(normalize_key(form)).split())
    return words


@lru_cache(maxsize=8192)
def _is_bare_surname(hit: str) -> bool:
    words = word_spaced(hit).split()
    if words and words[0] in ("al", "el") and len(words) > 1:
        words = words[1:]
    return len(words) == 1


def other_given_name(folded: str, cased: str, start: int, end: int, own: frozenset[str]) -> str | None:
    word = _adjacent_before(cased, start)
    if word is None:
        return None
    key = word.lower()  # the text is normalized already: only the case differs from the folded form
    if word[0].isalpha() and word.isascii():
        if not word[0].isupper() or word.isupper() or "'" in word or "’" in word or key in _EN_TITLES:
            return None
    elif key not in _AR_GIVEN_NAMES:
        return None
    if key in own or not _is_bare_surname(folded[start:end]):
        return None
    return f"another given name: {word!r} right before the surname"


def namesake_elsewhere(folded: str, start: int, end: int, own: frozenset[str]) -> str | None:
    if folded.startswith((", ", "، "), end):
        words = word_spaced(folded[end + 2:end + 40]).split()
        for size in (2, 1):
            name = " ".join(words[:size])
            if name in _US_STATES and name not in own:
                return f"a namesake elsewhere: followed by the US state {name!r}"
    if "state of " in folded[max(0, start - 16):start]:
        before = _words_before(folded, start, 3)
        if before[-2:] == ["state", "of"] or before[-3:-1] == ["state", "of"]:
            return "a namesake elsewhere: 'state of' before the name"
    if _AR_STATE in folded[max(0, start - 10):start]:
        before = _words_before(folded, start, 1)
        after = _words_after(folded, end, 1)
        if before and _AR_STATE in (before[0], _strip_ar_proclitic(before[0])) and after and after[0] in _AR_US:
            return "a namesake elsewhere: a US state (ولاية ... الأمريكية)"
    return None


# a place used as the venue of a sports, cultural or food event (the Beirut Marathon, a chess open in Tehran, cafés
# in old Cairo) is not its state: a word of such events in the sentence, none of politics, and the place used as
# a location. A "*" ends a prefix.
_LEISURE = (
    "marathon* concert* festival* tournament* championship* league derby olympic* athlete* runners sprinter* "
    "football* basketball* tennis chess film* movie* album* singer* orchestra* opera operas fashion cafe* café* "
    "restaurant* recipe* dish dishes menu* chef* cuisine* tourist* tourism hotel* museum* galler* theatre* theater* "
    "cinema* stadium* match matches cup trophy race bakery bakeries pastr* dessert* cocktail* bartender* shopper* "
    "boutique* concertgoers fans spectators "
    "ماراثون حفل* مهرجان* بطوله بطولات مباراه مباريات دوري اولمب* عداء* لاعب* فيلم* افلام البوم* مطرب* مغني* "
    "اغنيه اغاني موسيق* اوركسترا ازياء مقهي مقاهي مطعم* مطاعم اطباق وصفات طهاه طاهي سياح* فندق* فنادق "
    "متحف* شطرنج ملعب* حلويات مسرح* سينما زبائن")
_POLITICS = (
    "minister* ministr* president* government* talks diplomat* ambassador* embassy army military troops forces "
    "sanction* summit* envoy* official* parliament* election* protest* ceasefire war attack* strike* airstrike* "
    "refugee* regime un u.n security opposition rebel* militant* agreement* treaty negotiat* foreign border* "
    "nuclear missile* killed bomb* "
    "وزير* وزار* رئيس* حكوم* محادثات مفاوضات دبلوماس* سفير* سفاره جيش عسكري* قوات عقوبات قمه مبعوث* مسؤول* "
    "برلمان* انتخاب* احتجاج* تظاهر* اطلاق حرب هجوم* غاره غارات قصف* لاجي* لاجئ* نظام الامم المعارضه فصائل "
    "اتفاق* معاهده نووي* صاروخ* حدود* قتل* مقتل")
_VENUE_BEFORE = frozenset(normalize_key(w) for w in (
    "in at near inside around hosts hosted host في قرب داخل وسط تستضيف استضافت يستضيف أحياء شوارع أسواق ضواحي "
    "مقاهي").split())


_CLITIC_HEADS = tuple(dict.fromkeys(a + b + c for a in ("", "و", "ف") for b in ("", "ب", "ل", "ك")
                                   for c in ("", "ال")))


def _vocabulary_keys(words: str | frozenset[str]) -> list[tuple[str, str]]:
    """(automaton key, word) for a list of words (a trailing * for a prefix); Arabic words also with proclitics."""
    out: list[tuple[str, str]] = []
    for word in words.split() if isinstance(words, str) else sorted(words):
        star = word.endswith("*")
        key = normalize_key(word.rstrip("*"))
        heads = _CLITIC_HEADS if is_arabic_letter(key[0]) else ("",)
        out.extend((" " + head + key + ("" if star else " "), key) for head in heads)
    return out


class Vocabulary:
    """A list of words (a trailing * for a prefix) found in a word-spaced text by one automaton pass; Arabic words
    may carry proclitics (و ف, ب ل ك, ال)."""

    def __init__(self, words: str | frozenset[str]):
        self._automaton = ahocorasick.Automaton()
        for key, word in _vocabulary_keys(words):
            self._automaton.add_word(key, word)
        self._automaton.make_automaton()

    def found(self, spaced: str) -> list[str]:
        """Every word of the vocabulary in the word-spaced text, in order."""
        return [str(word) for _, word in self._automaton.iter(" " + spaced + " ")]

    def first(self, spaced: str) -> str | None:
        """The first word of the vocabulary in the word-spaced text, or None."""
        for _, word in self._automaton.iter(" " + spaced + " "):
            return str(word)
        return None


class Kinds:
    """Several vocabularies in one automaton: which of them a text has a word of, in one pass."""

    def __init__(self, **vocabularies: str | frozenset[str]):
        table: dict[str, set[str]] = {}
        for kind, words in vocabularies.items():
            for key, _ in _vocabulary_keys(words):
                table.setdefault(key, set()).add(kind)
        self._automaton = ahocorasick.Automaton()
        for key, kinds in table.items():
            self._automaton.add_word(key, frozenset(kinds))
        self._automaton.make_automaton()

    def of(self, spaced: str) -> frozenset[str]:
        found: set[str] = set()
        for _, kinds in self._automaton.iter(" " + spaced + " "):
            found.update(kinds)
        return frozenset(found)


_LEISURE_WORDS = Vocabulary(_LEISURE)
_POLITICS_WORDS = Vocabulary(_POLITICS)


def sentence(folded: str, start: int, end: int) -> str:
    """The sentence of folded[start:end], word-spaced."""
    first, last = sentence_bounds(folded, start, end)
    return _spaced(folded)[first:last]


def _event_without_politics(folded: str, start: int, end: int) -> str | None:
    """A word of sports, the arts or food in the mention's sentence when it has no word of politics, else None."""
    spaced = sentence(folded, start, end)
    event = _LEISURE_WORDS.first(spaced)
    return None if event is None or _POLITICS_WORDS.first(spaced) is not None else event


def leisure_venue(folded: str, start: int, end: int) -> str | None:
    if not _used_as_venue(folded, start, end):
        return None
    return _venue_event(folded, start, end)


def _used_as_venue(folded: str, start: int, end: int) -> bool:
    """The place stands as a location: after بـ or a word such as "in" or في, or (English) before an event noun."""
    before = _words_before(folded, start, 1)
    after = _words_after(folded, end, 1)
    clitic_b = start > 0 and folded[start - 1] == "ب" and (start < 2 or not folded[start - 2].isalnum())
    # "the Beirut Marathon": an English name before its event noun (Arabic puts the event first: ماراثون بيروت)
    event_after = bool(after) and after[0].isascii() and _LEISURE_WORDS.first(after[0]) is not None
    return bool(clitic_b or (before and before[0] in _VENUE_BEFORE) or event_after)


def _venue_event(folded: str, start: int, end: int) -> str | None:
    event = _event_without_politics(folded, start, end)
    if event is None:
        return None
    return f"a venue: {event!r} in the sentence and no word of politics (a sports, cultural or food event)"


# A person's bare surname as the one who speaks or acts, in a sentence about politics: وقال الشرع ..., Aoun told ...
_AGENT_VERBS_AR = frozenset(normalize_key(w) for w in (
    "قال أكد أعلن استقبل التقى بحث دعا حذر اعتبر أشار أوضح شدد وصف قدم وصل غادر رفض طالب أبلغ ترأس وقع تلقى "
    "أجرى هنأ عزى اتهم نفى تعهد أمر أصدر كشف أضاف تابع ختم").split())
_AGENT_VERBS_EN = frozenset(
    "said says told warned added urged insisted met visited called announced signed stressed rejected accused "
    "denied vowed ordered pledged received hosted spoke declared argued wrote tweeted".split())


_FAMILY_AFTER = frozenset(normalize_key(w) for w in (
    "الأب الجد الحفيد الحفيدة sr senior grandson granddaughter nephew niece cousin").split())


def family_member(folded: str, end: int) -> str | None:
    """"جورج بوش الأب", "حافظ الأسد، الحفيد", "George Bush Sr.": another member of the family."""
    after = _words_after(folded, end, 1)
    if after and after[0] in _FAMILY_AFTER:
        return f"another member of the family: {after[0]!r} after the name"
    return None


def leisure_sentence(folded: str, start: int, end: int) -> str | None:
    """An ambiguous surname in a sentence about sports, the arts or food, with no word of politics: Medvedev saved
    two match points, الأسد in a football report."""
    event = _event_without_politics(folded, start, end)
    if event is None:
        return None
    return f"a sentence about sports, the arts or food ({event!r}) with no word of politics"


def political_agent(folded: str, start: int, end: int) -> str | None:
    """Evidence for a person's ambiguous surname: it speaks or acts (the word before is a verb of saying or doing,
    or, in English, the word after) and its sentence is about politics."""
    before = _words_before(folded, start, 1)
    after = _words_after(folded, end, 1)
    verb = None
    if before and (before[0] in _AGENT_VERBS_AR or _strip_ar_proclitic(before[0]) in _AGENT_VERBS_AR):
        verb = before[0]
    elif after and after[0] in _AGENT_VERBS_EN:
        verb = after[0]
    if verb is None:
        return None
    cue = _POLITICS_WORDS.first(sentence(folded, start, end))
    if cue is None:
        return None
    return f"speaks or acts ({verb!r}) in a sentence about politics ({cue!r})"


# places whose name is also a given name: Chad Johnson, Jordan Henderson, Cuba Gooding Jr., Michael Jordan
_GIVEN_NAME_PLACES = frozenset("chad jordan cuba israel india georgia kenya china".split())
_NOT_A_NAME = _EN_TITLES | _EN_INSTITUTIONS | frozenset(
    "north south east west northern southern eastern western central greater upper lower occupied free new "
    "valley river kingdom republic state government army police forces border crossing talks deal news times "
    "post daily says said hits reopens urges warns rejects".split())


def _capitalised_name(word: str | None) -> bool:
    return word is not None and word.isalpha() and word.isascii() and word[0].isupper() and not word.isupper() and (
        word.lower() not in _NOT_A_NAME)


def person_named_like_place(cased: str, start: int, end: int, mention_starts: set[int],
                            mention_ends: set[int]) -> str | None:
    if cased[start:end].lower() not in _GIVEN_NAME_PLACES:
        return None
    nxt = cased[end + 1:end + 40].split(" ")[:3] if cased[end:end + 1] == " " else []
    if nxt and end + 1 not in mention_starts and _capitalised_name(nxt[0].rstrip(",.")) and (
            len(nxt) < 3 or not all(w[:1].isupper() for w in nxt[1:3])):  # not a Title Case headline
        return f"a person's name: {cased[start:end]} {nxt[0].rstrip(',.')}"
    prev = _adjacent_before(cased, start)
    if start - 1 not in mention_ends and _capitalised_name(prev):
        return f"a person's name: {prev} {cased[start:end]}"
    return None


_US_STATE_WORDS = Vocabulary(_US_STATES)  # two-word names stay whole: "new hampshire"
# what an item has, found once per item when a check asks: a small automaton for the US states alone (most items
# ask only that: a place that is their one entity)
_ITEM_WORDS = Kinds(named=_AR_INSTITUTIONS | _EN_INSTITUTIONS | _EN_BEFORE | _EN_PLACE_OF | _FAMILY_AFTER,
                    leisure=_LEISURE)
_US_PLACE_AFTER = frozenset("county borough township parish".split())


_US_PLACE_AFTER_TEXT = tuple(" " + w for w in _US_PLACE_AFTER)


def _namesake_in_us(folded: str, start: int, end: int, own: frozenset[str], alone: bool) -> str | None:
    if folded.startswith(_US_PLACE_AFTER_TEXT, end):
        after = _words_after(folded, end, 1)
        if after and after[0] in _US_PLACE_AFTER:
            return f"a namesake elsewhere: {after[0]!r} after the name"
    if not alone:
        return None
    state = next((w for w in _US_STATE_WORDS.found(sentence(folded, start, end)) if w not in own), None)
    return None if state is None else f"a namesake elsewhere: the sentence is in the US state {state!r}"


class Around:
    """What the checks know of the item besides the candidate: its text and the other candidates. Each is found
    once per item and only when a check asks: where the plain candidates start and end, their entities, whether the
    item has any word of an event or of a place named after someone (one automaton pass) or of a US state (a small
    one), so most candidates skip those checks."""

    __slots__ = ("folded", "cased", "state_words", "_plain", "_every", "_starts", "_ends", "_entities", "_kinds",
                 "_us_state")

    def __init__(self, folded: str, cased: str, plain: Sequence[tuple[int, int, str]],
                 every: Sequence[tuple[int, int, str]]):
        self.folded = folded
        self.cased = cased
        self._plain = plain  # the plain candidates (sure ones): where mentions start and end
        self._every = every  # every candidate, ambiguous ones too
        self._starts: set[int] | None = None
        self._ends: set[int] | None = None
        self._entities: set[str] | None = None
        self._kinds: frozenset[str] | None = None
        self._us_state: bool | None = None
        # "state of " or ولايه anywhere in the item: a namesake elsewhere needs one before the name, or a comma after
        self.state_words = "state of " in folded or _AR_STATE in folded

    @property
    def starts(self) -> set[int]:
        """Where (plain) candidates start."""
        if self._starts is None:
            self._starts = {c[0] for c in self._plain}
        return self._starts

    @property
    def ends(self) -> set[int]:
        """Where (plain) candidates end."""
        if self._ends is None:
            self._ends = {c[1] for c in self._plain}
        return self._ends

    @property
    def entities(self) -> set[str]:
        """Every candidate's entity."""
        if self._entities is None:
            self._entities = {c[2] for c in self._every}
        return self._entities

    def alone(self, entity_id: str) -> bool:
        """No candidate of another entity in the item."""
        entities = self.entities
        return not entities or (len(entities) == 1 and entity_id in entities)

    def _has(self, kind: str) -> bool:
        if self._kinds is None:
            self._kinds = _ITEM_WORDS.of(_spaced(self.folded))
        return kind in self._kinds

    @property
    def named(self) -> bool:
        """The item has a word of a place or institution named after someone, or of a family member."""
        return self._has("named")

    @property
    def leisure(self) -> bool:
        return self._has("leisure")

    @property
    def us_state(self) -> bool:
        if self._us_state is None:
            self._us_state = _US_STATE_WORDS.first(_spaced(self.folded)) is not None
        return self._us_state


@dataclass(frozen=True, slots=True)
class Own:
    """What the checks know of one person or place: its type, the words of its own names and aliases, and (a place)
    its metonyms: the aliases that do not look like its name, such as a capital (بيروت, Beirut for Lebanon)."""

    words: frozenset[str]
    metonyms: frozenset[str]
    type: str = "place"  # person | place


def guard(entity: Entity, around: Around, start: int, end: int, own: Own) -> str | None:
    """Why a candidate of ``entity`` at folded[start:end] is not a mention of it, or None (a word that is itself a
    mention, as in "Syrian Assad", is no given name)."""
    if entity.type not in ("person", "place"):
        return None
    return checked(own if own.type == entity.type else Own(own.words, own.metonyms, entity.type), around, start,
                   end, entity.id)


def checked(own: Own, around: Around, start: int, end: int, entity_id: str) -> str | None:
    """``guard`` for a person or place by its ``Own`` (its type in it). The checks of the words right around the
    candidate come first, each after a cheap test of what it needs (a comma after the name, a US state word in
    the item, ...); what the whole item has (``around``: one more pass over it) is asked only when they would drop
    it."""
    folded = around.folded
    if own.type == "person":
        words = own.words
        if around.named:  # rare: most items skip both checks (the pass over the item is made for leisure anyway)
            named = named_after(folded, start, end, words) or family_member(folded, end)
            if named:
                return named
        if _is_bare_surname(folded[start:end]) and around.leisure:
            leisure = leisure_sentence(folded, start, end)
            if leisure:
                return leisure
        return None if start - 1 in around.ends else other_given_name(folded, around.cased, start, end, words)
    hit = folded[start:end]
    if around.state_words or folded.startswith((", ", "، "), end):
        namesake = namesake_elsewhere(folded, start, end, own.words)
        if namesake:
            return namesake
    if folded.startswith(_US_PLACE_AFTER_TEXT, end) or around.alone(entity_id):
        namesake = _namesake_in_us(folded, start, end, own.words, around.alone(entity_id) and around.us_state)
        if namesake:
            return namesake
    # a given name is ASCII: its cased form lowers to its folded one
    if hit in _GIVEN_NAME_PLACES and around.cased[start:end].lower() in _GIVEN_NAME_PLACES:
        person = person_named_like_place(around.cased, start, end, around.starts, around.ends)
        if person:
            return person
    if own.metonyms and hit in own.metonyms and _used_as_venue(folded, start, end) and around.leisure:
        return _venue_event(folded, start, end)
    return None


def _stem(key: str) -> str:
    key = key[2:] if key.startswith("ال") else key
    return "".join(c for c in unicodedata.normalize("NFKD", key) if not unicodedata.combining(c))[:3]


def _metonyms(entity: Entity) -> frozenset[str]:
    """Single-word aliases of four letters or more whose first letters no name and no other alias shares: a capital
    or a seat (Beirut, الكرملين), not an adjective (American, أمريكي: a family of forms) nor an acronym."""
    names = {_stem(normalize_key(n)) for n in entity.names.values()}
    keys = [k for k in (normalize_key(a) for group in entity.aliases.values() for a in group) if k]
    stems = [_stem(k) for k in keys]
    return frozenset(k for k, stem in zip(keys, stems, strict=True)
                     if " " not in k and len(k) >= 4 and stem not in names and stems.count(stem) == 1)


def own_words(entities: dict[str, Entity]) -> dict[str, Own]:
    """Each person's and place's own name words (never "another given name", nor a namesake's state)."""
    return {eid: Own(frozenset(_own_words(e)), _metonyms(e) if e.type == "place" else frozenset(), e.type)
            for eid, e in entities.items() if e.type in ("person", "place")}
