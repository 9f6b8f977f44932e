"""The compiled rules cached on disk, keyed by a content hash of the rules files (and of the code that compiles them).

A hit skips the YAML walk, the checks and the automaton build: the matcher (pyahocorasick automata pickle) and
the name resolver come back as they were built. A cache that is missing, corrupt, unreadable or unwritable is
ignored with one log line; it never stops the rules from loading.

A cache file holds two pickles: a :class:`Header` (the entities and watchlists, without the automaton) and then the
matcher and resolver. A process whose matching runs in a child (bot/rules/worker.py) reads only the header; the
child reads both.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path

import ahocorasick

from bot.commands.resolve import Resolver
from bot.extract.matcher import Matcher, RuleSet
from bot.model import Entity, Watchlist
from bot.rules.load import load_rules, rule_files

log = logging.getLogger(__name__)

FORMAT = b"rasad-rules-cache-2"
PREFIX = "rules-"
# the code whose output is cached: a change to any of these files is a different key
_CODE = ("bot/extract", "bot/text", "bot/rules", "bot/model.py", "bot/yamlfile.py", "bot/commands/resolve.py")


@dataclass(frozen=True)
class Compiled:
    """Rules ready to use: the matcher and resolver, or the errors of broken files."""

    matcher: Matcher | None
    resolver: Resolver | None
    warnings: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    watchlists: int = 0
    cached: bool = False

    @property
    def aliases(self) -> int:
        return self.matcher.catalog.size if self.matcher is not None else 0


@contextmanager
def _long_lived() -> Iterator[None]:
    """Millions of long-lived objects are made: no collection meanwhile (twice as fast), then frozen out of the
    collector's sight before it runs again — else the objects allocated meanwhile trigger a full collection that
    holds the GIL, so the event loop."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if collecting:
            gc.enable()


_FIELDS = tuple(f.name for f in fields(Entity))
CHUNK = 1_000  # entities per pickled chunk of the header


@dataclass(frozen=True)
class Header:
    """The first part of a cache file: the rules without the automaton, and what the log says about them. The
    entities are stored as chunks of plain field tuples, each pickled apart, so that reading them never holds the
    GIL for more than one chunk (:meth:`rule_set`): unpickling 100,000 entities in one call held the event loop of
    the reading process for up to 200 ms."""

    entity_chunks: tuple[bytes, ...]
    watchlist_map: dict[str, Watchlist]
    warnings: tuple[str, ...]
    watchlists: int
    aliases: int

    @classmethod
    def of(cls, compiled: Compiled) -> Header:
        assert compiled.matcher is not None
        rows = [tuple(getattr(e, name) for name in _FIELDS) for e in compiled.matcher.entities.values()]
        chunks = tuple(pickle.dumps(rows[i:i + CHUNK], protocol=pickle.HIGHEST_PROTOCOL)
                       for i in range(0, len(rows), CHUNK))
        return cls(chunks, compiled.matcher.watchlists, compiled.warnings, compiled.watchlists, compiled.aliases)

    def rule_set(self) -> RuleSet:
        """The entities and watchlists, one chunk at a time with the GIL let go in between (call it in a thread)."""
        entities: dict[str, Entity] = {}
        with _long_lived():
            for chunk in self.entity_chunks:
                for row in pickle.loads(chunk):
                    entities[row[0]] = Entity(*row)
                time.sleep(0)  # let the event loop's thread run
        return RuleSet(entities, dict(self.watchlist_map))


@cache
def code_digest() -> bytes:
    root = Path(__file__).resolve().parent.parent.parent
    digest = hashlib.sha256(FORMAT + sys.version.encode() + str(getattr(ahocorasick, "__version__", "")).encode())
    for name in _CODE:
        path = root / name
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(file.relative_to(root).as_posix().encode() + b"\0" + file.read_bytes())
    return digest.digest()


def rules_hash(rules_dir: Path) -> str:
    """sha256 over every rules file (relative path and bytes) and the compiling code."""
    digest = hashlib.sha256(code_digest())
    for path in rule_files(rules_dir):
        data = path.read_bytes()
        digest.update(path.relative_to(rules_dir).as_posix().encode() + b"\0" + str(len(data)).encode() + b"\0")
        digest.update(data)
    return digest.hexdigest()


def cache_file(rules_dir: Path, cache_dir: Path) -> Path:
    """Where the compiled rules of ``rules_dir`` are (or would be) cached. Raises OSError when a file is unreadable."""
    return cache_dir / f"{PREFIX}{rules_hash(rules_dir)}.pickle"


def _load(path: Path, header_only: bool) -> Header | tuple[Header, Matcher, Resolver] | bool:
    """The header (and body) of a cache file; False when there is none; True when it was bad (and logged)."""
    try:
        with _long_lived(), path.open("rb") as f:
            unpickler = pickle.Unpickler(f)
            header = unpickler.load()
            if not isinstance(header, Header):
                raise TypeError("not a compiled rule set")
            if header_only:
                return header
            matcher, resolver = unpickler.load()
            if not isinstance(matcher, Matcher) or not isinstance(resolver, Resolver):
                raise TypeError("not a compiled rule set")
            return header, matcher, resolver
    except FileNotFoundError:
        return False
    except Exception as exc:  # noqa: BLE001 - a bad cache is only a slower start
        log.warning("rules cache %s ignored (%s: %s)", path, type(exc).__name__, exc)
        return True


def read_cached(path: Path) -> Compiled | bool:
    """The cached rules; False when there are none; True when the entry was bad (and logged)."""
    loaded = _load(path, header_only=False)
    if isinstance(loaded, bool):
        return loaded
    assert isinstance(loaded, tuple)
    header, matcher, resolver = loaded
    return Compiled(matcher, resolver, header.warnings, (), header.watchlists, cached=True)


def read_header(path: Path) -> Header | None:
    """The entities and watchlists of a cache file, without reading its automaton; None when it is missing or bad."""
    loaded = _load(path, header_only=True)
    return loaded if isinstance(loaded, Header) else None


def _write(cache_dir: Path, path: Path, compiled: Compiled, logged: bool) -> None:
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=cache_dir)
        try:
            with os.fdopen(fd, "wb") as f:
                assert compiled.matcher is not None and compiled.resolver is not None
                pickler = pickle.Pickler(f, protocol=pickle.HIGHEST_PROTOCOL)
                pickler.dump(Header.of(compiled))
                pickler.dump((compiled.matcher, compiled.resolver))
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        for old in cache_dir.glob(PREFIX + "*.pickle"):  # one rule set cached at a time
            if old != path:
                old.unlink(missing_ok=True)
    except Exception as exc:  # noqa: BLE001 - a cache that cannot be written is only a slower next start
        # one line per load: not a second one when reading the entry already failed
        log.log(logging.DEBUG if logged else logging.WARNING, "rules cache %s not written (%s: %s)", cache_dir,
                type(exc).__name__, exc)


def build(rules_dir: Path) -> Compiled:
    """Load, check and compile the rules files (no cache)."""
    rules = load_rules(rules_dir)
    if rules.errors:
        return Compiled(None, None, tuple(rules.warnings), tuple(rules.errors))
    matcher = Matcher(rules)
    return Compiled(matcher, Resolver(matcher), tuple(rules.warnings), (), len(rules.watchlists))


def compile_rules(rules_dir: Path, cache_dir: Path | None) -> Compiled:
    """The compiled rules of ``rules_dir``: from ``cache_dir`` when it holds the same rules, else built (and
    stored there). Blocking: call it off the event loop."""
    if cache_dir is None:
        return build(rules_dir)
    try:
        key = rules_hash(rules_dir)
    except OSError as exc:
        log.warning("rules cache not used (%s: %s)", type(exc).__name__, exc)
        return build(rules_dir)
    path = cache_dir / f"{PREFIX}{key}.pickle"
    hit = read_cached(path)
    if isinstance(hit, Compiled):
        return hit
    compiled = build(rules_dir)
    try:
        unchanged = rules_hash(rules_dir) == key  # a file edited during the build: do not cache under the old key
    except OSError:
        unchanged = False
    if compiled.matcher is not None and unchanged:
        _write(cache_dir, path, compiled, logged=hit)
    return compiled


def prepare_aside(rules_dir: Path, cache_dir: Path) -> Path | None:
    """The cache file of the rules as they are now, built on a miss by a child process: built here, the automaton's
    construction and its pickling are long C calls that hold the GIL, so the event loop too. None when there is
    no such file after all (broken rules write none; an unwritable cache; a file that cannot be read)."""
    try:
        path = cache_file(rules_dir, cache_dir)
    except OSError:
        return None
    if not path.exists():
        root = Path(__file__).resolve().parent.parent.parent
        try:
            subprocess.run([sys.executable, "-m", "bot.rules.cache", str(rules_dir), str(cache_dir)], cwd=root,
                           capture_output=True, timeout=900, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("rules: building in a child process failed (%s: %s); building here", type(exc).__name__,
                        exc)
    return path if path.exists() else None


if __name__ == "__main__":  # the child of prepare_aside: build and write the cache
    # through the module's own name: run as __main__, its classes would be pickled as __main__.Header, which no
    # other process can load
    from bot.rules import cache as module

    module.compile_rules(Path(sys.argv[1]), Path(sys.argv[2]))
