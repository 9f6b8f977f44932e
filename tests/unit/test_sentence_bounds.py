"""sentence_bounds finds the points of a text once and bisects; it must give what the windowed searches gave."""

from __future__ import annotations

import random
import re

from bot.extract.context import sentence_bounds

# the pattern and the two windowed searches sentence_bounds used before it kept the points of the text
_WINDOWED = re.compile(r"(?<![\s.][^\W\d_])(?<![\s.][^\W\d_]{2})(?<![\s.][^\W\d_]{3})[.!?؟](?= )")


def _windowed(folded: str, start: int, end: int) -> tuple[int, int]:
    first = max(0, start - 400)
    ends = list(_WINDOWED.finditer(folded, first, start))
    if ends:
        first = ends[-1].end()
    stop = _WINDOWED.search(folded, end, end + 400)
    return first, stop.start() if stop else min(len(folded), end + 400)


def test_same_bounds_as_the_windowed_searches() -> None:
    rng = random.Random(16)
    letters = "ab. !?؟ Ux.yاب"
    texts = ["", ".", ". ", "a. b", "U.S. President Assad. Then", "قال الرئيس. ثم؟ نعم"]
    texts += ["".join(rng.choice(letters) for _ in range(rng.randint(0, 24))) for _ in range(300)]
    texts += ["".join(rng.choice(letters + "aaaa   ") for _ in range(rng.randint(400, 1100))) for _ in range(20)]
    for text in texts:
        size = len(text)
        if size <= 24:
            spans = [(s, e) for s in range(size + 1) for e in range(s, min(size, s + 5) + 1)]
        else:
            spans = [(s, min(size, s + rng.randint(0, 12))) for s in range(0, size, 3)]
        for start, end in spans:
            assert sentence_bounds(text, start, end) == _windowed(text, start, end), (text, start, end)


def test_the_points_of_one_text_are_not_used_for_another() -> None:
    first = "Damascus. Talks resumed"
    other = "Talks resumed. Damascus"
    for _ in range(2):
        assert sentence_bounds(first, 10, 15) == _windowed(first, 10, 15) == (9, 23)
        assert sentence_bounds(other, 15, 23) == _windowed(other, 15, 23) == (14, 23)
        assert sentence_bounds(other[:], 0, 5) == _windowed(other, 0, 5) == (0, 13)
