"""The compiled rules cached on disk, keyed by a content hash of the rules files (and of the code that compiles them).

A hit skips the YAML walk, the checks and the automaton build: the matcher (pyahocorasick automata pickle) and
the name resolver come back as they were built. A cache that is missing, corrupt, unreadable or unwritable is
ignored with one log line; it never stops the rules from loading.
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
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import ahocorasick

from bot.commands.resolve import Resolver
from bot.extract.matcher import Matcher
from bot.rules.load import load_rules, rule_files

log = logging.getLogger(__name__)

FORMAT = b"rasad-rules-cache-1"
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


def _read(path: Path) -> Compiled | bool:
    """The cached rules; False when there are none; True when the entry was bad (and logged)."""
    collecting = gc.isenabled()
    gc.disable()  # millions of small objects: without collections in between, twice as fast
    try:
        with path.open("rb") as f:
            compiled = pickle.load(f)
    except FileNotFoundError:
        return False
    except Exception as exc:  # noqa: BLE001 - a bad cache is only a slower start
        log.warning("rules cache %s ignored (%s: %s)", path, type(exc).__name__, exc)
        return True
    finally:
        if collecting:
            gc.enable()
    if not isinstance(compiled, Compiled) or compiled.matcher is None:
        log.warning("rules cache %s ignored (not a compiled rule set)", path)
        return True
    return Compiled(compiled.matcher, compiled.resolver, compiled.warnings, (), compiled.watchlists, cached=True)


def _write(cache_dir: Path, path: Path, compiled: Compiled, logged: bool) -> None:
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=cache_dir)
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(compiled, f, protocol=pickle.HIGHEST_PROTOCOL)
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
    hit = _read(path)
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


def compile_aside(rules_dir: Path, cache_dir: Path | None) -> Compiled:
    """Like :func:`compile_rules`, for a reload while the event loop runs: on a cache miss the build runs in a child
    process that writes the cache, and this process only reads it. Built here, the automaton's construction and
    its pickling are long C calls that hold the GIL, so the event loop too. Broken rules write no cache: they are
    then loaded here, for their errors."""
    if cache_dir is not None:
        try:
            missing = not (cache_dir / f"{PREFIX}{rules_hash(rules_dir)}.pickle").exists()
        except OSError:
            missing = False
        if missing:
            root = Path(__file__).resolve().parent.parent.parent
            try:
                subprocess.run([sys.executable, "-m", "bot.rules.cache", str(rules_dir), str(cache_dir)], cwd=root,
                               capture_output=True, timeout=900, check=False)
            except (OSError, subprocess.SubprocessError) as exc:
                log.warning("rules: building in a child process failed (%s: %s); building here", type(exc).__name__,
                            exc)
    return compile_rules(rules_dir, cache_dir)


if __name__ == "__main__":  # the child of compile_aside: build and write the cache
    compile_rules(Path(sys.argv[1]), Path(sys.argv[2]))
