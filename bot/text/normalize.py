"""Text normalization shared by aliases and item text.

Both sides go through the same per-character mapping, so an alias found in the
normalized text maps back to a span of the original text:

* Unicode NFKC (ligatures such as ﻻ, presentation forms, full-width Latin);
* Arabic diacritics (camel-tools ``dediac_ar``) and tatweel removed;
* أ إ آ ٱ → ا, ى → ي, ة → ه (camel-tools ``normalize_*_ar``), Persian ی ک → ي ك;
* Arabic-Indic and Persian digits → ASCII (camel-tools ``CharMapper``);
* bidi and zero-width marks ignored (U+200E, U+200F, U+061C, U+200C, U+200D, ...);
* every run of white space becomes one space;
* letters are lower-cased in ``folded`` and kept as they are in ``cased`` (an alias
  written in capitals, such as UN, matches only in capitals).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable
from functools import lru_cache

from camel_tools.utils.charmap import CharMapper
from camel_tools.utils.dediac import dediac_ar
from camel_tools.utils.normalize import (
    normalize_alef_ar,
    normalize_alef_maksura_ar,
    normalize_teh_marbuta_ar,
)

_DIGITS = {chr(0x0660 + i): str(i) for i in range(10)} | {chr(0x06F0 + i): str(i) for i in range(10)}
_IGNORED = {
    "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u061c", "\u2060", "\ufeff",
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
    "\u0640",  # tatweel
    "\u00ad",  # soft hyphen
}
_PERSIAN_LETTERS = {"\u06cc": "\u064a", "\u06a9": "\u0643"}  # ی → ي, ک → ك
_APOSTROPHES = {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2032": "'"}
_DASHES = {c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2212"}

_CHAR_MAPPER = CharMapper(
    _DIGITS | {c: "" for c in _IGNORED} | _PERSIAN_LETTERS | _APOSTROPHES | _DASHES
)


@lru_cache(maxsize=65536)
def _map_char(ch: str) -> str:
    """The normalized form of one character (may be empty or several characters)."""
    if ch.isspace():
        return " "
    out = unicodedata.normalize("NFKC", ch)
    out = _CHAR_MAPPER(out)
    out = dediac_ar(out)
    out = normalize_alef_ar(out)
    out = normalize_alef_maksura_ar(out)
    out = normalize_teh_marbuta_ar(out)
    if any(c.isspace() for c in out):
        out = " "
    # Latin combining marks left after NFKC of a decomposed character are kept; Arabic ones went above.
    return out


@lru_cache(maxsize=65536)
def _fold_char(ch: str) -> str:
    low = ch.lower()
    return low if len(low) == len(ch) else ch


class _CharTable(dict[int, str]):
    """A str.translate table filled on first sight of each character (C-speed after that)."""

    def __init__(self, fn: Callable[[str], str]):
        super().__init__()
        self._fn = fn

    def __missing__(self, code: int) -> str:
        value = self._fn(chr(code))
        self[code] = value
        return value


class _NormalizeTable(_CharTable):
    """The normalization table; it also keeps the characters seen so far that do not give exactly one character
    (dropped marks, ligatures): spans map back through them alone, found by one regular-expression search."""

    def __init__(self) -> None:
        super().__init__(_map_char)
        self._uneven: set[str] = set()
        self._uneven_pattern: tuple[int, re.Pattern[str] | None] = (0, None)

    def __missing__(self, code: int) -> str:
        value = _map_char(chr(code))
        if len(value) != 1:
            self._uneven.add(chr(code))  # before the table has it: a text translated with it finds it here
        self[code] = value
        return value

    def uneven(self) -> re.Pattern[str] | None:
        """A pattern of every character seen so far that does not map to exactly one character."""
        size, pattern = self._uneven_pattern
        if size != len(self._uneven):
            chars = sorted(self._uneven)
            pattern = re.compile("[" + "".join(re.escape(c) for c in chars) + "]") if chars else None
            self._uneven_pattern = (len(chars), pattern)
        return pattern


_NORMALIZE_TABLE = _NormalizeTable()
# every ASCII character gives exactly one: an ASCII text has none of the uneven characters (checked, not assumed)
_ASCII_EVEN = all(len(_map_char(chr(code))) == 1 for code in range(128))
_FOLD_TABLE = _CharTable(_fold_char)
_SPACE_RUNS = re.compile(" {2,}")


class Normalized:
    """Normalized text; for every normalized character, the index of the original one (computed when asked)."""

    __slots__ = ("cased", "folded", "original", "_offsets", "_mapped", "_shifts", "_uneven", "_even")

    def __init__(self, cased: str, folded: str, original: str, mapped: str | None = None):
        self.cased = cased
        self.folded = folded
        self.original = original
        self._mapped = mapped  # the original mapped character by character, before spaces are collapsed
        self._offsets: tuple[int, ...] | None = None
        # found when a span is first asked: the runs of spaces collapsed and the characters that gave nothing or
        # several (see _origin)
        self._shifts: tuple[list[int], list[int]] | None = None
        self._uneven: tuple[list[int], list[tuple[int, int, int]]] | None = None
        self._even = False  # found with them: every index is the same in the original (nothing moved)

    @property
    def offsets(self) -> tuple[int, ...]:
        """The original index of every normalized character."""
        if self._offsets is None:
            self._offsets = tuple(self._origin(i) for i in range(len(self.folded)))
        return self._offsets

    def _origin(self, index: int) -> int:
        """The original index of the normalized character at ``index``: through the collapsed runs of spaces
        (normalized → mapped), then through the characters that did not give exactly one (mapped → original).
        Both are found by C-speed searches; Python looks only at what they find."""
        if self._shifts is None:
            self._find_shifts()
        starts, shifts = self._shifts  # type: ignore[misc]
        at = index + shifts[bisect_right(starts, index) - 1]  # index in ``mapped``
        if self._uneven is None:
            return at
        positions, events = self._uneven
        k = bisect_right(positions, at) - 1
        if k < 0:
            return at
        origin, width, ahead = events[k]
        return origin if at < positions[k] + width else at - ahead

    def _find_shifts(self) -> None:
        mapped = self._mapped if self._mapped is not None else self.original.translate(_NORMALIZE_TABLE)
        self._mapped = mapped
        self._shifts = _even_shifts(mapped)
        self._uneven = _uneven_events(self.original)
        self._even = self._uneven is None and self._shifts == ([0], [0])

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) of the normalized [start, end)."""
        if self._shifts is None:
            self._find_shifts()
        if self._even and start < end:
            # nothing dropped, added or collapsed: the same indices (and no character after the span gives nothing)
            return start, end
        if start >= end:
            return (self._origin(start) if start < len(self.folded) else len(self.original),) * 2
        o_start = self._origin(start)
        o_end = self._origin(end - 1) + 1
        # extend over characters dropped right after the last one (e.g. diacritics on it)
        while o_end < len(self.original) and _map_char(self.original[o_end]) == "" and not _is_mark_to_keep(
            self.original[o_end]
        ):
            o_end += 1
        return o_start, o_end


def _is_mark_to_keep(ch: str) -> bool:
    # bidi / zero-width marks after a mention are not part of it; diacritics and tatweel are.
    return ch in _IGNORED and ch != "\u0640"


_SPACE_RUNS_INNER = re.compile("  +")


def _even_shifts(mapped: str) -> tuple[list[int], list[int]]:
    """Where the collapsing of spaces moves ``mapped`` (the text mapped character by character): the normalized
    index where each stretch starts, and how far its characters stand from their index in ``mapped``. Leading and
    trailing spaces go, and every space of a run but the first."""
    lead = len(mapped) - len(mapped.lstrip(" "))
    starts, shifts = [0], [lead]
    if "  " not in mapped:  # no run of spaces to collapse (the common case: a C-speed search says so)
        return starts, shifts
    dropped = lead
    end_of_text = len(mapped.rstrip(" "))
    for run in _SPACE_RUNS_INNER.finditer(mapped, lead, end_of_text):
        first, end = run.start() + 1, run.end()
        starts.append(first - dropped)
        dropped += end - first
        shifts.append(dropped)
    return starts, shifts


def _uneven_events(text: str) -> tuple[list[int], list[tuple[int, int, int]]] | None:
    """Where ``text`` (already translated) has characters that give nothing or several: their indices in the
    mapped text, and for each (original index, characters given, mapped minus original index after it)."""
    if _ASCII_EVEN and text.isascii():
        return None
    pattern = _NORMALIZE_TABLE.uneven()
    if pattern is None:
        return None
    positions: list[int] = []
    events: list[tuple[int, int, int]] = []
    ahead = 0  # mapped index minus original index so far
    for found in pattern.finditer(text):
        origin = found.start()
        width = len(_map_char(found.group()))
        positions.append(origin + ahead)
        ahead += width - 1
        events.append((origin, width, ahead))
    return (positions, events) if events else None


def normalize(text: str) -> Normalized:
    mapped = text.translate(_NORMALIZE_TABLE)
    cased = _SPACE_RUNS.sub(" ", mapped).strip(" ")
    return Normalized(cased, cased.translate(_FOLD_TABLE), text, mapped)


def normalize_key(text: str) -> str:
    """The folded normalized form: what two spellings must share to be the same alias."""
    return normalize(text).folded


def is_word_char(ch: str) -> bool:
    return ch.isalnum() or unicodedata.category(ch).startswith("M")


_BOUNDARY_TABLE = _CharTable(lambda ch: ch if is_word_char(ch) else " ")


def word_spaced(text: str) -> str:
    """The same text with every non-word character as a space (same length): matching then sees word edges."""
    return text.translate(_BOUNDARY_TABLE)


_LAST_SPACED: tuple[str, str] = ("", "")


def word_spaced_once(text: str) -> str:
    """``word_spaced(text)``, computed once for the text being matched: the automaton's pass and the checks after
    it (bot/extract/guards.py) share it. Only the last text is kept (compared by identity)."""
    global _LAST_SPACED
    last = _LAST_SPACED
    if last[0] is text:
        return last[1]
    spaced = text.translate(_BOUNDARY_TABLE)
    _LAST_SPACED = (text, spaced)
    return spaced
