"""The composition root: builds every service from the settings and owns start-up and shutdown.

`BotServer` is what `python -m bot` runs and what the end-to-end tests start in-process: one aiohttp
server (Slack events in HTTP mode, the Tencent webhook, /healthz), Socket Mode when an app token is
set, and the digest worker. Shutdown stops taking requests, lets in-flight look-ups finish, then closes
the sessions and the database.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot import http_guard
from bot.config import Settings
from bot.core.digest_queue import DigestQueue, DigestTiming
from bot.core.digest_rules import DigestRules
from bot.core.identity import Identity, TencentDirectory
from bot.core.in_flight import InFlight
from bot.core.lookup import ReplayLookup
from bot.core.poller import ReplayPoller
from bot.core.seen import SeenSlackEvents
from bot.core.subscriptions import DigestSettings
from bot.meeting.client import TencentMeetingClient
from bot.meeting.quota import CallBudget
from bot.meeting.signing import Credentials
from bot.slack.answers import Answers
from bot.slack.app import SlackParts, build_bolt_app
from bot.slack.digest_sink import SlackDigestSink
from bot.slack.poster import SlackPoster
from bot.slack.profiles import SlackProfiles
from bot.slack.responder import Responder
from bot.store import Database, open_database
from bot.web import build_web_app

log = logging.getLogger(__name__)


def build_http_session() -> aiohttp.ClientSession:
    # One keep-alive pool for Slack, Tencent and response_url alike. No per-host cap: nearly every
    # call goes to one of two hosts (Slack's, for posts and response_url answers, takes most), and
    # the work in flight is bounded already (InFlight, and the Tencent call budget).
    connector = aiohttp.TCPConnector(limit=1_000, limit_per_host=0, keepalive_timeout=30)
    return aiohttp.ClientSession(connector=connector)


def build_slack_client(settings: Settings, http: aiohttp.ClientSession) -> AsyncWebClient:
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        session=http,
        timeout=10,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=5),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def posting_client(settings: Settings, http: aiohttp.ClientSession) -> AsyncWebClient:
    """A Web API client for `SlackPoster`: it waits out 429s itself, through its per-channel pacing,
    so this client must not retry them on its own."""
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        session=http,
        timeout=10,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def build_tencent_client(settings: Settings, http: aiohttp.ClientSession) -> TencentMeetingClient:
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
        budget=CallBudget(settings.tencent_meeting_calls_per_minute),
    )


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
    seen: SeenSlackEvents
    in_flight: InFlight
    bolt: AsyncApp


async def build(settings: Settings) -> Running:
    """Every part of one instance, each handed exactly what it uses."""
    database = await open_database(settings.database_url)
    storage = database.storage
    http = build_http_session()
    slack = build_slack_client(settings, http)
    tencent = build_tencent_client(settings, http)
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
    )
    poster = SlackPoster(posting_client(settings, http))
    timing = DigestTiming(
        delay=settings.digest_delay_seconds, give_up=settings.digest_give_up_seconds
    )
    digests = DigestRules(
        storage,
        DigestQueue(storage.digest_jobs, timing=timing),
        lookup,
        SlackDigestSink(poster, profiles),
    )
    settings_use_case = DigestSettings(identity, lookup, storage.subscriptions, storage.preferences)
    seen = SeenSlackEvents(storage.events)
    in_flight = InFlight()
    parts = SlackParts(
        answers=Answers(identity, lookup, settings_use_case),
        identity=identity,
        lookup=lookup,
        profiles=profiles,
        poster=poster,
        responder=Responder(http),
        seen=seen,
        in_flight=in_flight,
    )
    return Running(
        http=http,
        database=database,
        slack=slack,
        lookup=lookup,
        history=tencent,
        digests=digests,
        seen=seen,
        in_flight=in_flight,
        bolt=build_bolt_app(settings, slack, parts),
    )


class BotServer:
    def __init__(self, settings: Settings, *, host: str = "0.0.0.0") -> None:
        self.settings = settings
        self.host = host
        self.port: int | None = None
        self.running: Running | None = None
        self._runner: web.AppRunner | None = None
        self._socket_mode: AsyncSocketModeHandler | None = None
        self._stop_worker = asyncio.Event()
        self._background: list[asyncio.Task[None]] = []
        self._stopped = False

    async def start(self) -> int:
        """Build everything and start serving; returns the bound port (PORT=0 picks a free one)."""
        running = self.running = await build(self.settings)
        web_app = build_web_app(
            self.settings,
            running.bolt,
            digests=running.digests,
            in_flight=running.in_flight,
            database_ping=running.database.ping,
        )
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
        ]
        if self.settings.tencent_webhook_token is None:
            # No webhook, so no meeting.end will come: watch the subscribed codes and the
            # meeting history of everyone subscribed to all their meetings instead.
            poller = ReplayPoller(
                running.lookup,
                running.digests,
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
