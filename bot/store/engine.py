"""Async engines for SQLite and PostgreSQL, set up so that several processes can share the data.

SQLite: WAL (readers never block the writer), a busy timeout (a second writer waits instead of
failing with "database is locked") and foreign keys on. The driver's own transaction handling is
switched off in favour of explicit BEGIN, because it does not wrap DDL and so would leave a
half-applied migration behind; a connection asks for `BEGIN IMMEDIATE` (take the write lock up
front) with the `sqlite_begin_immediate` execution option.

WAL is switched on by `open_engine` rather than per connection: the switch needs an exclusive
lock, and SQLite answers "locked" at once, without waiting out the busy timeout, when two
processes create a new database together. The mode is stored in the file, so once is enough.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
BEGIN_IMMEDIATE = "sqlite_begin_immediate"


async def open_engine(url: str) -> AsyncEngine:
    """`create_engine`, then (SQLite) make sure the database file is in WAL mode."""
    engine = create_engine(url)
    try:
        if engine.dialect.name == "sqlite":
            await _enable_wal(engine)
    except BaseException:
        await engine.dispose()
        raise
    return engine


def create_engine(url: str) -> AsyncEngine:
    """An engine for an async URL (`sqlite+aiosqlite://...` or `postgresql+asyncpg://...`)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, in_memory=parsed.database in (None, "", ":memory:"))
    # pre_ping: hosted PostgreSQL drops idle connections; check them out healthy.
    return create_async_engine(url, pool_pre_ping=True)


def _sqlite_engine(url: str, *, in_memory: bool) -> AsyncEngine:
    # An in-memory database exists once per connection, so every user must share that one.
    extra: dict[str, Any] = {"poolclass": StaticPool} if in_memory else {}
    engine = create_async_engine(url, **extra)
    event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
    event.listen(engine.sync_engine, "begin", _on_sqlite_begin)
    return engine


async def _enable_wal(engine: AsyncEngine) -> None:
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    pause = 0.01
    while True:
        try:
            mode = await _set_wal(engine)
            break
        except (OperationalError, sqlite3.OperationalError) as error:
            if "locked" not in str(error) or time.monotonic() + pause > deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.5)
    # In-memory databases cannot use WAL, and have no other process to share with anyway.
    if mode not in ("wal", "memory"):
        log.warning("SQLite kept journal_mode=%s (no WAL here): writers will block readers", mode)


async def _set_wal(engine: AsyncEngine) -> str:
    async with engine.connect() as connection:
        # On the driver itself: through SQLAlchemy the PRAGMA would run inside a BEGIN, where
        # SQLite silently refuses to change the journal mode.
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None, "a checked-out connection has its driver connection"
        async with driver.execute("PRAGMA journal_mode = WAL") as cursor:
            row = await cursor.fetchone()
    return str(row[0]).lower()


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        # NORMAL is durable in WAL mode except for the last commits on power loss.
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(BEGIN_IMMEDIATE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
