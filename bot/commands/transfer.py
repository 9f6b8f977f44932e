"""/export and /import: a chat's subscriptions as a file in the rules format (version 1).

Export writes the phrases the chat follows as `topic` entities, one watchlist `chat-follows` whose `any` lists the
single entities and phrases it follows, and a copy of every shipped watchlist it follows (same id). Import reads
such a file back with the same schema and `file:line` errors as `rasad check`: a watchlist with a shipped id means
"follow that watchlist"; any other watchlist means "follow each entity it names"; an entity defined in the file
(not in the catalogue) is followed as words (its names and aliases).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml
from pydantic import ValidationError

from bot.alerts.i18n import t
from bot.extract.matcher import Matcher
from bot.model import Target
from bot.rules.schema import TOP_LEVEL_KEYS, EntityRule, WatchlistRule
from bot.text.normalize import normalize_key
from bot.yamlfile import (
    YAMLLimits,
    YMap,
    YSeq,
    item_line,
    key_line,
    parse_yaml,
    plain,
    resolve_plain,
    validation_errors,
)

MAX_IMPORT_BYTES = 256 * 1024
# an export of every shipped entity and watchlist and 200 phrases: 35 KB, 3,135 values, 5 levels deep
IMPORT_LIMITS = YAMLLimits(max_bytes=MAX_IMPORT_BYTES, max_nodes=20_000, max_depth=10)


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


def export_subscriptions(subs: list[Target], matcher: Matcher, language: str) -> str:
    entities, phrases, watchlists = [], [], []
    for target in subs:
        {"entity": entities, "phrase": phrases, "watchlist": watchlists}[target.kind].append(target.id)
    doc: dict = {"version": 1}
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


def import_subscriptions(data: bytes, filename: str, matcher: Matcher, language: str = "en") -> Imported:
    """Parse an import file; every problem is an error ``file:line: message``, nothing is applied on errors.

    The YAML is parsed within IMPORT_LIMITS (size, values, nesting; no anchors or aliases), its refusals in
    ``language``. Synchronous and CPU-bound: call it off the event loop."""
    result = Imported()
    file = filename or "import.yaml"

    def error(line: int, message: str) -> None:
        result.errors.append(f"{file}:{line}: {message}")

    doc, problem = parse_yaml(data, IMPORT_LIMITS, language)
    if problem is not None:
        error(*problem)
        return result
    if not isinstance(doc, YMap):
        error(1, "expected a mapping with 'entities:' and/or 'watchlists:'")
        return result
    for key in doc:
        if key not in TOP_LEVEL_KEYS:
            error(key_line(doc, key, 1), f"unknown top-level key {key!r}")
    if doc.get("version", 1) != 1:
        error(key_line(doc, "version", 1), f"unsupported rules version {doc.get('version')!r} (expected 1)")
    phrase_entities: dict[str, list[str]] = {}
    for section in ("entities", "watchlists"):
        seq = doc.get(section)
        if seq is None:
            continue
        if not isinstance(seq, YSeq):
            error(key_line(doc, section, 1), f"'{section}' must be a list")
            continue
        for i, node in enumerate(seq):
            line = item_line(seq, i, 1)
            model = EntityRule if section == "entities" else WatchlistRule
            try:
                rule = model.model_validate(plain(node))
            except ValidationError as exc:
                for ln, msg in validation_errors(exc, node, line, section[:-1]):
                    error(ln, msg)
                continue
            if section == "entities":
                if rule.id in matcher.entities:
                    result.entities.append(rule.id)
                    continue
                forms = list(rule.names.values()) + [a for al in rule.aliases.values() for a in al]
                phrase_entities[rule.id] = [normalize_key(f) for f in forms if normalize_key(f)]
                continue
            if rule.id in matcher.watchlists:
                result.watchlists.append(rule.id)
                continue
            for fld in ("any", "all"):
                for j, ref in enumerate(getattr(rule, fld)):
                    if ref in matcher.entities:
                        result.entities.append(ref)
                    elif ref in phrase_entities:
                        result.phrases.extend(phrase_entities[ref])
                    else:
                        error(item_line(node.get(fld), j, line),
                              f"watchlist {rule.id!r}: {fld}: unknown entity id {ref!r}")
    for phrases in phrase_entities.values():
        result.phrases.extend(p for p in phrases if p not in result.phrases)
    result.watchlists = list(dict.fromkeys(result.watchlists))
    result.entities = list(dict.fromkeys(result.entities))
    result.phrases = list(dict.fromkeys(result.phrases))
    return result
