"""WebSub (W3C Recommendation, 2018) subscriber: push instead of polling when a feed declares a hub.

- A feed that declares a hub (``<atom:link rel="hub">`` or an HTTP ``Link: <...>; rel="hub"``) is subscribed when
  ``http.public_url`` is configured: a form POST to the hub with ``hub.callback`` (``<public_url>/websub/<feed id>``),
  ``hub.mode=subscribe``, ``hub.topic`` (the feed's ``rel="self"`` URL, else its URL), ``hub.lease_seconds`` and a
  per-subscription ``hub.secret`` (random, 32 bytes).
- The hub checks our intent with a GET carrying ``hub.challenge``: answered (200, the challenge as the body) only
  for a subscription we asked and whose topic matches; anything else gets 404. ``hub.mode=denied`` is recorded.
- Content distribution: a POST of the feed's new content. Its ``X-Hub-Signature: sha256=<hex>`` (sha1, sha384,
  sha512 also accepted) is checked with the subscription's secret on every push; an unsigned or wrongly signed push
  is ignored (answered 2xx, as section 8 asks, so the hub does not retry it) and counted in
  ``rasad_websub_pushes_total{outcome="unsigned"|"bad_signature"}``.
- Leases are renewed before they end (at 90% of their length, at least an hour early for long ones); a feed removed
  from the bot is unsubscribed (the hub verifies that intent too).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from urllib.parse import urlparse

import httpx
from aiohttp import web

from bot.config import PollConfig
from bot.feeds.guard import UnsafeURL, check_public_url
from bot.http.metrics import Metrics
from bot.model import FeedRow
from bot.store import Store
from bot.store.db import utcnow
from bot.store.websub import Subscription, WebSubStore

log = logging.getLogger(__name__)

ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}
RETRY_AFTER = timedelta(minutes=5)  # a request the hub did not confirm is asked again after this
MAX_CHALLENGE = 1024

Ingest = Callable[[int, bytes, dict[str, str]], Awaitable[None]]


def sign(secret: str, body: bytes, algorithm: str = "sha256") -> str:
    """The ``X-Hub-Signature`` value a hub sends for ``body``."""
    return f"{algorithm}={hmac.new(secret.encode(), body, ALGORITHMS[algorithm]).hexdigest()}"


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    method, _, digest = (header or "").strip().partition("=")
    algorithm = ALGORITHMS.get(method.lower())
    if algorithm is None or not digest:
        return False
    expected = hmac.new(secret.encode(), body, algorithm).hexdigest()
    return hmac.compare_digest(expected, digest.strip().lower())


def renew_before(lease: int) -> timedelta:
    """How long before the lease ends it is renewed: 10% of it, at least a minute, at most an hour."""
    return timedelta(seconds=min(3600.0, max(60.0, lease * 0.1)))


class WebSub:
    def __init__(self, store: Store, client: httpx.AsyncClient, public_url: str, poll: PollConfig, metrics: Metrics,
                 ingest: Ingest):
        self.store = store
        self.subs = WebSubStore(store.engine)
        self.client = client
        self.public_url = public_url.rstrip("/")
        self.poll = poll
        self.metrics = metrics
        self.ingest = ingest
        self._tasks: set[asyncio.Task[None]] = set()

    def callback(self, feed_id: int) -> str:
        return f"{self.public_url}/websub/{feed_id}"

    # ------------------------------------------------------------ subscribing

    async def noticed(self, feed: FeedRow, hub: str, topic: str) -> None:
        """A poll saw that ``feed`` declares ``hub``: subscribe (once; again if the hub or topic changes)."""
        if urlparse(hub).scheme not in ("http", "https"):
            return
        if feed.source == "chat" and not self.poll.allow_private:
            try:  # a hub named by a feed added from chat is fetched like the feed: public addresses only
                await check_public_url(hub)
            except UnsafeURL as exc:
                log.warning("feed %s: hub %s refused: %s", feed.name, hub, exc)
                return
        if await self.subs.want(feed.id, hub, topic, secrets.token_hex(32)):
            sub = await self.subs.get(feed.id)
            if sub is not None:
                await self._request(sub, "subscribe")

    async def maintain(self) -> None:
        """Subscribe what is wanted, renew leases before they end, unsubscribe feeds that were removed."""
        now = utcnow()
        inactive = {f.id for f in await self.store.feeds.all(active_only=False) if not f.active}
        for sub in await self.subs.due(now, renew_before(self.poll.websub_lease), RETRY_AFTER):
            await self._request(sub, "unsubscribe" if sub.feed_id in inactive else "subscribe")

    async def _request(self, sub: Subscription, mode: str) -> None:
        form = {"hub.callback": self.callback(sub.feed_id), "hub.mode": mode, "hub.topic": sub.topic}
        if mode == "subscribe":
            form |= {"hub.lease_seconds": str(self.poll.websub_lease), "hub.secret": sub.secret}
        state = "pending" if mode == "subscribe" else "unsubscribing"
        if sub.state == "active" and mode == "subscribe":
            state = "active"  # a renewal: pushes keep coming meanwhile
        try:
            response = await self.client.post(sub.hub, data=form, timeout=self.poll.timeout, follow_redirects=False)
            ok = 200 <= response.status_code < 300
            error = None if ok else f"hub answered HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            ok, error = False, f"{type(exc).__name__}: {exc}"
        self.metrics.inc("rasad_websub_requests_total", mode=mode, outcome="ok" if ok else "failed")
        if error:
            log.warning("websub %s of feed %d at %s failed: %s", mode, sub.feed_id, sub.hub, error)
        await self.subs.set_state(sub.feed_id, state, requested_at=utcnow(), last_error=error)

    # ------------------------------------------------------------ the callback: intent checks and pushes

    def _feed_id(self, request: web.Request) -> int | None:
        ident = request.match_info.get("feed_id", "")
        return int(ident) if ident.isdigit() and len(ident) < 12 else None

    async def verify(self, request: web.Request) -> web.Response:
        """GET: the hub checks our intent (subscribe / unsubscribe) or tells us it denied the subscription."""
        feed_id = self._feed_id(request)
        sub = await self.subs.get(feed_id) if feed_id is not None else None
        q = request.query
        mode, topic, challenge = q.get("hub.mode", ""), q.get("hub.topic", ""), q.get("hub.challenge", "")
        if sub is None or topic != sub.topic:
            return web.Response(status=404, text="unknown subscription")
        if mode == "denied":
            log.warning("websub: hub %s denied feed %d: %s", sub.hub, sub.feed_id, q.get("hub.reason", "")[:200])
            await self.subs.set_state(sub.feed_id, "denied", last_error=q.get("hub.reason", "")[:500])
            return web.Response(status=200, text="ok")
        if not challenge or len(challenge) > MAX_CHALLENGE:
            return web.Response(status=404, text="no challenge")
        if mode == "subscribe" and sub.state in ("pending", "active"):
            lease = q.get("hub.lease_seconds", "")
            await self.subs.verified(sub.feed_id, int(lease) if lease.isdigit() and len(lease) < 10
                                             else None)
            log.info("websub: feed %d is pushed by %s", sub.feed_id, sub.hub)
            return web.Response(status=200, text=challenge, content_type="text/plain")
        if mode == "unsubscribe" and sub.state == "unsubscribing":
            await self.subs.forget(sub.feed_id)
            return web.Response(status=200, text=challenge, content_type="text/plain")
        return web.Response(status=404, text="not expected")

    async def receive(self, request: web.Request) -> web.Response:
        """POST: content from the hub. Signed with our secret, or ignored (and counted)."""
        feed_id = self._feed_id(request)
        sub = await self.subs.get(feed_id) if feed_id is not None else None
        if sub is None or sub.state not in ("active", "pending"):
            self.metrics.inc("rasad_websub_pushes_total", outcome="unknown")
            return web.Response(status=404, text="unknown subscription")
        body = await request.content.read(self.poll.max_bytes + 1)
        if len(body) > self.poll.max_bytes:
            self.metrics.inc("rasad_websub_pushes_total", outcome="too_large")
            return web.Response(status=413, text="too large")
        header = request.headers.get("X-Hub-Signature")
        if not header:
            self.metrics.inc("rasad_websub_pushes_total", outcome="unsigned")
            log.warning("websub: unsigned push for feed %d ignored", sub.feed_id)
            return web.Response(status=202, text="ignored")
        if not signature_ok(sub.secret, body, header):
            self.metrics.inc("rasad_websub_pushes_total", outcome="bad_signature")
            log.warning("websub: push for feed %d with a wrong signature ignored", sub.feed_id)
            return web.Response(status=202, text="ignored")
        self.metrics.inc("rasad_websub_pushes_total", outcome="ok")
        headers = {k.lower(): v for k, v in request.headers.items() if k.lower() in ("content-type", "link")}
        task = asyncio.create_task(self._ingest(sub.feed_id, body, headers))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.Response(status=202, text="accepted")

    async def _ingest(self, feed_id: int, body: bytes, headers: dict[str, str]) -> None:
        try:
            await self.subs.pushed(feed_id)
            await self.ingest(feed_id, body, headers)
        except Exception:  # noqa: BLE001 - one bad push must not stop the server; the poll is the safety net
            log.exception("websub: pushed content of feed %d could not be handled", feed_id)

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
