from bot.model import Watchlist
from bot.rules.engine import firing_watchlists, watchlist_fires


def wl(**kw):
    return Watchlist(id="w", names={"en": "W"}, **kw)


def test_any():
    assert watchlist_fires(wl(any=("a", "b")), {"b"})
    assert not watchlist_fires(wl(any=("a", "b")), {"c"})


def test_all():
    assert watchlist_fires(wl(all=("a", "b")), {"a", "b", "c"})
    assert not watchlist_fires(wl(all=("a", "b")), {"a"})


def test_none_vetoes():
    assert watchlist_fires(wl(any=("a",), none=("x",)), {"a"})
    assert not watchlist_fires(wl(any=("a",), none=("x",)), {"a", "x"})


def test_any_and_all_together():
    w = wl(any=("a", "b"), all=("s",))
    assert watchlist_fires(w, {"a", "s"})
    assert not watchlist_fires(w, {"a"})
    assert not watchlist_fires(w, {"s"})


def test_firing_watchlists_keeps_order_and_ignores_empty():
    lists = [Watchlist("one", {"en": "1"}, any=("a",)), Watchlist("two", {"en": "2"}, all=("a", "b"))]
    assert firing_watchlists(lists, ["a", "b"]) == ["one", "two"]
    assert firing_watchlists(lists, []) == []
