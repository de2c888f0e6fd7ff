"""Changes that every instance must see at once, announced through PostgreSQL's LISTEN/NOTIFY.

Each instance keeps recent links in memory (`bot.core.identity`), so that a look-up reads no
database. A change made through one instance must reach the others' memories: the store that
writes it (links, preferences) sends a NOTIFY on `CHANNEL` in the same transaction as the write
(PostgreSQL delivers it at commit, and never for a rolled-back write), and `ChangeListener`, on a
connection of its own in every instance, hands each announcement to the handlers registered for
its kind, which drop the cached copy.

The payload is a small JSON object, `{"kind": "link", "team": "T1", "user": "U1"}`; a kind nobody
registered for is ignored, so new kinds (a visibility setting, say) can be announced before every
instance handles them.

While the listening connection is down, announcements are lost: caches then expire as they always
did (a link within `link_ttl`), the connection is made again with growing pauses, and on its return
the `on_resync` handlers drop everything, since what changed meanwhile is unknown. SQLite runs one
instance, which needs none of this: nothing is sent, nothing listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.waiting import wait_until_set

log = logging.getLogger(__name__)

CHANNEL = "replays_changes"

Handler = Callable[[Mapping[str, str]], None]
Connect = Callable[[], Awaitable[Any]]


def change(kind: str, team: str, user: str) -> dict[str, str]:
    """The announcement of a change to one Slack user's `kind` of setting."""
    return {"kind": kind, "team": team, "user": user}


def announcement(payload: Mapping[str, str]) -> sa.Executable:
    """The statement that announces `payload`, to run in the transaction of the change."""
    return sa.select(sa.func.pg_notify(CHANNEL, json.dumps(dict(payload), sort_keys=True)))


def connector(engine: AsyncEngine) -> Connect:
    """Opens a plain asyncpg connection to `engine`'s database, with the arguments SQLAlchemy's
    own dialect would use (host, user, password, ssl...). Not from the pool: a listening
    connection is held for good, and the pool checks its connections in and out."""
    args, kwargs = engine.dialect.create_connect_args(engine.url)

    async def connect() -> Any:
        return await asyncpg.connect(*args, **kwargs)

    return connect


class ChangeListener:
    """LISTEN on `CHANNEL` over a connection of its own while `run` runs, reconnecting when it
    drops."""

    def __init__(
        self,
        connect: Connect,
        *,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        probe_interval: float = 15.0,
        connect_timeout: float = 10.0,
    ) -> None:
        self._connect = connect
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._probe_interval = probe_interval
        self._connect_timeout = connect_timeout
        self._handlers: dict[str, list[Handler]] = {}
        self._resync: list[Callable[[], None]] = []
        self._listening = asyncio.Event()
        #: the listening connection's backend process id, while it is up
        self.pid: int | None = None
        #: how many times a connection was made (the first one included)
        self.connections = 0

    def on(self, kind: str, handler: Handler) -> None:
        """Call `handler(payload)` for each announcement of `kind`."""
        self._handlers.setdefault(kind, []).append(handler)

    def on_resync(self, handler: Callable[[], None]) -> None:
        """Call `handler()` when listening resumes after a gap (announcements may have been lost)."""
        self._resync.append(handler)

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    async def wait_listening(self, within: float) -> bool:
        return await wait_until_set(self._listening, at_most=within)

    async def run(self, stop: asyncio.Event) -> None:
        delay = self._backoff
        # A gap without a connection gets one WARNING (its first failure, or the closed
        # connection that began it); its further attempts are INFO lines, so that a database
        # outage is not a WARNING every few seconds.
        warned = False
        while not stop.is_set():
            connections = self.connections
            try:
                await self._listen_once(stop)
                delay = self._backoff  # it was up: the next gap starts with a short pause again
            except Exception as error:
                reconnected = self.connections != connections
                level = logging.INFO if warned and not reconnected else logging.WARNING
                log.log(level, "change listener: %r; trying again in %.1f s", error, delay)
            warned = True
            if stop.is_set():
                break
            await wait_until_set(stop, at_most=delay)
            delay = min(delay * 2, self._max_backoff)

    async def _listen_once(self, stop: asyncio.Event) -> None:
        connection = await asyncio.wait_for(self._connect(), self._connect_timeout)
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        try:
            await connection.add_listener(CHANNEL, self._received)
            self.pid = connection.get_server_pid()
            self.connections += 1
            if self.connections > 1:
                # Whatever was announced while no connection listened is unknown: forget it all.
                for resync in self._resync:
                    resync()
                log.info("change listener back (backend %s)", self.pid)
            self._listening.set()
            await self._hold(connection, lost, stop)
            if lost.is_set():
                log.warning("change listener: its connection was closed")
        finally:
            self._listening.clear()
            self.pid = None
            if not connection.is_closed():
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(connection.close(), 2)
                if not connection.is_closed():
                    connection.terminate()

    async def _hold(self, connection: Any, lost: asyncio.Event, stop: asyncio.Event) -> None:
        """Until `stop` or the connection is lost; a query now and then finds out a connection
        that died without a word (a dropped network path never closes the socket)."""
        while not stop.is_set() and not lost.is_set():
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(lost.wait())]
            done, _ = await asyncio.wait(
                waiters, timeout=self._probe_interval, return_when="FIRST_COMPLETED"
            )
            for waiter in waiters:
                waiter.cancel()
            if not done:
                await asyncio.wait_for(connection.fetchval("SELECT 1"), 5)

    def _received(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            message = json.loads(payload)
            kind = message.get("kind")
        except (ValueError, AttributeError):
            log.warning("change listener: unreadable announcement ignored")
            return
        for handler in self._handlers.get(kind, ()):
            try:
                handler(message)
            except Exception:
                log.exception("change listener: a handler of %r failed", kind)
