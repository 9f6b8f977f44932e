"""A fake Slack Web API on 127.0.0.1 for the real slack_sdk / slack-bolt clients.

Serves auth.test, chat.postMessage, chat.update (message_not_found for a deleted message, cant_update_message
for one the bot may no longer edit), chat.postEphemeral, conversations.info, views.publish and a response_url
endpoint; records every call; injects 429 with Retry-After and ``ok: false`` errors per channel. Also signs
slash-command requests the way Slack does, for tests that post them to Rasad's HTTP endpoint.

Blocks are checked as Slack checks them (``invalid_blocks``: a section's text over 3,000 characters, a header's
over 150 or not plain_text, a button's label over 75, more than 50 blocks, an empty text, `verbatim` on plain_text
or `emoji` on mrkdwn) and a `text` over 40,000 characters is ``msg_too_long``. ``mrkdwn_injections`` and
``texts_of`` let tests check that no feed text became a mention, a link or markup.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import re
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from tests.fakes import serve_local

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_BUTTON = 75
MAX_TEXT = 40000

# the only `<…>` sequences the bot itself writes: its links and channel references; and its quotes ("> " at a
# line's start, after the RLM of an Arabic line)
_OWN_SEQUENCE = re.compile(r"<(?:https?://[^\s<>|]+\|[^<>|]*|https?://[^\s<>|]+|#[CGD][A-Z0-9]+)>|^\u200f?> ", re.M)
_ENTITY = re.compile(r"&(?:amp|lt|gt);")


_SHORTCODE = re.compile(r":[a-z0-9_+'\-]+:", re.IGNORECASE)  # what Slack draws as an emoji


def mrkdwn_injections(text: str) -> list[str]:
    """What in a mrkdwn text Slack would read as markup no feed may write: `<…>` sequences other than the bot's own
    links and channel references (mentions `<!channel>` `<@U…>`, disguised links), stray `<` or `>` (but the
    bot's own quote, "> " at a line's start), `&` that starts no entity, and emoji shortcodes (`:skull:`). Empty
    when the text is safe."""
    problems = []
    rest = _OWN_SEQUENCE.sub("", text)
    problems += [f"unescaped {c!r} in {text[:80]!r}" for c in "<>" if c in rest]
    problems += [f"bare '&' in {text[:80]!r}" for _ in range(rest.count("&") - len(_ENTITY.findall(rest)))]
    problems += [f"emoji shortcode {m.group(0)!r} in {text[:80]!r}" for m in _SHORTCODE.finditer(rest)]
    return problems


def texts_of(payload: dict) -> list[tuple[str, str]]:
    """(kind, text) of every text a message or view carries: "text" (the fallback), then each text object of
    its blocks as "mrkdwn" or "plain_text" (headers, sections, fields, context, button labels)."""
    found: list[tuple[str, str]] = []
    if isinstance(payload.get("text"), str):
        found.append(("text", payload["text"]))

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
                found.append((node["type"], node["text"]))
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(payload.get("blocks") or [])
    walk((payload.get("view") or {}).get("blocks") or [])
    return found


def _text_object_problem(obj: Any, limit: int, plain_only: bool = False) -> str | None:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        return "a text object must be plain_text or mrkdwn"
    if plain_only and obj["type"] != "plain_text":
        return "must be plain_text"
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return "text must be a non-empty string"
    if len(text) > limit:
        return f"must be less than {limit + 1} characters"
    if obj["type"] == "plain_text" and "verbatim" in obj:
        return "verbatim is only for mrkdwn"
    if obj["type"] == "mrkdwn" and "emoji" in obj:
        return "emoji is only for plain_text"
    return None


def blocks_problem(blocks: Any, max_blocks: int = MAX_BLOCKS) -> str | None:
    """Why Slack would answer ``invalid_blocks``, or None."""
    if not isinstance(blocks, list) or len(blocks) > max_blocks:
        return f"no more than {max_blocks} items allowed"
    for i, block in enumerate(blocks):
        kind = block.get("type") if isinstance(block, dict) else None
        problem = None
        if kind == "header":
            problem = _text_object_problem(block.get("text"), MAX_HEADER, plain_only=True)
        elif kind == "section":
            if "text" in block:
                problem = _text_object_problem(block["text"], MAX_SECTION)
            for f in block.get("fields") or []:
                problem = problem or _text_object_problem(f, 2000)
        elif kind == "context":
            for element in block.get("elements") or []:
                problem = problem or _text_object_problem(element, MAX_SECTION)
        elif kind == "actions":
            for element in block.get("elements") or []:
                problem = problem or _text_object_problem(element.get("text"), MAX_BUTTON, plain_only=True)
        elif kind not in ("divider", "image", "input", "rich_text", "file", "video", "markdown"):
            problem = f"unknown block type {kind!r}"
        if problem:
            return f"[json-pointer:/blocks/{i}] {problem}"
    return None


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass
class FakeSlack:
    bot_token: str = "xoxb-test-token"
    app_token: str = "xapp-test-token"
    team_id: str = "T0001"
    acks: list[dict] = field(default_factory=list)  # what Socket Mode clients sent back
    _sockets: list = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    responses: list[dict] = field(default_factory=list)  # what was posted to response_url
    failures: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))  # channel → errors
    channels: dict[str, dict] = field(default_factory=dict)
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))
    messages: dict[tuple[str, str], dict] = field(default_factory=dict)  # (channel, ts) → the message as posted
    updates: list[dict] = field(default_factory=list)  # chat.update calls that were accepted
    deleted: set = field(default_factory=set)  # (channel, ts) deleted in the channel
    uneditable: set = field(default_factory=set)  # (channel, ts) the workspace no longer lets the bot edit
    _runner: web.AppRunner | None = None
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self, n: int = 1) -> str:
        return f"{self.base_url}/response/{n}"

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/response/{n}", self._response)
        app.router.add_get("/ws", self._websocket)
        self._runner, self.port = await serve_local(app)
        return self

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------ Socket Mode

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0001"}})
        try:
            async for message in ws:
                if message.type == web.WSMsgType.TEXT:
                    self.acks.append(json.loads(message.data))
        finally:
            if ws in self._sockets:
                self._sockets.remove(ws)
        return ws

    async def socket_push(self, envelope: dict) -> None:
        """Send an envelope (slash command, interaction, event) to every connected Socket Mode client."""
        await self.wait_for(lambda f: bool(f._sockets))
        for ws in self._sockets:
            await ws.send_json(envelope)

    # ------------------------------------------------------------ what tests do

    def fail_next(self, channel: str, *errors: dict) -> None:
        self.failures[channel].extend(errors)

    @staticmethod
    def rate_limited(retry_after: int) -> dict:
        return {"status": 429, "retry_after": retry_after, "body": {"ok": False, "error": "ratelimited"}}

    @staticmethod
    def error(code: str) -> dict:
        return {"status": 200, "body": {"ok": False, "error": code}}

    def posted(self, channel: str | None = None) -> list[dict]:
        return [c.params for c in self.calls if c.method == "chat.postMessage"
                and (channel is None or c.params.get("channel") == channel) and c.params.get("_ok")]

    async def wait_for(self, predicate, within: float = 20.0) -> None:
        deadline = time.monotonic() + within
        while not predicate(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; calls: {[(c.method, c.params) for c in self.calls][-8:]}, "
                                     f"responses: {self.responses[-4:]}")
            await asyncio.sleep(0.02)

    @staticmethod
    def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
        timestamp = int(time.time()) if timestamp is None else timestamp
        base = f"v0:{timestamp}:{body}".encode()
        signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
        return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature,
                "Content-Type": "application/x-www-form-urlencoded"}

    def slash_command(self, text: str, channel: str = "C0001", user: str = "U0001", n: int = 1) -> str:
        return urlencode({"token": "legacy", "team_id": self.team_id, "team_domain": "desk", "channel_id": channel,
                          "channel_name": "syria-desk", "user_id": user, "user_name": "analyst",
                          "command": "/rasad", "text": text, "api_app_id": "A0001", "is_enterprise_install": "false",
                          "response_url": self.response_url(n), "trigger_id": "1.2.3"})

    # ------------------------------------------------------------ the wire

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return await request.json()
        return dict(await request.post())

    async def _response(self, request: web.Request) -> web.Response:
        self.responses.append(await request.json())
        return web.Response(text="ok")

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        auth = request.headers.get("Authorization", "")
        call = Call(method, params)
        self.calls.append(call)
        if method == "apps.connections.open":
            if auth != f"Bearer {self.app_token}":
                return web.json_response({"ok": False, "error": "invalid_auth"})
            return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{self.port}/ws"})
        if auth != f"Bearer {self.bot_token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method == "auth.test":
            return web.json_response({"ok": True, "url": "https://desk.slack.com/", "team": "Desk",
                                      "user": "rasad", "team_id": self.team_id, "user_id": "UBOT",
                                      "bot_id": "BBOT"})
        channel = params.get("channel")
        if method in ("chat.postMessage", "chat.postEphemeral"):
            queue = self.failures.get(channel)
            if queue:
                failure = queue.popleft()
                headers = {"Retry-After": str(failure["retry_after"])} if "retry_after" in failure else {}
                return web.json_response(failure["body"], status=failure["status"], headers=headers)
            if params.get("blocks") and (problem := blocks_problem(params["blocks"])):
                return web.json_response({"ok": False, "error": "invalid_blocks", "errors": [problem]})
            if len(params.get("text") or "") > MAX_TEXT:
                return web.json_response({"ok": False, "error": "msg_too_long"})
            params["_ok"] = True
            ts = f"{time.time():.0f}.{next(self._ts):06d}"
            if method == "chat.postMessage":
                self.messages[(channel, ts)] = dict(params)
            return web.json_response({"ok": True, "channel": channel, "ts": ts,
                                      "message": {"text": params.get("text", "")}})
        if method == "chat.update":
            key = (channel, params.get("ts"))
            queue = self.failures.get(channel)
            if queue:
                failure = queue.popleft()
                headers = {"Retry-After": str(failure["retry_after"])} if "retry_after" in failure else {}
                return web.json_response(failure["body"], status=failure["status"], headers=headers)
            if key in self.deleted or key not in self.messages:
                return web.json_response({"ok": False, "error": "message_not_found"})
            if key in self.uneditable:
                return web.json_response({"ok": False, "error": "cant_update_message"})
            if params.get("blocks") and (problem := blocks_problem(params["blocks"])):
                return web.json_response({"ok": False, "error": "invalid_blocks", "errors": [problem]})
            self.messages[key] = {**self.messages[key], **params}
            self.updates.append(params)
            return web.json_response({"ok": True, "channel": channel, "ts": params.get("ts"),
                                      "text": params.get("text", "")})
        if method == "conversations.info":
            info = self.channels.get(channel, {"id": channel, "name": "syria-desk", "is_channel": True,
                                               "is_archived": False})
            return web.json_response({"ok": True, "channel": info})
        if method == "views.publish":
            if problem := blocks_problem((params.get("view") or {}).get("blocks") or [], max_blocks=100):
                return web.json_response({"ok": False, "error": "invalid_blocks", "errors": [problem]})
            return web.json_response({"ok": True, "view": {"id": "V1", **(params.get("view") or {})}})
        return web.json_response({"ok": True})
