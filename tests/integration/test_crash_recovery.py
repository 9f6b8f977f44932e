"""A real `rasad run` killed with SIGKILL mid-delivery: on restart every pending alert goes out, none already
marked sent goes out again. Only a send cut between "shown" and "marked sent" may repeat, and not within seconds."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import time
from collections import Counter

from tests.conftest import RULES
from tests.fakes.feeds import feed_xml
from tests.fakes.telegram_api import FakeTelegram

CHATS = list(range(5001, 5031))


async def _start(config, tmp_path, fake):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.base_url)
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", "--config", str(config),
                                                cwd=tmp_path, env=env, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)


def _states(db) -> dict[str, set[str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select c.address, d.state from deliveries d join chats c on c.id = d.chat_id").fetchall()
    out: dict[str, set[str]] = {}
    for address, state in rows:
        out.setdefault(state, set()).add(address)
    return out


def _alerts(fake) -> Counter:
    return Counter(d["chat_id"] for d in fake.delivered if "<b>🔔" in d.get("text", ""))


async def test_sigkill_mid_delivery_loses_nothing_and_repeats_nothing_marked_sent(tmp_path):
    fake = await FakeTelegram().start()
    feed = tmp_path / "feed.xml"
    feed.write_text(feed_xml(), encoding="utf-8")
    db = tmp_path / "crash.db"
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: sqlite+aiosqlite:///{db}\nrules: {RULES}\nfeeds:\n  - {{name: Wire, url: {feed}, interval: 10}}\n"
        "poll: {tick: 0.2, min_interval: 10}\ndelivery: {tick: 0.2, unknown_outcome_delay: 1}\ntelegram: {poll_timeout: 1}\n",
        encoding="utf-8")
    proc = await _start(config, tmp_path, fake)
    try:
        for chat in CHATS:
            fake.push_message(chat, "/watch Caesar Act")
        await fake.wait_for(lambda calls: len({c.params.get("chat_id") for c in calls if c.method == "sendMessage"
                                               and "Caesar Act" in c.params.get("text", "")}) == len(CHATS), within=60)
        fake.delay = 0.25  # slow answers: the kill lands while sends are in flight
        feed.write_text(feed_xml(("k1", "Caesar Act extended", "The Caesar Act stays.")), encoding="utf-8")
        deadline = time.monotonic() + 60
        while len(_states(db).get("sent", ())) < 5:  # some alerts are out and marked, most are not
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        proc.kill()  # SIGKILL: no clean-up at all
        await proc.wait()
        assert proc.returncode == -signal.SIGKILL
        states = _states(db)
        sent_before = {int(a) for a in states.get("sent", set())}
        in_flight = {int(a) for a in states.get("sending", set())}
        received_before = _alerts(fake)
        assert sent_before and len(sent_before) < len(CHATS)  # killed in the middle
        assert sent_before <= set(received_before)

        fake.delay = 0.0
        proc = await _start(config, tmp_path, fake)
        deadline = time.monotonic() + 90
        while set(_alerts(fake)) != set(CHATS):
            assert time.monotonic() < deadline, f"missing: {set(CHATS) - set(_alerts(fake))}"
            await asyncio.sleep(0.1)
        await fake.wait_for(lambda _: not (_states(db).keys() - {"sent"}), within=60)
        counts = _alerts(fake)
        assert all(counts[chat] == 1 for chat in sent_before)  # marked sent → never again
        repeated = {chat for chat, n in counts.items() if n > 1}
        assert repeated <= in_flight  # only a send cut mid-flight may repeat
        assert _states(db) == {"sent": {str(c) for c in CHATS}}
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await fake.stop()
