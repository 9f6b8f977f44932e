"""Rules load + compile (shipped catalogue and 100,000 aliases): fresh build against the content-hash cache, and the
longest event-loop stall while the rules holder reloads (a ticker task on the loop records its worst lateness),
with matching in this process (``inline``) and in a child process (``process``, what ``auto`` picks at 100,000)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, Timer, item_mix, synthetic_entities
from bot.commands.resolve import Resolver
from bot.extract.catalog import entity_forms
from bot.extract.matcher import Matcher
from bot.rules.cache import build
from bot.rules.holder import RulesHolder
from bot.rules.load import load_rules

TICK = 0.005  # the ticker's period: lateness beyond it is time the loop could not run


def _write_rules(target: Path, aliases: int) -> int:
    """The shipped catalogue plus invented one-alias entities up to ``aliases`` forms, in files under 5 MB."""
    shutil.copytree(ROOT / "rules", target)
    shipped = sum(len(entity_forms(e)) for e in load_rules(target).entities.values())
    synthetic = synthetic_entities(max(0, aliases - shipped))
    lines = [f'  - {{id: {e.id}, type: topic, names: {{{k}: "{v}"}}}}' for e in synthetic for k, v in e.names.items()]
    chunk = 20_000
    for n, start in enumerate(range(0, len(lines), chunk)):
        (target / "entities" / f"synthetic-{n}.yaml").write_text("entities:\n" + "\n".join(lines[start:start + chunk])
                                                                 + "\n", encoding="utf-8")
    return shipped + len(synthetic)


def _touch(rules: Path) -> None:
    """A new signature for the holder (mtime), same content (same hash)."""
    path = sorted(rules.rglob("*.yaml"))[0]
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))


async def _worst_lateness(work) -> tuple[float, float]:
    """(seconds the work took, the longest the loop was held) with a ticker every TICK on the loop."""
    worst = 0.0
    done = False

    async def ticker() -> None:
        nonlocal worst
        while not done:
            before = time.perf_counter()
            await asyncio.sleep(TICK)
            worst = max(worst, time.perf_counter() - before - TICK)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(TICK * 2)
    started = time.perf_counter()
    await work()
    elapsed = time.perf_counter() - started
    done = True
    await task
    return elapsed, worst


async def _old_reload(rules: Path) -> None:
    """The reload before issue 16 (the baseline): parse and compile in threads, the resolver built on the loop."""
    loaded = await asyncio.to_thread(load_rules, rules)
    matcher = await asyncio.to_thread(Matcher, loaded)
    Resolver(matcher)


def _clear(cache: Path) -> None:
    for old in cache.glob("*.pickle"):
        old.unlink()


async def _reload_stall(rules: Path, cache: Path, matching: str, miss: bool) -> tuple[float, float]:
    """(seconds, worst stall ms) of one reload of the same content under a new mtime, the way the service runs it
    (a matching process is warm, so the reload starts the new one before the swap)."""
    holder = RulesHolder(rules, cache, matching, eager=True)  # type: ignore[arg-type]
    try:
        await holder.warm()
        if miss:
            _clear(cache)

        async def reload() -> None:
            _touch(rules)
            assert (await holder.reload_if_changed()).changed
            assert not (await holder.reload_if_changed()).changed  # the next check frees the replaced rules

        elapsed, worst = await _worst_lateness(reload)
        assert (await holder.in_force().match(["Caesar Act"]))[0].entity_ids == ("caesar-act",)
        return elapsed, worst * 1000
    finally:
        await holder.close()


async def _match_cost(rules: Path, cache: Path, matching: str, texts: list[str], batch: int = 10) -> float:
    """µs per item to match the item mix in batches of ``batch`` (a feed's new items), best of 3, as the poller
    asks: in this process, or through the child (pickling, the pipe and the thread hop included)."""
    holder = RulesHolder(rules, cache, matching, eager=True)  # type: ignore[arg-type]
    try:
        await holder.warm()
        best = float("inf")
        for _ in range(3):
            with Timer() as t:
                for start in range(0, len(texts), batch):
                    await holder.in_force().match(texts[start:start + batch])
            best = min(best, t.elapsed / len(texts) * 1e6)
        return best
    finally:
        await holder.close()


async def _ready(rules: Path, cache: Path) -> tuple[float, float]:
    """(seconds until the holder is built, seconds until it answers a first match: its child loaded)."""
    with Timer() as load:
        holder = RulesHolder(rules, cache, eager=True)  # as the service starts it
    with Timer() as first:
        await holder.in_force().match(["Caesar Act"])
    await holder.close()
    return load.elapsed, load.elapsed + first.elapsed


_FOOTPRINT = """
import asyncio, sys
from pathlib import Path
from bot.rules.holder import RulesHolder

def hwm(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024

async def main():
    holder = RulesHolder(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], eager=True)
    await holder.warm()
    await holder.in_force().match(["Caesar Act"])
    worker = holder.in_force().worker
    print(hwm("self"), hwm(worker.pid) if worker is not None else 0)
    await holder.close()

asyncio.run(main())
"""


def _footprint(rules: Path, cache: Path, matching: str) -> tuple[int, int]:
    """(peak MB of a process holding the rules ready to match from the cache, peak MB of its matching child)."""
    out = subprocess.run([sys.executable, "-c", _FOOTPRINT, str(rules), str(cache), matching], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    own, child = out.stdout.split()
    return int(own), int(child)


def _size(rules: Path, cache: Path, label: str, aliases: int) -> dict:
    with Timer() as fresh:
        build(rules)
    with Timer() as miss:
        RulesHolder(rules, cache)
    hit, ready = asyncio.run(_ready(rules, cache))
    row = {"rules": label, "aliases": aliases, "fresh_s": fresh.elapsed, "cache_miss_s": miss.elapsed,
           "cache_hit_s": hit, "ready_s": ready,
           "matching": "process" if RulesHolder(rules, cache).in_force().worker is not None else "inline"}
    texts = [i.text for i in item_mix(400)]
    for matching in ("inline", "process"):
        row[f"{matching}_mb"], row[f"{matching}_child_mb"] = _footprint(rules, cache, matching)
        row[f"{matching}_match_us"] = asyncio.run(_match_cost(rules, cache, matching, texts))
    row["old_reload_s"], row["old_reload_stall_ms"] = (x * f for x, f in zip(asyncio.run(
        _worst_lateness(lambda: _old_reload(rules))), (1, 1000), strict=True))
    for matching in ("inline", "process"):
        for kind in ("hit", "miss"):
            seconds, stall = asyncio.run(_reload_stall(rules, cache, matching, kind == "miss"))
            row[f"{matching}_reload_{kind}_s"], row[f"{matching}_reload_{kind}_stall_ms"] = seconds, stall
    auto = row["matching"]
    for kind in ("hit", "miss"):  # what the service does by default (auto)
        row[f"reload_{kind}_s"] = row[f"{auto}_reload_{kind}_s"]
        row[f"reload_{kind}_stall_ms"] = row[f"{auto}_reload_{kind}_stall_ms"]
    return row


def run(quick: bool = False) -> dict:
    big = 10_000 if quick else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        shipped = base / "shipped"
        shutil.copytree(ROOT / "rules", shipped)
        aliases = sum(len(entity_forms(e)) for e in load_rules(shipped).entities.values())
        rows = [_size(shipped, base / "cache-shipped", "shipped", aliases)]
        count = _write_rules(base / "big", big)
        rows.append(_size(base / "big", base / "cache-big", f"{big:,} aliases", count))
    small, large = rows
    return {
        "name": "rules",
        "rows": rows,
        "target_shipped_s": 0.3,
        "target_100k_s": 3.0,
        "target_stall_ms": 50,
        "shipped_met": small["cache_hit_s"] <= 0.3,
        "large_met": large["ready_s"] <= 3.0,
        "stall_met": max(large["reload_hit_stall_ms"], large["reload_miss_stall_ms"]) < 50,
    }
