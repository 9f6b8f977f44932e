"""Watchlists as data, evaluated against the entities an item mentions."""

from __future__ import annotations

from collections.abc import Iterable

from bot.model import Watchlist


def watchlist_fires(watchlist: Watchlist, mentioned: set[str]) -> bool:
    if watchlist.any and mentioned.isdisjoint(watchlist.any):
        return False
    if not mentioned.issuperset(watchlist.all):
        return False
    return mentioned.isdisjoint(watchlist.none)


def firing_watchlists(watchlists: Iterable[Watchlist], mentioned: Iterable[str]) -> list[str]:
    found = set(mentioned)
    if not found:
        return []
    return [w.id for w in watchlists if watchlist_fires(w, found)]
