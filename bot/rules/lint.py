"""Lint of loaded rules: risky aliases are warnings, not errors (the rules still load)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.extract.catalog import entity_forms, is_caps_alias
from bot.model import Entity
from bot.text.normalize import normalize_key

if TYPE_CHECKING:
    from bot.rules.load import Rules

# Frequent words that make unsafe aliases on their own (normalized form).
COMMON_WORDS = frozenset(
    normalize_key(w)
    for w in (
        # Arabic function words and frequent news words
        "في من الى على عن مع هذا هذه ذلك التي الذي كان قال قالت بين بعد قبل حتى او ام لا ما لم لن "
        "اليوم امس الان رئيس وزير وزارة دولة حكومة مجلس قرار القرار الرئيس اسد الاسد سلام امن الامن "
        "عام جديد كل عدد خلال اجل حول ضد عبر"
    ).split()
    + (
        # English
        "the a an of in on at to for and or but is are was were be by with from as it its this that "
        "us may will can new president minister government state council security peace act law "
        "general union march foreign office ministry affairs committee party army forces group people "
        "national international republic kingdom democratic united north south east west central "
        "city capital region world report news said says today time year day week month talks meeting "
        "deal agreement plan process crisis war conflict border camp aid help support trade oil gas "
        "turkey chad jordan china japan bush rice gallant grace hope justice liberty victory"
    ).split()
)
MIN_ALIAS_CHARS = 3


def _alias_warning(entity: Entity, form: str, key: str) -> str | None:
    """A form too short, or too common a word, to be safe as an alias (unless it matches only as written)."""
    exact = is_caps_alias(form) or (entity.match_case and any(c.isascii() and c.isalpha() for c in form))
    if len(key.replace(" ", "")) < MIN_ALIAS_CHARS and not exact:
        return (f"{entity.source}: warning: entity {entity.id!r}: alias {form!r} is too short "
                "to be safe (write it in capitals, or set match_case, to match only as written)")
    if key in COMMON_WORDS and not exact:
        return (f"{entity.source}: warning: entity {entity.id!r}: alias {form!r} is a common "
                "word and will match ordinary text (set match_case: true for a proper noun, or list it under "
                "context: aliases with the cues that decide it)")
    return None


def _context_warnings(rules: Rules) -> list[str]:
    """Ambiguous aliases that declare nothing to decide them: with ``otherwise: drop`` they never match, with
    ``otherwise: keep`` they always do."""
    out = []
    for entity_id, context in rules.contexts.items():
        if context.declares_evidence:
            continue
        entity = rules.entities[entity_id]
        forms = ", ".join(repr(f) for group in (context.aliases, context.likely) for forms in group.values()
                          for f in forms)
        drop = context.otherwise == "drop" and not any(context.likely.values())
        effect = "never match" if drop else "always match, as plain aliases"
        out.append(f"{entity.source}: warning: entity {entity_id!r}: ambiguous aliases {forms} declare no "
                   f"confirm, refute, confirm_entities or refute_entities: they {effect}")
    return out


def lint(rules: Rules) -> list[str]:
    warnings: list[str] = []
    owners: dict[str, list[str]] = {}
    for entity in rules.entities.values():
        for form in dict.fromkeys(entity_forms(entity)):
            key = normalize_key(form)
            if not key:
                continue
            if entity.id not in owners.setdefault(key, []):
                owners[key].append(entity.id)
            warning = None if entity.resolution is not None else _alias_warning(entity, form, key)
            if warning is not None:
                warnings.append(warning)
    warnings.extend(_context_warnings(rules))
    for key, ids in owners.items():
        if len(ids) > 1:
            first = rules.entities[ids[0]]
            warnings.append(f"{first.source}: warning: alias {key!r} is shared by entities {', '.join(ids)}")
    return warnings
