"""Per-platform send rate limits, kept in process: overall, per chat, and per group per minute.

One ``RateLimiter`` per platform, owned by the adapter (``adapter.limiter``) and shared by everything that sends
there: the delivery dispatcher's alerts and the adapter's replies to commands (``ReplyQueue``). Replies waiting
for the platform-wide slot go before alerts, but alerts keep at least one slot in ``PRIORITY_SHARE + 1``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.errors import DeliveryError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    per_second: float  # all chats together
    per_chat_interval: float  # seconds between two messages to one chat
    per_group_minute: int | None = None  # messages a minute to one group


# 29.5 rather than 30, spaced evenly: jitter on the wire must not push 31 into one of the server's seconds
TELEGRAM = Limits(per_second=29.5, per_chat_interval=1.0, per_group_minute=20)
SLACK = Limits(per_second=50, per_chat_interval=1.0)
UNLIMITED = Limits(per_second=1e9, per_chat_interval=0.0)

PRIORITY_SHARE = 3  # replies waiting take at most this many platform-wide slots in a row before an alert gets one


@dataclass
class RateLimiter:
    limits: Limits
    _recent: deque[float] = field(default_factory=deque)  # send times, all chats (last second)
    _next_free: float = 0.0  # sends are spaced evenly (1 / per_second apart), not in bursts
    _last: dict[str, float] = field(default_factory=dict)  # chat → last alert (or the time a 429 asked for)
    _reply_last: dict[str, float] = field(default_factory=dict)  # chat → last reply to a command
    _group: dict[str, deque[float]] = field(default_factory=dict)  # group chat → send times (last minute)
    _gate: asyncio.Lock | None = None  # replies ready to go take the platform-wide slot one at a time, in order
    _priority_waiting: int = 0  # replies ready to go, waiting for the platform-wide slot
    _priority_streak: int = 0  # platform-wide slots taken by replies in a row
    _alert_waiting_at: float = float("-inf")  # when an alert whose chat was ready was last refused a slot

    def chat_wait(self, chat: str, is_group: bool = False, now: float | None = None,
                  with_replies: bool = False) -> float:
        """Seconds before this chat may be sent to, by its own limits (per chat, per group).

        Unless ``with_replies``, the per-chat second taken by a reply is left out: the dispatcher asks this to
        decide whether to give an alert back untried; a chat just answered is not a busy chat, so its alert waits
        that last second in ``reserve`` (which counts everything) instead."""
        now = time.monotonic() if now is None else now
        waits = [0.0]
        lasts = (self._last, self._reply_last) if with_replies else (self._last,)
        for last in (d.get(chat) for d in lasts):
            if last is not None and now - last < self.limits.per_chat_interval:
                waits.append(self.limits.per_chat_interval - (now - last))
        if is_group and self.limits.per_group_minute:
            sent = self._group.get(chat)
            while sent and now - sent[0] >= 60.0:
                sent.popleft()
            if sent and len(sent) >= self.limits.per_group_minute:
                waits.append(60.0 - (now - sent[0]))
        return max(waits)

    def reserve(self, chat: str, is_group: bool = False, now: float | None = None, priority: bool = False) -> float:
        """0 and the slot is taken, or the seconds to wait before this chat may be sent to.

        ``priority`` (replies to commands): while such sends wait for the platform-wide slot, the others (alerts)
        are told to wait, except that after ``PRIORITY_SHARE`` priority sends in a row a waiting alert goes first."""
        now = time.monotonic() if now is None else now
        chat_wait = self.chat_wait(chat, is_group, now, with_replies=True)
        wait = max(chat_wait, self._platform_wait(now), self._turn_wait(now, priority))
        if wait > 0:
            if not priority and chat_wait <= 0:
                self._alert_waiting_at = now
            return wait
        self._take(chat, is_group, now, priority)
        return 0.0

    @property
    def _gap(self) -> float:
        """Seconds between two platform-wide slots."""
        return 1.0 / self.limits.per_second

    def _platform_wait(self, now: float) -> float:
        """Seconds before the platform-wide limit allows the next send: sends in the last second, even spacing."""
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        waits = [0.0]
        if len(self._recent) >= int(self.limits.per_second):
            waits.append(1.0 - (now - self._recent[0]))
        if now < self._next_free:
            waits.append(self._next_free - now)
        return max(waits)

    def _turn_wait(self, now: float, priority: bool) -> float:
        """Seconds a send gives way to the other kind: alerts to waiting replies, replies to an alert's turn."""
        gap = self._gap
        if not priority and self._priority_waiting and self._priority_streak < PRIORITY_SHARE:
            return max(gap, self._next_free - now)  # replies are waiting: they go first
        if priority and self._priority_streak >= PRIORITY_SHARE and now - self._alert_waiting_at < 3 * gap:
            return gap  # an alert ready to go was refused just now: the next slot is its own
        return 0.0

    def _take(self, chat: str, is_group: bool, now: float, priority: bool) -> None:
        """Record a send to ``chat`` now, in every limit it counts for."""
        gap = self._gap
        self._recent.append(now)
        self._priority_streak = self._priority_streak + 1 if priority else 0
        # keep the schedule: a sender that woke a little late does not push every later slot back
        base = self._next_free if 0 <= now - self._next_free < gap else now
        self._next_free = base + gap
        (self._reply_last if priority else self._last)[chat] = now
        if is_group and self.limits.per_group_minute:
            self._group.setdefault(chat, deque()).append(now)
        if len(self._last) + len(self._reply_last) > 100_000:
            self._forget_idle(now)

    def _forget_idle(self, now: float) -> None:
        """Forget chats idle for a minute (their limits no longer hold them)."""
        self._last = {k: v for k, v in self._last.items() if now - v < 60}
        self._reply_last = {k: v for k, v in self._reply_last.items() if now - v < 60}
        self._group = {k: v for k, v in self._group.items() if v and now - v[-1] < 60}

    def penalize(self, chat: str, seconds: float, now: float | None = None) -> None:
        """The platform said 'retry after': treat the chat as just sent to, that many seconds from now."""
        now = time.monotonic() if now is None else now
        self._last[chat] = now + max(0.0, seconds - self.limits.per_chat_interval)

    async def acquire(self, chat: str, is_group: bool = False) -> None:
        """Wait (asleep, never blocking the loop) until this chat may be sent to, and take the slot.

        The chat's own wait (per chat, per group, a 429's delay) is spent outside the queue, so a chat that must
        wait never holds up the others; chats that may go take the platform-wide slots first come, first served,
        before the dispatcher's alerts (see ``reserve``)."""
        if self._gate is None:
            self._gate = asyncio.Lock()
        while True:
            wait = self.chat_wait(chat, is_group, with_replies=True)
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            self._priority_waiting += 1
            try:
                async with self._gate:
                    # another sender may have used this chat's slot while we queued: back to its own wait then
                    while self.chat_wait(chat, is_group, with_replies=True) <= 0:
                        wait = self.reserve(chat, is_group, priority=True)
                        if wait <= 0:
                            return
                        await asyncio.sleep(wait)
            finally:
                self._priority_waiting -= 1


REPLY_QUEUE_CAP = 100  # replies waiting in one chat; past it the oldest waiting reply is dropped (logged)
REPLY_RATE_LIMITED_TRIES = 8  # 429 answers honoured for one reply before it is given up (logged)
REPLY_MAX_RETRY_AFTER = 900.0  # a longer 429 delay (a flood ban) is not waited for: the reply is given up (logged)
REPLY_TIMEOUT_TRIES = 2  # timeouts (outcome unknown) retried; a rare duplicate answer beats a lost one
REPLY_NETWORK_TRIES = 3  # other network failures retried, 1 s then 2 s then 4 s apart
REPLY_RETRY_BASE = 1.0  # seconds before the first retry after a timeout or a network failure; doubled each time


@dataclass
class _Reply:
    send: Callable[[], Awaitable[object]]
    what: str
    queued: float


class ReplyQueue:
    """Replies to chat commands, sent through the platform's shared ``RateLimiter``.

    Each chat has its own queue, sent in order by its own task, so one chat waiting for its slot (1 s per chat,
    20 a minute per group) or flooding the bot never holds up another chat's answer. ``send`` callables raise
    ``DeliveryError``: ``retry_after`` is honoured (the chat is penalized in the shared limiter, so alerts wait
    too) up to ``REPLY_RATE_LIMITED_TRIES`` times; timeouts and network failures are retried a few times; a
    permanent error (blocked, chat gone, message not modified) gives the reply up. A chat with more than
    ``cap`` replies waiting loses the oldest waiting one (a warning names the chat): the commands were executed
    all the same, only that answer is not sent."""

    def __init__(self, limiter: RateLimiter, platform: str, cap: int = REPLY_QUEUE_CAP):
        self.limiter = limiter
        self.platform = platform
        self.cap = cap
        self._queues: dict[str, deque[_Reply]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.sent = 0
        self.dropped = 0
        self.rate_limited = 0

    @property
    def waiting(self) -> int:
        return sum(len(q) for q in self._queues.values()) + len(self._tasks)

    def submit(self, chat: str, is_group: bool, send: Callable[[], Awaitable[object]], what: str = "reply") -> None:
        """Queue one reply to ``chat``; returns at once (the handler that computed it is free again)."""
        queue = self._queues.setdefault(chat, deque())
        if len(queue) >= self.cap:
            old = queue.popleft()
            self.dropped += 1
            log.warning("%s: chat %s has %d replies waiting (the cap): the oldest (%s, queued %.0f s ago) is "
                        "dropped, the newest kept", self.platform, chat, self.cap, old.what,
                        time.monotonic() - old.queued)
        queue.append(_Reply(send, what, time.monotonic()))
        if chat not in self._tasks:
            self._tasks[chat] = asyncio.create_task(self._drain(chat, is_group), name=f"replies:{chat}")

    async def _drain(self, chat: str, is_group: bool) -> None:
        queue = self._queues[chat]
        try:
            while queue:
                await self._send(chat, is_group, queue.popleft())
        finally:  # no await between the empty queue and here: a reply submitted meanwhile starts a new task
            self._queues.pop(chat, None)
            self._tasks.pop(chat, None)

    async def _send(self, chat: str, is_group: bool, reply: _Reply) -> bool:
        limited = timeouts = failures = 0
        while True:
            await self.limiter.acquire(chat, is_group)
            try:
                await reply.send()
            except DeliveryError as exc:
                if exc.retry_after is not None:
                    limited += 1
                    self.rate_limited += 1
                    if limited > REPLY_RATE_LIMITED_TRIES or exc.retry_after > REPLY_MAX_RETRY_AFTER:
                        log.warning("%s: %s to chat %s given up after %d × 429 (last: retry after %g s)",
                                    self.platform, reply.what, chat, limited, exc.retry_after)
                        return False
                    log.info("%s: %s to chat %s: 429, retry after %g s", self.platform, reply.what, chat,
                             exc.retry_after)
                    self.limiter.penalize(chat, exc.retry_after)  # acquire() now waits that long, alerts too
                    continue
                if exc.permanent:
                    log.warning("%s: %s to chat %s not sent: %s", self.platform, reply.what, chat, exc)
                    return False
                if exc.unknown_outcome:
                    timeouts += 1
                    tries = REPLY_TIMEOUT_TRIES
                else:
                    failures += 1
                    tries = REPLY_NETWORK_TRIES
                if max(timeouts, failures) > tries:
                    log.warning("%s: %s to chat %s given up: %s", self.platform, reply.what, chat, exc)
                    return False
                log.info("%s: %s to chat %s failed, retrying: %s", self.platform, reply.what, chat, exc)
                await asyncio.sleep(REPLY_RETRY_BASE * 2.0 ** (timeouts + failures - 1))
                continue
            except Exception:  # noqa: BLE001 - one broken reply must not stop this chat's others
                log.exception("%s: %s to chat %s failed unexpectedly", self.platform, reply.what, chat)
                return False
            self.sent += 1
            return True

    async def close(self, within: float = 5.0) -> None:
        """Let waiting replies go for up to ``within`` seconds, then cancel the rest (logged)."""
        tasks = list(self._tasks.values())
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=within)
        if pending:
            lost = sum(len(q) for q in self._queues.values()) + len(pending)
            log.warning("%s: stopping with about %d replies unsent", self.platform, lost)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
