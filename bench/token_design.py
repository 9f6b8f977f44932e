"""Design B for issue 16, measured beside the automaton: a token-level index (dictionaries keyed by whole words).

Word edges and Arabic proclitics are handled per token (the token, then the token without each proclitic prefix it
may carry), multi-word forms continue word by word, and a quote or bracket between two words is allowed where the
automaton allows it. It yields the same (start, end, patterns) hits as ``Catalog.iter_hits`` after the start check,
so ``find_mentions`` over either gives the same mentions; the bench compares both on the item mix.
"""

from __future__ import annotations

import re

from bot.extract.catalog import GAP_MARKS, Catalog, Pattern
from bot.text.lang import is_arabic_letter
from bot.text.normalize import word_spaced

# every prefix that some form may carry (the exact rule per form is checked afterwards, as for the automaton)
PROCLITIC_PREFIXES = frozenset(
    p + q + r for p in ("", "و", "ف") for q in ("", "ب", "ك", "ل") for r in ("", "ال") if p + q + r
) | {"لل", "ولل", "فلل"}
_TOKENS = re.compile(r"\S+")

# the rest of the words (each with the spaces before it in the key), key length, patterns
Entry = tuple[tuple[tuple[int, str], ...], int, tuple[Pattern, ...]]


class TokenIndex:
    """First word → the forms starting with it (rest of the words, key length, patterns)."""

    def __init__(self, catalog: Catalog):
        self.first: dict[str, list[Entry]] = {}
        self.latin_first: set[str] = set()
        for padded, (_, lead, length, patterns, gap) in catalog._automaton.items():
            if gap >= 0:
                continue  # the automaton's quote-at-a-gap copies: gaps are checked per token here
            parts = [(m.start(), m.group()) for m in _TOKENS.finditer(padded)]
            rest = tuple((start - (p_start + len(p_word)), word)
                         for (p_start, p_word), (start, word) in zip(parts, parts[1:], strict=False))
            self.first.setdefault(parts[0][1], []).append((rest, length, patterns))
            if lead:
                self.latin_first.add(parts[0][1])

    def iter_hits(self, folded: str) -> list[tuple[int, int, tuple[Pattern, ...]]]:
        spaced = word_spaced(folded)
        tokens = [(m.start(), m.group()) for m in _TOKENS.finditer(spaced)]
        first = self.first
        out = []
        for i, (start, token) in enumerate(tokens):
            entries = first.get(token)
            if entries is not None:
                self._continue(folded, spaced, tokens, i, start, entries, out)
            if is_arabic_letter(token[0]):
                for k in range(1, min(4, len(token) - 1) + 1):
                    if token[:k] in PROCLITIC_PREFIXES:
                        entries = first.get(token[k:])
                        if entries is not None and token[k:] not in self.latin_first:
                            self._continue(folded, spaced, tokens, i, start + k, entries, out)
        return out

    @staticmethod
    def _continue(folded: str, spaced: str, tokens: list[tuple[int, str]], i: int, start: int, entries: list[Entry],
                  out: list) -> None:
        for rest, length, patterns in entries:
            j = i
            gaps = 0
            for spaces, word in rest:
                j += 1
                if j >= len(tokens) or tokens[j][1] != word:
                    break
                before = tokens[j - 1][0] + len(tokens[j - 1][1])
                if tokens[j][0] - before == spaces:
                    continue
                # one quote or bracket more at one word gap (the automaton's gap copies)
                if tokens[j][0] - before != spaces + 1 or gaps or not GAP_MARKS.intersection(folded[before:tokens[j][0]]):
                    break
                gaps += 1
            else:
                # the form ends at a word edge, with the non-word characters its key ends with (U.S.)
                end = start + length + gaps
                last = tokens[j][0] + len(tokens[j][1])
                if end >= last and not (spaced + " ")[last:end + 1].strip(" ") and end + 1 - last <= len(
                        spaced) + 1 - last:
                    out.append((start, end, patterns))
