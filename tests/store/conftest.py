"""Store fixtures (`storage`, `other_storage`, `database` come from tests.fakes.databases): every
test runs once per backend, on data of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.store import Database, open_database


@pytest.fixture
async def other_database(database: Database, database_url: str) -> AsyncIterator[Database]:
    """A second Database with its own engine on the same database: another process, in effect."""
    opened = await open_database(database_url)
    try:
        yield opened
    finally:
        await opened.close()
