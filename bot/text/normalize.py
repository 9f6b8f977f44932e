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


_NORMALIZE_TABLE = _CharTable(_map_char)
_FOLD_TABLE = _CharTable(_fold_char)
_SPACE_RUNS = re.compile(" {2,}")


class Normalized:
    """Normalized text; for every normalized character, the index of the original one (computed when asked)."""

    __slots__ = ("cased", "folded", "original", "_offsets")

    def __init__(self, cased: str, folded: str, original: str):
        self.cased = cased
        self.folded = folded
        self.original = original
        self._offsets: tuple[int, ...] | None = None

    @property
    def offsets(self) -> tuple[int, ...]:
        if self._offsets is None:
            self._offsets = _offsets(self.original)
        return self._offsets

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) of the normalized [start, end)."""
        offsets = self.offsets
        if start >= end:
            return (offsets[start] if start < len(offsets) else len(self.original),) * 2
        o_start = offsets[start]
        o_end = offsets[end - 1] + 1
        # extend over characters dropped right after the last one (e.g. diacritics on it)
        while o_end < len(self.original) and _map_char(self.original[o_end]) == "" and not _is_mark_to_keep(
            self.original[o_end]
        ):
            o_end += 1
        return o_start, o_end


def _is_mark_to_keep(ch: str) -> bool:
    # bidi / zero-width marks after a mention are not part of it; diacritics and tatweel are.
    return ch in _IGNORED and ch != "\u0640"


def _offsets(text: str) -> tuple[int, ...]:
    """The same walk as normalize(), keeping the original index of every character it emits."""
    offsets: list[int] = []
    last_space = True  # drop leading space
    for i, ch in enumerate(text):
        mapped = _map_char(ch)
        if not mapped:
            continue
        if mapped == " ":
            if last_space:
                continue
            last_space = True
        else:
            last_space = False
        offsets.extend([i] * len(mapped))
    while offsets and _map_char(text[offsets[-1]]) == " ":  # trailing space, as normalize() strips it
        offsets.pop()
    return tuple(offsets)


def normalize(text: str) -> Normalized:
    cased = _SPACE_RUNS.sub(" ", text.translate(_NORMALIZE_TABLE)).strip(" ")
    return Normalized(cased, cased.translate(_FOLD_TABLE), text)


def normalize_key(text: str) -> str:
    """The folded normalized form: what two spellings must share to be the same alias."""
    return normalize(text).folded


def is_word_char(ch: str) -> bool:
    return ch.isalnum() or unicodedata.category(ch).startswith("M")


_BOUNDARY_TABLE = _CharTable(lambda ch: ch if is_word_char(ch) else " ")


def word_spaced(text: str) -> str:
    """The same text with every non-word character as a space (same length): matching then sees word edges."""
    return text.translate(_BOUNDARY_TABLE)
