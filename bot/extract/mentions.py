"""Find the catalogue's entities in a text: whole words, Arabic proclitics, longest match wins."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.extract.catalog import Catalog, Pattern
from bot.extract.context import decide
from bot.extract.guards import Around, checked, leisure_sentence, political_agent
from bot.extract.morphology import has_marks, not_a_name
from bot.model import Mention
from bot.text.normalize import Normalized, is_word_char, normalize

# Proclitics an Arabic word may carry before a form that does not start with ال:
# و/ف, then ب/ل/ك, then ال (ل + ال is written لل).
_PROCLITICS_BARE = re.compile(r"^[وف]?(?:[بك]?ال|لل|[بلك])?$")
# ... and before a form that starts with ال (the form itself holds the article).
_PROCLITICS_AL = re.compile(r"^[وف]?[بك]?$")
# ... and before the لل spelling of such a form (the form holds the ل).
_PROCLITICS_LIL = re.compile(r"^[وف]?$")


def _word_start(text: str, index: int) -> int:
    while index > 0 and is_word_char(text[index - 1]):
        index -= 1
    return index


def _start_ok(text: str, start: int, pattern: Pattern) -> bool:
    if start == 0 or text[start - 1] == " " or not is_word_char(text[start - 1]):
        return True
    if not pattern.arabic_start:
        return False
    prefix = text[_word_start(text, start):start]
    if pattern.lil_form:
        return bool(_PROCLITICS_LIL.match(prefix))
    if pattern.starts_with_al:
        return bool(_PROCLITICS_AL.match(prefix))
    return bool(_PROCLITICS_BARE.match(prefix))


# Words around a generic "resolution 2254" / "القرار رقم 2254" that show it is not the Security Council's
# but a ministry's, a governor's, a parliament's or a court's numbered decision.
_ISSUER_AR = r"(?:وزير|وزاره|الوزير|الوزاره|محافظ|المحافظ|محافظه|المحافظه|بلديه|البلديه|مديريه|المديريه|" \
             r"محكمه|المحكمه|جامعه|الجامعه|رئاسه|مجلس الوزراء|الحكومه|حكومه)"
_ISSUED_BY_AR = re.compile(r"(?:^|\s)[وف]?(?:اصدر|اصدرت|يصدر|تصدر|اصدار|باصدار)\s(?:\S+\s){0,2}?" + _ISSUER_AR)
_ISSUER_EN = re.compile(
    r"(?:^|\s)(?:house|senate|congressional|ministerial|municipal|county|board|court|state|university|city|"
    r"cabinet|parliamentary|ministry's|minister's|government's|parliament's|h\.\s?res\.?|h\.res\.?|h\.|s\.|"
    r"(?:city|town|county|municipal|local|school|student)\s+council)$"
)
_LOCAL_BODY_EN = re.compile(
    r"(?:^|\s)(?:(?:city|town|county|municipal|local|school|student|village)\s+(?:council|board)|"
    r"(?:state|provincial)\s+(?:legislature|assembly|senate))\b"
)
_ISSUER_AFTER = re.compile(
    r"^(?:ل?ل?(?:عام|سنه)\s+(?:19|20)\d\d\s+)?(?:ال)?(?:وزاري|صادر\s+عن\s+" + _ISSUER_AR + r")"
    r"|^of\s+the\s+(?:ministry|minister|house|senate|city|county|board|cabinet|parliament)"
)


def _weak_context_ok(text: str, start: int, end: int) -> bool:
    """A generic resolution form stands unless the words around it name another issuer."""
    before = " ".join(text[:start].split()[-6:])
    if _ISSUED_BY_AR.search(before) or _ISSUER_EN.search(" " + " ".join(before.split()[-2:])):
        return False
    if _LOCAL_BODY_EN.search(before):  # "the city council passed resolution 2254"
        return False
    after = " ".join(text[end:].split()[:6])
    return not _ISSUER_AFTER.search(after)


def _end_ok(text: str, end: int) -> bool:
    return end >= len(text) or not is_word_char(text[end])


# Lists of resolutions: القرارين 2139 و2165, القرارات 2118 و2254 و2401, resolutions 2139 and 2165.
_LIST_TRIGGER = re.compile(
    r"(?<![^\W\d_])[وفبلك]{0,2}(?:ال)?(?:قرارين|قرارات|قراري)"
    r"(?:\s+(?:مجلس\s+الامن|الدولي|الدوليين|الدوليه|الامميين|الامميه|رقم|ارقام|الصادرين|الصادره))*"
    r"|(?<![^\W\d_])(?:(?:un\s+|u\.n\.\s+)?(?:security\s+council\s+)?resolutions|unscrs)(?:\s+nos?\.?)?",
)
_LIST_NUMBERS = re.compile(r"\s*(\d{2,5})((?:\s*(?:,|،|and|&|و)\s*\d{2,5})+)")
_LIST_ITEM = re.compile(r"\d{2,5}")


def _resolution_lists(catalog: Catalog, folded: str) -> list[tuple[int, int, str]]:
    """Each listed number that is a known resolution, as a candidate spanning that number."""
    if not catalog.resolutions:
        return []
    out = []
    for trigger in _LIST_TRIGGER.finditer(folded):
        numbers = _LIST_NUMBERS.match(folded, trigger.end())
        if numbers is None or not _end_ok(folded, numbers.end()):
            continue
        if not _weak_context_ok(folded, trigger.start(), numbers.end()):
            continue
        # the first number's mention starts at the trigger word (after any proclitics), like the single forms
        head = trigger.group()
        first_start = trigger.start() + max(head.find("قرار") - (2 if "القرار" in head else 0), 0)
        for i, num in enumerate(_LIST_ITEM.finditer(folded, numbers.start(1), numbers.end())):
            entity_id = catalog.resolutions.get(int(num.group()))
            if entity_id is not None:
                out.append((first_start if i == 0 else num.start(), num.end(), entity_id))
    return out


def _hit_ok(norm: Normalized, start: int, end: int, pattern: Pattern) -> bool:
    """A hit of an entity's form counts: as written (a cased form), at a word start or after proclitics,
    and, for a generic resolution form, in a context that names no other issuer."""
    if pattern.cased is None and not pattern.weak and (start == 0 or norm.folded[start - 1] == " "):
        return True  # the common case: a form at a word start, any case
    if pattern.cased is not None:
        hit = norm.cased[start:end]
        if hit != pattern.cased and hit != pattern.cased.upper():
            return False
    if not _start_ok(norm.folded, start, pattern):
        return False
    return not pattern.weak or _weak_context_ok(norm.folded, start, end)


def _without_excluded(candidates: list[tuple[int, int, str]],
                      excluded: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Candidates that do not lie inside an exclusion phrase of their own entity."""
    return [c for c in candidates if not any(e == c[2] and s <= c[0] and c[1] <= t for s, t, e in excluded)]


Candidate = tuple[int, int, str]


def _candidates(catalog: Catalog, norm: Normalized,
                ambiguous: list[Candidate] | None = None) -> list[Candidate]:
    """Every (start, end, entity id) in the normalized text that may be a mention, overlaps included. Hits of
    ambiguous forms (an entity's ``context: aliases``) go to ``ambiguous`` instead, when given (else nowhere)."""
    folded = norm.folded
    candidates: list[Candidate] = []
    excluded: list[Candidate] = []
    for start, end, patterns in catalog.iter_hits(folded):
        at_word = start == 0 or folded[start - 1] == " "
        for pattern in patterns:
            if pattern.exclude:
                if _start_ok(folded, start, pattern):
                    excluded.append((start, end, pattern.entity_id))
            elif (at_word and pattern.cased is None and not pattern.weak) or _hit_ok(norm, start, end, pattern):
                if not pattern.ambiguous:
                    candidates.append((start, end, pattern.entity_id))
                elif ambiguous is not None:
                    ambiguous.append((start, end, pattern.entity_id))
    if "قرار" in folded or "resolutions" in folded or "unscrs" in folded:
        candidates.extend(_resolution_lists(catalog, folded))
    if excluded:
        candidates = _without_excluded(candidates, excluded)
        if ambiguous:
            ambiguous[:] = _without_excluded(ambiguous, excluded)
    return candidates


def _guarded(catalog: Catalog, norm: Normalized, candidates: list[Candidate], ambiguous: list[Candidate]
             ) -> dict[Candidate, str]:
    """The candidates of people and places that a built-in check drops (bot/extract/guards.py), with the reason."""
    out: dict[Candidate, str] = {}
    guarded = catalog.guarded
    every = candidates + ambiguous if ambiguous else candidates
    around: Around | None = None
    for cand in every:
        own = guarded.get(cand[2])
        if own is None:
            continue
        if around is None:  # where mentions start and end: plain forms only (sure ones)
            around = Around(norm.folded, norm.cased, candidates, every)
        reason = checked(own, around, cand[0], cand[1], cand[2])
        if reason is not None:
            out[cand] = reason
    return out


def _longest_first(candidates: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Longest first, then leftmost; keep those that overlap nothing kept already. Returned in text order."""
    if len(candidates) < 2:
        return list(candidates)
    taken: list[tuple[int, int]] = []
    kept: list[tuple[int, int, str]] = []
    # (start - end, start, entity id, end) sorts as the key (-length, start, entity id): equal keys are equal tuples
    for _, start, entity_id, end in sorted([(c[0] - c[1], c[0], c[2], c[1]) for c in candidates]):
        for t_start, t_end in taken:
            if start < t_end and t_start < end:
                break
        else:
            taken.append((start, end))
            kept.append((start, end, entity_id))
            continue
        # the same span may name two entities (a shared alias): keep both
        if (start, end) in taken:
            taken.append((start, end))
            kept.append((start, end, entity_id))
    kept.sort()
    return kept


@dataclass(frozen=True, slots=True)
class Decided:
    """One candidate mention and what became of it (for ``rasad explain``)."""

    entity_id: str
    text: str
    start: int
    end: int
    kept: bool
    reason: str
    ambiguous: bool


Decision4 = tuple[Candidate, bool, str, bool]  # candidate, kept, reason, refuted (dropped on evidence)
# kept, reason, evidence (False: decided by ``otherwise`` alone), refuted (dropped on evidence about the name itself)
OneDecision = tuple[bool, str, bool, bool]


def _decide_one(catalog: Catalog, norm: Normalized, cand: Candidate, others: set[str]) -> OneDecision:
    """The decision on one ambiguous candidate. A sports or arts sentence drops a surname without saying what the
    name is, so it refutes nothing inside it."""
    start, end, entity_id = cand
    o_start, o_end = norm.span(start, end)
    written = norm.original[o_start:o_end]
    if has_marks(written):  # diacritics in the item: درعاً is "a shield", not Daraa
        refuted = not_a_name(written)
        if refuted is not None:
            return False, refuted, True, True
    person = catalog.entities[entity_id].type == "person"
    leisure = leisure_sentence(norm.folded, start, end) if person else None
    if leisure is not None:
        return False, leisure, True, False
    decision = decide(catalog.contexts[entity_id], norm.folded, start, end, others - {entity_id}, entity_id in others)
    if not decision.evidence and person:
        agent = political_agent(norm.folded, start, end)
        if agent is not None:
            return True, agent, True, False
    return decision.kept, decision.reason, decision.evidence, decision.evidence and not decision.kept


def _decided(catalog: Catalog, norm: Normalized, plain: list[Candidate], ambiguous: list[Candidate]
             ) -> list[Decision4]:
    """Each ambiguous candidate with its decision, from the evidence in the item. Two passes: a candidate left
    without evidence is decided again with the ambiguous mentions kept in the first pass as evidence (المبعوث
    الدولي confirmed by محادثات جنيف, itself decided by context)."""
    others = {c[2] for c in _longest_first(plain)}
    first = {cand: _decide_one(catalog, norm, cand, others) for cand in sorted(set(ambiguous))}
    kept = {cand[2] for cand, one in first.items() if one[0]}
    out: list[Decision4] = []
    for cand, one in first.items():
        if not one[2] and kept - {cand[2]} - others:
            one = _decide_one(catalog, norm, cand, others | (kept - {cand[2]}))
        out.append((cand, one[0], one[1], one[3]))
    return out


def _refuted_names(decided: list[Decision4], folded: str) -> list[Candidate]:
    """The names of several words that their context refutes."""
    return [c for c, _, _, ref in decided if ref and " " in folded[c[0]:c[1]].strip()]


def _outside_refuted(candidates: list[Candidate], decided: list[Decision4], folded: str) -> list[Candidate]:
    """Candidates not inside a longer name of several words refuted by its context ("Berlin Process" of the Balkans
    takes its Berlin with it; السوداني refuted as the prime minister leaves the adjective سوداني alone)."""
    refuted = _refuted_names(decided, folded)
    if not refuted:
        return candidates
    return [c for c in candidates if not any(r[0] <= c[0] and c[1] <= r[1] and c[1] - c[0] < r[1] - r[0]
                                             for r in refuted)]


def _mentions(norm: Normalized, kept: list[Candidate]) -> list[Mention]:
    out: list[Mention] = []
    seen: set[tuple[int, int, str]] = set()
    span, original = norm.span, norm.original
    for start, end, entity_id in kept:
        o_start, o_end = span(start, end)
        key = (o_start, o_end, entity_id)
        if key in seen:
            continue
        seen.add(key)
        out.append(Mention(entity_id, original[o_start:o_end], o_start, o_end))
    return out


def find_mentions_normalized(catalog: Catalog, norm: Normalized) -> list[Mention]:
    ambiguous: list[Candidate] | None = [] if catalog.contexts else None
    candidates = _candidates(catalog, norm, ambiguous)
    if not candidates and not ambiguous:
        return []
    dropped = _guarded(catalog, norm, candidates, ambiguous or [])
    if dropped:
        candidates = [c for c in candidates if c not in dropped]
        ambiguous = [c for c in ambiguous or [] if c not in dropped]
    if ambiguous:  # only items with a hit of an ambiguous form pay for a decision
        decided = _decided(catalog, norm, candidates, ambiguous)
        candidates = _outside_refuted(candidates + [c for c, kept, _, _ in decided if kept], decided, norm.folded)
    return _mentions(norm, _longest_first(candidates))


def find_mentions(catalog: Catalog, text: str) -> list[Mention]:
    return find_mentions_normalized(catalog, normalize(text))


def explain(catalog: Catalog, text: str) -> list[Decided]:
    """Every candidate mention of ``text``, kept or dropped, with the reason (what ``rasad explain`` prints)."""
    norm = normalize(text)
    ambiguous: list[Candidate] = []
    plain = _candidates(catalog, norm, ambiguous)
    dropped = _guarded(catalog, norm, plain, ambiguous)
    kept_plain = [c for c in plain if c not in dropped]
    decided = _decided(catalog, norm, kept_plain, [c for c in ambiguous if c not in dropped])
    candidates = _outside_refuted(kept_plain + [c for c, kept, _, _ in decided if kept], decided, norm.folded)
    final = set(_longest_first(candidates))
    refuted_names = _refuted_names(decided, norm.folded)
    reasons: dict[Candidate, tuple[bool, str, bool]] = {c: (True, "unambiguous form", False) for c in kept_plain}
    reasons.update((c, (False, reason, c in ambiguous)) for c, reason in dropped.items())
    for cand, kept, reason, _ in decided:
        reasons[cand] = (kept, reason, True)
    out = []
    for cand in sorted(reasons):
        kept, reason, amb = reasons[cand]
        refuted = next((c for c in refuted_names if c[0] <= cand[0] and cand[1] <= c[1]
                        and cand[1] - cand[0] < c[1] - c[0]), None)
        if kept and refuted is not None:
            kept, reason = False, (f"{reason}; but inside the longer name {norm.folded[refuted[0]:refuted[1]]!r}, "
                                   f"which its context refutes ({refuted[2]})")
        elif kept and cand not in final:
            longer = next((f for f in final if f[0] <= cand[0] and cand[1] <= f[1]), None)
            kept, reason = False, (f"{reason}; but inside the longer mention {norm.folded[longer[0]:longer[1]]!r} "
                                   f"({longer[2]})" if longer else f"{reason}; but overlaps a longer mention")
        o_start, o_end = norm.span(cand[0], cand[1])
        out.append(Decided(cand[2], norm.original[o_start:o_end], o_start, o_end, kept, reason, amb))
    return out
