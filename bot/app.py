"""Wiring only: builds every collaborator up front, starts and stops them, and schedules the jobs."""

from __future__ import annotations

import logging

from bot.adapters.base import Adapter
from bot.adapters.build import platform_adapters
from bot.adapters.console import sync_console_chat
from bot.commands.handlers import Commands
from bot.config import Settings
from bot.delivery.held import send_digests
from bot.delivery.notices import notify_admins, send_notices
from bot.delivery.outbox import Dispatcher
from bot.feeds.fetch import make_client
from bot.feeds.poll import Poller, PollSummary
from bot.feeds.sources import FeedSources
from bot.feeds.websub import WebSub
from bot.http.health import Health
from bot.http.metrics import Metrics
from bot.http.server import HttpServer
from bot.jobs import Jobs
from bot.rules.holder import RulesHolder
from bot.store import Store

log = logging.getLogger(__name__)

ROLES = ("all", "poll", "deliver", "bot")
MATCHING_ROLES = ("all", "poll", "bot")  # these match items or resolve command queries


class Application:
    """``role``: all, or one share of the work when several processes use one PostgreSQL database: poll (fetch,
    match, create deliveries), deliver (send alerts, digests and notices), bot (answer chat commands).
    ``adapters`` None: Telegram and/or Slack when their tokens are set, else the console."""

    def __init__(self, settings: Settings, adapters: list[Adapter] | None = None, role: str = "all"):
        self.settings = settings
        self.role = role
        self.metrics = Metrics()
        # a broken or empty rule set raises ConfigError here
        self.rules = RulesHolder(settings.rules_dir, settings.rules_cache_dir, settings.matching,
                                 eager=role in MATCHING_ROLES)
        self.store = Store(settings.database)
        self.store.followups.threshold = settings.stories.developing_sources  # developing stories (issue 15)
        self.store.followups.window = settings.stories.developing_window
        self.health = Health(self.store, self.metrics, role)
        self.client = make_client(settings.poll)
        self.sources = FeedSources(settings.directory_path, settings.rsshub, settings.poll, self.client)
        self.commands = Commands(self.store, self.rules.current, allow_private_feeds=settings.poll.allow_private,
                                 sources=self.sources)
        self.http = HttpServer(settings.http.host, settings.http.port, self.health.report) \
            if self._needs_http() else None
        if adapters is None:
            adapters = platform_adapters(settings, self.commands, self.http, self.store, role)
        self.adapters = {a.platform: a for a in adapters}
        self.dispatcher = Dispatcher(self.store, self.adapters, settings.delivery.max_attempts,
                                     unknown_outcome_delay=settings.delivery.unknown_outcome_delay,
                                     lease=settings.delivery.lease, metrics=self.metrics,
                                     edit_coalesce=settings.delivery.edit_coalesce)
        self.poller = Poller(self.store, settings.poll, self.client, self.rules, self.health, self.metrics,
                             self.notify_admins)
        self.jobs = Jobs(self.health)
        self.websub = WebSub(self.store, self.client, settings.http.public_url, settings.poll, self.metrics,
                             self._pushed) if settings.http.public_url and self.http is not None else None
        if self.websub is not None:
            self.poller.on_hub = self.websub.noticed
            self.sources.push_count = self.websub.subs.active_count

    def _needs_http(self) -> bool:
        s = self.settings
        webhook = bool(s.telegram_token) and s.telegram.mode == "webhook"
        slack_http = bool(s.slack_bot_token) and not s.slack_app_token
        return s.http.enabled or webhook or slack_http or bool(s.http.public_url)

    # ------------------------------------------------------------ start and stop

    async def start(self) -> None:
        """Migrate the store, sync feeds and the console chat, start the HTTP server and the adapters."""
        for warning in self.settings.warnings:  # e.g. an interval the poller raises to poll.min_interval
            log.warning("%s", warning)
        log.info("database: %s", self.store.describe())
        await self.store.migrate()
        await self.store.feeds.sync_config([(f.url, f.name, f.language, f.interval)
                                            for f in self.settings.resolved_feeds()])
        if not self.store.shared:  # one process owns a SQLite store; workers on PostgreSQL rely on leases
            delay = self.settings.delivery.unknown_outcome_delay
            if requeued := await self.store.deliveries.requeue_interrupted(delay):
                log.warning("%d deliveries were interrupted mid-send by the last stop; they will be sent again "
                            "in %g s", requeued, delay)
        if self.role in MATCHING_ROLES:
            await self.rules.warm()
        if "console" in self.adapters:
            await sync_console_chat(self.store, self.settings.console, self.rules.rule_set)
        if self.http is not None:
            self.http.add_route("GET", "/metrics", self.health.metrics_endpoint)
            if self.websub is not None:
                self.http.add_route("GET", "/websub/{feed_id}", self.websub.verify)
                self.http.add_route("POST", "/websub/{feed_id}", self.websub.receive)
            await self.http.start()
        for adapter in self.adapters.values():
            await adapter.start()

    async def stop(self) -> None:
        for adapter in self.adapters.values():
            try:
                await adapter.stop()
            except Exception:  # noqa: BLE001
                log.exception("stopping the %s adapter failed", adapter.platform)
        if self.http is not None:
            await self.http.stop()
        if self.websub is not None:
            await self.websub.drain()
        await self.client.aclose()
        await self.store.close()
        await self.rules.close()

    # ------------------------------------------------------------ the work

    async def notify_admins(self, key: str, **values: object) -> None:
        """Tell the bot administrators, each in their language, through the notices outbox."""
        await notify_admins(self.store, self.settings, key, values)

    async def deliver(self, summary: PollSummary | None = None) -> int:
        """Notices, then digests that are due, then alerts."""
        lease = self.settings.delivery.lease
        await send_notices(self.store, self.adapters, lease=lease)
        await send_digests(self.store, self.adapters, self.rules.rule_set, lease=lease)
        stats = await self.dispatcher.deliver_pending(self.rules.rule_set)
        if summary is not None:
            summary.alerts_sent += stats.sent
        return stats.sent

    async def run_once(self) -> PollSummary:
        """Poll every active feed once, whatever its schedule, then deliver what is due."""
        summary = PollSummary()
        await self.poller.poll_feeds(await self.store.feeds.all(), summary)
        await self.deliver(summary)
        return summary

    async def _poll_tick(self) -> None:
        if (await self.poller.poll_due()).deliveries_created:
            await self.deliver()

    async def _pushed(self, feed_id: int, content: bytes, headers: dict[str, str]) -> None:
        """A hub pushed content: through the poller's pipeline at once, then delivered at once."""
        if (await self.poller.ingest(feed_id, content, headers)).deliveries_created \
                and self.role in ("all", "deliver"):
            await self.deliver()

    async def _websub_tick(self) -> None:
        if self.websub is not None:
            await self.websub.maintain()
            self.poller.pushed = await self.websub.subs.active_feeds()

    async def _deliver_tick(self) -> None:
        await self.deliver()

    async def _rules_tick(self) -> None:
        reload = await self.rules.reload_if_changed()
        if reload.new_errors:
            await self.notify_admins("admin.rules_errors", errors="\n".join(reload.errors[:10]))

    async def _reclaim_tick(self) -> None:
        claimed, sending = await self.store.deliveries.reclaim_expired(self.settings.delivery.unknown_outcome_delay)
        if claimed or sending:
            log.warning("took back %d claimed and %d interrupted deliveries of a worker that stopped", claimed,
                        sending)

    async def run_forever(self) -> None:
        """The store is asked which feeds are due every ``poll.tick`` seconds; until SIGTERM."""
        s = self.settings
        self.jobs.every("rules", s.poll.rules_check, self._rules_tick)
        self.jobs.every("reclaim", min(15.0, s.delivery.lease), self._reclaim_tick)
        if self.role in ("all", "poll"):
            self.jobs.every("poll", s.poll.tick, self._poll_tick, at_once=True)
            if self.websub is not None:
                self.jobs.every("websub", s.poll.tick, self._websub_tick, at_once=True)
        if self.role in ("all", "deliver"):
            self.jobs.every("deliver", s.delivery.tick, self._deliver_tick, at_once=True)
        log.info("rasad running (role %s): %d feeds, adapters: %s", self.role, len(await self.store.feeds.all()),
                 ", ".join(self.adapters) or "none")
        await self.jobs.run_until_stopped()

    def request_stop(self) -> None:
        self.jobs.stopping.set()
