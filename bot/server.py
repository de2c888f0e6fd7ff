"""The process lifecycle: `BotServer` is what `python -m bot` runs and what the end-to-end tests
start in-process. It serves one aiohttp server (Slack events in HTTP mode, the Tencent webhook,
/healthz, /metrics), Socket Mode when an app token is set, and the background work (the digest
worker, the seen-event purge, the heartbeat, the change listener, the replay poller without a
webhook). Shutdown stops taking requests, lets in-flight look-ups finish, then closes the sessions
and the database. What it serves is built by `bot.compose.build`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import socket
from collections.abc import Callable

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot import http_guard
from bot import metrics as metrics_web
from bot.compose import Running, Tuning, build
from bot.config import Settings
from bot.core.clock import utcnow
from bot.core.poller import CALLS_WITH_RECORDINGS, ReplayPoller
from bot.core.records import JobState
from bot.core.storage import OpsStore
from bot.metrics import Metrics
from bot.web import build_web_app

log = logging.getLogger(__name__)

#: how long start-up waits for the change listener before serving without it
LISTENER_READY_SECONDS = 5.0
#: after the drain, how long digests get to finish the request they have under way (they send no
#: other) before they are cancelled: a request sent is answered, so no post is left unrecorded
CUT_SHORT_GRACE_SECONDS = 3.0


def _digest_backlog_reader(ops: OpsStore) -> metrics_web.Refresh:
    async def refresh(metrics: Metrics) -> None:
        now = utcnow()
        backlog = await ops.digest_backlog(now)
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
            access=running.access,
        )
        token = self.settings.metrics_token
        metrics_web.install(
            web_app,
            running.metrics,
            token=token.get_secret_value() if token else None,
            refresh=_digest_backlog_reader(running.database.storage.ops),
            on_webhook=running.heartbeat.webhook_received,
        )
        # The first beat before serving: a status asked right after start-up already counts us.
        await running.heartbeat.beat()
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
                history=running.tencent_client,
                give_up=self.settings.digest_give_up_seconds,
                calls_per_lookup=CALLS_WITH_RECORDINGS,
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
            # a digest cut short is handed back and taken up again by the next instance
            # (deliveries made are recorded, so nobody gets it twice).
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
            if not all(task.done() for task in background):
                # Digests still posting stop before their next message, with what they sent
                # recorded; cancelling one mid-post could leave a message Slack took unrecorded.
                running.digests.cut_short()
                await asyncio.wait(background, timeout=CUT_SHORT_GRACE_SECONDS)
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
