"""Three `rasad run` workers on one PostgreSQL database, one killed mid-run: every alert reaches the fake Bot API
once (only a send cut mid-flight may repeat), the dead worker's claims are taken over, one process polls updates."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter

import pytest
from sqlalchemy import text

from bot.store.db import create_engine, migrate, utcnow
from bot.store.tables import chats, subscriptions
from tests.conftest import POSTGRES_URL, RULES
from tests.fakes.feeds import feed_xml
from tests.fakes.postgres import fresh_database
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="needs RASAD_TEST_POSTGRES_URL (a PostgreSQL server); "
                                                         ".ci/run sets it on this project's machines")
CHATS = [str(900000 + i) for i in range(150)]


async def _states(engine) -> dict[str, set[str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("select c.address, d.state from deliveries d join chats c on c.id = d.chat_id"))
        out: dict[str, set[str]] = {}
        for address, state in rows:
            out.setdefault(state, set()).add(address)
        return out


async def test_three_workers_one_killed_every_alert_once(tmp_path):
    async with fresh_database("rasad_w") as url:
        await _three_workers(tmp_path, url)


async def _three_workers(tmp_path, url: str) -> None:
    engine = create_engine(url)
    fake = await FakeTelegram().start()
    procs: list[asyncio.subprocess.Process] = []
    try:
        await migrate(engine)
        now = utcnow()
        async with engine.begin() as conn:  # 150 chats follow the sanctions watchlist
            await conn.execute(chats.insert(), [{"platform": "telegram", "address": a, "language": "en",
                                                  "active": True, "chat_type": "private", "created_at": now}
                                                 for a in CHATS])
            ids = [r[0] for r in await conn.execute(text("select id from chats"))]
            await conn.execute(subscriptions.insert(), [{"chat_id": i, "kind": "watchlist", "target": "sanctions",
                                                         "created_at": now} for i in ids])
        feed = tmp_path / "feed.xml"
        feed.write_text(feed_xml(("w1", "Caesar Act waiver extended", "The Caesar Act stays.")), encoding="utf-8")
        config = tmp_path / "config.yaml"
        config.write_text(
            f"rules: {RULES}\nfeeds:\n  - {{name: Wire, url: {feed}, interval: 60}}\n"
            "poll: {tick: 0.3}\ndelivery: {tick: 0.3, lease: 3, unknown_outcome_delay: 2}\n"
            "telegram: {poll_timeout: 1}\n", encoding="utf-8")
        fake.delay = 0.05
        env = {**os.environ, "DATABASE_URL": url, "TELEGRAM_BOT_TOKEN": fake.token,
               "TELEGRAM_API_URL": fake.base_url}
        for _ in range(3):
            procs.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "--config", str(config), cwd=tmp_path, env=env,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE))
        deadline = time.monotonic() + 90
        while len((await _states(engine)).get("sent", ())) < 30:
            assert time.monotonic() < deadline, await _states(engine)
            await asyncio.sleep(0.05)
        victim = procs[1]
        victim.kill()
        await victim.wait()
        killed_states = await _states(engine)
        in_flight = killed_states.get("sending", set())
        deadline = time.monotonic() + 120
        while (await _states(engine)).keys() - {"sent"}:
            assert time.monotonic() < deadline, await _states(engine)
            await asyncio.sleep(0.1)
        received = Counter(str(d["chat_id"]) for d in fake.delivered if "<b>🔔" in d.get("text", ""))
        assert set(received) == set(CHATS)  # none lost
        repeated = {c for c, n in received.items() if n > 1}
        assert repeated <= in_flight  # only a send cut mid-flight may repeat
        # exactly one process polled Telegram updates: the advisory lock
        stderrs = []
        for proc in (procs[0], procs[2]):
            if proc.returncode is not None:  # a worker that ended by itself: say why
                _, err = await proc.communicate()
                raise AssertionError(f"a worker ended with {proc.returncode}:\n{err.decode()[-3000:]}")
            proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(proc.communicate(), 60)
            stderrs.append(err.decode())
        assert all("Traceback" not in e for e in stderrs)
        async with engine.connect() as conn:
            items = (await conn.execute(text("select count(*) from items"))).scalar()
            deliveries = (await conn.execute(text("select count(*) from deliveries"))).scalar()
        assert items == 1 and deliveries == len(CHATS)  # the feed was polled by one worker at a time
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        await fake.stop()
        await engine.dispose()


async def test_only_one_process_consumes_telegram_updates(tmp_path):
    from bot.app import Application
    from bot.config import Settings, TelegramConfig

    async with fresh_database("rasad_l") as url:
        await _two_services(tmp_path, url, Settings, TelegramConfig, Application)


async def _two_services(tmp_path, url, Settings, TelegramConfig, Application) -> None:  # noqa: N803
    fake = await FakeTelegram().start()
    services = []
    try:
        for _ in range(2):
            settings = Settings(database=url, rules=str(RULES), base_dir=tmp_path,
                                telegram=TelegramConfig(api_url=fake.base_url, poll_timeout=1),
                                telegram_token=fake.token)
            service = Application(settings)
            await service.start()
            services.append(service)
        receiving = [s.adapters["telegram"].receiving for s in services]
        assert receiving == [True, False]
    finally:
        for service in services:
            await service.stop()
        await fake.stop()
