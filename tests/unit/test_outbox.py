from bot.delivery.outbox import Dispatcher, backoff
from bot.errors import DeliveryError
from bot.extract.matcher import Matcher
from bot.model import Followed, Item, Match, Mention
from bot.rules.load import load_rules
from bot.store import Store
from bot.store.db import utcnow
from tests.conftest import RULES
from tests.fakes.adapters import Failing, Slow


async def _one_delivery(tmp_path) -> Store:
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/o.db")
    await store.migrate()
    await store.feeds.sync_config([("u", "U", None, None)])
    feed = (await store.feeds.all())[0]
    stored = await store.items.store(feed.id, [(Item("g", "Caesar Act"), Match(
        (Mention("caesar-act", "Caesar Act", 0, 10),), ("sanctions",)))])
    chat = await store.chats.ensure("console", "c")
    await store.deliveries.create(stored[0].id, {chat.id: Followed(watchlists=("sanctions",))})
    return store


def test_backoff_honours_retry_after_exactly_else_doubles():
    assert backoff(1, 3.0) == 3.0
    assert [backoff(n) for n in (1, 2, 3)] == [5.0, 10.0, 20.0]
    assert backoff(30) == 3600.0


async def test_unknown_outcome_is_not_resent_within_seconds(tmp_path):
    store = await _one_delivery(tmp_path)
    adapter = Failing(DeliveryError("timed out", unknown_outcome=True))
    dispatcher = Dispatcher(store, {"console": adapter}, max_attempts=5, unknown_outcome_delay=60)
    matcher = Matcher(load_rules(RULES))
    stats = await dispatcher.deliver_pending(matcher)
    assert stats.retried == 1 and adapter.calls == 1
    await dispatcher.deliver_pending(matcher)
    assert adapter.calls == 1  # not due again yet
    async with store.engine.connect() as conn:
        from sqlalchemy import select

        from bot.store.tables import deliveries
        row = (await conn.execute(select(deliveries.c.next_attempt_at, deliveries.c.state))).one()
    assert row.state == "failed" and (row.next_attempt_at - utcnow()).total_seconds() > 55
    await store.close()


async def test_attempts_run_out_into_dead(tmp_path):
    store = await _one_delivery(tmp_path)
    adapter = Failing(DeliveryError("server error", retry_after=0))
    dispatcher = Dispatcher(store, {"console": adapter}, max_attempts=3)
    matcher = Matcher(load_rules(RULES))
    for _ in range(3):
        await dispatcher.deliver_pending(matcher)
        dispatcher.limiters["console"]._last.clear()
    assert adapter.calls == 3
    assert await store.deliveries.counts() == {"dead": 1}
    await store.close()


async def test_metrics_count_each_delivery_on_its_own_platform_when_sends_overlap(tmp_path):
    from bot.http.metrics import Metrics

    store = Store(f"sqlite+aiosqlite:///{tmp_path}/m.db")
    await store.migrate()
    await store.feeds.sync_config([("u", "U", None, None)])
    feed = (await store.feeds.all())[0]
    stored = await store.items.store(feed.id, [(Item("g", "Caesar Act"), Match((), ("sanctions",)))])
    targets = {}
    for platform in ("good", "bad"):
        for n in range(10):
            chat = await store.chats.ensure(platform, f"{platform}{n}")
            targets[chat.id] = Followed(watchlists=("sanctions",))
    await store.deliveries.create(stored[0].id, targets)
    metrics = Metrics()
    adapters = {"good": Slow("good"), "bad": Failing(DeliveryError("server error"), "bad", delay=0.01)}
    dispatcher = Dispatcher(store, adapters, max_attempts=5, metrics=metrics)
    await dispatcher.deliver_pending(Matcher(load_rules(RULES)))
    assert metrics.value("rasad_alerts_sent_total", platform="good") == 10
    assert metrics.value("rasad_alerts_failed_total", platform="bad") == 10
    assert metrics.value("rasad_alerts_sent_total", platform="bad") == 0
    assert metrics.value("rasad_alerts_failed_total", platform="good") == 0
    await store.close()
