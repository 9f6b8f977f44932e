"""/export and /import: a chat's subscriptions as a file in the rules format (version 1).

Export writes the phrases the chat follows as `topic` entities, one watchlist `chat-follows` whose `any` lists the
single entities and phrases it follows, and a copy of every shipped watchlist it follows (same id). Import reads
such a file back through the rules loader (``bot.rules.load.load_document``), with the same schema and `file:line`
errors as `rasad check`: a watchlist with a shipped id means "follow that watchlist"; any other watchlist means
"follow each entity it names"; an entity defined in the file (not in the catalogue) is followed as words (its
names and aliases).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from bot.alerts.i18n import t
from bot.extract.matcher import RuleSet
from bot.model import Entity, Target
from bot.rules.load import KnownIds, Rules, load_document
from bot.text.normalize import normalize_key
from bot.yamlfile import IMPORT_LIMITS, resolve_plain

MAX_IMPORT_BYTES = IMPORT_LIMITS.max_bytes


@dataclass
class Imported:
    watchlists: list[str] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _slug(text: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "phrase"
    slug, n = f"phrase-{base}", 2
    while slug in taken:
        slug, n = f"phrase-{base}-{n}", n + 1
    taken.add(slug)
    return slug


def export_subscriptions(subs: list[Target], matcher: RuleSet, language: str) -> str:
    entities: list[str] = []
    phrases: list[str] = []
    watchlists: list[str] = []
    for target in subs:
        {"entity": entities, "phrase": phrases, "watchlist": watchlists}[target.kind].append(target.id)
    doc: dict[str, Any] = {"version": 1}
    taken: set[str] = set(matcher.entities) | set(matcher.watchlists)
    phrase_ids = []
    if phrases:
        doc["entities"] = []
        for phrase in phrases:
            ident = _slug(phrase, taken)
            phrase_ids.append(ident)
            doc["entities"].append({"id": ident, "type": "topic", "names": {
                "ar" if any("\u0600" <= c <= "\u06ff" for c in phrase) else "en": phrase}})
    lists = []
    if entities or phrase_ids:
        lists.append({"id": "chat-follows",
                      "names": {"en": t("en", "export.watchlist_name"), "ar": t("ar", "export.watchlist_name")},
                      "any": entities + phrase_ids})
    for wl_id in watchlists:
        wl = matcher.watchlists.get(wl_id)
        if wl is None:
            continue
        entry = {"id": wl.id, "names": dict(wl.names)}
        for key in ("any", "all", "none"):
            if getattr(wl, key):
                entry[key] = list(getattr(wl, key))
        lists.append(entry)
    if lists:
        doc["watchlists"] = lists
    return (f"# Rasad: subscriptions of this chat ({'ar' if language == 'ar' else 'en'}). "
            "Send this file back with the caption /import.\n"
            + yaml.dump(doc, Dumper=_Dumper, allow_unicode=True, sort_keys=False, default_flow_style=None))


class _Dumper(yaml.SafeDumper):
    """PyYAML quotes a string that YAML 1.1 would read as another type (``no``, ``on``); this also quotes one
    that YAML 1.2, as bot.yamlfile reads it, would (``0o17``, ``1e3``)."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "'" if value and not isinstance(resolve_plain(value), str) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def import_subscriptions(data: bytes, filename: str, matcher: RuleSet, language: str = "en") -> Imported:
    """Read an import file; every problem is an error ``file:line: message``, nothing is applied on errors.

    The file is loaded by the rules loader as one document against the catalogue (``load_document``), within
    IMPORT_LIMITS (size, values, nesting; no anchors or aliases), its YAML refusals in ``language``.
    Synchronous and CPU-bound: call it off the event loop."""
    known = KnownIds(entities=matcher.entities, watchlists=matcher.watchlists)
    rules = load_document(data, filename or "import.yaml", known, IMPORT_LIMITS, language)
    if rules.errors:
        return Imported(errors=rules.errors)
    return subscriptions_of(rules, known)


def subscriptions_of(rules: Rules, known: KnownIds) -> Imported:
    """What a loaded import document makes the chat follow.

    A watchlist with a catalogue id: that watchlist. Any other watchlist: each entity its ``any`` and ``all``
    name. An entity with a catalogue id: that entity; any other entity of the document: its words (names and
    aliases, normalized), whether a watchlist names it or not, those named first."""
    own_lists = [wl for wl in rules.watchlists.values() if wl.id not in known.watchlists]
    named = [ident for wl in own_lists for ident in (*wl.any, *wl.all)]
    return Imported(watchlists=[ident for ident in rules.watchlists if ident in known.watchlists],
                    entities=_entities_followed(rules, known, named),
                    phrases=_phrases_followed(rules, known, named))


def _entities_followed(rules: Rules, known: KnownIds, named: list[str]) -> list[str]:
    defined = [ident for ident in rules.entities if ident in known.entities]
    return _unique(defined + [ident for ident in named if ident in known.entities])


def _phrases_followed(rules: Rules, known: KnownIds, named: list[str]) -> list[str]:
    words = {ident: _words(entity) for ident, entity in rules.entities.items() if ident not in known.entities}
    first = [phrase for ident in named for phrase in words.get(ident, ())]
    return _unique(first + [phrase for phrases in words.values() for phrase in phrases])


def _words(entity: Entity) -> list[str]:
    """An entity of an import file as phrases: its names then its aliases, normalized, the empty ones left out."""
    forms = [*entity.names.values(), *(alias for aliases in entity.aliases.values() for alias in aliases)]
    return [key for key in map(normalize_key, forms) if key]


def _unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))
