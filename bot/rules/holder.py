"""The rules in force: the compiled matcher and the name resolver, swapped whole when the files change."""

from __future__ import annotations

import asyncio
import gc
import logging
from dataclasses import dataclass
from pathlib import Path

from bot.commands.resolve import Resolver
from bot.errors import ConfigError
from bot.extract.matcher import Matcher
from bot.rules.cache import Compiled, compile_aside, compile_rules
from bot.rules.load import rule_files

log = logging.getLogger(__name__)

Signature = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class Reload:
    """What a reload did: ``changed`` when new rules are in force; ``errors`` when the files are broken (the last
    good rules stay); ``new_errors`` when those errors were not reported before."""

    changed: bool = False
    errors: tuple[str, ...] = ()
    new_errors: bool = False


class RulesHolder:
    """Loads the rules once at construction (a broken or empty rule set raises ConfigError), then reloads them
    off the event loop when a file changes. Readers take ``matcher`` and ``resolver`` at the moment they need them
    (or both at once with ``current``): a reload replaces the pair in one assignment.

    ``cache_dir``: where the compiled rules are cached, keyed by the rules' content hash (None: no cache)."""

    def __init__(self, rules_dir: Path, cache_dir: Path | None = None):
        self.rules_dir = rules_dir
        self.cache_dir = cache_dir
        signature = self._fingerprint()
        compiled = compile_rules(rules_dir, cache_dir)
        gc.freeze()
        if compiled.errors or compiled.matcher is None or compiled.resolver is None:
            raise ConfigError(list(compiled.errors))
        for warning in compiled.warnings:
            log.warning("%s", warning)
        self._current: tuple[Matcher, Resolver] = (compiled.matcher, compiled.resolver)
        self._signature = signature
        self._bad: tuple[str, ...] = ()
        log.info("rules: %d entities, %d watchlists, %d aliases from %s%s", len(compiled.matcher.entities),
                 compiled.watchlists, compiled.matcher.catalog.size, rules_dir, " (cached)" if compiled.cached else "")

    @property
    def matcher(self) -> Matcher:
        return self._current[0]

    @property
    def resolver(self) -> Resolver:
        return self._current[1]

    def current(self) -> tuple[Matcher, Resolver]:
        return self._current

    def _fingerprint(self) -> Signature:
        out: list[tuple[str, int, int]] = []
        for path in rule_files(self.rules_dir):
            try:
                stat = path.stat()
            except OSError:
                continue
            out.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(out)

    def _load_if_changed(self, known: Signature) -> tuple[Signature, Compiled | None]:
        """In a worker thread: the files' signature, and the compiled rules when it differs from ``known``."""
        signature = self._fingerprint()
        if signature == known:
            return signature, None
        compiled = compile_aside(self.rules_dir, self.cache_dir)
        gc.freeze()  # millions of long-lived objects: out of the collector's sight, so no full collection stalls
        return signature, compiled

    async def reload_if_changed(self) -> Reload:
        """Reload when a file under the rules directory changed; with errors, keep the last good rules. Every
        step (stat, read, hash, parse, compile, cache) runs in a worker thread, a cache miss is built in a child
        process (``compile_aside``); the event loop only swaps."""
        signature, compiled = await asyncio.to_thread(self._load_if_changed, self._signature)
        self._signature = signature
        if compiled is None:
            return Reload()
        if compiled.errors or compiled.matcher is None or compiled.resolver is None:
            log.error("rules changed but have errors; keeping the last good rules:\n%s", "\n".join(compiled.errors))
            new = compiled.errors != self._bad
            self._bad = compiled.errors
            return Reload(errors=compiled.errors, new_errors=new)
        self._bad = ()
        self._current = (compiled.matcher, compiled.resolver)
        log.info("rules reloaded: %d entities, %d watchlists%s", len(compiled.matcher.entities), compiled.watchlists,
                 " (cached)" if compiled.cached else "")
        return Reload(changed=True)
