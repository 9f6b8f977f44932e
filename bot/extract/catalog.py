"""Compile entity names, aliases and resolution numbers into one Aho-Corasick automaton.

Matching cost per item is one pass of the automaton over the normalized text, plus a check of
each candidate hit; it does not grow with the number of aliases.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import ahocorasick

from bot.extract.context import EntityContext
from bot.extract.guards import Own, own_words
from bot.model import Entity
from bot.text.lang import is_arabic_letter
from bot.text.normalize import normalize, word_spaced, word_spaced_once

# Common ways news copy names a UN Security Council resolution; {n} is the number. The first forms say
# "UN" or "Security Council" themselves (strong); the last ones ("resolution 2254", "القرار رقم 2254") could
# also be a ministry's or a parliament's numbered decision (weak): they are checked against their context.
RESOLUTION_FORMS_EN = (
    "unscr {n}",
    "unsc resolution {n}",
    "s/res/{n}",
    "un resolution {n}",
    "u.n. resolution {n}",
    "security council resolution {n}",
    "un security council resolution {n}",
    "u.n. security council resolution {n}",
    "united nations security council resolution {n}",
    "united nations resolution {n}",
)
RESOLUTION_FORMS_AR = (
    "القرار الاممي {n}",
    "القرار الاممي رقم {n}",
    "القرار الدولي {n}",
    "القرار الدولي رقم {n}",
    "قرار مجلس الامن {n}",
    "قرار مجلس الامن رقم {n}",
    "قرار مجلس الامن الدولي {n}",
    "قرار مجلس الامن الدولي رقم {n}",
    "قرار الامم المتحده {n}",
    "قرار الامم المتحده رقم {n}",
    "قرار اممي رقم {n}",
    "قرار اممي {n}",
)
RESOLUTION_FORMS_WEAK = (
    "resolution {n}",
    "res. {n}",
    "resolution no. {n}",
    "resolution number {n}",
    "القرار {n}",
    "القرار رقم {n}",
)

_ALL_CAPS = re.compile(r"^[^a-z]*[A-Z][^a-z]*$")
# Quotes and brackets that may stand between two words of a form: قانون «قيصر», the "Caesar" Act,
# القرار رقم (٢٢٥٤). A form of several words is also stored with a double space at each word gap, and such
# a hit counts only when the gap holds one of these.
GAP_MARKS = frozenset("«»\"“”„‹›()[]{}")


@dataclass(frozen=True, slots=True)
class Pattern:
    """One surface form of one entity, as the automaton stores it."""

    entity_id: str
    cased: str | None  # set for capitals (UN) and match_case entities: the hit must be this, or all capitals
    arabic_start: bool  # the form starts with an Arabic letter: proclitics may precede it
    starts_with_al: bool  # the form starts with the article ال
    lil_form: bool  # the form is ل + (alias without its alef): للجنه for اللجنه
    weak: bool = False  # a generic resolution form: kept only when its context does not deny it
    exclude: bool = False  # an exclusion phrase: the entity's mentions inside it do not count
    ambiguous: bool = False  # a form listed under the entity's ``context: aliases``: decided per mention


def is_caps_alias(alias: str) -> bool:
    """UN, US, UNSC, OPCW, U.N.: written in capitals, so it matches only in capitals."""
    letters = [c for c in alias if c.isalpha()]
    return len(letters) >= 1 and bool(_ALL_CAPS.match(alias)) and all(c.isascii() for c in letters)


def entity_forms(entity: Entity, weak: bool = True) -> list[str]:
    """Every surface form of an entity: names, aliases and, for a resolution, the common forms."""
    forms: list[str] = list(entity.names.values())
    for aliases in entity.aliases.values():
        forms.extend(aliases)
    if entity.resolution is not None:
        forms.extend(f.format(n=entity.resolution) for f in RESOLUTION_FORMS_EN + RESOLUTION_FORMS_AR)
        if weak:
            forms.extend(weak_resolution_forms(entity))
    return forms


def context_forms(context: EntityContext) -> list[str]:
    """The forms an entity's ``context: aliases`` add (decided per mention)."""
    return [form for group in (context.aliases, context.likely) for forms in group.values() for form in forms]


def weak_resolution_forms(entity: Entity) -> list[str]:
    if entity.resolution is None:
        return []
    return [f.format(n=entity.resolution) for f in RESOLUTION_FORMS_WEAK]


class Catalog:
    """The compiled automaton; build once per rules (re)load, share between tasks."""

    def __init__(self, entities: Iterable[Entity], contexts: Mapping[str, EntityContext] | None = None):
        self.entities: dict[str, Entity] = {}
        self.contexts: dict[str, EntityContext] = dict(contexts or {})
        self.resolutions: dict[int, str] = {}  # resolution number → entity id (for lists: القرارين 2139 و2165)
        self._automaton = ahocorasick.Automaton()
        table: dict[str, dict[tuple[str, str | None, bool], Pattern]] = {}
        for entity in entities:
            self.entities[entity.id] = entity
            if entity.resolution is not None:
                self.resolutions.setdefault(entity.resolution, entity.id)
            for phrase in (p for phrases in entity.exclude.values() for p in phrases):
                for key, pattern in self._patterns(entity.id, phrase):
                    excl = Pattern(entity.id, None, pattern.arabic_start, pattern.starts_with_al, pattern.lil_form,
                                   exclude=True)
                    table.setdefault(key, {})[(entity.id, "exclude", pattern.lil_form)] = excl
            weak_forms = set(weak_resolution_forms(entity))
            context = self.contexts.get(entity.id)
            ambiguous = context.keys if context is not None else frozenset()
            forms = entity_forms(entity) + (context_forms(context) if context is not None else [])
            for form in forms:
                for key, pattern in self._patterns(entity.id, form, form in weak_forms, entity.match_case,
                                                   ambiguous):
                    slot = table.setdefault(key, {})
                    ident = (pattern.entity_id, pattern.cased, pattern.lil_form)
                    # a form that is both a plain alias and a weak resolution form counts as plain
                    if ident not in slot or not pattern.weak:
                        slot[ident] = pattern
        for key, patterns in table.items():
            # keys carry their word edges as spaces: a Latin or digit form needs an edge on both sides, an Arabic
            # form only after it (proclitics may come before it; they are checked per hit)
            spaced = word_spaced(key)
            lead = 0 if is_arabic_letter(key[0]) else 1
            padded = (" " if lead else "") + spaced + " "
            value = tuple(patterns.values())
            self._automaton.add_word(padded, (len(padded), lead, len(key), value, -1))
            for gap in (i for i, c in enumerate(spaced) if c == " " and spaced[i - 1] != " "):
                # the same form with a quote or bracket at one word gap: قانون «قيصر»
                variant = (" " if lead else "") + spaced[:gap] + " " + spaced[gap:] + " "
                self._automaton.add_word(variant, (len(variant), lead, len(key) + 1, value, gap))
        self.size = len(table)
        # people and places: their own name words, for the built-in checks of bot/extract/guards.py
        self.guarded: dict[str, Own] = own_words(self.entities)
        if table:
            self._automaton.make_automaton()

    @staticmethod
    def _patterns(entity_id: str, form: str, weak: bool = False, match_case: bool = False,
                  ambiguous: frozenset[str] = frozenset()) -> list[tuple[str, Pattern]]:
        norm = normalize(form)
        key = norm.folded
        if not key:
            return []
        amb = key in ambiguous
        latin = any(c.isascii() and c.isalpha() for c in form)
        cased = norm.cased if is_caps_alias(form) or (match_case and latin) else None
        arabic = is_arabic_letter(key[0])
        # the article ال, not a hamza-initial root that normalizes to it (ألماني → الماني, ألبانيا, إلهان)
        stripped = form.lstrip()
        al = arabic and key.startswith("ال") and len(key) > 2 and not stripped.startswith(("أل", "إل", "آل"))
        out = [(key, Pattern(entity_id, cased, arabic, al, False, weak, ambiguous=amb))]
        if al:
            # ل + ال drops the alef: للاسد for ل + الاسد; before a word that starts with ل one lam
            # goes too: للجنه for ل + اللجنه.
            lil = key[1:] if key[2] == "ل" else "ل" + key[1:]
            out.append((lil, Pattern(entity_id, None, True, True, True, weak, ambiguous=amb)))
        return out

    def iter_hits(self, folded: str) -> list[tuple[int, int, tuple[Pattern, ...]]]:
        """(start, end, patterns) in ``folded`` for every occurrence of a form that ends at a word edge (and, for a
        Latin or digit form, starts at one)."""
        if self.size == 0:
            return []
        out = []
        for last, (padded, lead, length, patterns, gap) in self._automaton.iter(" " + word_spaced_once(folded) + " "):
            start = last - padded + lead  # back to an index in ``folded`` (the text has a leading space)
            if gap < 0 or GAP_MARKS.intersection(folded[start + gap:start + gap + 2]):
                out.append((start, start + length, patterns))
        return out
