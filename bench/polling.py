"""3. One poll cycle over 5,000 feeds from a local HTTP server, 90% answering 304: wall time, req/s, peak memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

from bench.common import ROOT
from bench.servers import feed_server

SMALL_FEED = (ROOT / "tests" / "data" / "mixed.xml").read_bytes()

CHILD = r"""
import asyncio, json, os, resource, sys, time, tracemalloc
from bot.config import FeedConfig, PollConfig, Settings
from bot.app import Application
from tests.fakes.adapters import Recorder

base, count, db = sys.argv[1], int(sys.argv[2]), sys.argv[3]

async def main():
    settings = Settings(database=f"sqlite+aiosqlite:///{db}", rules="rules",
                        feeds=[FeedConfig(name=f"f{i}", url=f"{base}/feed/{i}") for i in range(count)],
                        poll=PollConfig(concurrency=64, per_host=64, timeout=30), base_dir=".")
    if os.environ.get("BENCH_TRACEMALLOC"):  # python -m bench.polling --top: who holds the memory (slower)
        tracemalloc.start(1)
    service = Application(settings, adapters=[Recorder()])
    await service.start()
    start_rss = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS")) / 1024
    first = time.perf_counter()
    await service.run_once()            # primes ETags (every feed answers 200)
    first = time.perf_counter() - first
    top = {}
    if tracemalloc.is_tracing():
        stats = tracemalloc.take_snapshot().statistics("lineno")[:12]
        top["after_priming"] = [f"{s.traceback[0].filename.split('/work/main/')[-1]}:{s.traceback[0].lineno} "
                                f"{s.size / 1e6:.1f} MB ({s.count:,} blocks)" for s in stats]
        top["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
    started = time.perf_counter()
    summary = await service.run_once()  # the measured cycle: 90% 304
    wall = time.perf_counter() - started
    await service.stop()
    # VmHWM: this process's own peak. ru_maxrss is not: after fork + exec it starts from the parent's peak (Linux
    # keeps the larger), so a harness that ran the 100,000-alias benchmarks first reported their memory here
    hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"wall_s": wall, "priming_s": first, "feeds": summary.feeds_polled,
                      "failed": summary.feeds_failed, "new_items": summary.new_items, "peak_rss_mb": hwm, "ru_maxrss_mb": maxrss, "rss_after_start_mb": start_rss, **top}))

asyncio.run(main())
"""


def run(quick: bool = False, top: bool = False) -> dict:
    count = 300 if quick else 5000
    env = {"BENCH_TRACEMALLOC": "1"} if top else {}
    with feed_server(count, SMALL_FEED) as base, tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run([sys.executable, "-c", CHILD, base, str(count), f"{tmp}/poll.db"], cwd=ROOT,
                                capture_output=True, text=True, timeout=1800, env={**os.environ, **env})
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    data = json.loads(result.stdout.strip().splitlines()[-1])
    data["adaptive_day"] = simulated_day()  # adaptive vs fixed intervals on a simulated day of publishing
    return {"name": "poll_cycle", "feeds": count, **data, "requests_per_s": count / data["wall_s"],
            "target_wall_s": 30, "target_peak_rss_mb": 250}


def simulated_day(seed: int = 11) -> dict:
    """A simulated day of publishing: requests and detection delay of the adaptive schedule (learned from each
    feed's publishing times, bot/feeds/schedule.py) versus fixed intervals (poll.interval 300 s), per feed kind.
    Pure functions only: no network, no clock."""
    import random
    from datetime import datetime, timedelta

    from bot.config import PollConfig
    from bot.feeds.schedule import LEARN_FROM, adaptive_interval, learned_interval

    rng = random.Random(seed)
    start = datetime(2026, 1, 1)
    day = 86400
    kinds = {"busy": (40, 24 * 6), "regular": (40, 24), "quiet": (120, 3)}  # feeds, items per day
    low, high, default = 60, 6 * 3600, 300
    ceiling = PollConfig().adaptive_max  # the shipped default: a quiet feed is still asked every 30 minutes
    out: dict[str, dict[str, float]] = {}
    for kind, (feeds, per_day) in kinds.items():
        totals = {"fixed_requests": 0.0, "adaptive_requests": 0.0, "fixed_delay": 0.0, "adaptive_delay": 0.0,
                  "items": 0.0}
        for _ in range(feeds):
            # two days: the first teaches the schedule, the second is measured
            history = sorted(rng.uniform(-day, 0) for _ in range(per_day))
            today = sorted(rng.uniform(0, day) for _ in range(per_day))
            for mode in ("fixed", "adaptive"):
                seen = [start + timedelta(seconds=t) for t in history]
                t, pending, requests, delay = 0.0, list(today), 0, 0.0
                while t < day:
                    requests += 1
                    now = start + timedelta(seconds=t)
                    while pending and pending[0] <= t:
                        delay += t - pending[0]
                        seen.append(start + timedelta(seconds=pending.pop(0)))
                    if mode == "fixed":
                        interval = default
                    else:
                        learned = learned_interval(seen[-30:], now, low, ceiling) if len(seen) >= LEARN_FROM else None
                        interval = adaptive_interval(None, default, None, learned, low, high)
                    t += interval * rng.uniform(0.9, 1.1)
                delay += sum(day - p for p in pending)  # not seen by the end of the day
                totals[f"{mode}_requests"] += requests
                totals[f"{mode}_delay"] += delay
            totals["items"] += per_day
        out[kind] = {"feeds": feeds, "items_per_feed_per_day": per_day,
                     "fixed_requests": totals["fixed_requests"], "adaptive_requests": totals["adaptive_requests"],
                     "fixed_mean_delay_s": totals["fixed_delay"] / totals["items"],
                     "adaptive_mean_delay_s": totals["adaptive_delay"] / totals["items"]}
    return {"name": "adaptive_day", **out}


if __name__ == "__main__":  # python -m bench.polling [--quick]: the cycle under tracemalloc, biggest holders named
    print(json.dumps(run(quick="--quick" in sys.argv, top=True), indent=2, ensure_ascii=False))
