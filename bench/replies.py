"""6. Replies under a burst: 500 commands from many users in many chats (some chats several in the same second)
within about a second, against a fake Bot API that enforces Telegram's limits (30/s overall, 1/s per chat,
20/min per group; 429 with retry_after beyond them). Latency: the moment the update is offered to getUpdates →
the moment the fake accepts its answer (the n-th answer in a chat belongs to its n-th command)."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import random
import statistics
import tempfile
import time
from collections import defaultdict

from bot.app import Application
from bot.config import Settings, TelegramConfig

PRIVATE_COMMANDS = ("/help", "/list", "/status", "/watch Caesar Act", "/watchlists", "/start", "/watch 2254")
GROUP_COMMANDS = ("/help", "/list", "/status")  # everyone may read; changes would ask getChatMember


def burst(total: int, seed: int = 11) -> list[tuple[float, int, int, str, str]]:
    """(offset s, chat, user, chat type, text): 60% private chats with one command, 25% of the commands from
    private chats sending three in the same second, 15% from groups where four members write in the same second."""
    rng = random.Random(seed)
    out: list[tuple[float, int, int, str, str]] = []
    group_cmds = int(total * 0.15) // 4 * 4
    triple_cmds = int(total * 0.25) // 3 * 3
    single = total - group_cmds - triple_cmds
    for i in range(single):
        chat = 200_000 + i
        out.append((rng.uniform(0, 1.0), chat, chat, "private", rng.choice(PRIVATE_COMMANDS)))
    for i in range(triple_cmds // 3):
        chat, at = 300_000 + i, rng.uniform(0, 0.5)
        for k in range(3):
            out.append((at + k * 0.1, chat, chat, "private", rng.choice(PRIVATE_COMMANDS)))
    for i in range(group_cmds // 4):
        chat, at = -(400_000 + i), rng.uniform(0, 0.5)
        for k in range(4):
            out.append((at + k * 0.1, chat, 500_000 + i * 10 + k, "supergroup", rng.choice(GROUP_COMMANDS)))
    return sorted(out)


def _child(port_queue, command_queue, result_queue) -> None:
    """The fake Bot API in its own process (it must not share Rasad's core); pushes the burst when told."""
    from tests.fakes.telegram_api import FakeTelegram

    async def main():
        fake = await FakeTelegram(enforce_limits=True).start()
        port_queue.put((fake.port, fake.token))
        loop = asyncio.get_running_loop()
        pushed: dict[int, list[float]] = defaultdict(list)
        pusher = None

        async def push(schedule):
            start = time.monotonic()
            for offset, chat, user, chat_type, text in schedule:
                delay = start + offset - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                fake.push_message(chat, text, user_id=user, chat_type=chat_type)
                pushed[chat].append(time.monotonic())

        while True:
            command, arg = await loop.run_in_executor(None, command_queue.get)
            if command == "burst":
                pusher = asyncio.create_task(push(arg))
            elif command == "stats":
                answers: dict[int, list[float]] = defaultdict(list)
                for call in fake.answered:
                    answers[call.params.get("chat_id")].append(call.at)
                latencies, unanswered, extra = [], 0, 0
                for chat, times in pushed.items():
                    got = answers.get(chat, [])
                    latencies += [a - p for p, a in zip(times, got, strict=False)]
                    unanswered += max(0, len(times) - len(got))
                    extra += max(0, len(got) - len(times))
                last = max((c.at for c in fake.answered), default=None)
                result_queue.put({"pushed": sum(len(t) for t in pushed.values()), "latencies": latencies,
                                  "unanswered": unanswered, "extra": extra, "answered_429": len(fake.limited),
                                  "last_answer_age": None if last is None else time.monotonic() - last,
                                  "pushing": pusher is not None and not pusher.done()})
            elif command == "stop":
                await fake.stop()
                return

    asyncio.run(main())


def _pct(ordered: list[float], q: float) -> float | None:
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else None


async def _measure(total: int, url: str, token: str, ask, quiet_after: float, within: float) -> dict:
    schedule = burst(total)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database=f"sqlite+aiosqlite:///{tmp}/replies.db", rules="rules", base_dir=".",
                            telegram=TelegramConfig(api_url=url, poll_timeout=1), telegram_token=token)
        service = Application(settings)
        await service.start()
        try:
            ask("burst", schedule)
            started = time.monotonic()
            while True:  # until every command is answered, or answers stop coming
                await asyncio.sleep(0.5)
                stats = await asyncio.to_thread(ask, "stats", None)
                if stats["pushing"]:
                    continue
                if stats["unanswered"] == 0:
                    break
                idle = stats["last_answer_age"] if stats["last_answer_age"] is not None else time.monotonic() - started
                if idle > quiet_after or time.monotonic() - started > within:
                    break
        finally:
            await service.stop()
    ordered = sorted(stats["latencies"])
    return {
        "name": "replies",
        "commands": stats["pushed"],
        "chats": len({c for _, c, *_ in schedule}),
        "answered": len(ordered),
        "unanswered": stats["unanswered"],
        "extra_answers": stats["extra"],
        "answered_429": stats["answered_429"],
        "p50_s": statistics.median(ordered) if ordered else None,
        "p95_s": _pct(ordered, 0.95),
        "max_s": ordered[-1] if ordered else None,
        "floor_s": total / 29.5,  # the last answer cannot come sooner at Telegram's overall rate
        "targets": {"unanswered": 0, "extra_answers": 0},
    }


def run(quick: bool = False) -> dict:
    ctx = mp.get_context("spawn")
    ports, commands, results = ctx.Queue(), ctx.Queue(), ctx.Queue()
    proc = ctx.Process(target=_child, args=(ports, commands, results), daemon=True)
    proc.start()
    try:
        port, token = ports.get(timeout=30)

        def ask(command: str, arg):
            commands.put((command, arg))
            return results.get(timeout=60) if command == "stats" else None

        return asyncio.run(_measure(60 if quick else 500, f"http://127.0.0.1:{port}", token, ask,
                                    quiet_after=20.0, within=300.0))
    finally:
        commands.put(("stop", None))
        proc.join(10)
        if proc.is_alive():
            proc.terminate()
