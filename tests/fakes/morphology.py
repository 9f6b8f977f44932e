"""A tiny camel-tools morphology database, written by the tests (the real one is downloaded data we never fetch)."""

from __future__ import annotations

import json
from pathlib import Path

_LINES = [
    "###DEFINES###",
    "DEFINE pos pos:noun pos:noun_prop pos:adj pos:verb",
    "DEFINE diac diac:*open*", "DEFINE lex lex:*open*", "DEFINE bw bw:*open*", "DEFINE gloss gloss:*open*",
    "###DEFAULTS###",
    "DEFAULT pos:noun diac:* lex:* bw:* gloss:*", "DEFAULT pos:noun_prop diac:* lex:* bw:* gloss:*",
    "DEFAULT pos:adj diac:* lex:* bw:* gloss:*",
    "###ORDER###", "ORDER pos diac lex bw gloss",
    "###TOKENIZATIONS###", "TOKENIZATION diac",
    "###STEMBACKOFF###",
    "###PREFIXES###",
    "\tP0\tdiac: bw: gloss:",
    "و\tPw\tdiac:وَ bw:وَ/CONJ+ gloss:and",
    "###SUFFIXES###",
    "\tS0\tdiac: bw: gloss:",
    "###STEMS###",
    "مصر\tNP\tdiac:مِصْر lex:مِصْر bw:مِصْر/NOUN_PROP pos:noun_prop gloss:Egypt",
    "مصر\tAJ\tdiac:مُصِرّ lex:مُصِرّ bw:مُصِرّ/ADJ pos:adj gloss:insistent",
    "###TABLE AB###", "P0 NP", "P0 AJ", "Pw NP", "Pw AJ",
    "###TABLE BC###", "NP S0", "AJ S0",
    "###TABLE AC###", "P0 S0", "Pw S0",
]


def camel_data(root: Path) -> Path:
    """A CAMELTOOLS_DATA folder with an empty catalogue (so camel-tools never downloads one) and a morphology
    database at the default place; returns the folder."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "catalogue.json").write_text(json.dumps({"version": "1.5", "packages": {}, "components": {}}))
    db = root / "data" / "morphology_db" / "calima-msa-r13" / "morphology.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    db.write_text("\n".join(_LINES) + "\n", encoding="utf-8")
    return root
