"""Logging: plain or JSON (LOG_FORMAT=json), and secrets never printed.

Two layers, both on the one handler every logger's records reach (so slack_bolt's and slack_sdk's too): the
values of secret environment variables become ``[redacted]``, and so does what looks like a secret whatever
its source: Slack tokens (``xoxb-…``, ``xoxp-…``, ``xapp-…``), Telegram bot tokens, and the values of
``token=`` / ``response_url=`` pairs (form-encoded or in a dict's repr), which slack_bolt writes at INFO when it
refuses a request ("Invalid request signature detected (... body: token=...&response_url=...)"). The final line,
tracebacks included, is redacted once more by the formatter.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from typing import TYPE_CHECKING

SECRET_VARIABLES = ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN",
                    "SLACK_SIGNING_SECRET")
CONTEXT_FIELDS = ("feed", "item", "chat", "delivery", "platform", "role")
REDACTED = "[redacted]"

_PATTERNS = (
    # token=..., response_url=..., 'token': '...', "bot_token": "..." (any key ending in "token", and response_url)
    re.compile(r"""(?P<key>\b\w*(?:token|response_url)["']?\s*[=:]\s*["']?)(?!\[redacted\])[^\s&"',;)}\]\\]+""",
               re.I),
    re.compile(r"\bxox[a-z]-[A-Za-z0-9-]+"),  # Slack bot, user, app-configuration tokens
    re.compile(r"\bxapp-[A-Za-z0-9-]+"),  # Slack app-level tokens (Socket Mode)
    re.compile(r"(?<![0-9])[0-9]{6,12}:[A-Za-z0-9_-]{30,}"),  # Telegram bot tokens (also after "/bot")
)


def redact(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """``text`` with the given secret values and anything that looks like a token replaced by ``[redacted]``."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group("key") + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


class RedactSecrets(logging.Filter):
    """Replaces the values of secret environment variables, Slack and Telegram tokens, and ``token=`` /
    ``response_url=`` values in every record (see ``redact``)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets = [v for v in (os.environ.get(k, "") for k in SECRET_VARIABLES) if len(v) >= 8]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message, self.secrets)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


if TYPE_CHECKING:  # the mixin's super() is the formatter it is mixed into
    _FormatterBase = logging.Formatter
else:
    _FormatterBase = object


class _Redacting(_FormatterBase):
    """Mixed into a formatter: the finished line (exception and stack text included) is redacted too."""

    secrets: list[str]

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


class RedactingFormatter(_Redacting, logging.Formatter):
    def __init__(self, *args, secrets: list[str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.secrets = secrets or []


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in CONTEXT_FIELDS:
            if hasattr(record, field):
                data[field] = getattr(record, field)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


class RedactingJsonFormatter(_Redacting, JsonFormatter):
    def __init__(self, *args, secrets: list[str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.secrets = secrets or []


def setup(level: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    secrets = RedactSecrets()
    if os.environ.get("LOG_FORMAT", "").lower() == "json":
        handler.setFormatter(RedactingJsonFormatter(secrets=secrets.secrets))
    else:
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s",
                                                secrets=secrets.secrets))
    handler.addFilter(secrets)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
