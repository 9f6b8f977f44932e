"""Spans map back to the original text through runs of spaces, dropped marks and characters that give several
(issue 16: found by searches instead of a walk over every character; checked here against that walk)."""

from __future__ import annotations

import random

import pytest

from bot.text.normalize import _map_char, normalize


def _walk(text: str) -> tuple[int, ...]:
    """The reference: the original index of every normalized character, one character at a time."""
    offsets: list[int] = []
    last_space = True
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
    while offsets and _map_char(text[offsets[-1]]) == " ":
        offsets.pop()
    return tuple(offsets)


@pytest.mark.parametrize("text", [
    "", " ", "  UN  ", "\u200e", "a\u200e b", "وبِقـــانُونِ  قيصر", "ﻻ  ﷲ", "x \u064e y", "1½ …  done ",
    " \u00a0\u2003قيصر\n\nCaesar\t", "\u00ad\u00ad", "a \u200e \u200e b", "¨a",
])
def test_offsets_match_the_walk(text: str) -> None:
    assert normalize(text).offsets == _walk(text)


def test_offsets_match_the_walk_on_random_texts() -> None:
    rng = random.Random(16)
    alphabet = list("ab c\n\t") + ["\u064e", "\u0640", "\u200e", "\ufefb", "ﬁ", "أ", "ة", "٢", "\u00a0", "\u2003",
                                   "\u0651", "\u00ad", "¨", "…"]
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        assert normalize(text).offsets == _walk(text), repr(text)
