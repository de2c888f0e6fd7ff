"""Throwaway databases for tests: a SQLite file always, PostgreSQL when TEST_DATABASE_URL is set.

Use the `database_url` fixture (or `store`, a migrated Store on it): an async URL of an empty database that no other test sees, once per
backend. Open as many engines on it as you like, as separate processes would.

On PostgreSQL, creating a database takes a few hundred milliseconds, so each pytest session
creates one database of its own (a random name on TEST_DATABASE_URL's server, dropped at the end)
and empties it before every test by dropping its `public` schema. Sessions running side by side
(CI jobs, developers) never touch each other's data.
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

from bot.config import normalize_database_url
from bot.store import Store

BACKENDS = ("sqlite", "postgresql")


def postgres_server_url() -> str | None:
    """TEST_DATABASE_URL as an async URL, or None when PostgreSQL tests are off."""
    raw = os.environ.get("TEST_DATABASE_URL", "").strip()
    return normalize_database_url(raw) if raw else None


def backend_params() -> list[pytest.ParameterSet]:
    """`sqlite` and `postgresql`, the latter skipped without TEST_DATABASE_URL."""
    no_postgres = pytest.mark.skipif(
        postgres_server_url() is None, reason="TEST_DATABASE_URL is not set"
    )
    return [
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=no_postgres),
    ]


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
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    assert postgres_session_database is not None, "skipped without TEST_DATABASE_URL"
    await empty_postgres_database(postgres_session_database)
    return postgres_session_database


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """A migrated `Store` on `database_url`, closed after the test."""
    opened = await Store.open(database_url)
    try:
        yield opened
    finally:
        await opened.close()
