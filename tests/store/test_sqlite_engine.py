"""SQLite set-up that lets several processes share one file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.store import Store


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"


async def pragma(store: Store, name: str) -> object:
    async with store.engine.connect() as connection:
        return await connection.scalar(sa.text(f"PRAGMA {name}"))


async def test_a_file_database_is_in_wal_mode_with_a_busy_timeout(sqlite_url: str) -> None:
    store = await Store.open(sqlite_url)
    try:
        assert await pragma(store, "journal_mode") == "wal"
        assert await pragma(store, "busy_timeout") == 30_000
        assert await pragma(store, "foreign_keys") == 1
    finally:
        await store.close()


async def test_a_delivery_needs_an_existing_job(sqlite_url: str) -> None:
    store = await Store.open(sqlite_url)
    try:
        with pytest.raises(IntegrityError):
            await store.record_delivery(12345, "C1")
    finally:
        await store.close()


async def test_many_stores_can_create_one_new_file_together(sqlite_url: str) -> None:
    stores = await asyncio.gather(*(Store.open(sqlite_url) for _ in range(6)))
    try:
        assert all([await store.ping() for store in stores])
        assert [await pragma(store, "journal_mode") for store in stores] == ["wal"] * 6
    finally:
        for store in stores:
            await store.close()


async def test_an_in_memory_database_works_for_one_process() -> None:
    store = await Store.open("sqlite+aiosqlite://")
    try:
        saved = await store.save_link("T1", "U1", "alice", method="admin", linked_by="UADMIN")
        assert await store.get_link("T1", "U1") == saved
    finally:
        await store.close()
