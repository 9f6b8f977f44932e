"""In-memory adapters for tests: they keep what they were asked to send, or fail as told (errbot's test backend)."""

from __future__ import annotations

import asyncio

from bot.delivery.digest import Digest
from bot.delivery.limits import UNLIMITED, Limits, RateLimiter
from bot.errors import DeliveryError
from bot.model import Alert


class Recorder:
    """Keeps every alert, digest and notice; sends never fail."""

    def __init__(self, platform: str = "console", limits: Limits = UNLIMITED):
        self.platform = platform
        self.limiter = RateLimiter(limits)
        self.alerts: list[Alert] = []
        self.sent: list[tuple[str, Alert]] = []
        self.digests: list[tuple[str, Digest]] = []
        self.notices: list[tuple[str, str]] = []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send_alert(self, address: str, alert: Alert) -> None:
        self.alerts.append(alert)
        self.sent.append((address, alert))

    async def send_digest(self, address: str, digest: Digest) -> None:
        self.digests.append((address, digest))

    async def send_notice(self, address: str, text: str) -> None:
        self.notices.append((address, text))


class Failing(Recorder):
    """Every alert fails with ``error`` (after ``delay`` seconds); ``calls`` counts the tries."""

    def __init__(self, error: Exception, platform: str = "console", delay: float = 0.0):
        super().__init__(platform)
        self.error = error
        self.delay = delay
        self.calls = 0

    async def send_alert(self, address: str, alert: Alert) -> None:
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        raise self.error


class Slow(Recorder):
    """Every alert takes ``delay`` seconds on the wire."""

    def __init__(self, platform: str = "console", delay: float = 0.01):
        super().__init__(platform)
        self.delay = delay

    async def send_alert(self, address: str, alert: Alert) -> None:
        await asyncio.sleep(self.delay)
        await super().send_alert(address, alert)


__all__ = ["DeliveryError", "Failing", "Recorder", "Slow"]
