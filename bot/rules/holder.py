"""The rules in force: the compiled matcher and the name resolver, swapped whole when the files change."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from bot.commands.resolve import Resolver
from bot.errors import ConfigError
from bot.extract.matcher import Matcher
from bot.rules.load import load_rules, rule_files

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reload:
    """What a reload did: ``changed`` when new rules are in force; ``errors`` when the files are broken (the last
    good rules stay); ``new_errors`` when those errors were not reported before."""

    changed: bool = False
    errors: tuple[str, ...] = ()
    new_errors: bool = False


class RulesHolder:
    """Loads the rules once at construction (a broken or empty rule set raises ConfigError), then reloads them
    off the event loop when a file changes. Readers take ``matcher`` and ``resolver`` at the moment they need them:
    a reload replaces both at once."""

    def __init__(self, rules_dir: Path):
        self.rules_dir = rules_dir
        rules = load_rules(rules_dir)
        if rules.errors:
            raise ConfigError(rules.errors)
        for warning in rules.warnings:
            log.warning("%s", warning)
        self.matcher = Matcher(rules)
        self.resolver = Resolver(self.matcher)
        self._signature = self._fingerprint()
        self._bad: tuple[str, ...] = ()
        log.info("rules: %d entities, %d watchlists, %d aliases from %s", len(rules.entities),
                 len(rules.watchlists), self.matcher.catalog.size, rules_dir)

    def current(self) -> tuple[Matcher, Resolver]:
        return self.matcher, self.resolver

    def _fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        out: list[tuple[str, int, int]] = []
        for path in rule_files(self.rules_dir):
            try:
                stat = path.stat()
            except OSError:
                continue
            out.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(out)

    async def reload_if_changed(self) -> Reload:
        """Reload when a file under the rules directory changed; with errors, keep the last good rules."""
        signature = await asyncio.to_thread(self._fingerprint)
        if signature == self._signature:
            return Reload()
        self._signature = signature
        rules = await asyncio.to_thread(load_rules, self.rules_dir)
        if rules.errors:
            log.error("rules changed but have errors; keeping the last good rules:\n%s", "\n".join(rules.errors))
            errors = tuple(rules.errors)
            new = errors != self._bad
            self._bad = errors
            return Reload(errors=errors, new_errors=new)
        self._bad = ()
        matcher = await asyncio.to_thread(Matcher, rules)
        self.matcher, self.resolver = matcher, Resolver(matcher)
        self._signature = self._fingerprint()
        log.info("rules reloaded: %d entities, %d watchlists", len(rules.entities), len(rules.watchlists))
        return Reload(changed=True)
