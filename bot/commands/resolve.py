"""Resolve what a user typed ("/watch قانون قيصر", "/watch Resolution 2254", "/watch ceasar act") to catalogue
entities or watchlists: exact forms first (any language, any alias, with clitics), then small typos."""

from __future__ import annotations

from typing import Protocol

import editdistance

from bot.extract.catalog import entity_forms
from bot.extract.matcher import Matcher
from bot.model import Target
from bot.text.normalize import normalize_key


class Lookup(Protocol):
    """What chat commands call: this process's :class:`Resolver`, or the matching process's
    (bot/rules/worker.py)."""

    async def lookup(self, query: str, limit: int = 6) -> list[Target]: ...


class Resolver:
    """Built once per rules load; lookups are dictionary hits, typo search is bounded by length."""

    def __init__(self, matcher: Matcher):
        self.matcher = matcher
        self.index: dict[str, set[Target]] = {}
        for entity in matcher.entities.values():
            for form in [entity.id, *entity_forms(entity)]:
                self._add(form, Target("entity", entity.id))
        for watchlist in matcher.watchlists.values():
            for form in [watchlist.id, *watchlist.names.values()]:
                self._add(form, Target("watchlist", watchlist.id))
        self._by_length: dict[int, list[str]] = {}
        for key in self.index:
            self._by_length.setdefault(len(key), []).append(key)

    def _add(self, form: str, target: Target) -> None:
        key = normalize_key(form)
        if key:
            self.index.setdefault(key, set()).add(target)

    async def lookup(self, query: str, limit: int = 6) -> list[Target]:
        """:meth:`resolve` for the event loop (the same call as the matching process's resolver)."""
        return self.resolve(query, limit)

    def resolve(self, query: str, limit: int = 6) -> list[Target]:
        key = normalize_key(query)
        if not key:
            return []
        if key in self.index:
            return self._collapse(sorted(self.index[key]))
        if key.isdigit():  # "/watch 2254"
            entity_id = self.matcher.catalog.resolutions.get(int(key))
            return [Target("entity", entity_id)] if entity_id else []
        # the query is one mention of an entity, with clitics or another form (وبقانون قيصر, UNSCR 2254)
        mentions = self.matcher.match_text(query).mentions
        if mentions and sum(m.end - m.start for m in mentions) >= len(query.strip()) * 0.6:
            return sorted({Target("entity", m.entity_id) for m in mentions})[:limit]
        return self._containing(key, limit) or self._fuzzy(key, limit)

    def _collapse(self, targets: list[Target]) -> list[Target]:
        """A watchlist that is exactly one of the entities found ("Resolution 2254") stands for it."""
        entities = {t.id for t in targets if t.kind == "entity"}
        same = set()
        for target in targets:
            wl = self.matcher.watchlists.get(target.id) if target.kind == "watchlist" else None
            if wl is not None and len(wl.any) == 1 and not wl.all and not wl.none and wl.any[0] in entities:
                same.add(wl.any[0])
        return [t for t in targets if not (t.kind == "entity" and t.id in same)]

    def _containing(self, key: str, limit: int) -> list[Target]:
        """Forms that hold the query as whole words: "Assad" → Bashar, Hafez and Maher al-Assad."""
        if len(key) < 3:
            return []
        needle = f" {key} "
        found: dict[Target, int] = {}
        for candidate, targets in self.index.items():
            if needle in f" {candidate.replace('-', ' ')} " or needle in f" {candidate} ":
                for t in targets:
                    found[t] = min(found.get(t, 1 << 30), len(candidate))
        return [t for t, _ in sorted(found.items(), key=lambda kv: (kv[1], kv[0]))][:limit]

    def _fuzzy(self, key: str, limit: int) -> list[Target]:
        budget = 1 if len(key) <= 6 else 2 if len(key) <= 14 else 3
        scored: list[tuple[int, Target]] = []
        for length in range(len(key) - budget, len(key) + budget + 1):
            for candidate in self._by_length.get(length, ()):
                distance = editdistance.eval(key, candidate)
                if distance <= budget:
                    scored.extend((distance, t) for t in self.index[candidate])
        best: dict[Target, int] = {}
        for distance, target in sorted(scored):
            best.setdefault(target, distance)
        return [t for t, _ in sorted(best.items(), key=lambda kv: (kv[1], kv[0]))][:limit]
