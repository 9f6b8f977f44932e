"""Load every rules file of a directory, collecting all errors as ``file:line: message``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from bot.model import Entity, Watchlist
from bot.rules.lint import lint
from bot.rules.schema import TOP_LEVEL_KEYS, EntityRule, WatchlistRule
from bot.text.normalize import normalize_key
from bot.yamlfile import (
    RULES_LIMITS,
    YAMLLimits,
    YMap,
    YSeq,
    display_path,
    item_line,
    key_line,
    plain,
    read_yaml_file,
    validation_errors,
)


@dataclass
class Rules:
    entities: dict[str, Entity] = field(default_factory=dict)
    watchlists: dict[str, Watchlist] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class _Loader:
    def __init__(self, limits: YAMLLimits = RULES_LIMITS) -> None:
        self.rules = Rules()
        self.limits = limits
        self.first_seen: dict[str, str] = {}  # id → "file:line" where it was first defined
        # (file, line, watchlist id, field, referenced id) checked once every entity is known
        self.refs: list[tuple[str, int, str, str, str]] = []

    def error(self, file: str, line: int, message: str) -> None:
        self.rules.errors.append(f"{file}:{line}: {message}")

    def load_file(self, path: Path) -> None:
        file = display_path(path)
        self.rules.files.append(path)
        try:
            doc, problem = read_yaml_file(path, self.limits)
        except OSError as exc:
            self.error(file, 1, f"cannot read file: {exc}")
            return
        if problem is not None:
            self.error(file, *problem)
            return
        if doc is None:
            return
        if not isinstance(doc, YMap):
            self.error(file, 1, "a rules file must be a mapping with 'entities:' and/or 'watchlists:'")
            return
        for key in doc:
            if key not in TOP_LEVEL_KEYS:
                self.error(file, key_line(doc, key, 1), f"unknown top-level key {key!r} "
                           f"(expected one of: {', '.join(TOP_LEVEL_KEYS)})")
        version = doc.get("version", 1)
        if version != 1:
            self.error(file, key_line(doc, "version", 1), f"unsupported rules version {version!r} (expected 1)")
            return
        for section, handler in (("entities", self._entity), ("watchlists", self._watchlist)):
            if section not in doc or doc[section] is None:
                continue
            seq = doc[section]
            if not isinstance(seq, YSeq):
                self.error(file, key_line(doc, section, 1), f"'{section}' must be a list")
                continue
            for i, node in enumerate(seq):
                line = item_line(seq, i, key_line(doc, section, 1))
                if not isinstance(node, YMap):
                    self.error(file, line, f"each item of '{section}' must be a mapping")
                    continue
                handler(file, line, node)

    def _claim_id(self, file: str, line: int, ident: str, kind: str) -> bool:
        where = f"{file}:{line}"
        if ident in self.first_seen:
            self.error(file, line, f"duplicate id {ident!r} ({kind}); first defined at {self.first_seen[ident]}")
            return False
        self.first_seen[ident] = where
        return True

    def _entity(self, file: str, line: int, node: YMap) -> None:
        ident = node.get("id")
        where = f"entity {ident!r}" if isinstance(ident, str) else "entity"
        try:
            rule = EntityRule.model_validate(plain(node))
        except ValidationError as exc:
            for err_line, msg in validation_errors(exc, node, line, where):
                self.error(file, err_line, msg)
            return
        if not self._claim_id(file, line, rule.id, "entity"):
            return
        for lang, forms in [(lang, [name]) for lang, name in rule.names.items()] + list(rule.aliases.items()):
            for form in forms:
                if not normalize_key(form):
                    self.error(file, key_line(node, "aliases", line),
                               f"{where}: {lang} name or alias {form!r} is empty once normalized")
        self.rules.entities[rule.id] = Entity(
            id=rule.id,
            type=rule.type,
            names=dict(rule.names),
            aliases={lang: tuple(forms) for lang, forms in rule.aliases.items()},
            resolution=rule.resolution,
            urgent=rule.urgent,
            match_case=rule.match_case,
            exclude={lang: tuple(phrases) for lang, phrases in rule.exclude.items()},
            source=f"{file}:{line}",
        )

    def _watchlist(self, file: str, line: int, node: YMap) -> None:
        ident = node.get("id")
        where = f"watchlist {ident!r}" if isinstance(ident, str) else "watchlist"
        try:
            rule = WatchlistRule.model_validate(plain(node))
        except ValidationError as exc:
            for err_line, msg in validation_errors(exc, node, line, where):
                self.error(file, err_line, msg)
            return
        if not self._claim_id(file, line, rule.id, "watchlist"):
            return
        for fld in ("any", "all", "none"):
            seq = node.get(fld)
            for i, ref in enumerate(getattr(rule, fld)):
                self.refs.append((file, item_line(seq, i, key_line(node, fld, line)), rule.id, fld, ref))
        self.rules.watchlists[rule.id] = Watchlist(
            id=rule.id,
            names=dict(rule.names),
            any=tuple(rule.any),
            all=tuple(rule.all),
            none=tuple(rule.none),
            urgent=rule.urgent,
            source=f"{file}:{line}",
        )

    def check_references(self) -> None:
        for file, line, wl_id, fld, ref in self.refs:
            if ref not in self.rules.entities:
                hint = " (that is a watchlist, not an entity)" if ref in self.rules.watchlists else ""
                self.error(file, line, f"watchlist {wl_id!r}: {fld}: unknown entity id {ref!r}{hint}")


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
