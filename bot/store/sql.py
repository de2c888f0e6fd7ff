"""What every SQL store shares: the engine, the dialect's INSERT (for ON CONFLICT), SQLite's
in-process write turn, the fetch/write helpers, and the translation of database failures into the
core's `StorageUnavailable` and `StorageRejected`.

Every statement runs through the helpers here, so that no SQLAlchemy, asyncpg or sqlite3 exception
ever leaves `bot.store`: callers only need to know whether trying again can help.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.outage import StorageOutage
from bot.core.storage import StorageRejected, StorageUnavailable
from bot.store.notify import announcement

log = logging.getLogger(__name__)

PING_TIMEOUT_SECONDS = 5.0

#: the database refused this statement's values (a constraint, a value it cannot hold); the
#: drivers' own classes in case one escapes SQLAlchemy's wrapping
_REJECTED: tuple[type[BaseException], ...] = (
    sa.exc.DataError,
    sa.exc.IntegrityError,
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    sqlite3.DataError,
    sqlite3.IntegrityError,
)
#: the database, the connection or the driver failed: the same statement may succeed later.
#: asyncpg raises its own errors (and OSError for a refused connection) while connecting, where
#: SQLAlchemy does not wrap them.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    sa.exc.SQLAlchemyError,
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    sqlite3.Error,
)


@contextlib.contextmanager
def translated_errors() -> Iterator[None]:
    """Re-raise what the database layer raises as `StorageRejected` or `StorageUnavailable`."""
    try:
        yield
    except Exception as error:
        _translate(error)
        raise


def _translate(error: BaseException) -> None:
    """Raise the core's exception for `error`, chained to it; return when it is not ours."""
    if isinstance(error, _REJECTED) or _is_bad_value(error):
        raise StorageRejected(str(error)) from error
    if isinstance(error, _UNAVAILABLE):
        raise StorageUnavailable(str(error)) from error


def _is_bad_value(error: BaseException) -> bool:
    if not isinstance(error, sa.exc.StatementError):
        return False
    if not isinstance(error, sa.exc.DBAPIError):
        # A value refused before it reached the database (`UTCDateTime` refuses naive
        # datetimes): SQLAlchemy wraps the ValueError in a StatementError that is no driver
        # error. It is a value the storage cannot hold, so sending it again would fail again.
        return isinstance(error.orig, ValueError | TypeError)
    # SQLAlchemy wraps some of PostgreSQL's refusals in a plain DBAPIError (a NUL character in
    # text, say); the SQLSTATE class tells them apart from failures of the server.
    sqlstate = getattr(error.orig, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate[:2] in _REJECTED_SQLSTATE_CLASSES


#: SQLSTATE classes of a statement's values refused: 22 data exception (a NUL in text, a number
#: out of range), 23 integrity constraint violation, 54 program limit exceeded (a value too
#: large for an index)
_REJECTED_SQLSTATE_CLASSES = frozenset({"22", "23", "54"})


class Sql:
    """One engine and the plumbing the stores on it share; one per process."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        is_sqlite = engine.dialect.name == "sqlite"
        # ON CONFLICT exists on both dialects, but only as each dialect's own INSERT construct.
        self.insert: Callable[[sa.Table], Any] = sqlite.insert if is_sqlite else postgresql.insert
        # Other instances hear of changes through NOTIFY (bot.store.notify); SQLite has none.
        self.announces = not is_sqlite
        # SQLite lets one connection write at a time and makes the others sleep and poll for the
        # lock (its busy handler, in steps of up to 100 ms); queueing this process's writers here
        # hands the lock on at once. Other processes still wait through the busy timeout.
        self._write_turn: contextlib.AbstractAsyncContextManager[Any] = (
            asyncio.Lock() if is_sqlite else contextlib.nullcontext()
        )
        #: told of every statement's outcome, so that an outage is logged once, not per caller
        self.outage = StorageOutage()

    @contextlib.contextmanager
    def _statement(self) -> Iterator[None]:
        """Around one statement: its failure translated (`translated_errors`), and its outcome
        told to `outage`."""
        try:
            with translated_errors():
                yield
        except StorageUnavailable as error:
            self.outage.failed(error)
            raise
        except StorageRejected:
            self.outage.worked()  # refused by a database that answers: no outage
            raise
        self.outage.worked()

    async def fetch_one(self, query: sa.Executable) -> sa.Row[Any] | None:
        with self._statement():
            async with self.engine.connect() as connection:
                return (await connection.execute(query)).first()

    async def fetch_all(
        self, query: sa.Executable, params: Mapping[str, Any] | None = None
    ) -> Sequence[sa.Row[Any]]:
        with self._statement():
            async with self.engine.connect() as connection:
                return (await connection.execute(query, params)).all()

    async def scalar(self, query: sa.Executable, params: Mapping[str, Any] | None = None) -> Any:
        with self._statement():
            async with self.engine.connect() as connection:
                return await connection.scalar(query, params)

    async def write_one(
        self, statement: sa.Executable, *, announce: Mapping[str, str] | None = None
    ) -> sa.Row[Any] | None:
        """Run a statement with RETURNING in a transaction of its own; its first row, if any."""
        rows = await self.write_all(statement, announce=announce)
        return rows[0] if rows else None

    async def write_all(
        self, statement: sa.Executable, *, announce: Mapping[str, str] | None = None
    ) -> Sequence[sa.Row[Any]]:
        """Run a statement with RETURNING in a transaction of its own; every row it returned.
        `announce`: tell the other instances (`bot.store.notify`) once it commits."""
        with self._statement():
            async with self._write_turn, self.engine.begin() as connection:
                rows = (await connection.execute(statement)).all()
                await self._announce(connection, announce)
                return rows

    async def write(
        self,
        statement: sa.Executable,
        params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        *,
        announce: Mapping[str, str] | None = None,
    ) -> int:
        """Run a statement without RETURNING (with `params`: its values, or a list of them for
        one run per item); returns the number of rows it touched."""
        with self._statement():
            async with self._write_turn, self.engine.begin() as connection:
                count = (await connection.execute(statement, params)).rowcount
                await self._announce(connection, announce)
                return count

    async def _announce(self, connection: Any, announce: Mapping[str, str] | None) -> None:
        # In the write's own transaction: delivered when it commits, never for a rollback.
        if announce is not None and self.announces:
            await connection.execute(announcement(announce))

    async def ping(self) -> bool:
        """Whether the database answers a query now; for /healthz, so it never raises."""
        try:
            async with asyncio.timeout(PING_TIMEOUT_SECONDS):
                async with self.engine.connect() as connection:
                    await connection.execute(sa.text("SELECT 1"))
        except Exception as error:
            # Logged once per outage, not once per probe of a load balancer.
            self.outage.failed(error)
            log.debug("database ping failed", exc_info=True)
            return False
        self.outage.worked()
        return True

    async def close(self) -> None:
        await self.engine.dispose()
