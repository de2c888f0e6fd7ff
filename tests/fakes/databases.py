"""Throwaway databases for tests: a SQLite file always, PostgreSQL when TEST_DATABASE_URL is set,
and the in-memory storage.

Fixtures:
- `storage`: a `bot.core.storage.Storage` on an empty database, once per backend: `memory`,
  `sqlite`, `postgresql` (skipped without TEST_DATABASE_URL). For tests of the storage contract,
  which every implementation must keep alike. `other_storage` is a second one on the same data, as
  another process would open it (on `memory`, the same one: there is no other process).
- `database_url`: an async URL of an empty SQL database no other test sees, once per SQL backend.
  Open as many engines on it as you like, as separate processes would.
- `database`: a migrated `bot.store.Database` on `database_url`, closed after the test.

On PostgreSQL, creating a database takes a few hundred milliseconds, so each pytest session
creates one database of its own (a random name on TEST_DATABASE_URL's server, dropped at the end)
and empties it before every test by dropping its `public` schema. Sessions running side by side
(CI jobs, developers) never touch each other's data.

Only `bot.store` and `bot.core.storage` are imported from the app, so that these fixtures work
whatever state the rest of it is in.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.core.storage import Storage
from bot.store import Database, open_database
from bot.store.memory import memory_storage

BACKENDS = ("sqlite", "postgresql")
STORAGE_BACKENDS = ("memory", *BACKENDS)


def postgres_server_url() -> str | None:
    """TEST_DATABASE_URL as an async URL, or None when PostgreSQL tests are off."""
    raw = os.environ.get("TEST_DATABASE_URL", "").strip()
    if not raw:
        return None
    url = make_url(raw)
    if url.get_backend_name() != "postgresql":
        raise ValueError("TEST_DATABASE_URL must be a postgresql:// URL")
    if "sslmode" in url.query:
        # libpq's spelling, as hosted PostgreSQL URLs carry it; asyncpg takes the same values
        # as `ssl` and refuses `sslmode`.
        ssl = url.query["sslmode"]
        url = url.difference_update_query(["sslmode"]).update_query_dict({"ssl": ssl})
    return url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def _no_postgres() -> pytest.MarkDecorator:
    return pytest.mark.skipif(postgres_server_url() is None, reason="TEST_DATABASE_URL is not set")


def backend_params() -> list[pytest.ParameterSet]:
    """`sqlite` and `postgresql`, the latter skipped without TEST_DATABASE_URL."""
    return [
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=_no_postgres()),
    ]


def storage_backend_params() -> list[pytest.ParameterSet]:
    """`memory`, `sqlite` and `postgresql`, the last skipped without TEST_DATABASE_URL."""
    return [pytest.param("memory", id="memory"), *backend_params()]


def sqlite_url(directory: Path) -> str:
    """An async URL of a new SQLite file in `directory`."""
    return f"sqlite+aiosqlite:///{directory / f'test-{uuid.uuid4().hex[:8]}.db'}"


@asynccontextmanager
async def fresh_database_url(backend: str, directory: Path) -> AsyncIterator[str]:
    """A brand-new database of `backend`, removed on exit; slower than the fixture on PostgreSQL."""
    if backend == "sqlite":
        yield sqlite_url(directory)
        return
    if backend != "postgresql":
        raise ValueError(f"unknown backend {backend!r}; use one of {BACKENDS}")
    server = postgres_server_url()
    if server is None:
        pytest.skip("TEST_DATABASE_URL is not set")
    url = await create_postgres_database(server)
    try:
        yield url
    finally:
        await drop_postgres_database(server, url)


async def create_postgres_database(server: str) -> str:
    name = f"replays_test_{uuid.uuid4().hex[:12]}"
    await _execute(server, f'CREATE DATABASE "{name}"', autocommit=True)
    return make_url(server).set(database=name).render_as_string(hide_password=False)


async def drop_postgres_database(server: str, url: str) -> None:
    # FORCE: a test that failed half-way may have left connections open.
    name = make_url(url).database
    await _execute(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', autocommit=True)


async def empty_postgres_database(url: str) -> None:
    """Drop every table (alembic_version too) by recreating the `public` schema."""
    await _execute(
        url,
        # Connections a failed test left behind could hold locks the DROP would wait for.
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()",
        "DROP SCHEMA IF EXISTS public CASCADE",
        "CREATE SCHEMA public",
    )


async def _execute(url: str, *statements: str, autocommit: bool = False) -> None:
    # CREATE/DROP DATABASE cannot run inside a transaction.
    options = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    engine = create_async_engine(url, **options)
    try:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(sa.text(statement))
    finally:
        await engine.dispose()


async def _empty_database_url(
    backend: str, directory: Path, postgres_session_database: str | None
) -> str:
    if backend == "sqlite":
        return sqlite_url(directory)
    assert postgres_session_database is not None, "skipped without TEST_DATABASE_URL"
    await empty_postgres_database(postgres_session_database)
    return postgres_session_database


class StorageBackend:
    """One backend's empty data, and the `Storage`s opened on it (closed by the fixture)."""

    def __init__(self, name: str, url: str | None) -> None:
        self.name = name
        #: the SQL database's URL; None for `memory`
        self.url = url
        self._memory = memory_storage() if url is None else None
        self._databases: list[Database] = []

    async def open(self) -> Storage:
        """A `Storage` on this backend's data: on SQL, with an engine of its own, as another
        process would have; in memory, the one storage (a process has only its own memory)."""
        if self._memory is not None:
            return self._memory
        assert self.url is not None
        database = await open_database(self.url)
        self._databases.append(database)
        return database.storage

    async def close(self) -> None:
        for database in self._databases:
            await database.close()


@pytest.fixture(scope="session")
def postgres_session_database() -> Iterator[str | None]:
    """This pytest session's own PostgreSQL database, or None without TEST_DATABASE_URL."""
    server = postgres_server_url()
    if server is None:
        yield None
        return
    # Sync with its own loop: async fixtures here run on a loop per test, not per session.
    url = asyncio.run(create_postgres_database(server))
    try:
        yield url
    finally:
        asyncio.run(drop_postgres_database(server, url))


@pytest.fixture(params=backend_params())
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_session_database: str | None
) -> str:
    """An async URL of an empty database, once per backend (SQLite; PostgreSQL if configured)."""
    return await _empty_database_url(request.param, tmp_path, postgres_session_database)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A migrated `Database` on `database_url`, closed after the test."""
    opened = await open_database(database_url)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture(params=storage_backend_params())
async def storage_backend(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_session_database: str | None
) -> AsyncIterator[StorageBackend]:
    """Empty data on each backend in turn: memory, SQLite, PostgreSQL (if configured)."""
    name = request.param
    url = (
        None
        if name == "memory"
        else await _empty_database_url(name, tmp_path, postgres_session_database)
    )
    backend = StorageBackend(name, url)
    try:
        yield backend
    finally:
        await backend.close()


@pytest.fixture
async def storage(storage_backend: StorageBackend) -> Storage:
    """A `Storage` on empty data, once per backend (memory, SQLite, PostgreSQL if configured)."""
    return await storage_backend.open()


@pytest.fixture
async def other_storage(storage: Storage, storage_backend: StorageBackend) -> Storage:
    """A second `Storage` on `storage`'s data, as another process would open it (on `memory`,
    `storage` itself)."""
    return await storage_backend.open()
