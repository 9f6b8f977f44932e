"""1. Matching cost vs rule count, against one compiled regex per alias (what keyword filters do)."""

from __future__ import annotations

import re

from bench.common import Timer, item_mix, synthetic_entities
from bot.extract.catalog import Catalog, entity_forms
from bot.extract.mentions import find_mentions
from bot.rules.load import load_rules

SIZES = (100, 1_000, 10_000, 100_000)


def _catalog_with(aliases: int, shipped) -> tuple[Catalog, list[str]]:
    entities = list(shipped)[: max(1, aliases // 20)]  # some real entities, the rest invented
    have = sum(len(entity_forms(e)) for e in entities)
    entities += synthetic_entities(max(0, aliases - have))
    forms = [f for e in entities for f in entity_forms(e)]
    return Catalog(entities), forms


def _regex_baseline(forms: list[str]) -> list[re.Pattern]:
    return [re.compile(r"(?<!\w)" + re.escape(f) + r"(?!\w)", re.IGNORECASE) for f in forms]


def run(quick: bool = False) -> dict:
    shipped = load_rules("rules").entities.values()
    items = item_mix(60 if quick else 400)
    texts = [i.text for i in items]
    sizes = (100, 1_000) if quick else SIZES
    rows = []
    for size in sizes:
        catalog, forms = _catalog_with(size, shipped)
        for text in texts[:20]:  # warm-up
            find_mentions(catalog, text)
        rounds = 3
        with Timer() as t:
            for _ in range(rounds):
                for text in texts:
                    find_mentions(catalog, text)
        per_item = t.elapsed / (rounds * len(texts))
        mentions = sum(len(find_mentions(catalog, text)) for text in texts) / len(texts)
        row = {"aliases": len(forms), "automaton_keys": catalog.size, "us_per_item": per_item * 1e6,
               "mentions_per_item": round(mentions, 3)}
        if size <= 10_000:
            patterns = _regex_baseline(forms)
            sample = texts[: 40 if size >= 10_000 else 100]
            with Timer() as r:
                for text in sample:
                    for p in patterns:
                        p.search(text)
            row["regex_us_per_item"] = r.elapsed / len(sample) * 1e6
            row["speedup_vs_regex"] = row["regex_us_per_item"] / row["us_per_item"]
        rows.append(row)
    first, last = rows[0]["us_per_item"], rows[-1]["us_per_item"]
    at_10k = next((r for r in rows if r["aliases"] >= 10_000 and "speedup_vs_regex" in r), None)
    return {
        "name": "matching",
        "items": len(texts),
        "rows": rows,
        "ratio_largest_to_smallest": last / first,
        "target_ratio": 1.5,
        "ratio_met": last / first <= 1.5,
        "speedup_vs_regex_at_10k": at_10k["speedup_vs_regex"] if at_10k else None,
        "target_speedup": 100,
    }
