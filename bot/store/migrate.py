"""Bring a database's schema to a given Alembic revision, safely from several processes at once.

Every upgrade runs in one transaction that first takes a lock: a PostgreSQL advisory lock (held
until commit) or SQLite's write lock (`BEGIN IMMEDIATE`). A second process starting at the same
moment waits, then finds the schema already at head and does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.engine import BEGIN_IMMEDIATE

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any fixed 64-bit number, the same in every process of this app: b"replays!" as an integer.
PG_MIGRATION_LOCK_KEY = int.from_bytes(b"replays!", "big", signed=True)


def alembic_config() -> Config:
    """The Alembic configuration of the packaged migrations; no file on disk is read."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the packaged migrations have no head revision"
    return head


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database to `revision` (head by default); a no-op when it is there already."""

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    await run_locked(engine, run)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Migrate the database back down to `revision` (for operators and tests)."""

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    await run_locked(engine, run)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


async def run_locked(engine: AsyncEngine, migrate: Callable[[Connection], None]) -> None:
    """Run `migrate` on one connection, in one transaction, holding the migration lock.

    On SQLite, foreign keys are off meanwhile and checked before the commit: batch mode rebuilds a
    table by dropping it, and with foreign keys on, that drop would cascade into the tables that
    refer to it (SQLite's own advice for rebuilding tables, "ALTER TABLE", section 7).
    """
    async with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            await _sqlite_foreign_keys(connection, on=False)
        try:
            await connection.execution_options(**{BEGIN_IMMEDIATE: True})
            async with connection.begin():
                await _take_migration_lock(connection)
                await connection.run_sync(migrate)
                if sqlite:
                    await _check_foreign_keys(connection)
        finally:
            if sqlite:
                await _sqlite_foreign_keys(connection, on=True)


async def _sqlite_foreign_keys(connection: AsyncConnection, *, on: bool) -> None:
    # On the driver: SQLite ignores this PRAGMA inside a transaction, and SQLAlchemy would open one.
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None, "a checked-out connection has its driver connection"
    await driver.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")


async def _check_foreign_keys(connection: AsyncConnection) -> None:
    broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
    if broken:
        tables = sorted({str(row[0]) for row in broken})
        raise RuntimeError(f"migration left rows with broken foreign keys in {tables}")


async def _take_migration_lock(connection: AsyncConnection) -> None:
    if connection.dialect.name == "postgresql":
        await connection.execute(
            sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK_KEY}
        )
    # SQLite: BEGIN IMMEDIATE has already taken the database's single write lock.
