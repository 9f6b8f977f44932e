"""A fake Slack Web API on 127.0.0.1 for the real slack_sdk / slack-bolt clients.

Serves auth.test, chat.postMessage, chat.postEphemeral, conversations.info, views.publish and a response_url
endpoint; records every call; injects 429 with Retry-After and ``ok: false`` errors per channel. Also signs
slash-command requests the way Slack does, for tests that post them to Rasad's HTTP endpoint.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from tests.fakes import serve_local


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
            params["_ok"] = True
            return web.json_response({"ok": True, "channel": channel, "ts": f"{time.time():.0f}.{next(self._ts):06d}",
                                      "message": {"text": params.get("text", "")}})
        if method == "conversations.info":
            info = self.channels.get(channel, {"id": channel, "name": "syria-desk", "is_channel": True,
                                               "is_archived": False})
            return web.json_response({"ok": True, "channel": info})
        if method == "views.publish":
            return web.json_response({"ok": True, "view": {"id": "V1", **(params.get("view") or {})}})
        return web.json_response({"ok": True})
