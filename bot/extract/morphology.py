"""Is an ambiguous Arabic mention, as written, possibly a proper noun? (issue 13)

Two checks, both only for a word that carries diacritics in the item (the normalized text has none, so this is
the one place where they can still tell درعاً "a shield" from درعا "Daraa"):

* tanween (ً ٌ ٍ) on its last letter marks an indefinite noun or adjective, never a name: always on;
* camel-tools' morphological analyzer, used only when its data is installed: ``$CAMELTOOLS_DATA/catalogue.json``
  must exist (camel-tools would otherwise try to download it when imported) and a morphology database must be at
  ``$RASAD_MORPHOLOGY_DB`` or ``$CAMELTOOLS_DATA/data/morphology_db/calima-msa-r13/morphology.db``. When every
  analysis that agrees with the written diacritics is a common noun, adjective or verb, the mention is dropped.
  camel-tools is imported on first use, never at start-up, and any failure to load it leaves this check off.
"""

from __future__ import annotations

import logging
import os
from functools import cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DATA_ENV = "CAMELTOOLS_DATA"
DB_ENV = "RASAD_MORPHOLOGY_DB"
DEFAULT_DB = Path("data", "morphology_db", "calima-msa-r13", "morphology.db")
_MARKS = frozenset(chr(c) for c in range(0x064B, 0x0653))  # tanween, short vowels, shadda, sukun
_TANWEEN = frozenset("\u064b\u064c\u064d")


def database_path() -> Path | None:
    """The morphology database to use, or None when camel-tools' data is not installed."""
    data = os.environ.get(DATA_ENV)
    if not data or not (Path(data) / "catalogue.json").is_file():
        return None
    db = Path(os.environ.get(DB_ENV) or Path(data) / DEFAULT_DB)
    return db if db.is_file() else None


@cache
def _analyzer(db: Path) -> Any:  # noqa: ANN401 - camel-tools' Analyzer, imported only here
    try:
        from camel_tools.morphology.analyzer import Analyzer
        from camel_tools.morphology.database import MorphologyDB

        return Analyzer(MorphologyDB(str(db)), cache_size=20_000)
    except Exception as exc:  # noqa: BLE001 - optional data: a broken install turns the check off
        log.warning("camel-tools morphology not used: %s: %s (%s)", type(exc).__name__, exc, db)
        return None


def has_marks(word: str) -> bool:
    return any(c in _MARKS for c in word)


def _groups(word: str) -> list[tuple[str, frozenset[str]]]:
    """Letters with the marks written on each (fathatan before a final alef moved onto it: درعًا = درعاً)."""
    word = word.replace("\u064b\u0627", "\u0627\u064b")
    out: list[tuple[str, set[str]]] = []
    for ch in word:
        if ch in _MARKS:
            if out:
                out[-1][1].add(ch)
        elif ch != "\u0640":  # tatweel
            out.append((ch, set()))
    return [(letter, frozenset(marks)) for letter, marks in out]


def agrees(written: str, diac: str) -> bool:
    """The analysis' diacritized form carries every mark the text does (other letters: cannot tell, so yes)."""
    text, analysis = _groups(written), _groups(diac)
    if [g[0] for g in text] != [g[0] for g in analysis]:
        return True
    return all(marks <= theirs for (_, marks), (_, theirs) in zip(text, analysis, strict=True))


def not_a_name(written: str) -> str | None:
    """Why the written word (with its diacritics) cannot be a proper noun, or None."""
    if not has_marks(written):
        return None
    letters = [c for c in written if c not in _MARKS and c != "\u0640"]
    tail = written[len(written.rstrip("".join(_MARKS) + "\u0627\u0640")):]
    if any(c in _TANWEEN for c in tail) and letters:
        return f"tanween in {written!r}: an indefinite noun or adjective, not a name"
    db = database_path()
    analyzer = _analyzer(db) if db is not None and " " not in written.strip() else None
    if analyzer is None:
        return None
    fitting = [a for a in analyzer.analyze(written) if agrees(written, str(a.get("diac", "")))]
    if not fitting or any(a.get("pos") == "noun_prop" for a in fitting):
        return None
    kinds = "/".join(sorted({str(a.get("pos")) for a in fitting}))
    return f"camel-tools morphology: {written!r} is {kinds} as written, not a proper noun"
