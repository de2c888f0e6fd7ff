"""The core's tests run on the in-memory storage only (the storage's own tests cover the databases)."""

from __future__ import annotations

import pytest

from bot.core.storage import Storage
from bot.store.memory import memory_storage


@pytest.fixture
def storage() -> Storage:
    return memory_storage()
