"""config.yaml + environment → typed settings. Secrets come only from the environment."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.errors import ConfigError
from bot.yamlfile import (
    CONFIG_LIMITS,
    YMap,
    display_path,
    item_line,
    key_line,
    plain,
    read_yaml_file,
    validation_errors,
)

DEFAULT_DATABASE = "sqlite+aiosqlite:///rasad.db"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FeedConfig(_Strict):
    """One entry of ``feeds:``: a ``url`` (with its ``name``), or a directory entry (``preset: un-news-ar``), a
    pack of them (``pack: syria-core``) or an RSSHub route (``route: /aljazeera/middle-east``, needs ``rsshub:``)."""

    name: str | None = Field(default=None, min_length=1)
    url: str | None = Field(default=None, min_length=1)  # http(s) URL, file:// URL or a local path
    preset: str | None = Field(default=None, min_length=1)
    pack: str | None = Field(default=None, min_length=1)
    route: str | None = Field(default=None, min_length=1)
    language: Literal["ar", "en"] | None = None
    interval: int | None = Field(default=None, ge=10, le=7 * 86400)

    @model_validator(mode="after")
    def _one_source(self) -> FeedConfig:
        given = [k for k in ("url", "preset", "pack", "route") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("a feed needs exactly one of url, preset, pack or route")
        if self.url and not self.name:
            raise ValueError("a feed given by url needs a name")
        return self


@dataclass(frozen=True)
class ResolvedFeed:
    """A configured feed once presets, packs and routes are expanded: what the poller stores."""

    url: str
    name: str
    language: str | None
    interval: int | None


class ConsoleConfig(_Strict):
    language: Literal["ar", "en"] = "en"
    watchlists: Literal["all"] | list[str] = "all"


class PollConfig(_Strict):
    interval: int = Field(default=300, ge=10, le=7 * 86400)  # default per-feed interval, seconds
    tick: float = Field(default=10, gt=0, le=300)  # how often the store is asked which feeds are due
    timeout: float = Field(default=20, gt=0, le=300)  # total seconds for one fetch
    connect_timeout: float = Field(default=10, gt=0, le=120)
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_redirects: int = Field(default=5, ge=0, le=20)
    concurrency: int = Field(default=8, ge=1, le=256)
    per_host: int = Field(default=2, ge=1, le=64)  # fetches at the same time to one host
    min_interval: int = Field(default=60, ge=10)  # bounds for what feeds ask (Cache-Control max-age, <ttl>)
    max_interval: int = Field(default=6 * 3600, ge=60)
    broken_after: int = Field(default=10, ge=1, le=1000)  # failures in a row before a feed is marked broken
    broken_retry: int = Field(default=6 * 3600, ge=60)  # seconds between tries of a broken feed
    allow_private: bool = False  # feeds added from chat may reach private or loopback addresses
    rules_check: float = Field(default=5, gt=0, le=3600)  # seconds between checks of the rules files
    user_agent: str = "Rasad/0.1 (+https://github.com/rasad; diplomatic news monitor)"
    adaptive: bool = True  # learn each feed's interval from its publishing times (within min/max_interval)
    # a quiet feed is still asked at least this often: a rare item (a ministry's statement) waits minutes, not hours
    adaptive_max: int = Field(default=1800, ge=60)
    push_interval: int = Field(default=3600, ge=60)  # the safety-net poll of a feed pushed by a WebSub hub
    websub_lease: int = Field(default=86400, ge=300)  # lease asked of hubs (seconds); renewed before expiry


class TelegramConfig(_Strict):
    api_url: str = "https://api.telegram.org"  # TELEGRAM_API_URL in the environment wins
    admins: list[int] = Field(default_factory=list)  # Telegram user ids allowed to manage feeds
    link_previews: bool = False
    poll_timeout: int = Field(default=25, ge=0, le=60)  # long-polling timeout, seconds
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None  # public https URL that reaches http.port; the path /telegram/webhook is added


class SlackConfig(_Strict):
    api_url: str = "https://slack.com/api/"  # SLACK_API_URL in the environment wins
    admins: list[str] = Field(default_factory=list)  # Slack user ids allowed to manage feeds


class HttpConfig(_Strict):
    host: str = "0.0.0.0"  # noqa: S104 - a service in a container listens on all interfaces
    port: int = Field(default=8080, ge=0, le=65535)  # 0: any free port
    enabled: bool = False  # on by itself in webhook mode
    # the address the world reaches this server at (https://your.host): WebSub hubs push to
    # <public_url>/websub/<feed id>; without it, feeds are only polled
    public_url: str | None = None


class DeliveryConfig(_Strict):
    tick: float = Field(default=2, gt=0, le=60)
    max_attempts: int = Field(default=8, ge=1, le=100)
    # a send whose outcome is unknown (timeout after sending; a process killed mid-send) is resent after this
    unknown_outcome_delay: float = Field(default=60, ge=0, le=3600)
    lease: float = Field(default=120, ge=1, le=3600)  # seconds a worker holds claimed deliveries
    # seconds between two edits of one sent alert whose story grew (issue 15): the last state wins
    edit_coalesce: float = Field(default=30, ge=0, le=3600)


class StoriesConfig(_Strict):
    """Developing stories (issue 15): marked once when this many distinct feeds carry a story within the window;
    chats that ran /follow developing on then get one follow-up."""

    developing_sources: int = Field(default=5, ge=2, le=1000)
    developing_window: float = Field(default=3600, gt=0, le=7 * 86400)  # seconds


class Settings(_Strict):
    database: str = DEFAULT_DATABASE
    rules: str = "rules/"
    # the compiled rules cached by content hash; None: $XDG_CACHE_HOME/rasad (~/.cache/rasad); "": no cache
    rules_cache: str | None = None
    # where items are matched: inline (this process), process (a child process: a rules reload never holds the
    # event loop), auto (a child process from 10,000 aliases on)
    matching: Literal["auto", "process", "inline"] = "auto"
    sources: str | None = None  # the source directory; default: the shipped sources/directory.yaml
    rsshub: str | None = None  # an RSSHub instance (https://rsshub.example.org) for `route:` feeds
    feeds: list[FeedConfig] = Field(default_factory=list)
    console: ConsoleConfig = Field(default_factory=ConsoleConfig)
    poll: PollConfig = Field(default_factory=PollConfig)
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    stories: StoriesConfig = Field(default_factory=StoriesConfig)
    telegram: TelegramConfig = Field(default_factory=TelegramConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    slack: SlackConfig = Field(default_factory=SlackConfig)
    # secrets: from the environment only, never from YAML, never logged
    telegram_token: str | None = Field(default=None, exclude=True, repr=False)
    telegram_webhook_secret: str | None = Field(default=None, exclude=True, repr=False)
    slack_bot_token: str | None = Field(default=None, exclude=True, repr=False)
    slack_app_token: str | None = Field(default=None, exclude=True, repr=False)
    slack_signing_secret: str | None = Field(default=None, exclude=True, repr=False)
    # not from YAML: where the file was, to resolve relative paths
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)
    # not from YAML: lint warnings of the file (``file:line: warning: ...``), set by load_settings
    _warnings: list[str] = PrivateAttr(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return self._warnings

    @field_validator("feeds")
    @classmethod
    def _unique_urls(cls, feeds: list[FeedConfig]) -> list[FeedConfig]:
        seen = set()
        for feed in feeds:
            if feed.url is None:
                continue
            if feed.url in seen:
                raise ValueError(f"feed url listed twice: {feed.url}")
            seen.add(feed.url)
        return feeds

    @property
    def rules_dir(self) -> Path:
        return self.resolve_path(self.rules)

    @property
    def rules_cache_dir(self) -> Path | None:
        if self.rules_cache is None:
            return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rasad"
        return self.resolve_path(self.rules_cache) if self.rules_cache else None

    def resolve_path(self, value: str) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    @property
    def directory_path(self) -> Path | None:
        """``sources:``, else ``sources/directory.yaml`` beside the config file, else the shipped one (None)."""
        if self.sources:
            return self.resolve_path(self.sources)
        beside = self.base_dir / "sources" / "directory.yaml"
        return beside if beside.is_file() else None

    def resolved_feeds(self) -> list[ResolvedFeed]:
        """Every configured feed with presets, packs and routes expanded (a URL listed twice is kept once);
        raises ConfigError naming the entry when a preset, pack or route cannot be resolved."""
        from bot.feeds.directory import load_directory, rsshub_url

        needs_directory = any(f.preset or f.pack for f in self.feeds)
        directory = load_directory(self.directory_path) if needs_directory else None
        out: dict[str, ResolvedFeed] = {}
        problems = []
        for i, feed in enumerate(self.feeds):
            if feed.url:
                entries = [ResolvedFeed(self.feed_location(feed.url), feed.name or feed.url, feed.language,
                                        feed.interval)]
            elif feed.route:
                if not self.rsshub:
                    problems.append(f"feeds.{i}: route {feed.route!r} needs `rsshub:` (an RSSHub instance URL)")
                    continue
                entries = [ResolvedFeed(rsshub_url(self.rsshub, feed.route), feed.name or f"RSSHub {feed.route}",
                                        feed.language, feed.interval)]
            else:
                assert directory is not None
                sources = ([directory.find(feed.preset)] if feed.preset else directory.pack(feed.pack or ""))
                if not sources or sources[0] is None:
                    what = f"preset {feed.preset!r}" if feed.preset else f"pack {feed.pack!r}"
                    problems.append(f"feeds.{i}: unknown {what} (see `rasad feeds directory`)")
                    continue
                entries = []
                for source in sources:
                    assert source is not None
                    location = source.location(self.rsshub)
                    if location is None:
                        problems.append(f"feeds.{i}: {source.id} is an RSSHub route and needs `rsshub:`")
                        continue
                    entries.append(ResolvedFeed(location, feed.name if feed.preset and feed.name else source.name,
                                                feed.language or source.feed_language, feed.interval))
            for entry in entries:
                out.setdefault(entry.url, entry)
        if problems:
            raise ConfigError(problems)
        return list(out.values())

    def feed_location(self, url: str) -> str:
        """A feed's URL, with a relative local path made absolute against the config file's folder."""
        if "://" in url:
            return url
        return str(self.resolve_path(url))


def _interval_warnings(settings: Settings, doc: YMap | None, file: str) -> list[str]:
    """Intervals the poller will not use as written: it keeps every interval within poll.min/max_interval."""
    poll, out = settings.poll, []
    poll_node = doc.get("poll") if isinstance(doc, YMap) else None
    feed_nodes = doc.get("feeds") if isinstance(doc, YMap) else None

    def check(where: str, interval: int, line: int) -> None:
        if interval < poll.min_interval:
            out.append(f"{file}:{line}: warning: {where}: {interval} s is below poll.min_interval "
                       f"({poll.min_interval} s), so it is polled every {poll.min_interval} s")
        elif interval > poll.max_interval:
            out.append(f"{file}:{line}: warning: {where}: {interval} s is above poll.max_interval "
                       f"({poll.max_interval} s), so it is polled every {poll.max_interval} s")

    check("poll.interval", poll.interval, key_line(poll_node, "interval", key_line(doc, "poll", 1)))
    for i, feed in enumerate(settings.feeds):
        if feed.interval is not None:
            node = feed_nodes[i] if isinstance(feed_nodes, list) and i < len(feed_nodes) else None
            check(f"feeds.{i}.interval (feed {feed.name or feed.preset or feed.pack or feed.route!r})", feed.interval,
                  key_line(node, "interval", key_line(doc, "feeds", 1)))
    return out


_HUB_LINK = re.compile(rb"""<(?:atom:)?link\b[^>]*\brel\s*=\s*["']?hub\b""", re.I)
HUB_SNIFF_BYTES = 65536


def _declares_hub(path: Path) -> bool:
    """A local feed file whose start declares a WebSub hub (``<atom:link rel="hub">``); unreadable: no."""
    try:
        with path.open("rb") as handle:
            return _HUB_LINK.search(handle.read(HUB_SNIFF_BYTES)) is not None
    except OSError:
        return False


def _websub_warnings(settings: Settings, doc: YMap | None, file: str) -> list[str]:
    """Cheap, offline: WebSub settings or a local feed declaring a hub, while no ``http.public_url`` lets a hub
    reach this bot (remote feeds' hubs are shown live by ``rasad feeds check``)."""
    if settings.http.public_url:
        return []
    out = []
    poll_node = doc.get("poll") if isinstance(doc, YMap) else None
    for key in ("push_interval", "websub_lease"):
        if isinstance(poll_node, YMap) and key in poll_node:
            out.append(f"{file}:{key_line(poll_node, key, 1)}: warning: poll.{key} is set but http.public_url is "
                       "not: no WebSub hub can push to this bot, every feed is polled")
    feed_nodes = doc.get("feeds") if isinstance(doc, YMap) else None
    for i, feed in enumerate(settings.feeds):
        if feed.url and "://" not in feed.url and _declares_hub(settings.resolve_path(feed.url)):
            node = feed_nodes[i] if isinstance(feed_nodes, list) and i < len(feed_nodes) else None
            out.append(f"{file}:{key_line(node, 'url', key_line(doc, 'feeds', 1))}: warning: feeds.{i} (feed "
                       f"{feed.name!r}) declares a WebSub hub, but http.public_url is not set: it is polled, "
                       "not pushed")
    return out


def load_settings(path: str | Path | None, env: Mapping[str, str] | None = None) -> Settings:
    """Read config.yaml (or defaults when ``path`` is None) and apply the environment."""
    path = None if path is None else Path(path)
    settings = _read_settings(path) if path is not None else Settings.model_validate({"base_dir": Path.cwd()})
    _apply_environment(settings, os.environ if env is None else env)
    _check_platform_secrets(settings, f"{path or 'config'}:0")
    return settings


def _read_settings(path: Path) -> Settings:
    """The settings of the config file at ``path``, with its lint warnings; raises ConfigError (``file:line``)."""
    file = display_path(path)
    doc = _read_document(path, file)
    base_dir = path.resolve().parent
    try:
        raw = plain(doc or {})
        _refuse_secrets(raw, doc, file)
        settings = Settings.model_validate({**raw, "base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError([f"{file}:{line}: {msg}" for line, msg in validation_errors(exc, doc, 1)]) from None
    settings._warnings = _interval_warnings(settings, doc, file) + _websub_warnings(settings, doc, file)
    _check_feed_sources(settings, doc, file)
    return settings


def _check_feed_sources(settings: Settings, doc: YMap | None, file: str) -> None:
    """Presets, packs and routes that name nothing are errors with the line of their entry."""
    try:
        settings.resolved_feeds()
    except ConfigError as exc:
        feed_nodes = doc.get("feeds") if isinstance(doc, YMap) else None
        out = []
        for message in exc.messages:
            index = message.split(":", 1)[0].removeprefix("feeds.")
            line = (item_line(feed_nodes, int(index), key_line(doc, "feeds", 1)) if index.isdigit()
                    else key_line(doc, "feeds", 1))
            out.append(message if message.startswith(file) else f"{file}:{line}: {message}")
        raise ConfigError(out) from None


def _read_document(path: Path, file: str) -> YMap | None:
    try:
        doc, problem = read_yaml_file(path, CONFIG_LIMITS)
    except OSError as exc:
        raise ConfigError([f"{file}:0: cannot read config: {exc.strerror or exc}"]) from None
    if problem is not None:
        raise ConfigError([f"{file}:{problem[0]}: {problem[1]}"])
    if doc is not None and not isinstance(doc, YMap):
        raise ConfigError([f"{file}:1: the config must be a mapping of keys"])
    return doc


def _refuse_secrets(raw: dict[str, Any], doc: YMap | None, file: str) -> None:
    """Tokens and secrets come from the environment only: a config file that holds one is refused."""
    key = next((k for k in raw if k.endswith(("_token", "_secret"))), None)
    if key is not None:
        raise ConfigError([f"{file}:{key_line(doc, key, 1)}: secrets never go in the config file: set "
                           f"{key.upper()} in the environment"])


def _apply_environment(settings: Settings, env: Mapping[str, str]) -> None:
    """What the environment sets: the database, the HTTP port, the platforms' API URLs, and every secret."""
    if env.get("DATABASE_URL"):
        settings.database = env["DATABASE_URL"]
    if env.get("HTTP_PORT"):
        settings.http.enabled = True
        settings.http.port = int(env["HTTP_PORT"])
    if env.get("TELEGRAM_API_URL"):
        settings.telegram.api_url = env["TELEGRAM_API_URL"]
    settings.telegram_token = env.get("TELEGRAM_BOT_TOKEN") or None
    settings.telegram_webhook_secret = env.get("TELEGRAM_WEBHOOK_SECRET") or None
    if env.get("SLACK_API_URL"):
        settings.slack.api_url = env["SLACK_API_URL"]
    settings.slack_bot_token = env.get("SLACK_BOT_TOKEN") or None
    settings.slack_app_token = env.get("SLACK_APP_TOKEN") or None
    settings.slack_signing_secret = env.get("SLACK_SIGNING_SECRET") or None


def _check_platform_secrets(settings: Settings, where: str) -> None:
    """Secrets a platform's mode needs together; raises ConfigError naming what is missing."""
    if settings.slack_bot_token and not (settings.slack_app_token or settings.slack_signing_secret):
        raise ConfigError([f"{where}: SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN (Socket Mode) "
                           "nor SLACK_SIGNING_SECRET (HTTP mode) is"])
    if settings.telegram_token and settings.telegram.mode == "webhook":
        problems = []
        if not settings.telegram.webhook_url:
            problems.append("telegram.webhook_url is needed in webhook mode")
        if not settings.telegram_webhook_secret:
            problems.append("TELEGRAM_WEBHOOK_SECRET must be set in the environment in webhook mode")
        if problems:
            raise ConfigError([f"{where}: {p}" for p in problems])
