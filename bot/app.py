"""The composition root: builds every service from the settings and owns start-up and shutdown.

`BotServer` is what `python -m bot` runs and what the end-to-end tests start in-process: one aiohttp
server (Slack events in HTTP mode, the Tencent webhook, /healthz), Socket Mode when an app token is
set, and the digest worker. Shutdown stops taking requests, lets in-flight look-ups finish, then closes
the sessions and the database.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.metadata
import logging
import os
import signal
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot import http_guard
from bot import metrics as metrics_web
from bot.config import Settings
from bot.core.digest_queue import DigestQueue, DigestTiming
from bot.core.digest_rules import DigestRules
from bot.core.home import HomeSummary
from bot.core.identity import Identity, TencentDirectory
from bot.core.in_flight import InFlight
from bot.core.lookup import ReplayLookup
from bot.core.poller import ReplayPoller
from bot.core.recent import RecentMeetings
from bot.core.records import JobState
from bot.core.seen import SeenSlackEvents
from bot.core.status import HEARTBEAT_SECONDS, Heartbeat, Instance, OpsStatus
from bot.core.subscriptions import DigestSettings
from bot.core.visibility import MeetingAccess
from bot.meeting.client import CallObserver, TencentMeetingClient
from bot.meeting.quota import CallBudget
from bot.meeting.signing import Credentials
from bot.metrics import Metrics, SlackApiMeter
from bot.probes import slack_reachable, tencent_reachable
from bot.slack.answers import Answers
from bot.slack.app import SlackParts, build_bolt_app
from bot.slack.digest_sink import SlackDigestSink
from bot.slack.observe import answered
from bot.slack.poster import SlackPoster
from bot.slack.profiles import SlackProfiles
from bot.slack.responder import Responder
from bot.store import Database, open_database
from bot.store.notify import ChangeListener
from bot.web import MEETING_CREATORS, build_web_app

log = logging.getLogger(__name__)

#: how long start-up waits for the change listener before serving without it
LISTENER_READY_SECONDS = 5.0


def build_http_session() -> aiohttp.ClientSession:
    # One keep-alive pool for Slack, Tencent and response_url alike. No per-host cap: nearly every
    # call goes to one of two hosts (Slack's, for posts and response_url answers, takes most), and
    # the work in flight is bounded already (InFlight, and the Tencent call budget).
    connector = aiohttp.TCPConnector(limit=1_000, limit_per_host=0, keepalive_timeout=30)
    return aiohttp.ClientSession(connector=connector)


def build_slack_client(
    settings: Settings,
    http: aiohttp.ClientSession,
    meter: AsyncRetryHandler | None = None,
    *,
    retry_rate_limits: bool = True,
) -> AsyncWebClient:
    """A Web API client on the shared session. `SlackPoster`'s has `retry_rate_limits=False`: it
    waits out 429s itself, through its per-channel pacing, so its client must not retry them."""
    handlers: list[AsyncRetryHandler] = [
        # first: it sees every answer and never retries (bot.metrics.SlackApiMeter)
        *([meter] if meter else []),
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        AsyncServerErrorRetryHandler(max_retry_count=2),
    ]
    if retry_rate_limits:
        handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=5))
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        session=http,
        timeout=10,
        retry_handlers=handlers,
    )


def build_tencent_client(
    settings: Settings, http: aiohttp.ClientSession, observer: CallObserver | None = None
) -> TencentMeetingClient:
    credentials = Credentials(
        app_id=settings.tencent_meeting_app_id,
        secret_id=settings.tencent_meeting_secret_id,
        secret_key=settings.tencent_meeting_secret_key.get_secret_value(),
        sdk_id=settings.tencent_meeting_sdk_id,
    )
    return TencentMeetingClient(
        http,
        credentials,
        base_url=settings.tencent_meeting_api_url,
        instance_id=settings.tencent_meeting_instance_id,
        # transit: a call reaches Tencent a network hop after its turn, and hops vary
        budget=CallBudget(settings.tencent_meeting_calls_per_minute, transit=1.0),
        observer=observer,
    )


def app_version() -> str:
    try:
        return importlib.metadata.version("replays-bot")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class Tuning:
    """Timings that tests shorten (production uses the defaults; none is an environment variable)."""

    #: how long a link read from the database is reused from memory (see bot.core.identity)
    link_ttl: float = 15.0
    heartbeat_interval: float = HEARTBEAT_SECONDS
    #: the first pause before the change listener connects again (it doubles, up to 30 s)
    listener_backoff: float = 0.5


@dataclass
class Running:
    """What one instance is made of, as far as start-up and shutdown need to know."""

    http: aiohttp.ClientSession
    database: Database
    slack: AsyncWebClient
    lookup: ReplayLookup
    #: Tencent's ended-meetings history, read by the poller when there is no webhook
    history: TencentMeetingClient
    digests: DigestRules
    access: MeetingAccess
    seen: SeenSlackEvents
    in_flight: InFlight
    bolt: AsyncApp
    metrics: Metrics
    heartbeat: Heartbeat
    #: None on SQLite (one instance, nothing to hear)
    changes: ChangeListener | None


async def build(settings: Settings, tuning: Tuning | None = None) -> Running:
    """Every part of one instance, each handed exactly what it uses."""
    tuning = tuning or Tuning()
    metrics = Metrics()
    meter = SlackApiMeter(metrics)
    database = await open_database(settings.database_url)
    storage = database.storage
    http = build_http_session()
    slack = build_slack_client(settings, http, meter)
    tencent = build_tencent_client(settings, http, observer=metrics)
    lookup = ReplayLookup(tencent)
    profiles = SlackProfiles(slack)
    operator = settings.tencent_meeting_operator_id
    identity = Identity(
        storage.links,
        profiles,
        tencent,
        operator_id=operator,
        admins=settings.bot_admins,
        directory=TencentDirectory(tencent, operator) if operator else None,
        link_ttl=tuning.link_ttl,
    )
    poster = SlackPoster(build_slack_client(settings, http, meter, retry_rate_limits=False))
    timing = DigestTiming(
        delay=settings.digest_delay_seconds, give_up=settings.digest_give_up_seconds
    )
    digests = DigestRules(
        storage,
        DigestQueue(storage.digest_jobs, timing=timing, observer=metrics),
        lookup,
        SlackDigestSink(poster, profiles),
    )
    settings_use_case = DigestSettings(identity, lookup, storage.subscriptions, storage.preferences)
    seen = SeenSlackEvents(storage.events)
    in_flight = InFlight(on_finish=answered(metrics))
    # Read when Prometheus scrapes, so they cost nothing in between.
    metrics.in_flight.set_function(lambda: in_flight.count)
    metrics.budget_used.set_function(tencent.budget.in_window)
    metrics.budget_limit.set(tencent.budget.calls_per_period)
    now = datetime.now(UTC)
    host = socket.gethostname()
    instance = Instance(
        instance_id=f"{host}-{os.getpid()}-{uuid.uuid4().hex[:6]}",
        host=host,
        version=app_version(),
        started_at=now,
        last_seen=now,
    )
    heartbeat = Heartbeat(database.ops, instance, interval=tuning.heartbeat_interval)
    status = OpsStatus(
        database.ops,
        instance_id=instance.instance_id,
        version=instance.version,
        budget=tencent.budget,
        tencent=lambda: tencent_reachable(tencent, operator),
        slack=lambda: slack_reachable(slack),
    )
    access = MeetingAccess(identity, lookup, storage.meetings, storage.visibility, storage.links)
    changes = database.change_listener(backoff=tuning.listener_backoff)
    if changes is not None:
        changes.on("link", lambda change: identity.forget_link(change["team"], change["user"]))
        changes.on_resync(identity.forget_all_links)
        # "user" is the creator's Tencent userid for this kind
        changes.on(
            "visibility", lambda change: access.forget_visibility(change["team"], change["user"])
        )
        changes.on_resync(access.forget_all_visibility)
    recent = RecentMeetings(tencent, lookup, storage.meetings)
    parts = SlackParts(
        answers=Answers(identity, access, settings_use_case, recent, status=status),
        identity=identity,
        access=access,
        profiles=profiles,
        poster=poster,
        responder=Responder(http),
        seen=seen,
        in_flight=in_flight,
        home=HomeSummary(identity, access, recent, storage.subscriptions, storage.preferences),
        settings=settings_use_case,
    )
    return Running(
        http=http,
        database=database,
        slack=slack,
        lookup=lookup,
        history=tencent,
        digests=digests,
        access=access,
        seen=seen,
        in_flight=in_flight,
        bolt=build_bolt_app(settings, slack, parts, metrics),
        metrics=metrics,
        heartbeat=heartbeat,
        changes=changes,
    )


def _digest_backlog_reader(database: Database) -> metrics_web.Refresh:
    async def refresh(metrics: Metrics) -> None:
        now = datetime.now(UTC)
        backlog = await database.ops.digest_backlog(now)
        # Every state, zeros included: a series that comes and goes is hard to alert on.
        counts = {state.value: backlog.by_state.get(state.value, 0) for state in JobState}
        metrics.set_digest_backlog(counts, backlog.oldest_due_age(now))

    return refresh


class BotServer:
    def __init__(
        self, settings: Settings, *, host: str = "0.0.0.0", tuning: Tuning | None = None
    ) -> None:
        self.settings = settings
        self.host = host
        self.tuning = tuning
        self.port: int | None = None
        self.running: Running | None = None
        self._runner: web.AppRunner | None = None
        self._socket_mode: AsyncSocketModeHandler | None = None
        self._stop_worker = asyncio.Event()
        self._background: list[asyncio.Task[None]] = []
        self._stopped = False

    async def start(self) -> int:
        """Build everything and start serving; returns the bound port (PORT=0 picks a free one)."""
        running = self.running = await build(self.settings, self.tuning)
        web_app = build_web_app(
            self.settings,
            running.bolt,
            digests=running.digests,
            in_flight=running.in_flight,
            database_ping=running.database.ping,
        )
        token = self.settings.metrics_token
        metrics_web.install(
            web_app,
            running.metrics,
            token=token.get_secret_value() if token else None,
            refresh=_digest_backlog_reader(running.database),
            on_webhook=running.heartbeat.webhook_received,
        )
        # The first beat before serving: a status asked right after start-up already counts us.
        await running.heartbeat.beat()
        web_app[MEETING_CREATORS] = running.access
        self._runner = http_guard.app_runner(web_app)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.settings.port))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        if self.settings.slack_app_token is not None:
            self._socket_mode = AsyncSocketModeHandler(
                running.bolt, self.settings.slack_app_token.get_secret_value()
            )
            await self._socket_mode.connect_async()
        stop = self._stop_worker
        self._background = [
            asyncio.create_task(running.digests.run(stop), name="digest worker"),
            asyncio.create_task(running.seen.run_purge(stop), name="seen-event purge"),
            asyncio.create_task(running.heartbeat.run(stop), name="heartbeat"),
        ]
        if running.changes is not None:
            self._background.append(
                asyncio.create_task(running.changes.run(stop), name="change listener")
            )
            # Changes made elsewhere must reach us from our first request on; a listener that
            # cannot connect yet is left to retry (caches expire meanwhile, as without one).
            if not await running.changes.wait_listening(LISTENER_READY_SECONDS):
                log.warning(
                    "not hearing other instances' changes yet; cached links expire in %g s",
                    (self.tuning or Tuning()).link_ttl,
                )
        if self.settings.tencent_webhook_token is None:
            # No webhook, so no meeting.end will come: watch the subscribed codes and the
            # meeting history of everyone subscribed to all their meetings instead.
            poller = ReplayPoller(
                running.lookup,
                running.digests,
                running.database.storage,
                delay=self.settings.digest_delay_seconds,
                calls_per_minute=self.settings.tencent_meeting_calls_per_minute,
                history=running.history,
                give_up=self.settings.digest_give_up_seconds,
            )
            self._background.append(asyncio.create_task(poller.run(stop), name="replay poller"))
        mode = "Socket Mode" if self.settings.socket_mode else "HTTP"
        log.info("serving on port %s (%s)", self.port, mode)
        return self.port

    async def stop(self, *, drain_timeout: float = 10.0) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._socket_mode is not None:
            await self._socket_mode.close_async()
        if self._runner is not None:
            # Stop accepting requests first (closing the port and idle keep-alive connections, so a
            # balancer sends new ones elsewhere) and let running handlers return their acks; the
            # work they started after the ack is drained below. `shutdown()` alone only runs hooks.
            await self._runner.cleanup()
        self._stop_worker.set()
        if (running := self.running) is not None:
            # Digests under way and answers owed to people finish together, within the timeout;
            # a digest cut short is taken up again when its lease runs out (deliveries made are
            # recorded, so nobody gets it twice).
            background = self._background
            drain = running.in_flight.drain(drain_timeout)
            if background:
                drained, _ = await asyncio.gather(
                    drain, asyncio.wait(background, timeout=drain_timeout)
                )
            else:
                drained = await drain
            if not drained:
                log.warning("shutdown: %d look-ups still running", running.in_flight.count)
            for task in background:
                if not task.done():
                    log.warning("shutdown: cutting %s short", task.get_name())
                    task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await running.http.close()
            await running.database.close()
        log.info("stopped")

    async def serve_forever(self, on_ready: Callable[[int], None] | None = None) -> None:
        """Serve until SIGINT or SIGTERM, as the process's one server; `on_ready` gets the port."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        port = await self.start()
        # The start-up heap (modules, models, the SQLAlchemy and Bolt machinery) lives as long as
        # the process: frozen, the cyclic collector's full passes stop walking it. (Raising the
        # collection thresholds too was measured and left alone: it saved CPU under saturation
        # but made single pauses long enough to show in the acknowledgement p99.)
        gc.collect()
        gc.freeze()
        if on_ready is not None:
            on_ready(port)
        try:
            await stop.wait()
        finally:
            log.info("shutting down")
            await self.stop()
