"""SQLite set-up that lets several processes share one file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.core.records import LinkMethod
from bot.store import Database, open_database


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"


async def pragma(database: Database, name: str) -> object:
    async with database.engine.connect() as connection:
        return await connection.scalar(sa.text(f"PRAGMA {name}"))


async def test_a_file_database_is_in_wal_mode_with_a_busy_timeout(sqlite_url: str) -> None:
    database = await open_database(sqlite_url)
    try:
        assert await pragma(database, "journal_mode") == "wal"
        assert await pragma(database, "busy_timeout") == 30_000
        assert await pragma(database, "foreign_keys") == 1
    finally:
        await database.close()


async def test_many_databases_can_create_one_new_file_together(sqlite_url: str) -> None:
    databases = await asyncio.gather(*(open_database(sqlite_url) for _ in range(6)))
    try:
        assert all([await database.ping() for database in databases])
        assert [await pragma(database, "journal_mode") for database in databases] == ["wal"] * 6
    finally:
        for database in databases:
            await database.close()


async def test_an_in_memory_database_works_for_one_process() -> None:
    database = await open_database("sqlite+aiosqlite://")
    try:
        links = database.storage.links
        saved = await links.save("T1", "U1", "alice", method=LinkMethod.ADMIN, linked_by="UADMIN")
        assert await links.get("T1", "U1") == saved
    finally:
        await database.close()
