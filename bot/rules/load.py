"""Load rules in the YAML format, collecting all errors as ``file:line: message``.

:func:`load_rules` loads every rules file of a directory (the catalogue); :func:`load_document` loads one
document read against an already loaded catalogue (a chat's /import file), through the same walk of the
same sections with the same checks, except where the document only names what the catalogue defines.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bot.extract.context import EntityContext, build_context
from bot.model import Entity, Watchlist
from bot.rules.lint import lint
from bot.rules.schema import TOP_LEVEL_KEYS, EntityRule, Language, WatchlistRule
from bot.text.normalize import normalize_key
from bot.yamlfile import (
    RULES_LIMITS,
    YAMLLimits,
    YMap,
    YSeq,
    display_path,
    item_line,
    key_line,
    parse_yaml,
    plain,
    read_yaml_file,
    validation_errors,
)

_Rule = TypeVar("_Rule", bound=BaseModel)
NOT_A_MAPPING = "a rules file must be a mapping with 'entities:' and/or 'watchlists:'"
REFERENCE_FIELDS = ("any", "all", "none")
FOLLOWED_FIELDS = ("any", "all")  # what a watchlist of an /import file makes the chat follow


@dataclass
class Rules:
    entities: dict[str, Entity] = field(default_factory=dict)
    watchlists: dict[str, Watchlist] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    contexts: dict[str, EntityContext] = field(default_factory=dict)  # entity id → its ``context:`` key

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class KnownIds:
    """The ids a single document may name without defining them: those of the loaded catalogue."""

    entities: Collection[str] = frozenset()
    watchlists: Collection[str] = frozenset()


@dataclass(frozen=True)
class _Reference:
    """An entity id named by a watchlist, resolved once every entity of the load is known."""

    file: str
    line: int
    watchlist: str
    field: str
    entity: str
    owner: str = "watchlist"  # what names the id: a watchlist, or an entity's context


class _Loader:
    """One walk over rules documents. ``known`` set: a single document read against a catalogue, where

    * an entity or watchlist with a catalogue id stands for the catalogue's: it is checked against the schema
      but its names and references are the catalogue's business (a file exported before the catalogue changed
      still reads), and naming it twice is not a duplicate;
    * a watchlist may name the catalogue's entities, and only what it follows (``any``, ``all``) is resolved;
    * an entity of the document is followed as its words: a form with no words once normalized is not an error.
    """

    def __init__(self, limits: YAMLLimits = RULES_LIMITS, language: str = "en", known: KnownIds | None = None):
        self.rules = Rules()
        self.limits = limits
        self.language = language  # of YAML refusals (size, anchors, nesting, syntax)
        self.known = known
        self.first_seen: dict[str, str] = {}  # id → "file:line" where it was first defined
        self.refs: list[_Reference] = []  # checked once every entity is known

    def error(self, file: str, line: int, message: str) -> None:
        self.rules.errors.append(f"{file}:{line}: {message}")

    def load_file(self, path: Path) -> None:
        file = display_path(path)
        self.rules.files.append(path)
        try:
            doc, problem = read_yaml_file(path, self.limits, self.language)
        except OSError as exc:
            self.error(file, 1, f"cannot read file: {exc}")
            return
        if problem is None and doc is None:  # an empty rules file defines nothing
            return
        self.load_parsed(file, doc, problem)

    def load_text(self, text: str | bytes, file: str) -> None:
        """One document that must be a mapping (an empty one is refused)."""
        self.load_parsed(file, *parse_yaml(text, self.limits, self.language))

    def load_parsed(self, file: str, doc: Any, problem: tuple[int, str] | None) -> None:
        if problem is not None:
            self.error(file, *problem)
            return
        if not isinstance(doc, YMap):
            self.error(file, 1, NOT_A_MAPPING)
            return
        self._check_top_level(file, doc)
        if not self._version_ok(file, doc):
            return
        self._section(file, doc, "entities", self._entity)
        self._section(file, doc, "watchlists", self._watchlist)

    def _check_top_level(self, file: str, doc: YMap) -> None:
        for key in doc:
            if key not in TOP_LEVEL_KEYS:
                self.error(file, key_line(doc, key, 1), f"unknown top-level key {key!r} "
                           f"(expected one of: {', '.join(TOP_LEVEL_KEYS)})")

    def _version_ok(self, file: str, doc: YMap) -> bool:
        version = doc.get("version", 1)
        if version != 1:
            self.error(file, key_line(doc, "version", 1), f"unsupported rules version {version!r} (expected 1)")
        return bool(version == 1)

    def _section(self, file: str, doc: YMap, section: str, handler: Callable[[str, int, YMap], None]) -> None:
        seq = doc.get(section)
        if seq is None:
            return
        if not isinstance(seq, YSeq):
            self.error(file, key_line(doc, section, 1), f"'{section}' must be a list")
            return
        for i, node in enumerate(seq):
            line = item_line(seq, i, key_line(doc, section, 1))
            if not isinstance(node, YMap):
                self.error(file, line, f"each item of '{section}' must be a mapping")
                continue
            handler(file, line, node)

    def _validated(self, model: type[_Rule], file: str, line: int, node: YMap, kind: str) -> _Rule | None:
        ident = node.get("id")
        where = f"{kind} {ident!r}" if isinstance(ident, str) else kind
        try:
            return model.model_validate(plain(node))
        except ValidationError as exc:
            for err_line, msg in validation_errors(exc, node, line, where):
                self.error(file, err_line, msg)
            return None

    def _is_known(self, ident: str, kind: str) -> bool:
        if self.known is None:
            return False
        return ident in (self.known.entities if kind == "entity" else self.known.watchlists)

    def _claim_id(self, file: str, line: int, ident: str, kind: str) -> bool:
        if self._is_known(ident, kind):
            return True
        if ident in self.first_seen:
            self.error(file, line, f"duplicate id {ident!r} ({kind}); first defined at {self.first_seen[ident]}")
            return False
        self.first_seen[ident] = f"{file}:{line}"
        return True

    def _entity(self, file: str, line: int, node: YMap) -> None:
        rule = self._validated(EntityRule, file, line, node, "entity")
        if rule is None or not self._claim_id(file, line, rule.id, "entity"):
            return
        if self.known is None:
            self._check_forms(file, line, node, rule)
        self.rules.entities[rule.id] = _entity(rule, f"{file}:{line}")
        if rule.context is not None and self.known is None:
            self._note_context(file, line, node, rule)

    def _check_forms(self, file: str, line: int, node: YMap, rule: EntityRule) -> None:
        forms = [(lang, [name]) for lang, name in rule.names.items()] + list(rule.aliases.items())
        for lang, form in ((lang, form) for lang, group in forms for form in group):
            if not normalize_key(form):
                self.error(file, key_line(node, "aliases", line),
                           f"entity {rule.id!r}: {lang} name or alias {form!r} is empty once normalized")

    def _note_context(self, file: str, line: int, node: YMap, rule: EntityRule) -> None:
        ctx = rule.context
        assert ctx is not None
        def by_lang(groups: dict[Language, list[str]]) -> dict[str, list[str]]:
            return {str(lang): forms for lang, forms in groups.items()}

        self.rules.contexts[rule.id] = build_context(rule.id, by_lang(ctx.aliases), by_lang(ctx.confirm),
                                                     by_lang(ctx.refute),
                                                     ctx.confirm_entities, ctx.refute_entities, ctx.window,
                                                     ctx.otherwise, by_lang(ctx.likely))
        ctx_node = node.get("context")
        ctx_line = key_line(node, "context", line)
        for lang, form in ((lang, form) for forms in (ctx.aliases, ctx.likely) for lang, group in forms.items()
                           for form in group):
            if not normalize_key(form):
                self.error(file, ctx_line, f"entity {rule.id!r}: context alias {form!r} ({lang}) is empty once "
                           "normalized")
        for fld in ("confirm_entities", "refute_entities"):
            seq = ctx_node.get(fld) if isinstance(ctx_node, YMap) else None
            for i, ref in enumerate(getattr(ctx, fld)):
                ref_line = item_line(seq, i, key_line(ctx_node, fld, ctx_line))
                self.refs.append(_Reference(file, ref_line, rule.id, f"context: {fld}", ref, "entity"))

    def _watchlist(self, file: str, line: int, node: YMap) -> None:
        rule = self._validated(WatchlistRule, file, line, node, "watchlist")
        if rule is None or not self._claim_id(file, line, rule.id, "watchlist"):
            return
        if not self._is_known(rule.id, "watchlist"):
            self._note_references(file, line, node, rule)
        self.rules.watchlists[rule.id] = _watchlist(rule, f"{file}:{line}")

    def _note_references(self, file: str, line: int, node: YMap, rule: WatchlistRule) -> None:
        for fld in REFERENCE_FIELDS if self.known is None else FOLLOWED_FIELDS:
            seq = node.get(fld)
            for i, ref in enumerate(getattr(rule, fld)):
                self.refs.append(_Reference(file, item_line(seq, i, key_line(node, fld, line)), rule.id, fld, ref))

    def check_references(self) -> None:
        known = self.known or KnownIds()
        for ref in self.refs:
            if ref.entity in self.rules.entities or ref.entity in known.entities:
                continue
            is_watchlist = ref.entity in self.rules.watchlists or ref.entity in known.watchlists
            hint = " (that is a watchlist, not an entity)" if is_watchlist else ""
            self.error(ref.file, ref.line,
                       f"{ref.owner} {ref.watchlist!r}: {ref.field}: unknown entity id {ref.entity!r}{hint}")


def _entity(rule: EntityRule, source: str) -> Entity:
    return Entity(
        id=rule.id,
        type=rule.type,
        names={lang: name for lang, name in rule.names.items()},
        aliases={lang: tuple(forms) for lang, forms in rule.aliases.items()},
        resolution=rule.resolution,
        urgent=rule.urgent,
        match_case=rule.match_case,
        exclude={lang: tuple(phrases) for lang, phrases in rule.exclude.items()},
        source=source,
    )


def _watchlist(rule: WatchlistRule, source: str) -> Watchlist:
    return Watchlist(
        id=rule.id,
        names={lang: name for lang, name in rule.names.items()},
        any=tuple(rule.any),
        all=tuple(rule.all),
        none=tuple(rule.none),
        urgent=rule.urgent,
        source=source,
    )


def rule_files(directory: Path) -> list[Path]:
    return sorted(p for pattern in ("*.yaml", "*.yml") for p in directory.rglob(pattern) if p.is_file())


def load_rules(directory: str | Path, limits: YAMLLimits = RULES_LIMITS) -> Rules:
    """Every ``*.yaml`` under ``directory``; never raises for bad content, errors are in ``Rules.errors``.

    Each file is parsed within ``limits`` (size, values, nesting; no anchors or aliases)."""
    directory = Path(directory)
    loader = _Loader(limits)
    if not directory.is_dir():
        loader.error(display_path(directory), 0, "rules directory not found")
        return loader.rules
    files = rule_files(directory)
    for path in files:
        loader.load_file(path)
    loader.check_references()
    if not loader.rules.entities and not loader.rules.errors:
        loader.error(display_path(directory), 0, "no entities defined: refusing an empty rule set")
    loader.rules.warnings.extend(lint(loader.rules))
    return loader.rules


def load_document(text: str | bytes, file: str, known: KnownIds, limits: YAMLLimits = RULES_LIMITS,
                  language: str = "en") -> Rules:
    """One rules document (bytes or text) read against the catalogue's ``known`` ids; never raises for bad
    content: every problem is in ``Rules.errors`` as ``file:line: message``, YAML refusals in ``language``.

    ``Rules.entities`` and ``Rules.watchlists`` are what the document defines, catalogue ids included (see
    ``_Loader``); an empty document is refused, and nothing is linted. CPU-bound: call it off the event loop."""
    loader = _Loader(limits, language, known)
    loader.load_text(text, file)
    loader.check_references()
    return loader.rules
