"""One alert per story: the same story reaches several feeds (agency copy, two editions, a re-published item
with a new guid). An item joins an earlier story when, within a time window, it has the same canonical URL, or a
near-duplicate title and summary, or (across languages) the same set of several catalogue entities and numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

from bot.text.normalize import normalize_key

WINDOW = timedelta(hours=48)  # same canonical URL
TEXT_WINDOW = timedelta(hours=12)  # near-duplicate text: rewrites and re-publications come within hours; the
# same kind of event (a strike, a monthly meeting) is reported again with the same words a day later
CROSS_LANGUAGE_WINDOW = timedelta(hours=12)
TEXT_THRESHOLD = 0.5
TEXT_ALONE = 0.9  # text this close is the same story whatever entities each side names
TITLE_THRESHOLD = 0.75
TITLE_AND_TEXT = (0.6, 0.4)  # a close title with a close text
ENTITY_THRESHOLD = 0.8
MIN_SHARED_ENTITIES = 3

TRACKING = re.compile(r"^(utm_.*|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|ref|ref_src|ref_url|cmpid|ocid|"
                      r"at_medium|at_campaign|at_custom\d*|rss|src|sref|spm|_ga|igshid|share|taid|xtor|smid|"
                      r"cid|via|feature|from|output)$", re.IGNORECASE)
# Words too common to tell two stories apart (normalized). Both languages.
STOPWORDS = frozenset(normalize_key(w) for w in (
    "the a an of in on at to for and or but is are was were be been by with from as it its this that said says "
    "will would has have had not no after over new more than about into against between during amid says "
    "في من الى على عن مع هذا هذه ذلك التي الذي كان قال قالت بين بعد قبل حتى او ان انه لا ما لم لن قد تم اليوم "
    "امس خلال اجل حول ضد عبر كما وقال وقالت واضاف الى".split()))
_NUMBER = re.compile(r"\d{3,}")


def canonical_url(link: str) -> str | None:
    """The link without tracking parameters, fragment, 'www.'/'m.'/'amp' variants or trailing slash."""
    if not link:
        return None
    try:
        parsed = urlparse(link.strip())
    except ValueError:
        return None
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return None
    host = parsed.hostname.lower()
    for prefix in ("www.", "m.", "amp.", "mobile."):
        if host.startswith(prefix):
            host = host[len(prefix):]
    path = re.sub(r"/(amp|index\.html?)/?$", "", parsed.path) or "/"
    path = path.rstrip("/") or "/"
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parsed.query, keep_blank_values=True)
                             if not TRACKING.match(k)))
    return urlunparse(("https", host, path, "", query, ""))


def words(text: str) -> frozenset[str]:
    return frozenset(w for w in re.findall(r"\w+", normalize_key(text)) if w not in STOPWORDS and len(w) > 1)


def fingerprint(title: str, summary: str) -> str:
    """Title words, '|', then the words of the title and the summary's start (stored, compared later)."""
    return " ".join(sorted(words(title))) + " | " + " ".join(sorted(words(f"{title} {summary[:400]}")))


def _jaccard(a: frozenset[str] | set[str], b: frozenset[str] | set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


@dataclass(frozen=True)
class StoryCandidate:
    item_id: int
    story_id: int
    canonical_url: str | None
    fingerprint: str
    language: str | None
    entities: frozenset[str]
    when: datetime

    @property
    def title_words(self) -> frozenset[str]:
        return frozenset(self.fingerprint.split(" | ", 1)[0].split())

    @property
    def text_words(self) -> frozenset[str]:
        return frozenset(self.fingerprint.split(" | ", 1)[-1].split())


def _elsewhere(a: StoryCandidate, b: StoryCandidate) -> bool:
    """Each item names a catalogue entity the other does not, and they share at most half of them: the same
    words about another place or party ("Guterres calls for de-escalation in south Lebanon" / "... in Sweida")."""
    only_a = {e for e in a.entities - b.entities if not _related(e, b.entities)}
    only_b = {e for e in b.entities - a.entities if not _related(e, a.entities)}
    return bool(only_a and only_b) and _jaccard(a.entities, b.entities) <= 0.5


def _related(entity: str, others: frozenset[str]) -> bool:
    """``eu-syria-sanctions`` and ``eu``: one id is a part of the other, so they do not name different parties."""
    parts = entity.split("-")
    return any(o in parts or entity in o.split("-") for o in others)


def same_story(a: StoryCandidate, b: StoryCandidate) -> bool:
    if abs(a.when - b.when) > WINDOW:
        return False
    if a.canonical_url and a.canonical_url == b.canonical_url:
        return True
    if abs(a.when - b.when) > TEXT_WINDOW:
        return False
    if a.language == b.language or not a.language or not b.language:
        title = _jaccard(a.title_words, b.title_words) if len(a.title_words) >= 4 else 0.0
        text = _jaccard(a.text_words, b.text_words)
        if _elsewhere(a, b) and text < TEXT_ALONE:
            return False
        return (title >= TITLE_THRESHOLD or text >= TEXT_THRESHOLD
                or (title >= TITLE_AND_TEXT[0] and text >= TITLE_AND_TEXT[1]))
    # two languages: several shared catalogue entities and the same numbers, close in time
    if abs(a.when - b.when) > CROSS_LANGUAGE_WINDOW:
        return False
    shared = a.entities & b.entities
    if len(shared) < MIN_SHARED_ENTITIES or _jaccard(a.entities, b.entities) < ENTITY_THRESHOLD:
        return False
    numbers_a = set(_NUMBER.findall(a.fingerprint))
    numbers_b = set(_NUMBER.findall(b.fingerprint))
    return numbers_a == numbers_b


class StoryIndex:
    """Recent items, indexed so a new item is compared only with items sharing its URL, a title word or an entity.

    Keeps the cost per new item nearly flat however many items arrived in the window."""

    COMMON = 300  # a word or entity shared by more items than this is too common to look up by

    def __init__(self) -> None:
        self.items: dict[int, StoryCandidate] = {}
        self._by_url: dict[str, int] = {}
        self._by_word: dict[str, set[int]] = {}
        self._by_entity: dict[str, set[int]] = {}

    def __len__(self) -> int:
        return len(self.items)

    def add(self, c: StoryCandidate) -> None:
        self.items[c.item_id] = c
        if c.canonical_url:
            self._by_url.setdefault(c.canonical_url, c.item_id)
        for w in c.title_words:
            self._by_word.setdefault(w, set()).add(c.item_id)
        for e in c.entities:
            self._by_entity.setdefault(e, set()).add(c.item_id)

    def prune(self, now: datetime) -> None:
        old = [i for i, c in self.items.items() if now - c.when > WINDOW]
        if not old:
            return
        for i in old:
            c = self.items.pop(i)
            if c.canonical_url and self._by_url.get(c.canonical_url) == i:
                del self._by_url[c.canonical_url]
            for w in c.title_words:
                self._by_word.get(w, set()).discard(i)
            for e in c.entities:
                self._by_entity.get(e, set()).discard(i)

    def _same_url(self, new: StoryCandidate) -> StoryCandidate | None:
        """The earlier item with the new one's canonical URL, when it is the same story."""
        if new.canonical_url and new.canonical_url in self._by_url:
            earlier = self.items.get(self._by_url[new.canonical_url])
            if earlier is not None and same_story(new, earlier):
                return earlier
        return None

    def _neighbours(self, new: StoryCandidate) -> set[int]:
        """Items that share a title word, or one of the new item's two rarest entities (none too common)."""
        ids: set[int] = set()
        for w in new.title_words:
            bucket = self._by_word.get(w)
            if bucket and len(bucket) <= self.COMMON:
                ids |= bucket
        if len(new.entities) >= MIN_SHARED_ENTITIES:
            rare = sorted((self._by_entity.get(e, set()) for e in new.entities), key=len)[:2]
            for bucket in rare:
                if len(bucket) <= self.COMMON * 3:
                    ids |= bucket
        return ids

    def find(self, new: StoryCandidate) -> int | None:
        earlier = self._same_url(new)
        if earlier is not None:
            return earlier.story_id
        ids = self._neighbours(new)
        for candidate in sorted((self.items[i] for i in ids if i != new.item_id and i in self.items),
                                key=lambda c: c.when):
            if same_story(new, candidate):
                return candidate.story_id
        return None
