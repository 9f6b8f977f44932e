"""Per-platform send rate limits, kept in process: overall, per chat, and per group per minute."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Limits:
    per_second: float  # all chats together
    per_chat_interval: float  # seconds between two messages to one chat
    per_group_minute: int | None = None  # messages a minute to one group


# 29.5 rather than 30, spaced evenly: jitter on the wire must not push 31 into one of the server's seconds
TELEGRAM = Limits(per_second=29.5, per_chat_interval=1.0, per_group_minute=20)
SLACK = Limits(per_second=50, per_chat_interval=1.0)
UNLIMITED = Limits(per_second=1e9, per_chat_interval=0.0)


@dataclass
class RateLimiter:
    limits: Limits
    _recent: deque = field(default_factory=deque)  # send times, all chats (last second)
    _next_free: float = 0.0  # sends are spaced evenly (1 / per_second apart), not in bursts
    _last: dict[str, float] = field(default_factory=dict)  # chat → last send
    _group: dict[str, deque] = field(default_factory=dict)  # group chat → send times (last minute)

    def chat_wait(self, chat: str, is_group: bool = False, now: float | None = None) -> float:
        """Seconds before this chat may be sent to, by its own limits (per chat, per group)."""
        now = time.monotonic() if now is None else now
        waits = [0.0]
        last = self._last.get(chat)
        if last is not None and now - last < self.limits.per_chat_interval:
            waits.append(self.limits.per_chat_interval - (now - last))
        if is_group and self.limits.per_group_minute:
            sent = self._group.get(chat)
            while sent and now - sent[0] >= 60.0:
                sent.popleft()
            if sent and len(sent) >= self.limits.per_group_minute:
                waits.append(60.0 - (now - sent[0]))
        return max(waits)

    def reserve(self, chat: str, is_group: bool = False, now: float | None = None) -> float:
        """0 and the slot is taken, or the seconds to wait before this chat may be sent to."""
        now = time.monotonic() if now is None else now
        waits = [0.0]
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        if len(self._recent) >= int(self.limits.per_second):
            waits.append(1.0 - (now - self._recent[0]))
        if now < self._next_free:
            waits.append(self._next_free - now)
        last = self._last.get(chat)
        if last is not None and now - last < self.limits.per_chat_interval:
            waits.append(self.limits.per_chat_interval - (now - last))
        if is_group and self.limits.per_group_minute:
            sent = self._group.setdefault(chat, deque())
            while sent and now - sent[0] >= 60.0:
                sent.popleft()
            if len(sent) >= self.limits.per_group_minute:
                waits.append(60.0 - (now - sent[0]))
        wait = max(waits)
        if wait > 0:
            return wait
        self._recent.append(now)
        gap = 1.0 / self.limits.per_second
        # keep the schedule: a sender that woke a little late does not push every later slot back
        base = self._next_free if 0 <= now - self._next_free < gap else now
        self._next_free = base + gap
        self._last[chat] = now
        if is_group and self.limits.per_group_minute:
            self._group[chat].append(now)
        if len(self._last) > 100_000:  # forget chats idle for a minute
            self._last = {k: v for k, v in self._last.items() if now - v < 60}
        return 0.0

    def penalize(self, chat: str, seconds: float, now: float | None = None) -> None:
        """The platform said 'retry after': treat the chat as just sent to, that many seconds from now."""
        now = time.monotonic() if now is None else now
        self._last[chat] = now + max(0.0, seconds - self.limits.per_chat_interval)
