"""Replies to commands go through the same limits as alerts, honour 429, and come in the chat's order; edited
messages are not commands. Runs the real python-telegram-bot client against a fake Bot API enforcing Telegram's
limits; nothing here depends on how fast the machine is (only lower bounds of waits are asserted)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from types import SimpleNamespace

import pytest

from bot.delivery import limits
from bot.delivery.limits import SLACK, TELEGRAM, UNLIMITED, RateLimiter, ReplyQueue
from bot.errors import DeliveryError
from bot.model import Target
from tests.fakes.harness import Harness
from tests.fakes.telegram_api import FakeTelegram

REPLY_METHODS = ("sendMessage", "sendDocument", "editMessageText")


@pytest.fixture
async def limited(tmp_path):
    """Rasad against a fake Bot API that answers 429 beyond 30/s overall, 1/s per chat, 20/min per group."""
    fake = await FakeTelegram(enforce_limits=True).start()
    harness = Harness(tmp_path, fake)
    await harness.service.start()
    yield harness
    await harness.service.stop()
    await fake.stop()


def answers(fake: FakeTelegram, chat_id: int) -> list:
    return [c for c in fake.answered if c.params.get("chat_id") == chat_id]


async def settle(h: Harness, expected: int) -> None:
    """Until ``expected`` answers were accepted and no reply is waiting any more."""
    adapter = h.service.adapters["telegram"]
    await h.fake.wait_for(lambda _: len(h.fake.answered) >= expected and adapter.replies.waiting == 0, within=60)


async def test_burst_every_command_gets_exactly_one_answer_and_every_429_is_retried(limited):
    h = limited
    adapter = h.service.adapters["telegram"]
    assert h.service.dispatcher.limiters["telegram"] is adapter.limiter  # one limiter: alerts and replies
    # 40 chats, 100 commands, all offered at once: chat 1 sends three in the same second, 19 more chats send
    # three, 20 send two; half are groups where different members write
    plan: dict[int, list[str]] = {1: ["/help", "/list", "/status"]}
    for n in range(2, 41):
        chat = n if n % 2 else -1000 - n
        plan[chat] = ["/help", "/list", "/status"][: 3 if n <= 20 else 2]
    assert len(plan) == 40 and sum(len(c) for c in plan.values()) == 100
    h.fake.fail_next(7, FakeTelegram.too_many_requests(2))  # and one 429 told explicitly, with its own delay
    pushed: dict[int, list[int]] = {}
    for k in range(3):
        for chat, commands in plan.items():
            if k < len(commands):
                h.fake.push_message(chat, commands[k], user_id=abs(chat) * 10 + k,
                                    chat_type="private" if chat > 0 else "supergroup")
                pushed.setdefault(chat, []).append(h.fake._updates[-1]["message"]["message_id"])
    await settle(h, 100)
    for chat, commands in plan.items():
        got = answers(h.fake, chat)
        assert len(got) == len(commands), (chat, len(got))  # exactly one answer per command
        if chat < 0:  # in groups the answer quotes its command: the same commands, in their order
            assert [c.params["reply_parameters"]["message_id"] for c in got] == pushed[chat]
        times = [c.at for c in got]
        assert all(b - a >= 0.9 for a, b in zip(times, times[1:], strict=False))  # 1/s per chat held
    # every 429 (the one told, and any the limits caused) was followed by a successful send to that chat
    told = [c for c in h.fake.calls if c.method == "sendMessage" and c.params.get("chat_id") == 7]
    assert told[1].at - told[0].at >= 2.0  # its retry_after was honoured
    for refused in h.fake.limited:
        chat = refused.params["chat_id"]
        assert any(c.at > refused.at for c in answers(h.fake, chat)), refused
    assert adapter.replies.sent == 100 and adapter.replies.dropped == 0


async def test_commands_of_one_chat_run_in_their_order(limited):
    h = limited
    for text in ("/watch Caesar Act", "/unwatch Caesar Act", "/watch 2254", "/list"):
        h.fake.push_message(61, text)
    await settle(h, 4)
    texts = [c.params["text"] for c in answers(h.fake, 61)]
    assert "✅" in texts[0] and "Caesar Act" in texts[0]
    assert "Stopped" in texts[1]
    assert "2254" in texts[3] and "Caesar Act" not in texts[3]
    chat = await h.service.store.chats.get("telegram", "61")
    assert await h.service.store.subscriptions.of_chat(chat.id) == [Target("entity", "unsc-2254")]


async def test_an_edited_message_is_not_a_command(limited):
    h = limited
    h.fake.push_message(71, "/watch Caesar Act")
    message_id = h.fake._updates[-1]["message"]["message_id"]
    await settle(h, 1)
    assert "✅" in answers(h.fake, 71)[0].params["text"]
    h.fake.push_edit(71, message_id, "/unwatch Caesar Act")  # the user edits the command into its opposite
    h.fake.push_message(71, "/list")  # updates of a chat are handled in order: once this is answered, so was the edit
    await settle(h, 2)
    assert len(answers(h.fake, 71)) == 2  # the edit got no answer ...
    chat = await h.service.store.chats.get("telegram", "71")
    assert await h.service.store.subscriptions.of_chat(chat.id) == [Target("entity", "caesar-act")]  # ... nor effect
    # channels likewise: an edited post is not a command
    channel = -1002071
    h.fake.push_channel_post(channel, "/watch Caesar Act")
    await settle(h, 3)
    h.fake.push_channel_post(channel, "/unwatch Caesar Act", edited_message_id=5)
    h.fake.push_channel_post(channel, "/list")
    await settle(h, 4)
    assert len(answers(h.fake, channel)) == 2
    chat = await h.service.store.chats.get("telegram", str(channel))
    assert await h.service.store.subscriptions.of_chat(chat.id) == [Target("entity", "caesar-act")]
    # and edits are not asked for in the first place
    asked = [c.params.get("allowed_updates") for c in h.fake.calls if c.method == "getUpdates"]
    assert asked and all(a and "edited_message" not in a and "edited_channel_post" not in a for a in asked)


async def test_a_command_that_fails_is_still_answered(limited, caplog):
    h = limited
    commands = h.service.commands
    original = commands.dispatch

    async def broken(caller, command, args):
        if command == "status":
            raise RuntimeError("the store went away")
        return await original(caller, command, args)

    commands.dispatch = broken
    with caplog.at_level(logging.ERROR, logger="bot.adapters.telegram"):
        reply = await h.say(81, "/status")
    assert "Something went wrong" in reply["text"]
    assert "error while handling an update" in caplog.text


async def test_an_alert_right_after_a_reply_waits_its_second_and_is_not_refused(limited):
    h = limited
    await h.say(91, "/watch Caesar Act")
    h.publish(("r1", "Caesar Act extended", "The Caesar Act stays."))
    summary = await h.service.run_once()
    assert summary.alerts_sent == 1
    reply, alert = answers(h.fake, 91)
    assert alert.at - reply.at >= 0.9 and not h.fake.limited


async def test_an_answer_with_buttons_quotes_its_command_so_a_press_finds_the_words(limited):
    h = limited
    h.fake.push_message(97, "/watch water crisis")  # a private chat, where answers are not quotes by default
    command = h.fake._updates[-1]["message"]
    await settle(h, 1)
    (answer,) = answers(h.fake, 97)
    assert answer.params["reply_parameters"]["message_id"] == command["message_id"]
    keyboard = {"message_id": 9100, "date": 0, "chat": command["chat"], "text": answer.params["text"],
                "reply_to_message": command}  # what Telegram sends back with the press
    chosen = await h.press(97, "w:p", keyboard)
    assert "water crisis" in chosen["text"]
    chat = await h.service.store.chats.get("telegram", "97")
    assert await h.service.store.subscriptions.of_chat(chat.id) == [Target("phrase", "water crisis")]


# ------------------------------------------------------------------ the limiter and the queue on their own


def test_replies_go_before_alerts_but_alerts_keep_one_slot_in_four():
    limiter = RateLimiter(TELEGRAM)
    gap = 1 / TELEGRAM.per_second
    winners = []
    for k in range(8):  # at each slot an alert asks first, then a reply that waits for the platform-wide slot
        now = 100.0 + k * (gap + 1e-6)
        limiter._priority_waiting = 1  # what acquire() counts while a reply waits
        if limiter.reserve(f"a{k}", now=now) == 0:
            winners.append("A")
        elif limiter.reserve(f"r{k}", now=now, priority=True) == 0:
            winners.append("R")
    assert "".join(winners) == "RRRARRRA"
    limiter._priority_waiting = 0  # no reply waiting: alerts take every slot
    assert all(limiter.reserve(f"b{k}", now=101.0 + k * gap) == 0 for k in range(4))


async def test_waiting_replies_and_alerts_all_go_replies_first():
    limiter = RateLimiter(TELEGRAM)
    order: list[str] = []

    async def reply(n: int) -> None:
        await limiter.acquire(f"r{n}")
        order.append("reply")

    async def alert(n: int) -> None:  # as the dispatcher does it
        while (wait := limiter.reserve(f"a{n}")) > 0:  # noqa: ASYNC110 - the dispatcher's timed wait
            await asyncio.sleep(wait)
        order.append("alert")

    limiter.reserve("warm-up")  # the next slot is 1/29.5 s away: everyone below has to queue
    await asyncio.gather(*(alert(n) for n in range(6)), *(reply(n) for n in range(6)))
    assert order[0] == "reply" and Counter(order) == {"reply": 6, "alert": 6}
    assert limiter._priority_waiting == 0


async def test_a_chat_that_must_wait_does_not_hold_up_the_others():
    limiter = RateLimiter(SLACK)
    limiter.penalize("busy", 30.0)  # a 429 told this channel to wait half a minute
    queue = ReplyQueue(limiter, "slack")
    sent: list[str] = []

    def send(chat: str):
        async def go() -> None:
            sent.append(chat)
        return go

    queue.submit("busy", False, send("busy"))
    for n in range(5):
        queue.submit(f"C{n}", False, send(f"C{n}"))
    for _ in range(200):
        if len(sent) == 5:
            break
        await asyncio.sleep(0.01)
    assert sorted(sent) == [f"C{n}" for n in range(5)] and queue.waiting == 1
    await queue.close(within=0.01)  # stopping: the rest is cancelled (and logged)


async def test_a_flooding_chat_loses_its_oldest_waiting_replies_past_the_cap(caplog):
    queue = ReplyQueue(RateLimiter(UNLIMITED), "telegram", cap=10)
    sent: list[int] = []

    def send(n: int):
        async def go() -> None:
            sent.append(n)
        return go

    with caplog.at_level(logging.WARNING, logger="bot.delivery.limits"):
        for n in range(15):  # all queued before the chat's task runs once
            queue.submit("flood", False, send(n), what=f"answer {n}")
        await queue.close(within=5)
    assert sent == list(range(5, 15)) and queue.dropped == 5
    assert "chat flood has 10 replies waiting (the cap): the oldest (answer 0," in caplog.text


async def test_429_timeouts_and_network_failures_are_retried_a_bounded_number_of_times(monkeypatch, caplog):
    monkeypatch.setattr(limits, "REPLY_RETRY_BASE", 0.01)
    limiter = RateLimiter(UNLIMITED)
    queue = ReplyQueue(limiter, "telegram")
    tries: Counter = Counter()

    def failing(name: str, errors: list[DeliveryError]):
        async def go() -> None:
            tries[name] += 1
            if errors:
                raise errors.pop(0)
        return go

    queue.submit("a", False, failing("a", [DeliveryError("429", retry_after=0.2)] * 2))
    queue.submit("b", False, failing("b", [DeliveryError("timeout", unknown_outcome=True)] * 2))
    queue.submit("c", False, failing("c", [DeliveryError("timeout", unknown_outcome=True)] * 9))
    queue.submit("d", False, failing("d", [DeliveryError("net")] * 9))
    queue.submit("e", False, failing("e", [DeliveryError("blocked", permanent=True)] * 9))
    queue.submit("f", False, failing("f", [DeliveryError("flood ban", retry_after=86400)]))
    with caplog.at_level(logging.WARNING, logger="bot.delivery.limits"):
        started = asyncio.get_running_loop().time()
        await queue.close(within=10)
    assert asyncio.get_running_loop().time() - started >= 0.4  # two 429s of 0.2 s, waited in turn
    assert tries == {"a": 3, "b": 3, "c": limits.REPLY_TIMEOUT_TRIES + 1, "d": limits.REPLY_NETWORK_TRIES + 1,
                     "e": 1, "f": 1}
    assert queue.sent == 2
    assert "to chat c given up" in caplog.text and "to chat f given up after 1 × 429" in caplog.text


async def test_slack_response_url_429_is_honoured(tmp_path):
    from bot.adapters.slack import SlackAdapter

    adapter = SlackAdapter("xoxb-test", commands=None, app_token="xapp-test")
    calls: list[float] = []
    loop = asyncio.get_running_loop()

    async def respond(**message):
        calls.append(loop.time())
        status = 429 if len(calls) == 1 else 200
        return SimpleNamespace(status_code=status, headers={"Retry-After": "1"} if status == 429 else {}, body="")

    adapter._respond(respond, "C0042", "answer to list", response_type="ephemeral", text="hi")
    await adapter.replies.close(within=10)
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.95
    assert adapter.replies.sent == 1 and adapter.limiter.chat_wait("C0042") == 0
