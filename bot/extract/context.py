"""Decide each mention of an ambiguous alias from the evidence in its item (the rules' ``context:`` key).

An alias listed under an entity's ``context: aliases:`` is a candidate only: it is kept or dropped per mention,
in this order of evidence (the first that applies decides):

1. a ``refute`` cue within ``window`` words of the mention (a food, an animal, a sport) → dropped;
2. a ``confirm`` cue within ``window`` words (a title or role: الرئيس, President, المبعوث) → kept;
3. a ``refute_entities`` entity mentioned anywhere in the item → dropped;
4. a ``confirm_entities`` entity mentioned anywhere in the item (another entity of the same file) → kept;
5. the same entity mentioned unambiguously elsewhere in the item (بشار الأسد ... الأسد) → kept;
6. otherwise ``otherwise`` (``drop`` by default); a form listed under ``likely:`` instead of ``aliases:`` is kept
   here whatever ``otherwise`` says (a name that is usually the entity: a capital, a full name shared with a singer).

Longer names that contain the alias and are something else are the entity's ``exclude:`` phrases. Cues are
words or phrases, normalized like aliases; an Arabic cue may carry proclitics (والرئيس for الرئيس), and a cue
ending in ``*`` matches any word that starts with it (شبل* for شبلين). Entities without ``context:`` never
reach this module: their matching costs what it did before.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from bot.text.normalize import normalize_key, word_spaced

DEFAULT_WINDOW = 5


@dataclass(frozen=True, slots=True)
class EntityContext:
    """One entity's ``context:`` key, compiled."""

    entity_id: str
    aliases: Mapping[str, tuple[str, ...]]  # language → forms that need evidence
    confirm: tuple[str, ...] = ()  # normalized cues (a trailing * for a prefix)
    refute: tuple[str, ...] = ()
    confirm_entities: tuple[str, ...] = ()
    refute_entities: tuple[str, ...] = ()
    window: int = DEFAULT_WINDOW
    otherwise: str = "drop"  # keep | drop
    likely: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # forms kept without evidence
    likely_keys: frozenset[str] = frozenset()  # their normalized keys

    @property
    def keys(self) -> frozenset[str]:
        """The normalized forms that are ambiguous for this entity (``aliases`` and ``likely``)."""
        return frozenset(k for group in (self.aliases, self.likely) for forms in group.values()
                         for k in map(normalize_key, forms) if k)

    @property
    def declares_evidence(self) -> bool:
        return bool(self.confirm or self.refute or self.confirm_entities or self.refute_entities)


def build_context(entity_id: str, aliases: Mapping[str, Iterable[str]], confirm: Mapping[str, Iterable[str]],
                  refute: Mapping[str, Iterable[str]], confirm_entities: Iterable[str] = (),
                  refute_entities: Iterable[str] = (), window: int = DEFAULT_WINDOW,
                  otherwise: str = "drop", likely: Mapping[str, Iterable[str]] | None = None) -> EntityContext:
    def cues(by_lang: Mapping[str, Iterable[str]]) -> tuple[str, ...]:
        out: list[str] = []
        for cue in (c for group in by_lang.values() for c in group):
            star = cue.rstrip().endswith("*")
            key = normalize_key(cue.rstrip().rstrip("*"))
            if key:
                out.append(" ".join(word_spaced(key).split()) + ("*" if star else ""))
        return tuple(dict.fromkeys(out))

    likely_forms = {lang: tuple(forms) for lang, forms in (likely or {}).items()}
    likely_keys = frozenset(k for forms in likely_forms.values() for k in map(normalize_key, forms) if k)
    return EntityContext(entity_id, {lang: tuple(forms) for lang, forms in aliases.items()}, cues(confirm),
                         cues(refute), tuple(confirm_entities), tuple(refute_entities), window, otherwise,
                         likely_forms, likely_keys)


@dataclass(frozen=True, slots=True)
class Decision:
    """Why an ambiguous mention was kept or dropped, in the words of the YAML that decided it."""

    kept: bool
    reason: str
    evidence: bool = True  # False: decided by ``otherwise`` alone (a built-in check may still decide)


_CLITICS = "(?:[وف]?(?:[بك]?ال|لل|[بلك])?)"


def _cue_pattern(cue: str) -> re.Pattern[str]:
    star = cue.endswith("*")
    body = re.escape(cue.rstrip("*")).replace(r"\ ", " ")
    arabic = bool(re.match(r"[\u0600-\u06ff]", cue))
    head = _CLITICS if arabic else ""
    tail = r"\w*" if star else ""
    plain = cue.rstrip("*")
    if arabic and plain.startswith("ال") and len(plain) > 2:
        # a cue with the article also matches after و/ف, ب/ك, and in its لل spelling (للمساهمين, للجنه)
        lil = plain[1:] if plain[2] == "ل" else "ل" + plain[1:]
        body = "(?:[وف]?[بك]?" + body + "|[وف]?" + re.escape(lil).replace(r"\ ", " ") + ")"
        head = ""
    return re.compile(rf"(?:^| ){head}{body}{tail}(?= |$)")


_CUE_CACHE: dict[str, re.Pattern[str]] = {}


def _find_cue(cues: tuple[str, ...], window_text: str) -> str | None:
    for cue in cues:
        pattern = _CUE_CACHE.get(cue)
        if pattern is None:
            pattern = _CUE_CACHE[cue] = _cue_pattern(cue)
        if pattern.search(window_text):
            return cue
    return None


# A sentence ends at . ! ? ؟ followed by a space, unless the word before the point is an abbreviation of at
# most three letters (U.S. President, Mr. Assad, Gen. Mazloum). The point comes first in the pattern, so a search
# skips to the next one at C speed (the lookbehinds look back over it).
SENTENCE_END = re.compile(r"[.!?؟](?<![\s.][^\W\d_][.!?؟])(?<![\s.][^\W\d_]{2}[.!?؟])(?<![\s.][^\W\d_]{3}[.!?؟])"
                          r"(?= )")

_LAST_ENDS: tuple[str, list[int]] = ("", [])


def _sentence_ends(folded: str) -> list[int]:
    """Where every sentence-ending point of ``folded`` stands, found once for the text being matched (the cue
    windows and the guards of all its candidates share it). Only the last text is kept (compared by identity)."""
    global _LAST_ENDS
    last = _LAST_ENDS
    if last[0] is folded:
        return last[1]
    ends = [m.start() for m in SENTENCE_END.finditer(folded)]
    _LAST_ENDS = (folded, ends)
    return ends


def sentence_bounds(folded: str, start: int, end: int) -> tuple[int, int]:
    """Where the sentence of folded[start:end] begins and ends (looking at most 400 characters either way): after
    the last point in folded[start - 400:start] with its space before ``start``, and at the first point in
    folded[end:end + 400] with its space before ``end + 400``."""
    ends = _sentence_ends(folded)
    first = max(0, start - 400)
    i = bisect_left(ends, start - 1)  # points at start - 2 or before
    if i and ends[i - 1] >= first:
        first = ends[i - 1] + 1
    j = bisect_left(ends, end)
    if j < len(ends) and ends[j] <= end + 398:
        return first, ends[j]
    return first, min(len(folded), end + 400)


def window_text(folded: str, start: int, end: int, words: int) -> str:
    """The ``words`` words before and after [start, end) of the folded text, punctuation as spaces, within the
    mention's sentence (a cue in the next sentence says nothing about this mention)."""
    if not words:
        return "|"
    first, last = sentence_bounds(folded, start, end)
    return " ".join(word_spaced(folded[first:start]).split()[-words:] + ["|"]
                    + word_spaced(folded[end:last]).split()[:words])


def decide(context: EntityContext, folded: str, start: int, end: int, others: Collection[str],
           self_plain: bool) -> Decision:
    """Keep or drop one mention of an ambiguous alias of ``context.entity_id`` at folded[start:end].

    ``others``: the entities mentioned unambiguously in the item; ``self_plain``: the entity itself is."""
    near = window_text(folded, start, end, context.window)
    cue = _find_cue(context.refute, near)
    if cue is not None:
        return Decision(False, f"refute cue {cue!r} within {context.window} words")
    cue = _find_cue(context.confirm, near)
    if cue is not None:
        return Decision(True, f"confirm cue {cue!r} within {context.window} words")
    hit = next((e for e in context.refute_entities if e in others), None)
    if hit is not None:
        return Decision(False, f"refute_entities: {hit} is mentioned in the item")
    hit = next((e for e in context.confirm_entities if e in others), None)
    if hit is not None:
        return Decision(True, f"confirm_entities: {hit} is mentioned in the item")
    if self_plain:
        return Decision(True, "the entity is also named unambiguously in the item")
    if context.otherwise == "keep":
        return Decision(True, "no evidence either way: otherwise: keep")
    span = folded[start:end]  # a form that starts with ال may be written with لل (للجمعيه for الجمعيه)
    if context.likely_keys and (span in context.likely_keys or "ا" + span[1:] in context.likely_keys
                                or "ا" + span in context.likely_keys):
        return Decision(True, "no evidence either way: a 'likely' form (kept unless a refute cue or entity says no)")
    return Decision(False, "no evidence: otherwise: drop (add a confirm cue or confirm_entities to keep it)", False)
