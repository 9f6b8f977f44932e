"""A local WebSub hub (W3C WebSub, sections 5-8) for tests and the latency bench.

It accepts subscription requests (form POST, answers 202), verifies the subscriber's intent with a GET carrying
``hub.challenge`` (the subscription counts only when the exact challenge comes back with a 2xx), and pushes content
to every verified subscriber of a topic, signed with ``X-Hub-Signature: <algo>=HMAC(secret, body)``. Tests can also
push unsigned or wrongly signed content, and see every request it got."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from tests.fakes import serve_local


@dataclass
class HubSubscription:
    callback: str
    topic: str
    secret: str | None
    lease_seconds: int


@dataclass
class FakeHub:
    subscriptions: dict[tuple[str, str], HubSubscription] = field(default_factory=dict)  # (topic, callback)
    requests: list[dict[str, str]] = field(default_factory=list)  # every subscription request's form
    verifications: list[tuple[str, str, bool]] = field(default_factory=list)  # (mode, callback, confirmed)
    pushes: list[tuple[str, int]] = field(default_factory=list)  # (callback, status)
    algorithm: str = "sha256"
    runner: web.AppRunner | None = None
    port: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def start(self) -> FakeHub:
        app = web.Application()
        app.router.add_post("/", self._subscribe)
        self.runner, self.port = await serve_local(app)
        self._session = aiohttp.ClientSession()
        return self

    async def stop(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._session.close()
        if self.runner is not None:
            await self.runner.cleanup()

    async def _subscribe(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.requests.append(form)
        mode, callback, topic = form.get("hub.mode"), form.get("hub.callback", ""), form.get("hub.topic", "")
        if mode not in ("subscribe", "unsubscribe") or not callback.startswith("http") or not topic:
            return web.Response(status=400, text="bad request")
        task = asyncio.create_task(self._verify(mode, callback, topic, form))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.Response(status=202, text="accepted")

    async def _verify(self, mode: str, callback: str, topic: str, form: dict[str, str]) -> None:
        """Section 5.3: the hub GETs the callback with a challenge; the intent holds only if it is echoed."""
        challenge = secrets.token_urlsafe(16)
        lease = int(form.get("hub.lease_seconds") or 3600)
        params = {"hub.mode": mode, "hub.topic": topic, "hub.challenge": challenge}
        if mode == "subscribe":
            params["hub.lease_seconds"] = str(lease)
        try:
            async with self._session.get(callback, params=params) as response:
                confirmed = 200 <= response.status < 300 and await response.text() == challenge
        except aiohttp.ClientError:
            confirmed = False
        self.verifications.append((mode, callback, confirmed))
        if confirmed and mode == "subscribe":
            self.subscriptions[(topic, callback)] = HubSubscription(callback, topic, form.get("hub.secret"), lease)
        elif confirmed:
            self.subscriptions.pop((topic, callback), None)
        self.changed.set()

    async def wait_verified(self, count: int = 1, within: float = 10) -> None:
        async with asyncio.timeout(within):
            while sum(1 for v in self.verifications if v[2]) < count:
                self.changed.clear()
                await self.changed.wait()

    async def deny(self, topic: str, callback: str, reason: str = "no") -> int:
        async with self._session.get(callback, params={"hub.mode": "denied", "hub.topic": topic,
                                                       "hub.reason": reason}) as response:
            return response.status

    def signature(self, secret: str, body: bytes, algorithm: str | None = None) -> str:
        algorithm = algorithm or self.algorithm
        return f"{algorithm}={hmac.new(secret.encode(), body, getattr(hashlib, algorithm)).hexdigest()}"

    async def publish(self, topic: str, body: bytes, sign: str = "good", algorithm: str | None = None,
                      content_type: str = "application/rss+xml") -> list[int]:
        """Section 7: push ``body`` to every subscriber of ``topic``. ``sign``: good, none, or bad."""
        statuses = []
        for sub in [s for s in self.subscriptions.values() if s.topic == topic]:
            headers = {"Content-Type": content_type,
                       "Link": f'<{self.url}>; rel="hub", <{topic}>; rel="self"'}
            if sign == "good" and sub.secret:
                headers["X-Hub-Signature"] = self.signature(sub.secret, body, algorithm)
            elif sign == "bad":
                headers["X-Hub-Signature"] = self.signature("not-the-secret", body, algorithm)
            async with self._session.post(sub.callback, data=body, headers=headers) as response:
                statuses.append(response.status)
                self.pushes.append((sub.callback, response.status))
        return statuses
