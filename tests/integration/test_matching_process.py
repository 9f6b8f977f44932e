"""Matching in a child process (issue 16): the same matches and resolutions as in this process, a reload that
starts a new child and retires the old one after its last answer, a child that dies or hangs replaced, and a
poll whose matching fails leaves its items for the next poll without blaming the feed."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import weakref
from pathlib import Path

import pytest

from bot.extract.matcher import Matcher, RuleSet
from bot.rules import cache as cache_module
from bot.rules import worker as worker_module
from bot.rules.cache import PREFIX, build, read_header, rules_hash
from bot.rules.holder import RulesHolder
from bot.rules.worker import WorkerError
from tests.conftest import RULES

TEXTS = [
    "The Caesar Law was extended; واشنطن تمدد قانون قيصر وبقانون قيصر، وفي القرار 2254 والقرارين 2139 و2165.",
    "UN envoy Pedersen met Assad in Damascus; U.N. Security Council Resolution 2254 (2015) was cited.",
    "أصدر وزير الزراعة القرار رقم 2254 بشأن الأسمدة، وقال المبعوث الأممي إن الأمم المتحدة تتابع.",
    "Medvedev saved two match points in the final.",
    "",
]
QUERIES = ["قانون قيصر", "Assad", "2254", "وبقانون قيصر", "ceasar act", "water crisis"]


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    return Path(shutil.copytree(RULES, tmp_path / "rules"))


@pytest.fixture
async def holder(rules: Path, tmp_path: Path):
    """The rules of ``rules`` matched in a child process (started on first use or by ``warm``); closed after."""
    holder = RulesHolder(rules, tmp_path / "cache", matching="process")
    yield holder
    await holder.close()


def _exited(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie until its parent waits: /proc says so
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")


async def _eventually_exited(pid: int) -> bool:
    for _ in range(100):
        if _exited(pid):
            return True
        await asyncio.sleep(0.05)
    return False


def _environ(pid: int) -> bytes:
    return Path(f"/proc/{pid}/environ").read_bytes()


def _rename_caesar(rules: Path) -> None:
    laws = rules / "entities" / "laws.yaml"
    laws.write_text(laws.read_text(encoding="utf-8").replace("Caesar Law]", "Caesar Statute]"), encoding="utf-8")


async def test_the_child_matches_and_resolves_as_this_process_does(rules: Path, holder: RulesHolder) -> None:
    in_force = holder.in_force()
    assert in_force.worker is not None and in_force.worker.pid is None  # started on first use
    assert type(holder.rule_set) is RuleSet and not isinstance(holder.rule_set, Matcher)  # no automaton here
    inline = build(rules)
    assert inline.matcher is not None and inline.resolver is not None
    texts = TEXTS + [" ، ".join(e.names.values()) for e in inline.matcher.entities.values()]
    got = await in_force.match(texts)
    assert got == [inline.matcher.match_text(t) for t in texts]
    assert sum(len(m.mentions) for m in got) > len(texts)
    resolver = holder.current()[1]
    for query in QUERIES:
        assert await resolver.lookup(query) == inline.resolver.resolve(query), query
    assert holder.rule_set.entities.keys() == inline.matcher.entities.keys()
    assert in_force.worker.started == 1


async def test_the_cache_header_holds_the_rules_without_the_automaton(rules: Path, tmp_path: Path,
                                                                     monkeypatch) -> None:
    monkeypatch.setattr(cache_module, "CHUNK", 100)
    RulesHolder(rules, tmp_path / "cache", matching="inline")
    header = read_header(tmp_path / "cache" / f"{PREFIX}{rules_hash(rules)}.pickle")
    assert header is not None and len(header.entity_chunks) > 1
    here = header.rule_set()
    assert type(here) is RuleSet
    fresh = build(rules)
    assert fresh.matcher is not None
    assert here.entities == fresh.matcher.entities and here.watchlists == fresh.matcher.watchlists
    assert list(here.entities) == list(fresh.matcher.entities)  # the catalogue's order
    assert header.aliases == fresh.matcher.catalog.size > 1000


async def test_auto_keeps_a_small_catalogue_in_this_process(rules: Path, tmp_path: Path) -> None:
    holder = RulesHolder(rules, tmp_path / "cache", matching="auto")
    assert holder.in_force().worker is None and isinstance(holder.rule_set, Matcher)


async def test_a_reload_swaps_in_a_ready_child_and_retires_the_old_after_its_last_answer(rules: Path,
                                                                                        holder: RulesHolder) -> None:
    await holder.warm()
    old = holder.in_force()
    assert old.worker is not None and old.worker.pid is not None
    old_pid = old.worker.pid
    before = "Lawmakers renewed the Caesar Law."
    after = "Lawmakers renewed the Caesar Statute."
    # requests in flight on the old child while the rules change: it is paused until the swap is done
    os.kill(old_pid, signal.SIGSTOP)
    in_flight = asyncio.create_task(old.match([before] * 20_000))
    waiting = asyncio.create_task(old.match([before]))  # made before the reload, queued behind the first
    await asyncio.sleep(0.05)
    _rename_caesar(rules)
    assert (await holder.reload_if_changed()).changed
    assert not in_flight.done() and not waiting.done()
    os.kill(old_pid, signal.SIGCONT)
    new = holder.in_force()
    assert new.worker is not None and new.worker.pid is not None and new.worker.pid != old_pid
    answered = await in_flight
    assert len(answered) == 20_000 and answered[0].entity_ids == ("caesar-act",)  # the old rules' answer
    assert (await waiting)[0].entity_ids == ("caesar-act",)
    assert await _eventually_exited(old_pid)
    with pytest.raises(WorkerError):
        await old.match([before])  # retired: no new request
    assert (await new.match([before, after]))[0].mentions == ()
    assert (await new.match([after]))[0].entity_ids == ("caesar-act",)
    assert type(holder.rule_set) is RuleSet


async def test_broken_rules_keep_the_child_of_the_last_good_rules(rules: Path, holder: RulesHolder) -> None:
    await holder.warm()
    good = holder.in_force()
    laws = rules / "entities" / "laws.yaml"
    laws.write_text(laws.read_text(encoding="utf-8") + "  - {id: caesar-act, type: law}\n", encoding="utf-8")
    broken = await holder.reload_if_changed()
    assert broken.errors and not broken.changed
    assert holder.in_force() is good and good.worker is not None and good.worker.pid is not None
    assert (await good.match(["the Caesar Act"]))[0].entity_ids == ("caesar-act",)


async def test_a_child_that_died_is_started_again(holder: RulesHolder) -> None:
    await holder.warm()
    worker = holder.in_force().worker
    assert worker is not None and worker.pid is not None
    os.kill(worker.pid, signal.SIGKILL)
    assert (await holder.in_force().match(["the Caesar Act"]))[0].entity_ids == ("caesar-act",)
    assert worker.started == 2


async def test_a_child_that_hangs_is_killed_and_replaced(holder: RulesHolder, monkeypatch) -> None:
    monkeypatch.setattr(worker_module, "REQUEST_TIMEOUT", 1.0)
    await holder.warm()
    worker = holder.in_force().worker
    assert worker is not None and worker.pid is not None
    hung = worker.pid
    os.kill(hung, signal.SIGSTOP)
    assert (await holder.in_force().match(["the Caesar Act"]))[0].entity_ids == ("caesar-act",)
    assert worker.started == 2 and worker.pid != hung and _exited(hung)
    again = worker.pid
    assert again is not None
    os.kill(again, signal.SIGSTOP)  # and a request larger than the pipe holds: the write itself times out
    texts = ["the Caesar Act " + "x" * 1000] * 500
    assert (await holder.in_force().match(texts))[0].entity_ids == ("caesar-act",)
    assert worker.started == 3 and _exited(again)


async def test_a_child_that_cannot_load_is_an_error_the_caller_sees(rules: Path, holder: RulesHolder) -> None:
    worker = holder.in_force().worker
    assert worker is not None
    worker.cache_file.unlink()  # gone: the child builds from the files, which are now broken
    (rules / "entities" / "laws.yaml").write_text("entities: [", encoding="utf-8")
    with pytest.raises(WorkerError, match="did not start"):
        await holder.in_force().match(["the Caesar Act"])


async def test_close_stops_the_child(rules: Path, tmp_path: Path) -> None:
    holder = RulesHolder(rules, None, matching="process")  # no cache: a private folder hands the rules over
    await holder.warm()
    worker = holder.in_force().worker
    assert worker is not None and worker.pid is not None
    pid = worker.pid
    handover = holder.cache_dir
    assert handover is not None and handover.exists()
    await holder.close()
    assert await _eventually_exited(pid) and not handover.exists()


async def test_a_poll_whose_matching_fails_keeps_its_items_for_the_next_poll(rules: Path, tmp_path: Path) -> None:
    from bot.app import Application
    from bot.config import FeedConfig, Settings
    from tests.conftest import DATA
    from tests.fakes.adapters import Recorder

    settings = Settings(database=f"sqlite+aiosqlite:///{tmp_path}/m.db", rules=str(rules), matching="process",
                        rules_cache=str(tmp_path / "cache"), base_dir=tmp_path,
                        feeds=[FeedConfig(name="Test Wire", url=str(DATA / "mixed.xml"))])
    recorder = Recorder()
    service = Application(settings, adapters=[recorder])
    await service.start()
    try:
        worker = service.rules.in_force().worker
        assert worker is not None and worker.pid is not None  # started by the service
        laws = rules / "entities" / "laws.yaml"
        good = laws.read_text(encoding="utf-8")
        worker.cache_file.unlink()
        laws.write_text("entities: [", encoding="utf-8")
        os.kill(worker.pid, signal.SIGKILL)  # its replacement finds no cache and broken files: matching fails
        summary = await service.run_once()
        assert summary.new_items == 0 and summary.alerts_sent == 0
        feed = (await service.store.feeds.all())[0]
        assert feed.error_count == 0 and feed.broken_since is None  # not the feed's fault
        laws.write_text(good, encoding="utf-8")
        summary = await service.run_once()
        assert (summary.new_items, summary.alerts_sent) == (3, 2)  # nothing was lost
        assert any("Caesar Act" in str(sent) for sent in recorder.sent)
    finally:
        await service.stop()


async def test_an_eager_holder_starts_its_child_at_once_a_lazy_one_never_unasked(rules: Path, tmp_path: Path) -> None:
    eager = RulesHolder(rules, tmp_path / "cache", matching="process", eager=True)
    lazy = RulesHolder(rules, tmp_path / "cache", matching="process")
    try:
        eager_worker, lazy_worker = eager.in_force().worker, lazy.in_force().worker
        assert eager_worker is not None and lazy_worker is not None
        assert eager_worker.started == 1 and lazy_worker.started == 0  # launched during construction
        assert (await eager.in_force().match(["the Caesar Act"]))[0].entity_ids == ("caesar-act",)
        assert eager_worker.started == 1  # the launched child served the first request
        _rename_caesar(rules)
        assert (await lazy.reload_if_changed()).changed
        new = lazy.in_force().worker
        assert new is not None and new.started == 0  # a role that never matches starts no child
    finally:
        await eager.close()
        await lazy.close()


async def test_the_child_gets_no_secret(rules: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:secret-token-value")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:password@db/rasad")
    holder = RulesHolder(rules, tmp_path / "cache", matching="process", eager=True)
    try:
        await holder.warm()
        worker = holder.in_force().worker
        assert worker is not None and worker.pid is not None
        environ = _environ(worker.pid)
        assert b"PATH=" in environ
        assert b"secret-token-value" not in environ and b"password" not in environ
    finally:
        await holder.close()


async def test_replaced_rules_are_freed_off_the_loop_once_nothing_reads_them(rules: Path, holder: RulesHolder) -> None:
    held = holder.rule_set  # a delivery pass that took the rules before the swap
    size = len(held.entities)
    _rename_caesar(rules)
    assert (await holder.reload_if_changed()).changed
    assert not (await holder.reload_if_changed()).changed  # a check that tries to free the old rules
    assert len(held.entities) == size and "caesar-act" in held.entities  # still read: left whole
    gone = weakref.ref(held)
    del held
    assert not (await holder.reload_if_changed()).changed
    assert gone() is None  # nothing read them any more: emptied in a thread, then freed
    assert len(holder.rule_set.entities) == size  # the rules in force are untouched
