"""Every error Rasad raises on purpose, in one hierarchy.

An error a user can cause (a config or rules file, an import, an evaluation set, a command's argument, a feed)
says what and where: ``file:line: message`` when it comes from a file, so the person can go and fix it. None of
them is ever shown as a traceback."""

from __future__ import annotations


class RasadError(Exception):
    """The root: anything Rasad raises on purpose."""


class SourcedError(RasadError):
    """Problems found in a file, each as ``file:line: message`` (several are collected before raising)."""

    def __init__(self, messages: list[str]):
        super().__init__("\n".join(messages))
        self.messages = messages

    @classmethod
    def at(cls, source: str, line: int, message: str) -> SourcedError:
        return cls([f"{source}:{line}: {message}"])


class ConfigError(SourcedError):
    """Configuration or rules that cannot be used."""


class EvalSetError(SourcedError):
    """An evaluation set that cannot be read."""


class FeedError(RasadError):
    """A feed that could not be fetched or read; ``kind`` is a short machine word (timeout, http, too_large,
    parse, ...), the message says why in words, with the feed's URL in the log line that reports it."""

    kind = "feed"


class UnsafeURL(RasadError):
    """A URL that resolves to an address feeds added from chat may not reach (loopback, private, ...)."""


class DeliveryError(RasadError):
    """A send that failed, and what it means for the delivery:

    - ``permanent`` (blocked bot, deleted chat): no retry; ``chat_gone`` also marks the chat inactive;
    - ``retry_after``: the platform asked for a delay (429); the retry waits at least that long;
    - ``unknown_outcome``: a timeout after the request left: the platform may have shown the message, so it is
      resent only much later (``delivery.unknown_outcome_delay``);
    - ``new_address``: the chat moved (a Telegram group became a supergroup): its subscriptions follow it there
      and the send is tried again at once.
    Anything else is retried with backoff."""

    def __init__(self, message: str, permanent: bool = False, retry_after: float | None = None,
                 chat_gone: bool | None = None, unknown_outcome: bool = False, new_address: str | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.unknown_outcome = unknown_outcome
        self.chat_gone = permanent if chat_gone is None else chat_gone
        self.new_address = new_address
