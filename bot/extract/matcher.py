"""Item → Match: mentions of catalogue entities, then the watchlists that fire."""

from __future__ import annotations

from bot.extract.catalog import Catalog
from bot.extract.mentions import Decided, explain, find_mentions
from bot.model import Entity, Item, Match, Watchlist
from bot.rules.engine import firing_watchlists
from bot.rules.load import Rules


class RuleSet:
    """The entities and watchlists in force: all that alerts, digests and commands read. When matching runs in a
    child process (bot/rules/worker.py), this process holds only this part of the rules, not the automaton."""

    def __init__(self, entities: dict[str, Entity], watchlists: dict[str, Watchlist]):
        self.entities = entities
        self.watchlists = watchlists


class Matcher(RuleSet):
    """Compiled once per rules (re)load; ``match`` is pure and cheap to call per item."""

    def __init__(self, rules: Rules):
        super().__init__(dict(rules.entities), dict(rules.watchlists))
        self.catalog = Catalog(self.entities.values(), rules.contexts)

    def rule_set(self) -> RuleSet:
        """The same entities and watchlists without the automaton (shares the dictionaries)."""
        return RuleSet(self.entities, self.watchlists)

    def match_text(self, text: str) -> Match:
        mentions = tuple(find_mentions(self.catalog, text))
        ids = {m.entity_id for m in mentions}
        return Match(mentions, tuple(firing_watchlists(self.watchlists.values(), ids)))

    def explain_text(self, text: str) -> list[Decided]:
        """Every candidate mention, kept or dropped, with the evidence (``rasad explain``)."""
        return explain(self.catalog, text)

    def match(self, item: Item) -> Match:
        return self.match_text(item.text)
