"""The rules in force: the entities and watchlists, the matching and the name resolver, swapped whole when the
files change. Matching runs here, or in a child process for large catalogues (bot/rules/worker.py)."""

from __future__ import annotations

import asyncio
import gc
import logging
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bot.commands.resolve import Lookup
from bot.errors import ConfigError
from bot.extract.matcher import Matcher, RuleSet
from bot.model import Match
from bot.rules.cache import Compiled, Header, cache_file, compile_rules, prepare_aside, read_header
from bot.rules.load import rule_files
from bot.rules.worker import PROCESS_ABOVE, MatchWorker, RemoteResolver, WorkerError

log = logging.getLogger(__name__)

Signature = tuple[tuple[str, int, int], ...]
Matching = Literal["auto", "process", "inline"]
BURY_CHUNK = 1_000  # entities freed between two releases of the GIL
Handover = tuple[RuleSet, Header, Path]  # rules for this process, and the cache file for its matching child


@dataclass(frozen=True, eq=False)
class InForce:
    """One loaded rule set. ``rules`` is a :class:`Matcher` when matching runs in this process; with a ``worker``
    it holds only the entities and watchlists, and the child matches."""

    rules: RuleSet
    resolver: Lookup
    worker: MatchWorker | None = None

    async def match(self, texts: list[str]) -> list[Match]:
        """The matches of ``texts``, in order (one batch: one request to the child)."""
        if self.worker is not None:
            return await self.worker.match(texts)
        assert isinstance(self.rules, Matcher)
        return [self.rules.match_text(text) for text in texts]


@dataclass(frozen=True)
class Reload:
    """What a reload did: ``changed`` when new rules are in force; ``errors`` when the files are broken (the last
    good rules stay); ``new_errors`` when those errors were not reported before."""

    changed: bool = False
    errors: tuple[str, ...] = ()
    new_errors: bool = False


class RulesHolder:
    """Loads the rules once at construction (a broken or empty rule set raises ConfigError), then reloads them
    off the event loop when a file changes. Readers take ``in_force()`` (or ``rule_set``, ``current()``) at the
    moment they need it: a reload replaces it in one assignment.

    ``cache_dir``: where the compiled rules are cached, keyed by the rules' content hash (None: no cache; a
    private temporary folder still hands the rules to a matching process). ``matching``: ``inline`` (here),
    ``process`` (a child process), ``auto`` (a child from :data:`PROCESS_ABOVE` aliases on). ``eager``: matching will
    be asked for (a role that polls or answers commands), so a child is started at once."""

    def __init__(self, rules_dir: Path, cache_dir: Path | None = None, matching: Matching = "auto",
                 eager: bool = False):
        self.rules_dir = rules_dir
        self.matching = matching
        self._handover: Path | None = None
        if cache_dir is None and matching != "inline":
            self._handover = Path(tempfile.mkdtemp(prefix="rasad-rules-"))
        self.cache_dir = cache_dir if cache_dir is not None else self._handover
        self._eager = eager  # matching will be asked for: start a child at once, and a new one before a swap
        self._graveyard: list[RuleSet] = []  # replaced rule sets (with a matching child), to be freed off the loop
        signature = self._fingerprint()
        # with ``process``, a cache miss is built by a child (this process never holds the automaton); with
        # ``auto`` only a cache hit tells the size beforehand, else the rules are built here once
        loaded = self._load(aside=matching == "process")
        if isinstance(loaded, Compiled):
            if loaded.errors or loaded.matcher is None or loaded.resolver is None:
                self._drop_handover()
                raise ConfigError(list(loaded.errors))
            warnings = loaded.warnings
            self._current = self._from_compiled(loaded)
        else:
            warnings = loaded[1].warnings
            self._current = self._from_header(*loaded)
        del loaded
        for warning in warnings:
            log.warning("%s", warning)
        gc.freeze()  # millions of long-lived objects: out of the collector's sight, so no full collection stalls
        if eager and self._current.worker is not None:
            self._current.worker.launch()  # it loads the automaton while this process goes on starting
        self._signature = signature
        self._bad: tuple[str, ...] = ()
        log.info("rules: %d entities, %d watchlists, %d aliases from %s%s; matching %s",
                 len(self._current.rules.entities), len(self._current.rules.watchlists), self._aliases, rules_dir,
                 " (cached)" if self._cached else "",
                 "in a child process" if self._current.worker is not None else "in this process")

    # ---------------------------------------------------------------- readers

    def in_force(self) -> InForce:
        return self._current

    @property
    def rule_set(self) -> RuleSet:
        return self._current.rules

    def current(self) -> tuple[RuleSet, Lookup]:
        return self._current.rules, self._current.resolver

    # ---------------------------------------------------------------- loading

    def _process(self, aliases: int) -> bool:
        return self.matching == "process" or (self.matching == "auto" and aliases >= PROCESS_ABOVE)

    def _cache_file(self) -> Path | None:
        if self.cache_dir is None:
            return None
        try:
            path = cache_file(self.rules_dir, self.cache_dir)
        except OSError:
            return None
        return path if path.exists() else None

    def _from_compiled(self, compiled: Compiled) -> InForce:
        assert compiled.matcher is not None and compiled.resolver is not None
        self._aliases, self._cached = compiled.aliases, compiled.cached
        if self._process(compiled.aliases):
            path = self._cache_file()
            if path is not None:
                worker = MatchWorker(path, self.rules_dir)
                return InForce(compiled.matcher.rule_set(), RemoteResolver(worker), worker)
            log.warning("rules: no cache file to hand to a matching process (cache folder not writable?); "
                        "matching in this process")
        return InForce(compiled.matcher, compiled.resolver)

    def _from_header(self, rules: RuleSet, header: Header, path: Path) -> InForce:
        self._aliases, self._cached = header.aliases, True
        worker = MatchWorker(path, self.rules_dir)
        return InForce(rules, RemoteResolver(worker), worker)

    def _fingerprint(self) -> Signature:
        out: list[tuple[str, int, int]] = []
        for path in rule_files(self.rules_dir):
            try:
                stat = path.stat()
            except OSError:
                continue
            out.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(out)

    def _load(self, aside: bool) -> Compiled | Handover:
        """The rules as the files are now: the header of their cache file when a child process will match them,
        else the compiled rules (or their errors). ``aside``: a cache miss is built by a child process."""
        if self.cache_dir is not None and self.matching != "inline":
            path = prepare_aside(self.rules_dir, self.cache_dir) if aside else self._cache_file()
            header = read_header(path) if path is not None else None
            if path is not None and header is not None and self._process(header.aliases):
                return header.rule_set(), header, path
        elif self.cache_dir is not None and aside:
            prepare_aside(self.rules_dir, self.cache_dir)
        return compile_rules(self.rules_dir, self.cache_dir)  # a cache hit, a build, or the errors of broken files

    def _load_if_changed(self, known: Signature) -> tuple[Signature, Compiled | Handover | None]:
        """In a worker thread: the files' signature, and the new rules (:meth:`_load`) when it differs from
        ``known``."""
        signature = self._fingerprint()
        if signature == known:
            return signature, None
        loaded = self._load(aside=True)
        gc.freeze()
        return signature, loaded

    async def reload_if_changed(self) -> Reload:
        """Reload when a file under the rules directory changed; with errors, keep the last good rules. Every
        step (stat, read, hash, parse, compile, cache) runs in a worker thread, a cache miss is built in a child
        process, and with a matching process the new child loads the automaton and is ready before the swap:
        the event loop only swaps."""
        if self._graveyard:
            await asyncio.to_thread(self._bury)
        signature, loaded = await asyncio.to_thread(self._load_if_changed, self._signature)
        if loaded is None:
            self._signature = signature
            return Reload()
        if isinstance(loaded, Compiled) and (loaded.errors or loaded.matcher is None):
            self._signature = signature
            log.error("rules changed but have errors; keeping the last good rules:\n%s", "\n".join(loaded.errors))
            new = loaded.errors != self._bad
            self._bad = loaded.errors
            return Reload(errors=loaded.errors, new_errors=new)
        fresh = self._from_compiled(loaded) if isinstance(loaded, Compiled) else self._from_header(*loaded)
        if fresh.worker is not None and self._eager:
            try:
                await asyncio.to_thread(fresh.worker.start)
            except WorkerError as exc:  # the old rules stay; the next check tries again (signature not taken)
                log.error("rules changed but the new matching process did not start (%s); keeping the last rules",
                          exc)
                return Reload()
        self._signature = signature
        self._bad = ()
        old, self._current = self._current, fresh
        if old.worker is not None:
            await old.worker.retire()
            self._graveyard.append(old.rules)  # freed later, a chunk at a time (see _bury)
        del old
        log.info("rules reloaded: %d entities, %d watchlists%s", len(fresh.rules.entities),
                 len(fresh.rules.watchlists), " (cached)" if self._cached else "")
        return Reload(changed=True)

    def _bury(self) -> None:
        """In a worker thread: empty the replaced rule sets that nothing else refers to any more, a chunk at a time
        with the GIL let go in between (freed at once, 100,000 entities held the event loop 20-70 ms). One still
        read by a poll or a delivery pass that took it before the swap waits for the next check."""
        keep: list[RuleSet] = []
        while self._graveyard:
            rules = self._graveyard.pop()
            # referenced by `rules` and getrefcount's argument alone (dicts: by the rule set and the argument)
            if sys.getrefcount(rules) > 2 or sys.getrefcount(rules.entities) > 2 \
                    or sys.getrefcount(rules.watchlists) > 2:
                keep.append(rules)
                continue
            for table in (rules.entities, rules.watchlists):
                while table:
                    for _ in range(min(BURY_CHUNK, len(table))):
                        table.popitem()
                    time.sleep(0)  # let the event loop's thread run
            del rules
        self._graveyard.extend(keep)

    # ---------------------------------------------------------------- the matching process

    async def warm(self) -> None:
        """Matching will be asked for (a role that polls or answers commands): start the child now rather than
        at the first item, and start each new one before a reload swaps it in."""
        self._eager = True
        worker = self._current.worker
        if worker is not None:
            try:
                await asyncio.to_thread(worker.start)
            except WorkerError as exc:
                log.error("%s; it is started again at the first item", exc)

    async def close(self) -> None:
        if self._current.worker is not None:
            await self._current.worker.retire()
        self._drop_handover()

    def _drop_handover(self) -> None:
        if self._handover is not None:
            shutil.rmtree(self._handover, ignore_errors=True)
