"""Matching in a child process, for large catalogues (issue 16).

A catalogue of 100,000 aliases compiles to an automaton of millions of nodes; loading it is one C call that holds
the GIL for a quarter of a second or more, so a rules reload in the bot's own process would stall polling and
delivery. With ``matching: process`` (or ``auto`` above :data:`PROCESS_ABOVE` aliases) the automaton and the name
resolver live in a child process that loads one cache file (bot/rules/cache.py); this process keeps only the
entities and watchlists, asks the child to match a feed's new items in one batch and to resolve command queries,
and on a reload starts a new child, swaps it in when it is ready and retires the old one once its last request
is answered.

The pipe carries frames: 8 bytes of length, then a pickle. Requests are ``(op, argument)``; answers are
``("ok", result)`` or ``("error", text)``. The child reads until its stdin closes (this process stopped or
retired it) and then exits; it ignores SIGINT, so a Ctrl-C in the terminal stops the parent, which stops it.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.logs import SECRET_VARIABLES
from bot.logs import setup as setup_logging
from bot.model import Match, Mention, Target

log = logging.getLogger(__name__)

# ``matching: auto``: a child process from this many aliases (automaton keys, as the start-up log counts them);
# measured inline, a reload stalls the loop 9-32 ms for the shipped catalogue (7,566), 39-55 ms at about 13,000
PROCESS_ABOVE = 10_000
READY_TIMEOUT = 600.0  # seconds for a child to load its rules
REQUEST_TIMEOUT = 120.0  # seconds for one answer
_LENGTH = struct.Struct(">Q")


def _pack(matches: list[Match]) -> list[tuple[tuple[str, ...], list[tuple[str, str, int, int]]]]:
    """Matches as plain tuples: a quarter of the unpickling cost of the dataclasses."""
    return [(m.watchlists, [(x.entity_id, x.text, x.start, x.end) for x in m.mentions]) for m in matches]


def _unpack(packed: list[tuple[tuple[str, ...], list[tuple[str, str, int, int]]]]) -> list[Match]:
    return [Match(tuple(Mention(*mention) for mention in mentions), watchlists) for watchlists, mentions in packed]


class WorkerError(RuntimeError):
    """The matching process failed, died, or was retired; the caller's work can be tried again later."""


def _write_frame(fd: int, payload: object, deadline: float | None = None) -> None:
    """Raises TimeoutError past ``deadline`` (a reader that stopped reading: the pipe stays full)."""
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_LENGTH.pack(len(data)) + data)
    while view:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([], [fd], [], left)[1]:
                raise TimeoutError
        view = view[os.write(fd, view[:1 << 16]):]


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes | None:
    """``size`` bytes from ``fd``; None at end of file before the first byte. Raises TimeoutError past ``deadline``
    and EOFError at end of file in the middle."""
    chunks: list[bytes] = []
    got = 0
    while got < size:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
        chunk = os.read(fd, min(size - got, 1 << 20))
        if not chunk:
            if got == 0:
                return None
            raise EOFError("the pipe closed in the middle of a frame")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int, deadline: float | None = None) -> Any:
    """The next frame's object; None at end of file."""
    head = _read_exact(fd, _LENGTH.size, deadline)
    if head is None:
        return None
    (size,) = _LENGTH.unpack(head)
    body = _read_exact(fd, size, deadline)
    if body is None:
        raise EOFError("the pipe closed in the middle of a frame")
    return pickle.loads(body)


class MatchWorker:
    """One child process serving the compiled rules of ``cache_file``. Started on first use (or by ``start``);
    a child that died is started again once per request. Blocking methods run in a worker thread; the async
    ones are what the event loop calls."""

    def __init__(self, cache_file: Path, rules_dir: Path):
        self.cache_file = cache_file
        self.rules_dir = rules_dir
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()  # one request in flight per child
        self._users = 0  # requests from the event loop not yet answered
        self._retired = False  # no new requests (the event loop's side)
        self._closed = False  # the child was stopped for good (the threads' side)
        self._launched: subprocess.Popen[bytes] | None = None  # started by ``launch``, not known to be ready
        self.started = 0  # how many children were started (a restart after a crash counts)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    # ---------------------------------------------------------------- blocking side (worker threads)

    def launch(self) -> None:
        """Start the child without waiting for it to load (the first request or ``start`` waits): it loads while
        this process does the rest of its start-up."""
        with self._lock:
            if self._launched is None and self._proc is None and not self._closed:
                self._launched = self._popen()

    def _popen(self) -> subprocess.Popen[bytes]:
        root = Path(__file__).resolve().parent.parent.parent
        self.started += 1
        # the child needs no platform secret and the database URL: it does not get them
        env = {k: v for k, v in os.environ.items() if k not in SECRET_VARIABLES and k != "DATABASE_URL"}
        return subprocess.Popen([sys.executable, "-m", "bot.rules.worker", str(self.cache_file), str(self.rules_dir)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=root, env=env)

    def _spawn(self) -> subprocess.Popen[bytes]:
        proc, self._launched = self._launched or self._popen(), None
        assert proc.stdout is not None
        try:
            ready = _read_frame(proc.stdout.fileno(), time.monotonic() + READY_TIMEOUT)
        except (TimeoutError, EOFError, OSError, pickle.UnpicklingError) as exc:
            self._kill(proc)
            raise WorkerError(f"the matching process did not start ({type(exc).__name__})") from exc
        if not isinstance(ready, tuple) or ready[:1] != ("ready",):
            self._kill(proc)
            detail = ready[1] if isinstance(ready, tuple) and len(ready) > 1 else "it exited"
            raise WorkerError(f"the matching process did not start: {detail}")
        log.info("matching process %d ready: %s aliases from %s", proc.pid, ready[1], self.cache_file.name)
        return proc

    @staticmethod
    def _kill(proc: subprocess.Popen[bytes]) -> None:
        proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()

    def start(self) -> None:
        """Start the child now (blocking until it has loaded its rules), unless it runs already."""
        with self._lock:
            if self._closed:
                raise WorkerError("the matching process was stopped")
            if self._proc is None or self._proc.poll() is not None:
                self._proc = self._spawn()

    def call(self, op: str, argument: object) -> Any:
        """One request and its answer (blocking). Raises WorkerError."""
        with self._lock:
            if self._closed:
                raise WorkerError("the matching process was stopped")
            for attempt in (1, 2):
                if self._proc is None or self._proc.poll() is not None:
                    if self._proc is not None:
                        log.error("matching process %d exited with %s; starting another", self._proc.pid,
                                  self._proc.returncode)
                    self._proc = self._spawn()
                proc = self._proc
                assert proc.stdin is not None and proc.stdout is not None
                deadline = time.monotonic() + REQUEST_TIMEOUT
                try:
                    _write_frame(proc.stdin.fileno(), (op, argument), deadline)
                    answer = _read_frame(proc.stdout.fileno(), deadline)
                except (OSError, EOFError, TimeoutError, pickle.UnpicklingError) as exc:
                    answer = None
                    log.error("matching process %d: %s on %s (attempt %d)", proc.pid, type(exc).__name__, op, attempt)
                if answer is None:  # died (or hung: killed) during the request
                    self._kill(proc)
                    continue
                status, result = answer
                if status != "ok":
                    raise WorkerError(f"the matching process failed on {op}: {result}")
                return result
            raise WorkerError(f"the matching process died twice on {op}")

    def close(self) -> None:
        """Stop the child: its stdin closes, it exits (killed after 10 s)."""
        with self._lock:
            self._closed = True
            proc, self._proc = self._proc or self._launched, None
            self._launched = None
        if proc is None:
            return
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()

    # ---------------------------------------------------------------- event-loop side

    async def _request(self, op: str, argument: object, decode: Callable[[Any], Any] = lambda x: x) -> Any:
        if self._retired:  # a request made before the retirement is still answered
            raise WorkerError("the matching process was retired")
        self._users += 1
        try:
            return await asyncio.to_thread(lambda: decode(self.call(op, argument)))
        finally:
            self._users -= 1
            if self._retired and self._users == 0:
                await asyncio.to_thread(self.close)

    async def match(self, texts: list[str]) -> list[Match]:
        if not texts:
            return []
        matches: list[Match] = await self._request("match", texts, _unpack)
        return matches

    async def resolve(self, query: str, limit: int) -> list[Target]:
        targets: list[Target] = await self._request("resolve", (query, limit))
        return targets

    async def retire(self) -> None:
        """No new requests; the child stops once the requests already made are answered."""
        self._retired = True
        if self._users == 0:
            await asyncio.to_thread(self.close)


class RemoteResolver:
    """The name resolver of the matching process, for chat commands."""

    def __init__(self, worker: MatchWorker):
        self.worker = worker

    async def lookup(self, query: str, limit: int = 6) -> list[Target]:
        return await self.worker.resolve(query, limit)


def serve(cache_file: Path, rules_dir: Path) -> int:
    """The child: load the rules, answer frames on stdin until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.dup(1)
    os.dup2(2, 1)  # anything printed goes to stderr: stdout carries frames only
    level = logging.getLevelName(os.environ.get("LOG_LEVEL", "WARNING").upper())
    setup_logging(max(level, logging.WARNING) if isinstance(level, int) else logging.WARNING)  # as the bot's
    from bot.rules.cache import Compiled, compile_rules, read_cached

    compiled = read_cached(cache_file)
    if not isinstance(compiled, Compiled):  # gone or bad since the parent read its header: build from the files
        log.warning("rules cache %s unusable; compiling %s", cache_file, rules_dir)
        compiled = compile_rules(rules_dir, None)
    if compiled.matcher is None or compiled.resolver is None:
        _write_frame(out, ("failed", "the rules did not load: " + "; ".join(compiled.errors[:3])))
        return 1
    matcher, resolver = compiled.matcher, compiled.resolver
    gc.freeze()
    _write_frame(out, ("ready", matcher.catalog.size))
    inp = sys.stdin.fileno()
    while True:
        request = _read_frame(inp)
        if request is None:
            return 0
        op, argument = request
        try:
            if op == "match":
                result: object = _pack([matcher.match_text(text) for text in argument])
            elif op == "resolve":
                result = resolver.resolve(*argument)
            else:
                raise ValueError(f"unknown request {op!r}")
        except Exception as exc:  # noqa: BLE001 - one bad request is answered, the child goes on
            log.exception("request %s failed", op)
            _write_frame(out, ("error", f"{type(exc).__name__}: {exc}"))
            continue
        _write_frame(out, ("ok", result))


if __name__ == "__main__":
    sys.exit(serve(Path(sys.argv[1]), Path(sys.argv[2])))
