"""The composition root's one way into the database: `open_database` gives a `Database`, which
hands out the SQL implementation of every storage Protocol as one `Storage`.

Every write that can race with another instance is one atomic SQL statement (an upsert, an
INSERT ... ON CONFLICT DO NOTHING, or an UPDATE ... RETURNING guarded by its own WHERE), so any
number of processes can share one PostgreSQL, or one SQLite file, without locks of their own.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.storage import Storage
from bot.store.digest_jobs import SqlDigestJobStore
from bot.store.engine import open_engine
from bot.store.events import SqlSeenEvents
from bot.store.heartbeats import SqlOpsStore
from bot.store.links import SqlLinkStore
from bot.store.live import SqlLiveMeetingStore
from bot.store.meetings import SqlMeetingStore, SqlVisibilityStore
from bot.store.migrate import upgrade
from bot.store.notify import ChangeListener, connector
from bot.store.poll_windows import SqlPollWindowStore
from bot.store.preferences import SqlPreferenceStore
from bot.store.sql import Sql, translated_errors
from bot.store.subscriptions import SqlSubscriptionStore


class Database:
    """An open SQLite or PostgreSQL database and the stores on it; one per process, shared by
    every request."""

    def __init__(self, engine: AsyncEngine) -> None:
        """Use `engine` as it is (no migration): `open_database` is the usual way in."""
        self._sql = Sql(engine)
        # Every store shares one Sql, so SQLite's write turn queues all of this process's writers.
        self.storage = Storage(
            links=SqlLinkStore(self._sql),
            preferences=SqlPreferenceStore(self._sql),
            subscriptions=SqlSubscriptionStore(self._sql),
            events=SqlSeenEvents(self._sql),
            digest_jobs=SqlDigestJobStore(self._sql),
            meetings=SqlMeetingStore(self._sql),
            visibility=SqlVisibilityStore(self._sql),
            live=SqlLiveMeetingStore(self._sql),
            poll_windows=SqlPollWindowStore(self._sql),
            ops=SqlOpsStore(self._sql),
        )

    def change_listener(self, **options: float) -> ChangeListener | None:
        """A listener for the changes other instances announce; None on SQLite, which announces
        none (it serves one instance)."""
        if not self._sql.announces:
            return None
        return ChangeListener(connector(self.engine), **options)

    @property
    def engine(self) -> AsyncEngine:
        return self._sql.engine

    async def ping(self) -> bool:
        """Whether the database answers a query now; for /healthz, so it never raises."""
        return await self._sql.ping()

    async def close(self) -> None:
        """Close every pooled connection; the stores must not be used afterwards."""
        await self._sql.close()


async def open_database(url: str, *, migrate: bool = True) -> Database:
    """Connect to an async database URL (`sqlite+aiosqlite://...`, `postgresql+asyncpg://...`),
    migrating its schema to head first unless `migrate` is False.

    Raises `StorageUnavailable` when the database cannot be reached, like every store call.
    """
    with translated_errors():
        engine = await open_engine(url)
        try:
            if migrate:
                await upgrade(engine)
        except BaseException:
            await engine.dispose()
            raise
    return Database(engine)
