"""WebSub end to end with a local hub: subscribe when a feed declares a hub, the intent check, signed pushes through
the same pipeline at once (stored once, delivered to the fake Bot API), unsigned and wrongly signed pushes ignored
and counted, lease renewal, unsubscribe when the feed is removed."""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import timedelta

import httpx

from bot.app import Application
from bot.config import DeliveryConfig, FeedConfig, HttpConfig, PollConfig, Settings, TelegramConfig
from bot.feeds.websub import renew_before, sign, signature_ok
from bot.model import SubscriptionKind, Target
from bot.store.db import utcnow
from tests.conftest import RULES
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.websub_hub import FakeHub


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def feed(hub: str, topic: str, *items: tuple[str, str]) -> bytes:
    body = "".join(f"<item><title>{t}</title><guid>{g}</guid><link>https://e.org/{g}</link>"
                   f"<description>{t}.</description></item>" for g, t in items)
    return (f'<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>'
            f'<title>W</title><atom:link rel="hub" href="{hub}"/><atom:link rel="self" href="{topic}"/>'
            f"{body}</channel></rss>").encode()


def test_signatures():
    body = b"<rss/>"
    for algorithm in ("sha1", "sha256", "sha512"):
        assert signature_ok("s3cret", body, sign("s3cret", body, algorithm))
    assert not signature_ok("s3cret", body, sign("other", body))
    assert not signature_ok("s3cret", body + b" ", sign("s3cret", body))
    assert not signature_ok("s3cret", body, None) and not signature_ok("s3cret", body, "md5=abc")
    assert renew_before(86400) == timedelta(hours=1) and renew_before(300) == timedelta(minutes=1)


async def wait_for(condition, within: float = 10) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_push_end_to_end(tmp_path):
    fake = await FakeTelegram().start()
    hub = await FakeHub().start()
    server = await FeedServer().start()
    topic = server.url("/feed.xml")
    content = {"body": feed(hub.url, topic, ("a1", "Caesar Act: first"))}

    async def handler(request):
        from aiohttp import web
        return web.Response(body=content["body"], content_type="application/rss+xml")

    server.route("/feed.xml", handler)
    port = free_port()
    settings = Settings(database=f"sqlite+aiosqlite:///{tmp_path}/ws.db", rules=str(RULES), base_dir=tmp_path,
                        feeds=[FeedConfig(name="W", url=topic)], poll=PollConfig(interval=60, websub_lease=3600),
                        delivery=DeliveryConfig(tick=0.5),
                        http=HttpConfig(host="127.0.0.1", port=port, public_url=f"http://127.0.0.1:{port}"),
                        telegram=TelegramConfig(api_url=fake.base_url, poll_timeout=1), telegram_token=fake.token)
    service = Application(settings)
    await service.start()
    try:
        chat = await service.store.chats.ensure("telegram", "777")
        await service.store.subscriptions.add(chat.id, Target(SubscriptionKind.ENTITY, "caesar-act"))
        await service.run_once()  # the poll sees the hub and subscribes
        await hub.wait_verified(1)
        assert hub.requests[0]["hub.mode"] == "subscribe" and hub.requests[0]["hub.topic"] == topic
        assert hub.requests[0]["hub.callback"].endswith("/websub/1") and len(hub.requests[0]["hub.secret"]) == 64
        sub = await service.websub.subs.get(1)
        assert sub.state == "active" and sub.lease_until > utcnow() + timedelta(minutes=50)
        await service._websub_tick()
        assert service.poller.pushed == {1}  # polled as a slow safety net from now on
        sent_before = len(fake.delivered)
        runner = asyncio.create_task(service.run_forever())  # the delivery job retries what a chat's limit delays

        # a signed push goes through the pipeline at once and reaches the Bot API
        pushed = feed(hub.url, topic, ("a2", "Caesar Act: pushed news about sanctions relief debated by senators"), ("a1", "Caesar Act: first"))
        started = time.monotonic()
        assert await hub.publish(topic, pushed) == [202]
        await wait_for(lambda: _delivered(fake, "pushed news"))
        assert time.monotonic() - started < 3
        assert service.metrics.value("rasad_websub_pushes_total", outcome="ok") == 1

        # unsigned and wrongly signed pushes are ignored and counted
        forged = feed(hub.url, topic, ("x1", "Caesar Act: forged"))
        assert await hub.publish(topic, forged, sign="none") == [202]
        assert await hub.publish(topic, forged, sign="bad") == [202]
        assert await hub.publish(topic, forged, sign="bad", algorithm="sha1") == [202]
        assert service.metrics.value("rasad_websub_pushes_total", outcome="unsigned") == 1
        assert service.metrics.value("rasad_websub_pushes_total", outcome="bad_signature") == 2
        metrics = (await httpx.AsyncClient().get(f"http://127.0.0.1:{port}/metrics")).text
        assert 'rasad_websub_pushes_total{outcome="bad_signature"} 2' in metrics
        # sha1 signatures from the hub are accepted too
        hub.algorithm = "sha1"
        assert await hub.publish(topic, feed(hub.url, topic, ("a3", "Caesar Act: Damascus envoy talks resume in Geneva with a third round"))) == [202]
        await wait_for(lambda: _delivered(fake, "third"))
        assert not await _delivered(fake, "forged")

        # the safety-net poll sees the pushed items again: stored once, alerted once
        content["body"] = pushed
        await service.run_once()
        titles = [d["text"] for d in fake.delivered[sent_before:]]
        assert sum("pushed news" in t for t in titles) == 1

        # an intent check the subscriber did not ask for is refused
        async with httpx.AsyncClient() as client:
            r = await client.get(f"http://127.0.0.1:{port}/websub/1", params={
                "hub.mode": "subscribe", "hub.topic": "https://evil.example/", "hub.challenge": "x"})
            assert r.status_code == 404
            r = await client.get(f"http://127.0.0.1:{port}/websub/99", params={
                "hub.mode": "subscribe", "hub.topic": topic, "hub.challenge": "x"})
            assert r.status_code == 404

        # lease renewal before expiry
        await service.websub.subs.set_state(1, "active", lease_until=utcnow() + timedelta(seconds=30))
        await service.websub.maintain()
        await hub.wait_verified(2)
        assert [r["hub.mode"] for r in hub.requests] == ["subscribe", "subscribe"]
        assert (await service.websub.subs.get(1)).lease_until > utcnow() + timedelta(minutes=50)

        # the feed is removed: unsubscribed, and the hub's check of that intent is confirmed
        await service.store.feeds.deactivate(1)
        await service.websub.maintain()
        await hub.wait_verified(3)
        assert hub.requests[-1]["hub.mode"] == "unsubscribe" and hub.verifications[-1][:1] == ("unsubscribe",)
        assert await service.websub.subs.get(1) is None and not hub.subscriptions
        service.request_stop()
        await runner
    finally:
        await service.stop()
        await server.stop()
        await hub.stop()
        await fake.stop()


async def _delivered(fake: FakeTelegram, words: str) -> bool:
    return any(words in d.get("text", "") for d in fake.delivered)
