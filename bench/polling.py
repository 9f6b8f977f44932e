"""3. One poll cycle over 5,000 feeds from a local HTTP server, 90% answering 304: wall time, req/s, peak memory."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile

from bench.common import ROOT
from bench.servers import feed_server

SMALL_FEED = (ROOT / "tests" / "data" / "mixed.xml").read_bytes()

CHILD = r"""
import asyncio, json, resource, sys, time
from bot.config import FeedConfig, PollConfig, Settings
from bot.app import Application
from tests.fakes.adapters import Recorder

base, count, db = sys.argv[1], int(sys.argv[2]), sys.argv[3]

async def main():
    settings = Settings(database=f"sqlite+aiosqlite:///{db}", rules="rules",
                        feeds=[FeedConfig(name=f"f{i}", url=f"{base}/feed/{i}") for i in range(count)],
                        poll=PollConfig(concurrency=64, per_host=64, timeout=30), base_dir=".")
    service = Application(settings, adapters=[Recorder()])
    await service.start()
    first = time.perf_counter()
    await service.run_once()            # primes ETags (every feed answers 200)
    first = time.perf_counter() - first
    started = time.perf_counter()
    summary = await service.run_once()  # the measured cycle: 90% 304
    wall = time.perf_counter() - started
    await service.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"wall_s": wall, "priming_s": first, "feeds": summary.feeds_polled,
                      "failed": summary.feeds_failed, "new_items": summary.new_items, "peak_rss_mb": rss}))

asyncio.run(main())
"""


def run(quick: bool = False) -> dict:
    count = 300 if quick else 5000
    with feed_server(count, SMALL_FEED) as base, tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run([sys.executable, "-c", CHILD, base, str(count), f"{tmp}/poll.db"], cwd=ROOT,
                                capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return {"name": "poll_cycle", "feeds": count, **data, "requests_per_s": count / data["wall_s"],
            "target_wall_s": 30, "target_peak_rss_mb": 300}
