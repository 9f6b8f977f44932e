from bot.chat.base import DeliveryError
from bot.delivery.outbox import Dispatcher, backoff
from bot.extract.matcher import Matcher
from bot.model import Item, Match, Mention
from bot.rules.load import load_rules
from bot.store import queries
from bot.store.db import create_engine, migrate, utcnow
from tests.conftest import RULES


class Flaky:
    platform = "console"

    def __init__(self, error):
        self.error = error
        self.calls = 0

    async def send_alert(self, address, alert):
        self.calls += 1
        raise self.error


async def _one_delivery(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/o.db")
    await migrate(engine)
    await queries.sync_config_feeds(engine, [("u", "U", None, None)])
    feed = (await queries.list_feeds(engine))[0]
    stored = await queries.store_items(engine, feed.id, [(Item("g", "Caesar Act"), Match(
        (Mention("caesar-act", "Caesar Act", 0, 10),), ("sanctions",)))])
    chat = await queries.ensure_chat(engine, "console", "c")
    await queries.create_deliveries(engine, stored[0].id, {chat.id: (["sanctions"], [])})
    return engine


def test_backoff_honours_retry_after_exactly_else_doubles():
    assert backoff(1, 3.0) == 3.0
    assert [backoff(n) for n in (1, 2, 3)] == [5.0, 10.0, 20.0]
    assert backoff(30) == 3600.0


async def test_unknown_outcome_is_not_resent_within_seconds(tmp_path):
    engine = await _one_delivery(tmp_path)
    adapter = Flaky(DeliveryError("timed out", unknown_outcome=True))
    dispatcher = Dispatcher(engine, {"console": adapter}, max_attempts=5, unknown_outcome_delay=60)
    matcher = Matcher(load_rules(RULES))
    stats = await dispatcher.deliver_pending(matcher)
    assert stats.retried == 1 and adapter.calls == 1
    await dispatcher.deliver_pending(matcher)
    assert adapter.calls == 1  # not due again yet
    async with engine.connect() as conn:
        from sqlalchemy import select

        from bot.store.tables import deliveries
        row = (await conn.execute(select(deliveries.c.next_attempt_at, deliveries.c.state))).one()
    assert row.state == "failed" and (row.next_attempt_at - utcnow()).total_seconds() > 55
    await engine.dispose()


async def test_attempts_run_out_into_dead(tmp_path):
    engine = await _one_delivery(tmp_path)
    adapter = Flaky(DeliveryError("server error", retry_after=0))
    dispatcher = Dispatcher(engine, {"console": adapter}, max_attempts=3)
    matcher = Matcher(load_rules(RULES))
    for _ in range(3):
        await dispatcher.deliver_pending(matcher)
        dispatcher.limiters["console"]._last.clear()
    assert adapter.calls == 3
    assert await queries.delivery_counts(engine) == {"dead": 1}
    await engine.dispose()


class Slow:
    def __init__(self, platform, fail):
        self.platform, self.fail = platform, fail

    async def send_alert(self, address, alert):
        import asyncio

        await asyncio.sleep(0.01)
        if self.fail:
            raise DeliveryError("server error")


async def test_metrics_count_each_delivery_on_its_own_platform_when_sends_overlap(tmp_path):
    from bot.http.metrics import Metrics

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/m.db")
    await migrate(engine)
    await queries.sync_config_feeds(engine, [("u", "U", None, None)])
    feed = (await queries.list_feeds(engine))[0]
    stored = await queries.store_items(engine, feed.id, [(Item("g", "Caesar Act"), Match((), ("sanctions",)))])
    targets = {}
    for platform in ("good", "bad"):
        for n in range(10):
            chat = await queries.ensure_chat(engine, platform, f"{platform}{n}")
            targets[chat.id] = (["sanctions"], [])
    await queries.create_deliveries(engine, stored[0].id, targets)
    metrics = Metrics()
    dispatcher = Dispatcher(engine, {"good": Slow("good", False), "bad": Slow("bad", True)}, max_attempts=5,
                            metrics=metrics)
    await dispatcher.deliver_pending(Matcher(load_rules(RULES)))
    assert metrics.value("rasad_alerts_sent_total", platform="good") == 10
    assert metrics.value("rasad_alerts_failed_total", platform="bad") == 10
    assert metrics.value("rasad_alerts_sent_total", platform="bad") == 0
    assert metrics.value("rasad_alerts_failed_total", platform="good") == 0
    await engine.dispose()
