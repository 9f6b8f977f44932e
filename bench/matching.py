"""1. Matching cost vs rule count: the automaton (design A, in use) and a token-level index (design B,
bench/token_design.py) side by side, against one compiled regex per alias (what keyword filters do).

Two catalogues per size: ``same`` holds the same few real entities at every size, padded with invented aliases, so
every size finds the same mentions (the cost of more aliases, results unchanged); ``growing`` (the harness's first
design) holds more real entities as it grows, so larger sizes also find more mentions. Each figure is the best of
``ROUNDS`` passes over the item mix (the least disturbed by the rest of the machine)."""

from __future__ import annotations

import re

from bench.common import Timer, item_mix, synthetic_entities
from bench.token_design import TokenIndex
from bot.extract.catalog import Catalog, entity_forms
from bot.extract.mentions import find_mentions
from bot.rules.load import load_rules

SIZES = (100, 1_000, 10_000, 100_000)
ROUNDS = 5


def _frequent(shipped: list, texts: list[str], budget: int = 90) -> list:
    """The real entities the item mix mentions most, as many as fit in ``budget`` forms."""
    counts: dict[str, int] = {}
    for text in texts:
        for mention in find_mentions(Catalog(shipped), text):
            counts[mention.entity_id] = counts.get(mention.entity_id, 0) + 1
    out, used = [], 0
    for entity in sorted(shipped, key=lambda e: -counts.get(e.id, 0)):
        forms = len(entity_forms(entity))
        if used + forms <= budget and counts.get(entity.id):
            out.append(entity)
            used += forms
    return out


def _catalog_with(aliases: int, shipped: list, fixed: list | None) -> tuple[Catalog, list[str]]:
    entities = shipped[: max(1, aliases // 20)] if fixed is None else fixed
    have = sum(len(entity_forms(e)) for e in entities)
    entities = entities + synthetic_entities(max(0, aliases - have))
    forms = [f for e in entities for f in entity_forms(e)]
    return Catalog(entities), forms


def _regex_baseline(forms: list[str]) -> list[re.Pattern]:
    return [re.compile(r"(?<!\w)" + re.escape(f) + r"(?!\w)", re.IGNORECASE) for f in forms]


def _best_per_item(catalog: Catalog, texts: list[str]) -> float:
    for text in texts[:20]:  # warm-up
        find_mentions(catalog, text)
    best = float("inf")
    for _ in range(ROUNDS):
        with Timer() as t:
            for text in texts:
                find_mentions(catalog, text)
        best = min(best, t.elapsed / len(texts))
    return best


def _row(size: int, shipped: list, texts: list[str], fixed: list | None) -> dict:
    catalog, forms = _catalog_with(size, shipped, fixed)
    found = [find_mentions(catalog, text) for text in texts]
    row = {"aliases": len(forms), "automaton_keys": catalog.size, "us_per_item": _best_per_item(catalog, texts) * 1e6,
           "mentions_per_item": round(sum(map(len, found)) / len(texts), 3)}
    catalog.iter_hits = TokenIndex(catalog).iter_hits  # type: ignore[method-assign]  # design B, same catalogue
    row["token_us_per_item"] = _best_per_item(catalog, texts) * 1e6
    row["token_same_mentions"] = [find_mentions(catalog, text) for text in texts] == found
    if fixed is None and size <= 10_000:
        patterns = _regex_baseline(forms)
        sample = texts[: 40 if size >= 10_000 else 100]
        with Timer() as r:
            for text in sample:
                for p in patterns:
                    p.search(text)
        row["regex_us_per_item"] = r.elapsed / len(sample) * 1e6
        row["speedup_vs_regex"] = row["regex_us_per_item"] / row["us_per_item"]
    return row


def run(quick: bool = False) -> dict:
    shipped = list(load_rules("rules").entities.values())
    texts = [i.text for i in item_mix(60 if quick else 400)]
    sizes = (100, 1_000) if quick else SIZES
    out: dict = {"name": "matching", "items": len(texts), "target_ratio": 1.5, "target_speedup": 100,
                 # before issue 16 (the growing catalogue; the code of that time): 38/46/100/144 µs per item
                 "baseline_ratio_growing": 3.8}
    fixed = _frequent(shipped, texts)
    out["same_entities"] = [e.id for e in fixed]
    for mix in ("same", "growing"):
        rows = [_row(size, shipped, texts, fixed if mix == "same" else None) for size in sizes]
        out[f"rows_{mix}"] = rows
        out[f"ratio_{mix}"] = rows[-1]["us_per_item"] / rows[0]["us_per_item"]
        out[f"token_ratio_{mix}"] = rows[-1]["token_us_per_item"] / rows[0]["token_us_per_item"]
    out["ratio_met"] = out["ratio_same"] <= 1.5
    at_10k = next((r for r in out["rows_growing"] if r["aliases"] >= 10_000 and "speedup_vs_regex" in r), None)
    out["speedup_vs_regex_at_10k"] = at_10k["speedup_vs_regex"] if at_10k else None
    return out
