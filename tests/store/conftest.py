"""Store fixtures (`store` itself comes from tests.fakes.databases): every test runs once per
backend, on a database of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.store import Store


@pytest.fixture
async def other_store(store: Store, database_url: str) -> AsyncIterator[Store]:
    """A second Store with its own engine on the same database: another process, in effect."""
    opened = await Store.open(database_url)
    try:
        yield opened
    finally:
        await opened.close()
