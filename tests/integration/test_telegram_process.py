"""A real `rasad run` process pointed at the fake Bot API through TELEGRAM_API_URL: subscribe, alert, restart."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import time
from datetime import UTC, datetime

from tests.conftest import RULES
from tests.fakes.feeds import feed_xml
from tests.fakes.telegram_api import FakeTelegram


async def _start(config, tmp_path, fake) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env.update(TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.base_url)
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--config", str(config), cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def _stop(proc: asyncio.subprocess.Process) -> str:
    proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    return err.decode()


async def _wait_polled_after(db, moment: datetime, within: float = 60) -> None:
    """Until the restarted process has polled the feed and has no delivery waiting (read from its database)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with sqlite3.connect(db) as conn:
            polled = conn.execute("select max(last_checked_at) from feeds").fetchone()[0]
            waiting = conn.execute("select count(*) from deliveries where state != 'sent'").fetchone()[0]
        if polled and datetime.fromisoformat(polled) > moment and waiting == 0:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the restarted process did not poll")


async def test_rasad_run_process_against_fake_bot_api(tmp_path):
    fake = await FakeTelegram().start()
    feed = tmp_path / "feed.xml"
    feed.write_text(feed_xml(), encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: sqlite+aiosqlite:///{tmp_path}/p.db\nrules: {RULES}\n"
        f"feeds:\n  - {{name: Wire, url: {feed}, interval: 10}}\n"
        "poll: {tick: 0.2, min_interval: 10}\ndelivery: {tick: 0.2}\ntelegram: {poll_timeout: 1}\n", encoding="utf-8")
    proc = await _start(config, tmp_path, fake)
    try:
        await fake.wait_for(lambda calls: any(c.method == "getUpdates" for c in calls), within=60)
        fake.push_message(42, "/watch قانون قيصر", language="ar")
        await fake.wait_for(lambda calls: any("قانون قيصر" in c.params.get("text", "") for c in calls
                                              if c.method == "sendMessage"))
        feed.write_text(feed_xml(("p1", "تمديد قانون قيصر", "قالت واشنطن إن قانون قيصر باق.")), encoding="utf-8")
        await fake.wait_for(lambda calls: any("<b>🔔" in d.get("text", "") for d in fake.delivered), within=60)
        stderr = await _stop(proc)
        assert "Traceback" not in stderr
        assert fake.token not in stderr  # the token is never logged
        # restart: the alert already sent is not sent again; the feed is unchanged
        sent_before = len([d for d in fake.delivered if "<b>🔔" in d.get("text", "")])
        restarted = datetime.now(UTC).replace(tzinfo=None)
        proc = await _start(config, tmp_path, fake)
        await _wait_polled_after(tmp_path / "p.db", restarted)
        assert len([d for d in fake.delivered if "<b>🔔" in d.get("text", "")]) == sent_before == 1
        stderr = await _stop(proc)
        assert "Traceback" not in stderr
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await fake.stop()
