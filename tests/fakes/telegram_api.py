"""A fake Telegram Bot API server on 127.0.0.1, speaking the Bot API's wire format.

The real python-telegram-bot client talks to it over HTTP. It queues updates for getUpdates (with offsets and
long polling), records every call, answers getChatMember from a table, stores uploaded documents for getFile,
and can inject errors (429 with retry_after, 403, 400 "chat not found", migrate_to_chat_id) or slow answers.
With ``enforce_limits`` it answers 429 beyond Telegram's limits (30/s overall, 1/s per chat, 20/min per group),
for every message the bot sends or edits (sendMessage, sendDocument, editMessageText), with ``retry_after`` the
whole seconds until the send would have been allowed. Edited messages and channel posts can be pushed as updates
(``push_edit``, ``push_channel_post``). Reusable by the benchmark harness.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes import serve_local
from tests.fakes.telegram_html import check_message

INT_FIELDS = {"chat_id", "user_id", "offset", "limit", "timeout", "message_id", "from_chat_id"}
JSON_FIELDS = {"reply_markup", "commands", "scope", "link_preview_options", "allowed_updates", "entities",
               "reply_parameters", "disable_web_page_preview", "disable_notification", "show_alert"}


@dataclass
class Sent:
    method: str
    params: dict[str, Any]
    at: float


@dataclass
class FakeTelegram:
    token: str = "123456:TEST-TOKEN"
    bot_id: int = 123456
    username: str = "rasad_test_bot"
    enforce_limits: bool = False
    calls: list[Sent] = field(default_factory=list)
    delivered: list[dict] = field(default_factory=list)  # sendMessage calls answered ok
    members: dict[tuple[int, int], str] = field(default_factory=dict)  # (chat, user) → status
    failures: dict[int, deque] = field(default_factory=lambda: defaultdict(deque))  # chat → injected errors
    delay: float = 0.0  # seconds before every sendMessage answer
    files: dict[str, bytes] = field(default_factory=dict)
    _updates: list[dict] = field(default_factory=list)
    _next_update: itertools.count = field(default_factory=lambda: itertools.count(1))
    _next_message: itertools.count = field(default_factory=lambda: itertools.count(1000))
    _new_update: asyncio.Event | None = None
    _runner: web.AppRunner | None = None
    port: int = 0
    _deleted: set = field(default_factory=set)
    _global_sends: deque = field(default_factory=deque)
    _chat_sends: dict[int, deque] = field(default_factory=lambda: defaultdict(deque))
    limit_hits: int = 0
    refused: list[Sent] = field(default_factory=list)  # messages refused with 400 as Telegram would (bad HTML, too long)
    answered: list[Sent] = field(default_factory=list)  # sends and edits answered ok (the limited methods)
    limited: list[Sent] = field(default_factory=list)  # sends and edits answered 429 by the limits
    # the bot's messages as Telegram keeps them: (chat_id, message_id) → [text, sent at, reply_markup]
    messages: dict[tuple[int, int], list] = field(default_factory=dict)
    edits: list[dict] = field(default_factory=list)  # editMessageText calls that changed a message
    edit_failures: dict[int, deque] = field(default_factory=lambda: defaultdict(deque))  # chat → edit errors
    member_failures: dict[int, deque] = field(default_factory=lambda: defaultdict(deque))  # chat → getChatMember errors

    # ------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FakeTelegram:
        self._new_update = asyncio.Event()
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.*}", self._file)
        self._runner, self.port = await serve_local(app)
        return self

    async def stop(self) -> None:
        if self._new_update is not None:
            self._new_update.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------ what tests do

    def _user(self, user_id: int, language: str | None) -> dict:
        user = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        if language:
            user["language_code"] = language
        return user

    def _chat(self, chat_id: int, chat_type: str, title: str | None = None) -> dict:
        chat = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = f"User{chat_id}"
        else:
            chat["title"] = title or f"Group {chat_id}"
        return chat

    def _push(self, update: dict) -> int:
        update["update_id"] = next(self._next_update)
        self._updates.append(update)
        self._new_update.set()
        return update["update_id"]

    def push_message(self, chat_id: int, text: str, user_id: int | None = None, chat_type: str = "private",
                     language: str | None = "en", reply_to: dict | None = None, document: dict | None = None,
                     caption: str | None = None) -> int:
        user_id = user_id if user_id is not None else chat_id
        message: dict[str, Any] = {
            "message_id": next(self._next_message), "date": int(time.time()),
            "chat": self._chat(chat_id, chat_type), "from": self._user(user_id, language),
        }
        if document is not None:
            message["document"] = document
            if caption:
                message["caption"] = caption
                if caption.startswith("/"):
                    message["caption_entities"] = [{"type": "bot_command", "offset": 0,
                                                    "length": len(caption.split()[0])}]
        else:
            message["text"] = text
            if text.startswith("/"):
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        return self._push({"message": message})

    def push_edit(self, chat_id: int, message_id: int, text: str, user_id: int | None = None,
                  chat_type: str = "private", language: str | None = "en") -> int:
        """The user edited an earlier message (``message_id``) into ``text``: an ``edited_message`` update."""
        user_id = user_id if user_id is not None else chat_id
        message: dict[str, Any] = {"message_id": message_id, "date": int(time.time()) - 5,
                                   "edit_date": int(time.time()), "chat": self._chat(chat_id, chat_type),
                                   "from": self._user(user_id, language), "text": text}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return self._push({"edited_message": message})

    def push_channel_post(self, chat_id: int, text: str, edited_message_id: int | None = None,
                          title: str = "Desk") -> int:
        """A post in a channel; with ``edited_message_id``, an edit of that earlier post."""
        post: dict[str, Any] = {"message_id": edited_message_id or next(self._next_message),
                                "date": int(time.time()), "chat": {"id": chat_id, "type": "channel", "title": title},
                                "text": text}
        if text.startswith("/"):
            post["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if edited_message_id is not None:
            post["edit_date"] = int(time.time())
            return self._push({"edited_channel_post": post})
        return self._push({"channel_post": post})

    def push_document(self, chat_id: int, filename: str, content: bytes, caption: str = "/import",
                      user_id: int | None = None, chat_type: str = "private", language: str = "en") -> int:
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = content
        document = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": filename,
                    "mime_type": "application/x-yaml", "file_size": len(content)}
        return self.push_message(chat_id, "", user_id, chat_type, language, document=document, caption=caption)

    def push_callback(self, chat_id: int, data: str, message: dict, user_id: int | None = None,
                      chat_type: str = "private", language: str = "en") -> int:
        user_id = user_id if user_id is not None else chat_id
        return self._push({"callback_query": {
            "id": f"cb{next(self._next_message)}", "from": self._user(user_id, language),
            "chat_instance": f"ci{chat_id}", "data": data, "message": message,
        }})

    def fail_next(self, chat_id: int, *errors: dict) -> None:
        """Queue error answers for the next sendMessage calls to this chat."""
        self.failures[chat_id].extend(errors)

    def fail_next_edit(self, chat_id: int, *errors: dict) -> None:
        """Queue error answers for the next editMessageText calls in this chat (e.g. 429 with retry_after)."""
        self.edit_failures[chat_id].extend(errors)

    def fail_next_member(self, chat_id: int, *errors: dict) -> None:
        """Queue error answers for the next getChatMember calls in this chat."""
        self.member_failures[chat_id].extend(errors)

    @staticmethod
    def too_many_requests(retry_after: int) -> dict:
        return {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {retry_after}",
                "parameters": {"retry_after": retry_after}}

    @staticmethod
    def blocked() -> dict:
        return {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}

    @staticmethod
    def chat_not_found() -> dict:
        return {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}

    @staticmethod
    def migrated(new_id: int) -> dict:
        return {"ok": False, "error_code": 400,
                "description": "Bad Request: group chat was upgraded to a supergroup chat",
                "parameters": {"migrate_to_chat_id": new_id}}

    def sent(self, method: str = "sendMessage", chat_id: int | None = None) -> list[dict]:
        return [c.params for c in self.calls
                if c.method == method and (chat_id is None or c.params.get("chat_id") == chat_id)]

    async def wait_for(self, predicate, within: float = 20.0) -> list[dict]:
        """Wait until predicate(calls) is true; returns the calls. No fixed sleeps."""
        deadline = time.monotonic() + within
        while True:
            if predicate(self.calls):
                return self.calls
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; calls: {[(c.method, c.params) for c in self.calls][-10:]}")
            await asyncio.sleep(0.02)

    # ------------------------------------------------------------ the wire

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return await request.json()
        params: dict[str, Any] = {}
        if request.method == "POST":
            form = await request.post()
            for key, value in form.items():
                if hasattr(value, "file"):
                    params[key] = {"filename": value.filename, "content": value.file.read()}
                    continue
                params[key] = self._decode(key, value)
        for key, value in request.query.items():
            params[key] = self._decode(key, value)
        return params

    @staticmethod
    def _decode(key: str, value: str) -> Any:
        if key in INT_FIELDS:
            try:
                return int(value)
            except ValueError:
                return value
        if key in JSON_FIELDS:
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def _over_limit(self, chat_id: int) -> int | None:
        """None and the send is counted, or Telegram's retry_after: whole seconds until it would be allowed."""
        now = time.monotonic()
        glob = self._global_sends
        while glob and now - glob[0] > 1.0:
            glob.popleft()
        per_chat = self._chat_sends[chat_id]
        while per_chat and now - per_chat[0] > 60.0:
            per_chat.popleft()
        waits = []
        if len(glob) >= 30:
            waits.append(1.0 - (now - glob[0]))
        if per_chat and now - per_chat[-1] <= 1.0:
            waits.append(1.0 - (now - per_chat[-1]))
        if isinstance(chat_id, int) and chat_id < 0 and len(per_chat) >= 20:
            waits.append(60.0 - (now - per_chat[-20]))
        if waits:
            self.limit_hits += 1
            return max(1, math.ceil(max(waits)))
        glob.append(now)
        per_chat.append(now)
        return None

    def _limited(self, method: str, params: dict) -> dict | None:
        """The 429 answer when the limits are enforced and this send or edit goes beyond them."""
        if not self.enforce_limits:
            return None
        retry = self._over_limit(params.get("chat_id"))
        if retry is None:
            return None
        self.limited.append(Sent(method, params, time.monotonic()))
        return self.too_many_requests(retry)

    def _refuse(self, method: str, params: dict, field_name: str = "text") -> dict | None:
        """Telegram's 400 for text it would not take: HTML that does not parse (unknown or unbalanced tags, bad
        entities, see tests/fakes/telegram_html.py), over 4,096 (a caption: 1,024) characters, or empty."""
        caption = field_name == "caption"
        problem = check_message(params.get(field_name), params.get("parse_mode"), caption=caption)
        if problem is None:
            return None
        self.refused.append(Sent(method, params, time.monotonic()))
        return {"ok": False, "error_code": 400, "description": problem}

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params = await self._params(request)
        self.calls.append(Sent(method, params, time.monotonic()))
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return web.json_response({"ok": True, "result": True})
        result = await handler(params)
        if isinstance(result, dict) and result.get("ok") is False:
            return web.json_response(result, status=result["error_code"])
        return web.json_response({"ok": True, "result": result})

    async def _file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        file_id = path.rsplit("/", 1)[-1]
        if file_id not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[file_id])

    async def _m_getMe(self, params):
        return {"id": self.bot_id, "is_bot": True, "first_name": "Rasad", "username": self.username,
                "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}

    async def _m_getUpdates(self, params):
        offset = params.get("offset") or 0
        timeout = min(float(params.get("timeout") or 0), 2.0)
        deadline = time.monotonic() + timeout
        while True:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            if self._updates or time.monotonic() >= deadline:
                return list(self._updates[: int(params.get("limit") or 100)])
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                pass

    def _message_result(self, params, extra: dict | None = None) -> dict:
        chat_id = params.get("chat_id")
        chat_type = "private" if isinstance(chat_id, int) and chat_id > 0 else "supergroup"
        result = {"message_id": next(self._next_message), "date": int(time.time()),
                  "chat": self._chat(chat_id, chat_type), "from": {"id": self.bot_id, "is_bot": True,
                                                                   "first_name": "Rasad"}}
        if "text" in params:
            result["text"] = params["text"]
        if params.get("reply_markup"):
            result["reply_markup"] = params["reply_markup"]
        result.update(extra or {})
        return result

    async def _m_sendMessage(self, params):
        if self.delay:
            await asyncio.sleep(self.delay)
        chat_id = params.get("chat_id")
        queue = self.failures.get(chat_id)
        if queue:
            return queue.popleft()
        if (refused := self._refuse("sendMessage", params)) is not None:
            return refused
        if (limited := self._limited("sendMessage", params)) is not None:
            return limited
        self.delivered.append(params)
        self.answered.append(Sent("sendMessage", params, time.monotonic()))
        result = self._message_result(params)
        self.messages[(chat_id, result["message_id"])] = [params.get("text", ""), time.time(),
                                                          params.get("reply_markup")]
        return result

    def delete_message(self, chat_id: int, message_id: int) -> None:
        """The message was deleted in the chat: editing it answers "message to edit not found"."""
        self.messages.pop((chat_id, message_id), None)
        self._deleted.add((chat_id, message_id))

    def age_message(self, chat_id: int, message_id: int, hours: float = 49) -> None:
        """Pretend the message was sent ``hours`` ago (bots may not edit their messages after 48 h)."""
        self.messages[(chat_id, message_id)][1] = time.time() - hours * 3600

    async def _m_editMessageText(self, params):
        queue = self.edit_failures.get(params.get("chat_id"))
        if queue:
            return queue.popleft()
        if (refused := self._refuse("editMessageText", params)) is not None:
            return refused
        key = (params.get("chat_id"), params.get("message_id"))
        if key in self._deleted:
            return {"ok": False, "error_code": 400, "description": "Bad Request: message to edit not found"}
        known = self.messages.get(key)
        if known is not None and time.time() - known[1] > 48 * 3600:
            return {"ok": False, "error_code": 400, "description": "Bad Request: message can't be edited"}
        if known is not None and known[0] == params.get("text") and known[2] == params.get("reply_markup"):
            return {"ok": False, "error_code": 400, "description": "Bad Request: message is not modified: specified "
                    "new message content and reply markup are exactly the same as a current content and reply "
                    "markup of the message"}
        if (limited := self._limited("editMessageText", params)) is not None:
            return limited
        self.answered.append(Sent("editMessageText", params, time.monotonic()))
        if known is not None:
            known[0], known[2] = params.get("text", ""), params.get("reply_markup")
            self.edits.append(params)
        return self._message_result(params, {"message_id": params.get("message_id")})

    async def _m_sendDocument(self, params):
        if (refused := self._refuse("sendDocument", params, "caption")) is not None:
            return refused
        if (limited := self._limited("sendDocument", params)) is not None:
            return limited
        self.answered.append(Sent("sendDocument", params, time.monotonic()))
        doc = params.get("document") or {}
        file_id = f"sent-{len(self.files) + 1}"
        self.files[file_id] = doc.get("content", b"")
        return self._message_result(params, {"document": {
            "file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": doc.get("filename", "file")}})

    async def _m_getFile(self, params):
        file_id = params.get("file_id")
        if file_id not in self.files:
            return {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(self.files[file_id]),
                "file_path": f"documents/{file_id}"}

    async def _m_getChatMember(self, params):
        chat_id, user_id = params.get("chat_id"), params.get("user_id")
        queue = self.member_failures.get(chat_id)
        if queue:
            return queue.popleft()
        status = self.members.get((chat_id, user_id), "member")
        member = {"status": status, "user": self._user(user_id, None)}
        if status == "creator":
            member["is_anonymous"] = False
        if status == "administrator":
            member.update({"can_be_edited": False, "is_anonymous": False, "can_manage_chat": True,
                           "can_delete_messages": True, "can_manage_video_chats": True,
                           "can_restrict_members": True, "can_promote_members": False, "can_change_info": True,
                           "can_invite_users": True, "can_post_stories": False, "can_edit_stories": False,
                           "can_delete_stories": False})
        return member

    async def _m_setMyCommands(self, params):
        return True

    async def _m_deleteWebhook(self, params):
        return True

    async def _m_setWebhook(self, params):
        return True

    async def _m_answerCallbackQuery(self, params):
        return True
