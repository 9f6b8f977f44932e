"""Fetch a feed's bytes: local file or HTTP(S) with conditional GET, timeouts, size and redirect caps."""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import httpx

from bot.config import PollConfig
from bot.errors import FeedError
from bot.feeds.guard import UnsafeURL, check_public_url


class FetchError(FeedError):
    """A fetch that failed; ``kind`` is a short machine word (timeout, http, too_large, network, ...)."""

    def __init__(self, kind: str, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after


@dataclass(frozen=True)
class FetchResult:
    content: bytes = b""
    not_modified: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    status: int = 200


def cache_max_age(headers: dict[str, str]) -> int | None:
    """Seconds from Cache-Control: max-age (s-maxage wins), or None."""
    value = headers.get("cache-control", "")
    best = None
    for part in value.split(","):
        name, _, number = part.strip().partition("=")
        if name.lower() in ("max-age", "s-maxage") and number.strip().isdigit():
            best = int(number) if best is None or name.lower() == "s-maxage" else best
    return best


def is_remote(location: str) -> bool:
    return urlparse(location).scheme in ("http", "https")


def local_path(location: str) -> Path:
    parsed = urlparse(location)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    return Path(location)


def make_client(poll: PollConfig) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(poll.timeout, connect=poll.connect_timeout),
        follow_redirects=True,
        max_redirects=poll.max_redirects,
        headers={"User-Agent": poll.user_agent, "Accept": "application/rss+xml, application/atom+xml, "
                 "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"},
        limits=httpx.Limits(max_connections=poll.concurrency * 2, max_keepalive_connections=poll.concurrency),
    )


def _read_local(path: Path, max_bytes: int) -> bytes:
    with path.open("rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FetchError("too_large", f"file is larger than {max_bytes} bytes")
    return data


class _Stage:
    """One content coding undone (gzip or deflate), producing at most ``cap`` bytes in all."""

    def __init__(self, coding: str, cap: int):
        self.coding = coding
        self.cap = cap
        self.size = 0
        wbits = zlib.MAX_WBITS | 16 if coding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._z = zlib.decompressobj(wbits)
        self._started = False

    def _grow(self, chunk: bytes) -> bytes:
        self.size += len(chunk)
        if self.size > self.cap:
            raise FetchError("too_large", f"body is over the {self.cap} byte cap once decoded ({self.coding})")
        return chunk

    def feed(self, data: bytes) -> bytes:
        out = []
        while data:
            try:
                chunk = self._z.decompress(data, self.cap - self.size + 1)
            except zlib.error:
                if self.coding == "deflate" and not self._started:  # some servers send raw deflate
                    self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._started = True
                    continue
                raise FetchError("decoding", f"bad content encoding ({self.coding})") from None
            self._started = True
            out.append(self._grow(chunk))
            data = self._z.unconsumed_tail
            if self._z.eof:
                break
        return b"".join(out)

    def flush(self) -> bytes:
        try:
            return self._grow(self._z.flush())
        except zlib.error:
            raise FetchError("decoding", f"bad content encoding ({self.coding})") from None


class BodyDecoder:
    """Undo a ``Content-Encoding`` chain (``gzip, gzip``, ``deflate``, ...) while streaming, with the byte cap
    applied to what every step produces: a small body that decodes to gigabytes stops at the cap."""

    def __init__(self, content_encoding: str, cap: int):
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        unknown = [c for c in codings if c not in ("gzip", "x-gzip", "deflate")]
        if unknown:
            raise FetchError("decoding", f"unsupported content encoding {', '.join(unknown)!r}")
        if len(codings) > 4:
            raise FetchError("decoding", f"{len(codings)} content encodings in a chain; at most 4 are accepted")
        self.stages = [_Stage(c, cap) for c in reversed(codings)]  # the last coding applied is undone first
        self.cap = cap
        self.size = 0

    def feed(self, data: bytes) -> bytes:
        for stage in self.stages:
            data = stage.feed(data)
        return self._count(data)

    def flush(self) -> bytes:
        out = b""
        for stage in self.stages:  # what one step still held goes through the steps after it
            out = (stage.feed(out) if out else b"") + stage.flush()
        return self._count(out)

    def _count(self, data: bytes) -> bytes:
        self.size += len(data)
        if self.size > self.cap:
            raise FetchError("too_large", f"body is over the {self.cap} byte cap")
        return data


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            from datetime import UTC, datetime

            return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None


async def _read(response: httpx.Response, poll: PollConfig, etag: str | None, last_modified: str | None
                ) -> FetchResult:
    resp_headers = {k.lower(): v for k, v in response.headers.items()}
    if response.status_code == 304:
        return FetchResult(not_modified=True, headers=resp_headers, etag=resp_headers.get("etag", etag),
                           last_modified=resp_headers.get("last-modified", last_modified), status=304)
    if response.status_code >= 400:
        raise FetchError(
            "http",
            f"HTTP {response.status_code} {response.reason_phrase}".strip(),
            retry_after=_retry_after(resp_headers.get("retry-after")),
        )
    declared = resp_headers.get("content-length", "")
    if declared.isdigit() and int(declared) > poll.max_bytes:
        raise FetchError("too_large", f"body of {declared} bytes is over the {poll.max_bytes} cap")
    decoder = BodyDecoder(resp_headers.get("content-encoding", ""), poll.max_bytes)
    chunks, wire = [], 0
    async for raw in response.aiter_raw():  # decoded here, not by httpx: the cap holds for the decoded size
        wire += len(raw)
        if wire > poll.max_bytes:
            raise FetchError("too_large", f"body is over the {poll.max_bytes} byte cap")
        chunks.append(decoder.feed(raw))
    chunks.append(decoder.flush())
    return FetchResult(content=b"".join(chunks), headers=resp_headers, etag=resp_headers.get("etag"),
                       last_modified=resp_headers.get("last-modified"), status=response.status_code)


async def fetch(
    client: httpx.AsyncClient,
    location: str,
    poll: PollConfig,
    etag: str | None = None,
    last_modified: str | None = None,
    guard: bool = False,
) -> FetchResult:
    """The feed's bytes, or ``not_modified``; raises FetchError with a reason a person can read.

    ``guard``: the feed came from a chat, so every hop must be a public address (no SSRF)."""
    if is_remote(location):
        return await _fetch_remote(client, location, poll, etag, last_modified, guard)
    if guard:
        raise FetchError("refused", "feeds added from chat must be http(s) URLs")
    return await _fetch_local(location, poll.max_bytes)


async def _fetch_local(location: str, max_bytes: int) -> FetchResult:
    path = local_path(location)
    if urlparse(location).scheme not in ("", "file") and not path.exists():
        raise FetchError("unsupported", f"unsupported URL scheme in {location!r}")
    try:
        data = await asyncio.to_thread(_read_local, path, max_bytes)
    except FileNotFoundError:
        raise FetchError("not_found", f"no such file: {path}") from None
    except IsADirectoryError:
        raise FetchError("not_found", f"is a directory, not a feed file: {path}") from None
    except OSError as exc:
        raise FetchError("io", f"cannot read {path}: {exc.strerror or exc}") from None
    return FetchResult(content=data)


def _conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


async def _fetch_remote(client: httpx.AsyncClient, location: str, poll: PollConfig, etag: str | None,
                        last_modified: str | None, guard: bool) -> FetchResult:
    """One conditional GET within ``poll.timeout`` in all; every failure becomes a FetchError."""
    headers = _conditional_headers(etag, last_modified)
    try:
        async with asyncio.timeout(poll.timeout):
            if guard:
                return await _get_public(client, location, poll, headers, etag, last_modified)
            async with client.stream("GET", location, headers=headers) as response:
                return await _read(response, poll, etag, last_modified)
    except TimeoutError:
        raise FetchError("timeout", f"no complete answer within {poll.timeout:g} s") from None
    except httpx.TimeoutException:
        raise FetchError("timeout", "timed out") from None
    except httpx.TooManyRedirects:
        raise FetchError("redirects", f"more than {poll.max_redirects} redirects") from None
    except httpx.DecodingError as exc:
        raise FetchError("decoding", f"bad content encoding: {exc}") from None
    except httpx.InvalidURL as exc:
        raise FetchError("url", f"invalid URL: {exc}") from None
    except httpx.HTTPError as exc:
        raise FetchError("network", f"{type(exc).__name__}: {exc}") from None


async def _get_public(client: httpx.AsyncClient, location: str, poll: PollConfig, headers: dict[str, str],
                      etag: str | None, last_modified: str | None) -> FetchResult:
    """GET following redirects by hand: every hop is checked to be a public address before it is requested."""
    current = location
    for _ in range(poll.max_redirects + 1):
        try:
            await check_public_url(current)
        except UnsafeURL as exc:
            raise FetchError("refused", str(exc)) from None
        async with client.stream("GET", current, headers=headers, follow_redirects=False) as response:
            if not response.is_redirect:
                return await _read(response, poll, etag, last_modified)
            current = urljoin(current, response.headers.get("location", ""))
    raise FetchError("redirects", f"more than {poll.max_redirects} redirects")
